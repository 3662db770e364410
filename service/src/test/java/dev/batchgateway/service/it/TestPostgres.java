package dev.batchgateway.service.it;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Stops and starts the test stack's PostgreSQL with {@code pg_ctl}, as {@code make test}
 * (scripts/test.sh) started it: its data directory, binaries, log file and OS user come from the
 * {@code BGW_TEST_PG_*} variables.
 */
final class TestPostgres {
  private TestPostgres() {}

  /** Fast shutdown: open sessions are cut, as in a crash of the database server. */
  static void stop() throws Exception {
    int exit =
        pgCtl("-D", TestStack.env("BGW_TEST_PG_DATA"), "-m", "fast", "-w", "-t", "60", "stop");
    if (exit != 0) {
      throw new IllegalStateException("pg_ctl stop exited with " + exit);
    }
  }

  static void start() throws Exception {
    int exit =
        pgCtl(
            "-D",
            TestStack.env("BGW_TEST_PG_DATA"),
            "-l",
            TestStack.env("BGW_TEST_PG_LOG"),
            "-w",
            "-t",
            "120",
            "start");
    if (exit != 0) {
      throw new IllegalStateException("pg_ctl start exited with " + exit);
    }
  }

  static boolean running() throws Exception {
    return pgCtl("-D", TestStack.env("BGW_TEST_PG_DATA"), "status") == 0;
  }

  /** Starts it unless it runs, so later tests find it up whatever happened before. */
  static void ensureRunning() throws Exception {
    if (!running()) {
      start();
    }
  }

  private static int pgCtl(String... args) throws Exception {
    List<String> command = new ArrayList<>();
    String osUser = System.getenv("BGW_TEST_PG_OS_USER");
    if (osUser != null && !osUser.isBlank()) {
      command.addAll(List.of("runuser", "-u", osUser, "--"));
    }
    command.add(TestStack.env("BGW_TEST_PG_BIN") + "/pg_ctl");
    command.addAll(List.of(args));
    Process process =
        new ProcessBuilder(command)
            .directory(new java.io.File("/"))
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .start();
    if (!process.waitFor(150, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new IllegalStateException("pg_ctl " + String.join(" ", args) + " did not return");
    }
    return process.exitValue();
  }
}
