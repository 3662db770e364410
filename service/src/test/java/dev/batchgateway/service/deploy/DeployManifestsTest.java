package dev.batchgateway.service.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.batchgateway.service.BatchGatewayApplication;
import dev.batchgateway.service.BatchGatewayConfiguration;
import dev.batchgateway.service.files.S3FileStoreFactory;
import dev.batchgateway.workflows.BatchSearchAttributes;
import io.dropwizard.configuration.ConfigurationFactory;
import io.dropwizard.configuration.EnvironmentVariableSubstitutor;
import io.dropwizard.configuration.SubstitutingSourceProvider;
import io.dropwizard.core.server.DefaultServerFactory;
import io.dropwizard.core.setup.Bootstrap;
import io.dropwizard.jetty.HttpConnectorFactory;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvFromSource;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.openshift.api.model.monitoring.v1.Endpoint;
import io.fabric8.openshift.api.model.monitoring.v1.ServiceMonitor;
import io.temporal.common.SearchAttributeKey;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.cfg.MapperConfig;
import tools.jackson.databind.introspect.Annotated;
import tools.jackson.databind.introspect.JacksonAnnotationIntrospector;
import tools.jackson.databind.json.JsonMapper;

/**
 * The Kubernetes manifests of deploy/k8s, checked without a cluster: the base and every overlay are
 * rendered with kustomize (from {@code .tools/bin}, which {@code scripts/tools.sh} fills), every
 * object is read strictly into its Kubernetes API type (an unknown or misspelt field fails), the
 * references between objects resolve, and the gateway's YAML in the ConfigMap parses as {@link
 * BatchGatewayConfiguration} the way Dropwizard reads it at start, with each gateway container's
 * environment.
 */
class DeployManifestsTest {
  /** What kustomize renders into, by apiVersion/kind: anything else fails until it is added. */
  private static final Map<String, Class<? extends HasMetadata>> TYPES =
      Map.of(
          "v1/Namespace", Namespace.class,
          "v1/ConfigMap", ConfigMap.class,
          "v1/Secret", Secret.class,
          "v1/Service", Service.class,
          "v1/PersistentVolumeClaim", PersistentVolumeClaim.class,
          "apps/v1/Deployment", Deployment.class,
          "batch/v1/Job", Job.class,
          "policy/v1/PodDisruptionBudget", PodDisruptionBudget.class,
          "networking.k8s.io/v1/NetworkPolicy", NetworkPolicy.class,
          "monitoring.coreos.com/v1/ServiceMonitor", ServiceMonitor.class);

  /** Stands in for the downward API's status.podIP. */
  private static final String POD_IP = "10.1.2.3";

  /**
   * What BatchWorker.stop takes beyond the drain grace (10 s for activities to return, 5 s after
   * interrupting them) plus margin for the rest of Dropwizard's shutdown.
   */
  private static final Duration WORKER_STOP_BEYOND_GRACE = Duration.ofSeconds(25);

  private static final ObjectMapper YAML = new YAMLMapper();

  /**
   * Strict: fabric8's types keep unknown fields in an any-setter map ({@code additionalProperties})
   * instead of failing; with any-setters switched off an unknown field is an error.
   */
  private static final JsonMapper STRICT =
      JsonMapper.builder()
          .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .annotationIntrospector(
              new JacksonAnnotationIntrospector() {
                private static final long serialVersionUID = 1L;

                @Override
                public Boolean hasAnySetter(MapperConfig<?> config, Annotated a) {
                  return Boolean.FALSE;
                }
              })
          .build();

  /**
   * Made as the application's Bootstrap makes it at start: its configuration factory factory (which
   * turns on FAIL_ON_UNKNOWN_PROPERTIES), object mapper and validator.
   */
  private static final ConfigurationFactory<BatchGatewayConfiguration> CONFIG_FACTORY =
      configurationFactory();

  private static ConfigurationFactory<BatchGatewayConfiguration> configurationFactory() {
    Bootstrap<BatchGatewayConfiguration> bootstrap = new Bootstrap<>(new BatchGatewayApplication());
    return bootstrap
        .getConfigurationFactoryFactory()
        .create(
            BatchGatewayConfiguration.class,
            bootstrap.getValidatorFactory().getValidator(),
            bootstrap.getObjectMapper(),
            "dw");
  }

  private static Path root;
  private static Path kustomize;

  @BeforeAll
  static void locate() {
    root = repositoryRoot();
    kustomize = kustomizeBinary(root);
  }

