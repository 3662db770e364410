package dev.batchgateway.temporal;

import com.codahale.metrics.MetricRegistry;
import com.uber.m3.tally.RootScopeBuilder;
import com.uber.m3.tally.Scope;
import dev.batchgateway.temporal.tracing.TemporalTracing;
import io.dropwizard.lifecycle.Managed;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowClientOptions;
import io.temporal.common.interceptors.WorkerInterceptor;
import io.temporal.common.interceptors.WorkflowClientInterceptor;
import io.temporal.serviceclient.WorkflowServiceStubs;
import io.temporal.serviceclient.WorkflowServiceStubsOptions;
import io.temporal.worker.WorkerFactory;
import io.temporal.worker.WorkerFactoryOptions;
import java.util.concurrent.TimeUnit;

/**
 * The gRPC connection to Temporal and the client on top of it. The connection is lazy: the gateway
 * starts even while Temporal is still coming up, and its health check says so.
 */
public final class TemporalConnection implements Managed {
  private final WorkflowServiceStubs stubs;
  private final WorkflowClient client;
  private final String namespace;

  private final Scope metricsScope;
  private final TemporalTracing tracing;

  /**
   * @param metrics where the SDK's own metrics go, reported every ten seconds
   */
  public TemporalConnection(TemporalSettings settings, MetricRegistry metrics) {
    this(settings, metrics, TemporalTracing.OFF);
  }

  /**
   * @param tracing the interceptors the client and this connection's workers trace with
   */
  public TemporalConnection(
      TemporalSettings settings, MetricRegistry metrics, TemporalTracing tracing) {
    this.tracing = tracing;
    this.namespace = settings.getNamespace();
    this.metricsScope =
        new RootScopeBuilder()
            .reporter(new DropwizardStatsReporter(metrics))
            .reportEvery(com.uber.m3.util.Duration.ofSeconds(10));
    WorkflowServiceStubsOptions.Builder options =
        WorkflowServiceStubsOptions.newBuilder()
            .setTarget(settings.getTarget())
            .setMetricsScope(metricsScope);
    SslContext tls = settings.getTls().sslContext();
    if (tls != null) {
      options.setSslContext(tls);
      String serverName = settings.getTls().serverNameOverride();
      if (serverName != null) {
        // The name TLS sends (SNI) and checks the certificate against, instead of the target's.
        options.setChannelInitializer(channel -> channel.overrideAuthority(serverName));
      }
    }
    this.stubs = WorkflowServiceStubs.newServiceStubs(options.validateAndBuildWithDefaults());
    this.client =
        WorkflowClient.newInstance(
            stubs,
            WorkflowClientOptions.newBuilder()
                .setNamespace(namespace)
                .setInterceptors(
                    tracing.clientInterceptors().toArray(WorkflowClientInterceptor[]::new))
                .build());
  }

  /** A worker factory on this client, with the tracing interceptors when tracing is on. */
  public WorkerFactory newWorkerFactory() {
    return WorkerFactory.newInstance(
        client,
        WorkerFactoryOptions.newBuilder()
            .setWorkerInterceptors(tracing.workerInterceptors().toArray(WorkerInterceptor[]::new))
            .build());
  }

  public WorkflowServiceStubs stubs() {
    return stubs;
  }

  public WorkflowClient client() {
    return client;
  }

  public String namespace() {
    return namespace;
  }

  @Override
  public void start() {}

  @Override
  public void stop() throws Exception {
    stubs.shutdown();
    stubs.awaitTermination(5, TimeUnit.SECONDS);
    metricsScope.close();
  }
}
