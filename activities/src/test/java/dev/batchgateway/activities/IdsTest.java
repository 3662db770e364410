package dev.batchgateway.activities;

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
}
