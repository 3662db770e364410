package dev.batchgateway.service.files;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class RequestLineCounterTest {
  private static long count(String text, int chunk) throws IOException {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    RequestLineCounter counter = new RequestLineCounter(new ByteArrayInputStream(bytes));
    ByteArrayOutputStream copy = new ByteArrayOutputStream();
    byte[] buffer = new byte[chunk];
    int n;
    while ((n = counter.read(buffer, 0, chunk)) != -1) {
      copy.write(buffer, 0, n);
    }
    assertThat(copy.toByteArray()).as("passes the bytes through").isEqualTo(bytes);
    return counter.requests();
  }

  @Test
  void countsNonBlankLinesAsValidationDoes() throws IOException {
    String text = "{\"a\":1}\n\n  \t\r\n{\"b\":2}\r\n{\"c\":3}";
    for (int chunk : new int[] {1, 2, 3, 7, 8192}) {
      assertThat(count(text, chunk)).as("read %d bytes at a time", chunk).isEqualTo(3);
    }
  }

  @Test
  void aTrailingNewlineAddsNoLineAndAnEmptyFileHasNone() throws IOException {
    assertThat(count("x\ny\n", 4)).isEqualTo(2);
    assertThat(count("", 4)).isZero();
    assertThat(count("\n\n \n", 4)).isZero();
  }

  @Test
  void singleByteReadsCountToo() throws IOException {
    InputStream in = new RequestLineCounter(new ByteArrayInputStream("a\nb".getBytes()));
    while (in.read() != -1) {
      // reading
    }
    assertThat(((RequestLineCounter) in).requests()).isEqualTo(2);
  }

  @Test
  void skippedBytesAreCounted() throws IOException {
    RequestLineCounter counter =
        new RequestLineCounter(new ByteArrayInputStream("a\nb\nc\n".getBytes()));
    assertThat(counter.skip(3)).isEqualTo(3);
    while (counter.read() != -1) {
      // reading
    }
    assertThat(counter.requests()).isEqualTo(3);
  }
}
