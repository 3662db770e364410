package dev.batchgateway.service;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.batchgateway.activities.BatchLifecycleActivitiesImpl;
import dev.batchgateway.activities.BatchSettings;
import dev.batchgateway.activities.ChunkActivitiesImpl;
import dev.batchgateway.activities.chunk.ChunkRunner;
import dev.batchgateway.activities.chunk.WorkerDrain;
import dev.batchgateway.activities.cleanup.CleanupActivitiesImpl;
import dev.batchgateway.activities.limiter.SharingConcurrencyLimiter;
import dev.batchgateway.activities.port.FileStore;
import dev.batchgateway.activities.port.PoolLimiter;
import dev.batchgateway.activities.port.PoolRetry;
import dev.batchgateway.service.auth.ApiKeyFilter;
import dev.batchgateway.service.auth.ApiKeys;
import dev.batchgateway.service.auth.StoredKeys;
import dev.batchgateway.service.auth.TenantLookup;
import dev.batchgateway.service.auth.TrustedHeaderFilter;
import dev.batchgateway.service.auth.TrustedHeaderSettings;
import dev.batchgateway.service.capacity.CapacityControl;
import dev.batchgateway.service.capacity.CapacitySettings;
import dev.batchgateway.service.cleanup.CleanupSettings;
import dev.batchgateway.service.cli.KeysCommand;
import dev.batchgateway.service.db.JdbiApiKeyStore;
import dev.batchgateway.service.db.JdbiCleanupStore;
import dev.batchgateway.service.db.JdbiMetadataStore;
import dev.batchgateway.service.db.Migrations;
import dev.batchgateway.service.errors.ApiExceptionMapper;
import dev.batchgateway.service.errors.EnvelopeErrorHandler;
import dev.batchgateway.service.errors.JsonErrorMapper;
import dev.batchgateway.service.errors.StoreUnavailableMapper;
import dev.batchgateway.service.errors.UnexpectedExceptionMapper;
import dev.batchgateway.service.errors.WebApplicationExceptionMapper;
import dev.batchgateway.service.http.RequestIdFilter;
import dev.batchgateway.service.http.SecurityHeadersFilter;
import dev.batchgateway.service.inference.HttpInferenceClient;
import dev.batchgateway.service.lifecycle.StartReconciler;
import dev.batchgateway.service.lifecycle.TemporalBatchEngine;
import dev.batchgateway.service.metrics.AdminMetrics;
import dev.batchgateway.service.metrics.BatchStateGauges;
import dev.batchgateway.service.quota.ApiRateLimiter;
import dev.batchgateway.service.quota.QuotaMetrics;
import dev.batchgateway.service.quota.RateLimitFilter;
import dev.batchgateway.service.resources.BatchesResource;
import dev.batchgateway.service.resources.FilesResource;
import dev.batchgateway.service.resources.OpenApiResource;
import dev.batchgateway.service.tracing.Tracing;
import dev.batchgateway.service.tracing.TracingFilter;
import dev.batchgateway.service.tracing.TracingRouteFilter;
import dev.batchgateway.service.tracing.TracingSettings;
import dev.batchgateway.temporal.BatchWorker;
import dev.batchgateway.temporal.BatchWorkflowClient;
import dev.batchgateway.temporal.CleanupSchedule;
import dev.batchgateway.temporal.CleanupWorker;
import dev.batchgateway.temporal.SearchAttributeRegistrar;
import dev.batchgateway.temporal.TemporalConnection;
import dev.batchgateway.temporal.TemporalHealthCheck;
import io.dropwizard.configuration.EnvironmentVariableSubstitutor;
import io.dropwizard.configuration.SubstitutingSourceProvider;
import io.dropwizard.core.Application;
import io.dropwizard.core.server.AbstractServerFactory;
import io.dropwizard.core.setup.Bootstrap;
import io.dropwizard.core.setup.Environment;
import io.dropwizard.jdbi3.JdbiFactory;
import io.dropwizard.lifecycle.Managed;
import io.opentelemetry.sdk.trace.SpanProcessor;
import jakarta.servlet.DispatcherType;
import java.time.Clock;
import java.time.Duration;
import java.util.EnumSet;
import java.util.concurrent.ScheduledExecutorService;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.DefinedAttributeTemplateEngine;
import org.jdbi.v3.core.statement.SqlStatements;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The composition root. {@code server} runs the API and the worker in one process; {@code api} and
 * {@code worker} run one each.
 */
public class BatchGatewayApplication extends Application<BatchGatewayConfiguration> {
  private static final Logger log = LoggerFactory.getLogger(BatchGatewayApplication.class);

  private Role role = Role.ALL;

  public static void main(String[] args) throws Exception {
    new BatchGatewayApplication().run(args);
  }

  @Override
  public String getName() {
    return "batch-gateway";
  }

  void setRole(Role role) {
    this.role = role;
  }