  @Test
  void baseRendersAndValidates() throws Exception {
    assertValid(root.resolve("deploy/k8s/base"));
  }

  @Test
  void devOverlayRendersAndValidates() throws Exception {
    Rendered dev = assertValid(root.resolve("deploy/k8s/overlays/dev"));
    // The dev Temporal server registers the same search attributes the workflows set.
    Map<String, String> registered = new TreeMap<>();
    for (Deployment d : dev.all(Deployment.class)) {
      for (Container c : d.getSpec().getTemplate().getSpec().getContainers()) {
        for (String arg : Objects.requireNonNullElse(c.getArgs(), List.<String>of())) {
          if (arg.startsWith("--search-attribute=")) {
            String[] pair = arg.substring("--search-attribute=".length()).split("=", 2);
            registered.put(pair[0], pair[1]);
          }
        }
      }
    }
    assertThat(registered)
        .as("--search-attribute flags of the dev Temporal server")
        .isEqualTo(expectedSearchAttributes());
  }

  @Test
  void productionOverlayRendersAndValidates() throws Exception {
    assertValid(root.resolve("deploy/k8s/overlays/production"));
  }

  @Test
  void temporalHelmValuesListTheSearchAttributesTheWorkflowsSet() throws Exception {
    JsonNode values =
        YAML.readTree(root.resolve("deploy/k8s/overlays/production/temporal-values.yaml").toFile());
    Map<String, String> listed = new TreeMap<>();
    values
        .path("batchGateway")
        .path("searchAttributes")
        .properties()
        .forEach(e -> listed.put(e.getKey(), e.getValue().asText()));
    assertThat(listed).isEqualTo(expectedSearchAttributes());
  }

  @Test
  void theConfigMapsGatewayYamlIsServiceConfigGatewayYml() throws Exception {
    assertThat(Files.readString(root.resolve("deploy/k8s/base/gateway.yml")))
        .as(
            "deploy/k8s/base/gateway.yml must be a copy of service/config/gateway.yml:"
                + " make fmt copies it")
        .isEqualTo(Files.readString(root.resolve("service/config/gateway.yml")));
  }

  @Test
  void theFilesystemStoreClaimIsAValidObject() throws Exception {
    // Not in any kustomization (the manifests use S3); checked on its own.
    List<String> problems = new ArrayList<>();
    for (JsonNode doc : documents(Files.readString(root.resolve("deploy/k8s/base/storage.yaml")))) {
      read(doc, problems);
    }
    assertThat(problems).isEmpty();
  }

  @Test
  void aMisspeltFieldIsRejected() throws Exception {
    // The check itself: a typo one level deep in a Deployment and in a ServiceMonitor fails.
    List<String> problems = new ArrayList<>();
    read(
        YAML.readTree(
            """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: x}
            spec:
              selector: {matchLabels: {a: b}}
              template:
                metadata: {labels: {a: b}}
                spec:
                  containers:
                    - name: c
                      image: i
                      readinessProbe: {httpGet: {path: /, port: 80}, periodSecond: 5}
            """),
        problems);
    read(
        YAML.readTree(
            """
            apiVersion: monitoring.coreos.com/v1
            kind: ServiceMonitor
            metadata: {name: x}
            spec:
              selector: {matchLabels: {a: b}}
              endpoints: [{port: admin, pathh: /metrics}]
            """),
        problems);
    assertThat(problems).hasSize(2);
    assertThat(problems.get(0)).contains("periodSecond");
    assertThat(problems.get(1)).contains("pathh");
  }

  // --- rendering and reading ---------------------------------------------------------------

  /** Objects of one kustomize build, read into their API types. */
  private record Rendered(Path dir, List<HasMetadata> objects) {
    <T extends HasMetadata> List<T> all(Class<T> type) {
      return objects.stream().filter(type::isInstance).map(type::cast).toList();
    }

    <T extends HasMetadata> T named(Class<T> type, String name) {
      return all(type).stream()
          .filter(o -> name.equals(o.getMetadata().getName()))
          .findFirst()
          .orElse(null);
    }
  }

  private Rendered assertValid(Path dir) throws Exception {
    String yaml = kustomizeBuild(dir);
    List<String> problems = new ArrayList<>();
    List<HasMetadata> objects = new ArrayList<>();
    for (JsonNode doc : documents(yaml)) {
      HasMetadata object = read(doc, problems);
      if (object != null) {
        objects.add(object);
      }
    }
    Rendered rendered = new Rendered(dir, objects);
    if (problems.isEmpty()) {
      checkReferences(rendered, problems);
      checkGatewayContainers(rendered, problems);
    }
    assertThat(problems).as("problems in %s", root.relativize(dir)).isEmpty();
    assertThat(rendered.all(Deployment.class))
        .extracting(d -> d.getMetadata().getName())
        .contains("batch-gateway-api", "batch-gateway-worker");
    return rendered;
  }

