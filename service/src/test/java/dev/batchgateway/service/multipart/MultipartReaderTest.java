package dev.batchgateway.service.multipart;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class MultipartReaderTest {
  private static final String BOUNDARY = "XyZ123";

  private record Read(String name, String filename, byte[] body) {}

  private static List<Read> readAll(byte[] body, int maxChunk) throws IOException {
    MultipartReader reader = new MultipartReader(new Trickle(body, maxChunk), BOUNDARY);
    List<Read> parts = new ArrayList<>();
    MultipartReader.Part part;
    while ((part = reader.next()) != null) {
      parts.add(new Read(part.name(), part.filename(), part.body().readAllBytes()));
    }
    return parts;
  }

  private static byte[] form(byte[] file) {
    byte[] head =
        ("preamble\r\n--"
                + BOUNDARY
                + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n--"
                + BOUNDARY
                + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"in.jsonl\"\r\n"
                + "Content-Type: application/octet-stream\r\n\r\n")
            .getBytes(StandardCharsets.ISO_8859_1);
    byte[] tail = ("\r\n--" + BOUNDARY + "--\r\n").getBytes(StandardCharsets.ISO_8859_1);
    byte[] all = new byte[head.length + file.length + tail.length];
    System.arraycopy(head, 0, all, 0, head.length);
    System.arraycopy(file, 0, all, head.length, file.length);
    System.arraycopy(tail, 0, all, head.length + file.length, tail.length);
    return all;
  }

  @Test
  void readsFieldsAndFileWhateverTheReadSizes() throws IOException {
    byte[] file = new byte[300_000];
    new Random(7).nextBytes(file);
    for (int chunk : new int[] {1, 7, 4096, 1 << 20}) {
      List<Read> parts = readAll(form(file), chunk);
      assertThat(parts).hasSize(2);
      assertThat(parts.get(0).name()).isEqualTo("purpose");
      assertThat(new String(parts.get(0).body(), StandardCharsets.UTF_8)).isEqualTo("batch");
      assertThat(parts.get(1).filename()).isEqualTo("in.jsonl");
      assertThat(parts.get(1).body()).isEqualTo(file);
    }
  }

  @Test
  void bytesThatAlmostMatchTheBoundaryStayInTheBody() throws IOException {
    byte[] file = ("a\r\n--XyZ12\r\n--XyZ\r\n-" + "\r\n--XyZ12").getBytes(StandardCharsets.UTF_8);
    assertThat(readAll(form(file), 3).get(1).body()).isEqualTo(file);
  }

  @Test
  void emptyFilePartIsEmpty() throws IOException {
    assertThat(readAll(form(new byte[0]), 5).get(1).body()).isEmpty();
  }

  @Test
  void truncatedBodyIsMalformed() {
    byte[] whole = form("line\n".getBytes(StandardCharsets.UTF_8));
    byte[] cut = java.util.Arrays.copyOf(whole, whole.length - 12);
    assertThatThrownBy(() -> readAll(cut, 64)).isInstanceOf(MalformedMultipartException.class);
    assertThatThrownBy(() -> readAll("no boundary at all".getBytes(StandardCharsets.UTF_8), 64))
        .isInstanceOf(MalformedMultipartException.class);
  }

  @Test
  void parsesBoundaryAndDispositionParameters() {
    assertThat(MultipartReader.boundaryOf("multipart/form-data; boundary=abc")).isEqualTo("abc");
    assertThat(MultipartReader.boundaryOf("multipart/form-data; charset=utf-8; boundary=\"a b\""))
        .isEqualTo("a b");
    assertThat(MultipartReader.boundaryOf("application/json")).isNull();
    assertThat(MultipartReader.boundaryOf("multipart/form-data")).isNull();
    assertThat(MultipartReader.boundaryOf(null)).isNull();
    assertThat(
            MultipartReader.parameter(
                "form-data; name=\"file\"; filename=\"we\\\"ird; name.jsonl\"", "filename"))
        .isEqualTo("we\"ird; name.jsonl");
    assertThat(MultipartReader.parameter("form-data; name=purpose", "name")).isEqualTo("purpose");
    assertThat(MultipartReader.parameter("form-data; name=\"x\"", "filename")).isNull();
  }

  /** Hands out at most {@code max} bytes per read, as a slow network would. */
  private static final class Trickle extends FilterInputStream {
    private final int max;

    Trickle(byte[] data, int max) {
      super(new ByteArrayInputStream(data));
      this.max = max;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      return in.read(b, off, Math.min(len, max));
    }
  }
}