  @Override
  public void initialize(Bootstrap<BatchGatewayConfiguration> bootstrap) {
    // The JVM's gauges (heap, GC, threads) are registered when the command line runs; here too,
    // so an application started by the test support exposes what production does (once only).
    bootstrap.registerMetrics();
    bootstrap.setConfigurationSourceProvider(
        new SubstitutingSourceProvider(
            bootstrap.getConfigurationSourceProvider(), new EnvironmentVariableSubstitutor(false)));
    bootstrap.addCommand(new RoleServerCommand(this, Role.API, "Runs only the REST API"));
    bootstrap.addCommand(new RoleServerCommand(this, Role.WORKER, "Runs only the Temporal worker"));
    bootstrap.addCommand(new KeysCommand(System.out));
  }

  @Override
  public void run(BatchGatewayConfiguration config, Environment environment) throws Exception {
    if (config.getServerFactory() instanceof AbstractServerFactory server) {
      // Every error, Jersey's own included, must come out in OpenAI's envelope.
      server.setRegisterDefaultExceptionMappers(false);
    }
    ObjectMapper json = environment.getObjectMapper();
    Clock clock = Clock.systemUTC();
    AdminMetrics.register(environment);

    Migrations.apply(config.getDatabase());
    Jdbi jdbi = new JdbiFactory().build(environment, config.getDatabase(), "postgresql");
    // Dropwizard wraps JDBI's template engine to prepend SQL-object method names, and the wrapper
    // only renders: JDBI's cache of parsed templates is bypassed and every statement was parsed
    // again by an ANTLR lexer (2.1% of the gateway's CPU samples in the overhead benchmark's
    // profile). The gateway's SQL is fluent (no SQL objects to name); the plain engine, which
    // JDBI caches, still expands the <lists> of bindList.
    jdbi.getConfig(SqlStatements.class).setTemplateEngine(new DefinedAttributeTemplateEngine());
    JdbiMetadataStore metadata = new JdbiMetadataStore(jdbi, json);
    FileStore store = config.getFiles().build(environment);

    // Managed first, so it stops last: the spans of everything else are flushed.
    Tracing tracing = Tracing.start(config.getTracing(), role, spanProcessor(config.getTracing()));
    environment.lifecycle().manage(tracing);
    if (tracing.enabled()) {
      log.info(
          "Tracing on: {} of new traces recorded, spans to {}",
          config.getTracing().sampleRatio(),
          config.getTracing().enabled() ? config.getTracing().tracesUrl() : "a test exporter");
    }

    TemporalConnection temporal =
        new TemporalConnection(config.getTemporal(), environment.metrics(), tracing.temporal());
    environment.lifecycle().manage(temporal);
    environment.healthChecks().register("temporal", new TemporalHealthCheck(temporal));
    environment.lifecycle().manage(searchAttributes(temporal));

    if (role.runsApi()) {
      // Requests Jetty refuses itself (bad URIs, header limits) get the envelope too.
      environment
          .lifecycle()
          .addServerLifecycleListener(server -> server.setErrorHandler(new EnvelopeErrorHandler()));
      environment
          .servlets()
          .addFilter("request-id", new RequestIdFilter())
          .addMappingForUrlPatterns(EnumSet.of(DispatcherType.REQUEST), true, "/*");
      environment
          .servlets()
          .addFilter("security-headers", new SecurityHeadersFilter())
          .addMappingForUrlPatterns(EnumSet.of(DispatcherType.REQUEST), true, "/*");
      if (tracing.enabled()) {
        environment
            .servlets()
            .addFilter(
                "tracing",
                new TracingFilter(
                    tracing.tracer(),
                    tracing.openTelemetry().getPropagators().getTextMapPropagator()))
            .addMappingForUrlPatterns(EnumSet.of(DispatcherType.REQUEST), true, "/v1/*");
        environment.jersey().register(new TracingRouteFilter());
      }
      TrustedHeaderSettings trusted = config.getTrustedHeader();
      if (trusted.enabled()) {
        environment
            .servlets()
            .addFilter(
                "trusted-header", new TrustedHeaderFilter(trusted.header(), trusted.proxyRanges()))
            .addMappingForUrlPatterns(EnumSet.of(DispatcherType.REQUEST), true, "/*");
        log.info(
            "Tenants are also read from header {} on connections from trusted proxies",
            trusted.header());
      }
      TenantLookup keys =
          ApiKeys.parse(config.getApiKeys())
              .orElse(new StoredKeys(new JdbiApiKeyStore(jdbi)::find));
      environment.jersey().register(new ApiKeyFilter(keys));
      QuotaMetrics quotaMetrics = new QuotaMetrics(environment.metrics());
      environment
          .jersey()
          .register(
              new RateLimitFilter(
                  new ApiRateLimiter(config.getQuotas(), System::nanoTime), quotaMetrics));
      environment.jersey().register(new ApiExceptionMapper());
      environment.jersey().register(new WebApplicationExceptionMapper());
      environment.jersey().register(new JsonErrorMapper());
      environment.jersey().register(new UnexpectedExceptionMapper());
      environment.jersey().register(new StoreUnavailableMapper());
      environment.jersey().register(new OpenApiResource());
      environment
          .jersey()
          .register(
              new FilesResource(
                  metadata, store, config.getBatches(), config.getStorageQuota(), clock));
      BatchWorkflowClient workflows = new BatchWorkflowClient(temporal.client());
      environment
          .jersey()
          .register(
              new BatchesResource(
                  metadata,
                  new TemporalBatchEngine(workflows),
                  config.getBatches(),
                  config.getQuotas(),
                  quotaMetrics,
                  json,
                  clock));
      environment
          .lifecycle()
          .manage(
              new StartReconciler(
                  metadata,
                  workflows,
                  clock,
                  Duration.ofMinutes(2),
                  Duration.ofSeconds(30),
                  environment.metrics()));
      environment
          .lifecycle()
          .manage(
              new BatchStateGauges(
                  jdbi,
                  clock,
                  environment
                      .lifecycle()
                      .scheduledExecutorService("batch-state-metrics-%d")
                      .threads(1)
                      .build(),
                  Duration.ofSeconds(15),
                  environment.metrics()));
    }
    if (role.runsWorker()) {
      BatchSettings batchSettings = config.getBatches().toSettings();
      HttpInferenceClient inference =
          new HttpInferenceClient(
              config.getInference(),
              new PoolRetry(
                  batchSettings.maxAttempts(),
                  batchSettings.initialBackoff(),
                  batchSettings.maxBackoff()),
              batchSettings.limits().maxResponseBytes(),
              json,
              clock,
              System::getenv);
      environment
          .lifecycle()
          .manage(
              new Managed() {
                @Override
                public void stop() {
                  inference.close();
                }
              });
      PoolLimiter limiter = config.getLimiter().build(environment);
      ScheduledExecutorService retries =
          environment.lifecycle().scheduledExecutorService("request-retry-%d").threads(2).build();
      ChunkRunner runner =
          new ChunkRunner(
              json,
              store,
              metadata,
              inference,
              new SharingConcurrencyLimiter(
                  limiter, limiter, config.getBatches().toSharing(), clock, environment.metrics()),
              batchSettings,
              config.getBatches().toOutage(),
              retries,
              environment.metrics(),
              tracing.inferenceTracer());
      WorkerDrain drain = new WorkerDrain();
      environment
          .lifecycle()
          .manage(
              new BatchWorker(
                  temporal,
                  config.getTemporal(),
                  new BatchLifecycleActivitiesImpl(
                      json, metadata, store, inference, batchSettings, clock),
                  new ChunkActivitiesImpl(runner, metadata, clock, drain),
                  grace -> {
                    drain.begin(grace);
                    drain.awaitIdle(grace.plusSeconds(5));
                  }));
      CleanupSettings cleanup = config.getCleanup();
      if (cleanup.isEnabled()) {
        environment
            .lifecycle()
            .manage(
                new CleanupWorker(
                    temporal,
                    new CleanupActivitiesImpl(
                        new JdbiCleanupStore(jdbi), store, clock, environment.metrics())));
        environment
            .lifecycle()
            .manage(new CleanupSchedule(temporal, cleanup.interval(), cleanup.toRequest()));
      }
      CapacitySettings capacity = config.getCapacity();
      CapacityControl.register(
          environment,
          temporal,
          capacity,
          capacity.pools(config.getInference().pools()),
          limiter,
          config.getLimiter().initialPermits(),
          inference.metricsFetcher(capacity.metricsTimeout()));
    }
  }

  /**
   * Where this process's spans go: to the configured OTLP endpoint, or nowhere (tracing off) when
   * none is set. Tests override it to keep the spans in memory.
   */
  protected SpanProcessor spanProcessor(TracingSettings settings) {
    return Tracing.otlpProcessor(settings);
  }

  /**
   * Registers the search attributes in the background, retrying while Temporal is still starting,
   * so the gateway never waits on it to come up.
   */
  private static Managed searchAttributes(TemporalConnection temporal) {
    return new Managed() {
      private Thread thread;

      @Override
      public void start() {
        thread =
            Thread.ofVirtual()
                .name("search-attributes")
                .start(
                    () -> {
                      while (!Thread.currentThread().isInterrupted()) {
                        try {
                          SearchAttributeRegistrar.ensure(temporal);
                          return;
                        } catch (RuntimeException e) {
                          log.info("Search attributes not registered yet: {}", e.getMessage());
                          try {
                            Thread.sleep(2000);
                          } catch (InterruptedException interrupted) {
                            return;
                          }
                        }
                      }
                    });
      }

      @Override
      public void stop() {
        thread.interrupt();
      }
    };
  }
}
