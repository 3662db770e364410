package dev.batchgateway.activities.model;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class IdsTest {

  @Test
  void derivedFileIdsAreStablePerBatchAndRole() {
    String output = Ids.derivedFileId("batch_1", "output");

    assertThat(output).matches("file-[0-9A-Za-z]{24}");
    assertThat(Ids.derivedFileId("batch_1", "output")).isEqualTo(output);
    assertThat(Ids.derivedFileId("batch_1", "error")).isNotEqualTo(output);
    assertThat(Ids.derivedFileId("batch_2", "output")).isNotEqualTo(output);
  }

  @Test
  void newIdsHaveOpenAiShapesAndDiffer() {
    assertThat(Ids.newFileId()).matches("file-[0-9A-Za-z]{24}");
    assertThat(Ids.newBatchId()).matches("batch_[0-9A-Za-z]{24}");
    assertThat(Ids.newRequestId()).matches("batch_req_[0-9A-Za-z]{24}");
    assertThat(Ids.newBatchId()).isNotEqualTo(Ids.newBatchId());
  }

  @Test
  void requestIdsFromManyThreadsNeverRepeat() throws Exception {
    java.util.Set<String> seen = java.util.concurrent.ConcurrentHashMap.newKeySet();
    java.util.List<Thread> threads = new java.util.ArrayList<>();
    for (int t = 0; t < 4; t++) {
      threads.add(
          Thread.ofPlatform()
              .start(
                  () -> {
                    for (int i = 0; i < 50_000; i++) {
                      seen.add(Ids.newRequestId());
                    }
                  }));
    }
    for (Thread thread : threads) {
      thread.join();
    }
    assertThat(seen).hasSize(200_000);
  }

  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(strings = {"request", "file"})
  void everyCharacterOfTheAlphabetIsEquallyLikely(String kind) {
    int[] counts = new int[128];
    int ids = 20_000;
    for (int i = 0; i < ids; i++) {
      String id = kind.equals("request") ? Ids.newRequestId() : Ids.newFileId();
      for (char c : id.substring(id.length() - 24).toCharArray()) {
        counts[c]++;
      }
    }
    String alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    double expected = ids * 24.0 / alphabet.length();
    // About 7,700 each, give or take 90 (one standard deviation); a byte taken modulo 62 without
    // skipping the top of its range would make '0' to '7' a fifth more common.
    for (char c : alphabet.toCharArray()) {
      assertThat(counts[c]).as("'%s'", c).isBetween((int) (expected * 0.9), (int) (expected * 1.1));
    }
  }
}
