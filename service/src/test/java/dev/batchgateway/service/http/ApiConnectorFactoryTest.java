package dev.batchgateway.service.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.codahale.metrics.MetricRegistry;
import io.dropwizard.jackson.Jackson;
import io.dropwizard.jersey.validation.Validators;
import io.dropwizard.jetty.ConnectorFactory;
import jakarta.validation.ConstraintViolation;
import jakarta.validation.Validator;
import java.util.Set;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.junit.jupiter.api.Test;

/**
 * gateway.yml's {@code type: gateway} connector: plain HTTP without a key store, HTTPS with one.
 */
class ApiConnectorFactoryTest {
  private final Validator validator = Validators.newValidator();

  private static ApiConnectorFactory parse(String json) throws Exception {
    ConnectorFactory factory = Jackson.newObjectMapper().readValue(json, ConnectorFactory.class);
    assertThat(factory).isInstanceOf(ApiConnectorFactory.class);
    return (ApiConnectorFactory) factory;
  }

  @Test
  void anEmptyKeyStorePathIsPlainHttp() throws Exception {
    ApiConnectorFactory factory =
        parse("{\"type\":\"gateway\",\"port\":0,\"keyStorePath\":\"\",\"keyStorePassword\":\"\"}");

    assertThat(factory.isTls()).isFalse();
    assertThat(validator.validate(factory)).isEmpty();
    Server server = new Server();
    ServerConnector connector =
        (ServerConnector) factory.build(server, new MetricRegistry(), "application", null);
    assertThat(connector.getProtocols()).containsExactly("http/1.1");
    assertThat(factory.buildHttpConfiguration().getCustomizers())
        .noneMatch(SecureRequestCustomizer.class::isInstance);
  }

  /** HttpsApiIT runs the HTTPS connector with a real key store; here only its choice is seen. */
  @Test
  void aKeyStorePathIsHttps() throws Exception {
    ApiConnectorFactory factory =
        parse(
            "{\"type\":\"gateway\",\"port\":0,\"keyStorePath\":\"/etc/tls/gateway.p12\","
                + "\"keyStorePassword\":\"secret\"}");

    assertThat(factory.isTls()).isTrue();
    assertThat(validator.validate(factory)).isEmpty();
    assertThat(factory.buildHttpConfiguration().getCustomizers())
        .anyMatch(SecureRequestCustomizer.class::isInstance);
    // Building the TLS connector opens the key store, so a path that is not there stops startup.
    assertThatThrownBy(() -> factory.build(new Server(), new MetricRegistry(), "application", null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("/etc/tls/gateway.p12");
  }

  @Test
  void aKeyStoreWithoutItsPasswordIsRefused() throws Exception {
    ApiConnectorFactory factory =
        parse("{\"type\":\"gateway\",\"port\":0,\"keyStorePath\":\"/etc/tls/gateway.p12\"}");

    Set<ConstraintViolation<ApiConnectorFactory>> problems = validator.validate(factory);
    assertThat(problems).isNotEmpty();
  }
}
