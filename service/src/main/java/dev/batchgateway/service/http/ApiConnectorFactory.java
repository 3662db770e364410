package dev.batchgateway.service.http;

import com.codahale.metrics.MetricRegistry;
import com.fasterxml.jackson.annotation.JsonTypeName;
import io.dropwizard.jetty.HttpsConnectorFactory;
import io.dropwizard.metrics.jetty12.InstrumentedConnectionFactory;
import java.util.ArrayList;
import java.util.List;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.util.thread.ScheduledExecutorScheduler;
import org.eclipse.jetty.util.thread.ThreadPool;

/**
 * The API's connector: Dropwizard's {@code https} connector once {@code keyStorePath} names a key
 * store, its plain {@code http} one while it is empty. So gateway.yml can leave the choice to an
 * environment variable ({@code BGW_HTTPS_KEYSTORE}); Dropwizard's own types would need a different
 * file, since an {@code http} connector refuses the key store fields.
 */
@JsonTypeName("gateway")
public class ApiConnectorFactory extends HttpsConnectorFactory {

  /** Whether this connector speaks TLS. */
  public boolean isTls() {
    String path = getKeyStorePath();
    return path != null && !path.isBlank();
  }

  @Override
  public boolean isValidKeyStorePath() {
    return !isTls() || super.isValidKeyStorePath();
  }

  @Override
  public boolean isValidKeyStorePassword() {
    return !isTls() || super.isValidKeyStorePassword();
  }

  @Override
  public Connector build(
      Server server, MetricRegistry metrics, String name, ThreadPool threadPool) {
    if (isTls()) {
      return super.build(server, metrics, name, threadPool);
    }
    // What HttpConnectorFactory.build does; the HTTPS factory's own build cannot be told to skip
    // TLS.
    return buildConnector(
        server,
        new ScheduledExecutorScheduler(),
        buildBufferPool(),
        name,
        threadPool,
        new InstrumentedConnectionFactory(
            buildHttpConnectionFactory(buildHttpConfiguration()),
            metrics.timer(httpConnections())));
  }

  @Override
  protected HttpConfiguration buildHttpConfiguration() {
    HttpConfiguration config = super.buildHttpConfiguration();
    if (!isTls()) {
      // The HTTPS factory adds these; a plain connector has no TLS session for them to read.
      List<HttpConfiguration.Customizer> kept = new ArrayList<>(config.getCustomizers());
      kept.removeIf(SecureRequestCustomizer.class::isInstance);
      config.setCustomizers(kept);
      config.setSecurePort(0);
    }
    return config;
  }
}