  private static List<JsonNode> documents(String yaml) throws IOException {
    List<JsonNode> docs = new ArrayList<>();
    try (var parser = new YAMLFactory().createParser(yaml)) {
      var it = YAML.readValues(parser, JsonNode.class);
      while (it.hasNext()) {
        JsonNode doc = it.next();
        if (doc != null && !doc.isNull() && !doc.isEmpty()) {
          docs.add(doc);
        }
      }
    }
    return docs;
  }

  /** The object in its API type, or null with the reason added to {@code problems}. */
  private static HasMetadata read(JsonNode doc, List<String> problems) {
    String apiVersion = doc.path("apiVersion").asText();
    String kind = doc.path("kind").asText();
    String name = apiVersion + "/" + kind + " " + doc.path("metadata").path("name").asText();
    Class<? extends HasMetadata> type = TYPES.get(apiVersion + "/" + kind);
    if (type == null) {
      problems.add(name + ": no API type known for " + apiVersion + "/" + kind);
      return null;
    }
    try {
      return STRICT.readValue(json(doc), type);
    } catch (RuntimeException e) {
      problems.add(name + ": " + e.getMessage());
      return null;
    }
  }

  private static String json(JsonNode doc) {
    try {
      return new ObjectMapper().writeValueAsString(doc);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  // --- references between objects ----------------------------------------------------------

  private static void checkReferences(Rendered r, List<String> problems) {
    for (Deployment d : r.all(Deployment.class)) {
      PodTemplateSpec template = d.getSpec().getTemplate();
      String where = "Deployment " + d.getMetadata().getName();
      Map<String, String> selector = d.getSpec().getSelector().getMatchLabels();
      if (!template.getMetadata().getLabels().entrySet().containsAll(selector.entrySet())) {
        problems.add(where + ": the pod labels do not match the selector " + selector);
      }
      checkPod(r, where, template, problems);
    }
    for (Job j : r.all(Job.class)) {
      checkPod(r, "Job " + j.getMetadata().getName(), j.getSpec().getTemplate(), problems);
    }
    for (Service s : r.all(Service.class)) {
      List<Container> pods = containersSelectedBy(r, s.getSpec().getSelector());
      if (pods.isEmpty()) {
        problems.add("Service " + s.getMetadata().getName() + ": selects no pod");
      }
      for (ServicePort p : s.getSpec().getPorts()) {
        IntOrString target = p.getTargetPort();
        if (target != null && target.getStrVal() != null) {
          boolean found = pods.stream().anyMatch(c -> containerPort(c, target.getStrVal()) != null);
          if (!found) {
            problems.add(
                "Service "
                    + s.getMetadata().getName()
                    + ": no selected container has a port named "
                    + target.getStrVal());
          }
        }
      }
    }
    for (PodDisruptionBudget pdb : r.all(PodDisruptionBudget.class)) {
      if (containersSelectedBy(r, pdb.getSpec().getSelector().getMatchLabels()).isEmpty()) {
        problems.add("PodDisruptionBudget " + pdb.getMetadata().getName() + ": selects no pod");
      }
    }
    for (NetworkPolicy np : r.all(NetworkPolicy.class)) {
      if (containersSelectedBy(r, np.getSpec().getPodSelector().getMatchLabels()).isEmpty()) {
        problems.add("NetworkPolicy " + np.getMetadata().getName() + ": selects no pod");
      }
    }
    for (ServiceMonitor sm : r.all(ServiceMonitor.class)) {
      Map<String, String> selector = sm.getSpec().getSelector().getMatchLabels();
      List<Service> services =
          r.all(Service.class).stream()
              .filter(
                  s ->
                      s.getMetadata().getLabels() != null
                          && s.getMetadata()
                              .getLabels()
                              .entrySet()
                              .containsAll(selector.entrySet()))
              .toList();
      if (services.isEmpty()) {
        problems.add("ServiceMonitor " + sm.getMetadata().getName() + ": selects no Service");
      }
      for (Endpoint e : sm.getSpec().getEndpoints()) {
        boolean found =
            services.stream()
                .flatMap(s -> s.getSpec().getPorts().stream())
                .anyMatch(p -> Objects.equals(p.getName(), e.getPort()));
        if (!found) {
          problems.add(
              "ServiceMonitor "
                  + sm.getMetadata().getName()
                  + ": no selected Service has a port named "
                  + e.getPort());
        }
      }
    }
  }

  /**
   * Named ports of probes exist, and the ConfigMaps and Secrets a pod uses are in the render. A
   * render without any Secret (the base; production, whose Secret is made outside Git) may name
   * one.
   */
  private static void checkPod(
      Rendered r, String where, PodTemplateSpec template, List<String> problems) {
    var spec = template.getSpec();
    for (Volume v : Objects.requireNonNullElse(spec.getVolumes(), List.<Volume>of())) {
      if (v.getConfigMap() != null
          && r.named(ConfigMap.class, v.getConfigMap().getName()) == null) {
        problems.add(where + ": volume " + v.getName() + " names a missing ConfigMap");
      }
    }
    for (Container c : spec.getContainers()) {
      for (Probe p :
          new Probe[] {c.getStartupProbe(), c.getReadinessProbe(), c.getLivenessProbe()}) {
        if (p != null && p.getHttpGet() != null && p.getHttpGet().getPort().getStrVal() != null) {
          String port = p.getHttpGet().getPort().getStrVal();
          if (containerPort(c, port) == null) {
            problems.add(where + ": a probe names port " + port + ", which the container lacks");
          }
        }
      }
      boolean rendersSecrets = !r.all(Secret.class).isEmpty();
      for (EnvFromSource from :
          Objects.requireNonNullElse(c.getEnvFrom(), List.<EnvFromSource>of())) {
        if (from.getConfigMapRef() != null
            && r.named(ConfigMap.class, from.getConfigMapRef().getName()) == null) {
          problems.add(where + ": envFrom names a missing ConfigMap");
        }
        if (rendersSecrets
            && from.getSecretRef() != null
            && r.named(Secret.class, from.getSecretRef().getName()) == null) {
          problems.add(where + ": envFrom names a missing Secret");
        }
      }
      for (EnvVar v : Objects.requireNonNullElse(c.getEnv(), List.<EnvVar>of())) {
        var ref = v.getValueFrom() == null ? null : v.getValueFrom().getSecretKeyRef();
        if (rendersSecrets
            && ref != null
            && !secretData(r.named(Secret.class, ref.getName())).containsKey(ref.getKey())) {
          problems.add(where + ": env " + v.getName() + " names a missing Secret key");
        }
      }
      for (VolumeMount m :
          Objects.requireNonNullElse(c.getVolumeMounts(), List.<VolumeMount>of())) {
        boolean declared =
            Objects.requireNonNullElse(spec.getVolumes(), List.<Volume>of()).stream()
                .anyMatch(v -> v.getName().equals(m.getName()));
        if (!declared) {
          problems.add(where + ": mounts volume " + m.getName() + ", which the pod lacks");
        }
      }
    }
  }

  private static List<Container> containersSelectedBy(Rendered r, Map<String, String> selector) {
    List<Container> out = new ArrayList<>();
    if (selector == null || selector.isEmpty()) {
      return out;
    }
    for (Deployment d : r.all(Deployment.class)) {
      Map<String, String> labels = d.getSpec().getTemplate().getMetadata().getLabels();
      if (labels != null && labels.entrySet().containsAll(selector.entrySet())) {
        out.addAll(d.getSpec().getTemplate().getSpec().getContainers());
      }
    }
    return out;
  }

  private static ContainerPort containerPort(Container c, String name) {
    return Objects.requireNonNullElse(c.getPorts(), List.<ContainerPort>of()).stream()
        .filter(p -> name.equals(p.getName()))
        .findFirst()
        .orElse(null);
  }

  // --- the gateway's own containers ---------------------------------------------------------

  private static final Set<String> COMMANDS = Set.of("server", "api", "worker");

  /**
   * Each gateway container runs a command of the jar on a config file from a ConfigMap, and that
   * file parses as the application's configuration with the container's environment; the admin port
   * is where the probes look; the worker may drain within its termination grace period.
   */
  private static void checkGatewayContainers(Rendered r, List<String> problems) throws Exception {
    for (Deployment d : r.all(Deployment.class)) {
      var pod = d.getSpec().getTemplate().getSpec();
      for (Container c : pod.getContainers()) {
        if (!c.getImage().contains("batch-gateway")) {
          continue;
        }
        String where = "Deployment " + d.getMetadata().getName() + " container " + c.getName();
        List<String> args = Objects.requireNonNullElse(c.getArgs(), List.of());
        if (args.size() != 2 || !COMMANDS.contains(args.get(0))) {
          problems.add(where + ": args must be <server|api|worker> <config file>, not " + args);
          continue;
        }
        String yaml = configFile(r, pod.getVolumes(), c, args.get(1));
        if (yaml == null) {
          problems.add(where + ": " + args.get(1) + " is not a key of a mounted ConfigMap");
          continue;
        }
        Map<String, String> env = environment(r, c);
        BatchGatewayConfiguration config;
        try {
          config = parse(yaml, env);
        } catch (Exception e) {
          problems.add(where + ": the gateway configuration does not parse: " + e.getMessage());
          continue;
        }
        if (!(config.getFiles() instanceof S3FileStoreFactory)) {
          problems.add(where + ": pods share no volume, so the file store must be s3");
        }
        var server = (DefaultServerFactory) config.getServerFactory();
        var admin = (HttpConnectorFactory) server.getAdminConnectors().get(0);
        ContainerPort adminPort = containerPort(c, "admin");
        if (adminPort == null || adminPort.getContainerPort() != admin.getPort()) {
          problems.add(where + ": the container port `admin` is not the admin connector's port");
        }
        if (!POD_IP.equals(admin.getBindHost())) {
          problems.add(
              where
                  + ": the admin connector binds "
                  + admin.getBindHost()
                  + ", which the kubelet's probes cannot reach (set BGW_ADMIN_BIND to the pod IP)");
        }
        if (args.get(0).equals("api")) {
          var http = (HttpConnectorFactory) server.getApplicationConnectors().get(0);
          ContainerPort httpPort = containerPort(c, "http");
          if (httpPort == null || httpPort.getContainerPort() != http.getPort()) {
            problems.add(where + ": the container port `http` is not the API connector's port");
          }
        }
        if (args.get(0).equals("worker")) {
          Duration needed = config.getTemporal().getShutdownGrace().plus(WORKER_STOP_BEYOND_GRACE);
          long period = Objects.requireNonNullElse(pod.getTerminationGracePeriodSeconds(), 30L);
          if (period < needed.toSeconds()) {
            problems.add(
                where
                    + ": terminationGracePeriodSeconds "
                    + period
                    + " is under temporal.shutdownGrace plus "
                    + WORKER_STOP_BEYOND_GRACE.toSeconds()
                    + " s ("
                    + needed.toSeconds()
                    + " s): Kubernetes would kill the worker mid-drain");
          }
        }
      }
    }
  }

  private static String configFile(Rendered r, List<Volume> volumes, Container c, String path) {
    for (VolumeMount m : Objects.requireNonNullElse(c.getVolumeMounts(), List.<VolumeMount>of())) {
      String dir = m.getMountPath().endsWith("/") ? m.getMountPath() : m.getMountPath() + "/";
      if (!path.startsWith(dir)) {
        continue;
      }
      for (Volume v : volumes) {
        if (v.getName().equals(m.getName()) && v.getConfigMap() != null) {
          ConfigMap cm = r.named(ConfigMap.class, v.getConfigMap().getName());
          if (cm != null && cm.getData() != null) {
            return cm.getData().get(path.substring(dir.length()));
          }
        }
      }
    }
    return null;
  }

  /** The container's environment as the kubelet builds it: envFrom in order, then env. */
  private static Map<String, String> environment(Rendered r, Container c) {
    Map<String, String> env = new LinkedHashMap<>();
    for (EnvFromSource from :
        Objects.requireNonNullElse(c.getEnvFrom(), List.<EnvFromSource>of())) {
      if (from.getConfigMapRef() != null) {
        ConfigMap cm = r.named(ConfigMap.class, from.getConfigMapRef().getName());
        if (cm != null && cm.getData() != null) {
          env.putAll(cm.getData());
        }
      }
      if (from.getSecretRef() != null) {
        env.putAll(secretData(r.named(Secret.class, from.getSecretRef().getName())));
      }
    }
    for (EnvVar v : Objects.requireNonNullElse(c.getEnv(), List.<EnvVar>of())) {
      if (v.getValue() != null) {
        env.put(v.getName(), v.getValue());
      } else if (v.getValueFrom() != null && v.getValueFrom().getFieldRef() != null) {
        if ("status.podIP".equals(v.getValueFrom().getFieldRef().getFieldPath())) {
          env.put(v.getName(), POD_IP);
        }
      } else if (v.getValueFrom() != null && v.getValueFrom().getSecretKeyRef() != null) {
        var ref = v.getValueFrom().getSecretKeyRef();
        String value = secretData(r.named(Secret.class, ref.getName())).get(ref.getKey());
        if (value != null) {
          env.put(v.getName(), value);
        }
      } else if (v.getValueFrom() != null && v.getValueFrom().getConfigMapKeyRef() != null) {
        var ref = v.getValueFrom().getConfigMapKeyRef();
        ConfigMap cm = r.named(ConfigMap.class, ref.getName());
        if (cm != null && cm.getData() != null && cm.getData().get(ref.getKey()) != null) {
          env.put(v.getName(), cm.getData().get(ref.getKey()));
        }
      }
    }
    return env;
  }

  private static Map<String, String> secretData(Secret s) {
    Map<String, String> out = new HashMap<>();
    if (s == null) {
      return out;
    }
    if (s.getData() != null) {
      s.getData()
          .forEach(
              (k, v) ->
                  out.put(k, new String(Base64.getDecoder().decode(v), StandardCharsets.UTF_8)));
    }
    if (s.getStringData() != null) {
      out.putAll(s.getStringData());
    }
    return out;
  }

  /**
   * As Dropwizard reads it at start: ${VAR:-default} substituted by the non-strict
   * EnvironmentVariableSubstitutor of BatchGatewayApplication.initialize (here from the container's
   * environment instead of the process's), then bound (unknown keys fail) and validated.
   */
  static BatchGatewayConfiguration parse(String yaml, Map<String, String> env) throws Exception {
    EnvironmentVariableSubstitutor substitutor = new EnvironmentVariableSubstitutor(false);
    substitutor.setVariableResolver(env::get);
    return CONFIG_FACTORY.build(
        new SubstitutingSourceProvider(
            path -> new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8)), substitutor),
        "gateway.yml");
  }

