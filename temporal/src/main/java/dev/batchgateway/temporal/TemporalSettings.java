package dev.batchgateway.temporal;

import com.fasterxml.jackson.annotation.JsonProperty;

/** Where the Temporal frontend is and how a worker on this node behaves. */
public class TemporalSettings {
  @JsonProperty private String target = "127.0.0.1:7233";
  @JsonProperty private String namespace = "default";

  /** Activities one worker runs at once; each running chunk holds one. */
  @JsonProperty private int maxConcurrentActivities = 64;

  @JsonProperty private int maxConcurrentWorkflowTasks = 16;

  public String getTarget() {
    return target;
  }

  public void setTarget(String target) {
    this.target = target;
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
}
