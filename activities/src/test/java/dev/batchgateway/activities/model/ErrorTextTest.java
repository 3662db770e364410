package dev.batchgateway.activities.model;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ErrorTextTest {

  @Test
  void urlsAddressesAndHostNamesAreRemoved() {
    String cleaned =
        ErrorText.clean(
            "Connection refused: vllm-0.llm-d.svc.cluster.local/10.42.3.17:8000 while calling"
                + " http://inference.internal:8000/v1/chat/completions (via [fd00::1]:9000,"
                + " fe80::1ff:fe23:4567:890a, 2001:0db8:85a3:0000:0000:8a2e:0370:7334,"
                + " localhost:8100 and gpu-node.corp)",
            ErrorText.MAX_DETAIL_CHARS);
    assertThat(cleaned)
        .doesNotContain("vllm-0")
        .doesNotContain("10.42")
        .doesNotContain("inference.internal")
        .doesNotContain("/v1/chat")
        .doesNotContain("fd00")
        .doesNotContain("fe80")
        .doesNotContain("2001")
        .doesNotContain("localhost")
        .doesNotContain("gpu-node")
        .startsWith("Connection refused: <host>/<address> while calling <url> (via <address>,")
        .contains("<host> and <host>)");
  }

  @Test
  void ordinaryErrorTextIsKept() {
    String text =
        "torch.cuda.OutOfMemoryError: CUDA out of memory at 12:30:45. Model"
            + " meta-llama/Llama-3.1-8B v1.2.3 has max_model_len 4096; e.g. shorten the prompt.";
    assertThat(ErrorText.clean(text, ErrorText.MAX_DETAIL_CHARS)).isEqualTo(text);
  }

  @Test
  void longTextIsCutAndKeptOnOneLine() {
    String cleaned = ErrorText.clean("line one\nline two\r\t" + "x".repeat(5000), 100);
    assertThat(cleaned).doesNotContain("\n").doesNotContain("\r").endsWith("... (cut)");
    assertThat(cleaned.length()).isLessThanOrEqualTo(100 + "... (cut)".length());
    assertThat(cleaned).startsWith("line one line two");
  }

  @Test
  void aHostCutAtTheLimitIsStillRemoved() {
    String text = "y".repeat(90) + " node-7.pool.svc.cluster.local said no";
    assertThat(ErrorText.clean(text, 100)).doesNotContain("node-7").doesNotContain("pool.svc");
  }

  @Test
  void quotesAreBoundedAndOneLine() {
    assertThat(ErrorText.quote("abc")).isEqualTo("abc");
    assertThat(ErrorText.quote(null)).isEqualTo("null");
    String quoted = ErrorText.quote("a\nb" + "z".repeat(10_000));
    assertThat(quoted).startsWith("a b").endsWith("...").doesNotContain("\n");
    assertThat(quoted.length()).isEqualTo(ErrorText.MAX_QUOTED_CHARS + 3);
    // A surrogate pair is never split in two.
    String emoji = "x".repeat(ErrorText.MAX_QUOTED_CHARS - 1) + "\uD83D\uDE00tail";
    assertThat(ErrorText.quote(emoji)).doesNotContain("\uD83D").endsWith("...");
  }
}