  private static Map<String, String> expectedSearchAttributes() {
    Map<String, String> out = new TreeMap<>();
    for (SearchAttributeKey<?> key : BatchSearchAttributes.ALL) {
      String type =
          switch (key.getValueType()) {
            case INDEXED_VALUE_TYPE_KEYWORD -> "Keyword";
            case INDEXED_VALUE_TYPE_INT -> "Int";
            case INDEXED_VALUE_TYPE_DATETIME -> "Datetime";
            case INDEXED_VALUE_TYPE_TEXT -> "Text";
            case INDEXED_VALUE_TYPE_BOOL -> "Bool";
            case INDEXED_VALUE_TYPE_DOUBLE -> "Double";
            case INDEXED_VALUE_TYPE_KEYWORD_LIST -> "KeywordList";
            default -> key.getValueType().name();
          };
      out.put(key.getName(), type);
    }
    return out;
  }

  // --- where things are ---------------------------------------------------------------------

  private static Path repositoryRoot() {
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      if (Files.isDirectory(dir.resolve("deploy/k8s/base"))) {
        return dir;
      }
    }
    throw new IllegalStateException(
        "deploy/k8s/base not found above " + Path.of("").toAbsolutePath());
  }

  /**
   * {@code .tools/bin/kustomize} of this checkout (scripts/tools.sh builds it; make test and
   * .ci/run call that), else one on PATH. Never skipped: without kustomize the manifests go
   * unchecked.
   */
  private static Path kustomizeBinary(Path root) {
    Path local = root.resolve(".tools/bin/kustomize");
    if (Files.isExecutable(local)) {
      return local;
    }
    for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
      Path candidate = Path.of(dir, "kustomize");
      if (!dir.isEmpty() && Files.isExecutable(candidate)) {
        return candidate;
      }
    }
    throw new IllegalStateException(
        "kustomize not found in .tools/bin or on PATH: run `bash scripts/tools.sh kustomize`"
            + " (make test does)");
  }

  private static String kustomizeBuild(Path dir) throws Exception {
    Path out = Files.createTempFile("kustomize", ".yaml");
    Path err = Files.createTempFile("kustomize", ".err");
    try {
      Process p =
          new ProcessBuilder(kustomize.toString(), "build", dir.toString())
              .redirectOutput(out.toFile())
              .redirectError(err.toFile())
              .start();
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IllegalStateException("kustomize build " + dir + " took over 60 s");
      }
      assertThat(p.exitValue()).as("kustomize build %s: %s", dir, Files.readString(err)).isZero();
      return Files.readString(out);
    } finally {
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }
}
