package dev.batchgateway.temporal;

import com.fasterxml.jackson.annotation.JsonProperty;

/** Where the Temporal frontend is and how a worker on this node behaves. */
public class TemporalSettings {
  @JsonProperty private String target = "127.0.0.1:7233";
  @JsonProperty private String namespace = "default";

  @JsonProperty private TemporalTlsSettings tls = new TemporalTlsSettings();

  /** Activities one worker runs at once; each running chunk holds one. */
  @JsonProperty private int maxConcurrentActivities = 64;

  @JsonProperty private int maxConcurrentWorkflowTasks = 16;

  /**
   * Lifecycle activities (status writes, plan, finalize) one worker runs at once. They have their
   * own task queue and slots, so running chunks never make them wait.
   */
  @JsonProperty private int maxConcurrentLifecycleActivities = 16;

  /**
   * On shutdown (SIGTERM), how long running chunks may wait for the requests they have on the wire;
   * they then save every result and hand their other lines to another worker.
   */
  @JsonProperty
  private io.dropwizard.util.Duration shutdownGrace = io.dropwizard.util.Duration.seconds(20);

  public java.time.Duration getShutdownGrace() {
    return java.time.Duration.ofMillis(shutdownGrace.toMilliseconds());
  }

  public String getTarget() {
    return target;
  }

  public void setTarget(String target) {
    this.target = target;
  }

  public TemporalTlsSettings getTls() {
    return tls;
  }

  public void setTls(TemporalTlsSettings tls) {
    this.tls = tls;
  }

  public String getNamespace() {
    return namespace;
  }

  public void setNamespace(String namespace) {
    this.namespace = namespace;
  }

  public int getMaxConcurrentActivities() {
    return maxConcurrentActivities;
  }

  public void setMaxConcurrentActivities(int maxConcurrentActivities) {
    this.maxConcurrentActivities = maxConcurrentActivities;
  }

  public int getMaxConcurrentWorkflowTasks() {
    return maxConcurrentWorkflowTasks;
  }

  public void setMaxConcurrentWorkflowTasks(int maxConcurrentWorkflowTasks) {
    this.maxConcurrentWorkflowTasks = maxConcurrentWorkflowTasks;
  }

  public int getMaxConcurrentLifecycleActivities() {
    return maxConcurrentLifecycleActivities;
  }

  public void setMaxConcurrentLifecycleActivities(int maxConcurrentLifecycleActivities) {
    this.maxConcurrentLifecycleActivities = maxConcurrentLifecycleActivities;
  }
}
