package dev.batchgateway.service;

/** What a gateway process runs: the REST API, the Temporal worker, or both. */
public enum Role {
  ALL(true, true),
  API(true, false),
  WORKER(false, true);

  private final boolean api;
  private final boolean worker;

  Role(boolean api, boolean worker) {
    this.api = api;
    this.worker = worker;
  }

  public boolean runsApi() {
    return api;
  }

  public boolean runsWorker() {
    return worker;
  }
}
