package dev.batchgateway.service.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;

/** The checks an OpenAI batch client makes on a finished batch (OPENAI_CONTRACT.md). */
final class Invariants {
  private Invariants() {}

  static void assertHold(
      JsonNode batch, List<JsonNode> output, List<JsonNode> errors, Collection<String> inputIds) {
    JsonNode counts = batch.get("request_counts");
    long total = counts.get("total").asLong();
    long completed = counts.get("completed").asLong();
    long failed = counts.get("failed").asLong();
    assertThat(completed + failed).isEqualTo(total);
    assertThat(total).isEqualTo(inputIds.size());
    assertThat(output).hasSize((int) completed);
    assertThat(errors).hasSize((int) failed);

    List<String> seen = new ArrayList<>();
    output.forEach(line -> seen.add(line.get("custom_id").asText()));
    errors.forEach(line -> seen.add(line.get("custom_id").asText()));
    assertThat(seen).doesNotHaveDuplicates().containsExactlyInAnyOrderElementsOf(inputIds);

    for (JsonNode line : output) {
      assertThat(fieldNames(line)).containsExactly("id", "custom_id", "response", "error");
      assertThat(line.get("id").asText()).startsWith("batch_req_");
      assertThat(line.at("/response/status_code").asInt()).isBetween(200, 299);
      assertThat(line.get("error").isNull()).isTrue();
    }
    for (JsonNode line : errors) {
      assertThat(fieldNames(line)).containsExactly("id", "custom_id", "response", "error");
      boolean answered = !line.get("response").isNull();
      assertThat(answered ? line.get("error").isNull() : !line.get("error").isNull()).isTrue();
    }
    assertThat(batch.get("output_file_id").isNull()).isEqualTo(completed == 0);
    assertThat(batch.get("error_file_id").isNull()).isEqualTo(failed == 0);

    List<Long> stamps = new ArrayList<>();
    stamps.add(batch.get("created_at").asLong());
    for (String field :
        List.of(
            "in_progress_at",
            "finalizing_at",
            "cancelling_at",
            "completed_at",
            "failed_at",
            "expired_at",
            "cancelled_at")) {
      if (!batch.get(field).isNull()) {
        stamps.add(batch.get(field).asLong());
      }
    }
    assertThat(stamps).isSorted();
  }

  static List<String> fieldNames(JsonNode node) {
    List<String> names = new ArrayList<>();
    for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
      names.add(it.next());
    }
    return names;
  }
}
