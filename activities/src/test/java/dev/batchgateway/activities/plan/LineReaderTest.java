package dev.batchgateway.activities.plan;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class LineReaderTest {

  /** A stream of {@code size} bytes of 'x' without any line break, made up as it is read. */
  private static InputStream endlessLine(long size) {
    return new InputStream() {
      private long left = size;

      @Override
      public int read() {
        return left-- > 0 ? 'x' : -1;
      }

      @Override
      public int read(byte[] b, int off, int len) {
        if (left <= 0) {
          return -1;
        }
        int n = (int) Math.min(len, left);
        java.util.Arrays.fill(b, off, off + n, (byte) 'x');
        left -= n;
        return n;
      }
    };
  }

  @Test
  void aLineOverTheLimitIsCountedNotKept() throws IOException {
    LineReader reader = new LineReader(endlessLine(50_000_000), 1000);

    assertThat(reader.next()).isTrue();
    assertThat(reader.tooLong()).isTrue();
    assertThat(reader.fullLength()).isEqualTo(50_000_000);
    assertThat(reader.bytes().length).isLessThanOrEqualTo(1001);
    assertThat(reader.next()).isFalse();
  }

  @Test
  void linesAtTheLimitAreKeptWithOrWithoutCarriageReturn() throws IOException {
    String atLimit = "a".repeat(10);
    String content = atLimit + "\r\n" + atLimit + "b\n" + atLimit + "\r";
    LineReader reader =
        new LineReader(new ByteArrayInputStream(content.getBytes(StandardCharsets.UTF_8)), 10);

    assertThat(reader.next()).isTrue();
    assertThat(reader.tooLong()).isFalse();
    assertThat(new String(reader.bytes(), 0, reader.length(), StandardCharsets.UTF_8))
        .isEqualTo(atLimit);
    assertThat(reader.next()).isTrue();
    assertThat(reader.tooLong()).isTrue();
    assertThat(reader.fullLength()).isEqualTo(11);
    assertThat(reader.next()).isTrue();
    assertThat(reader.tooLong()).isFalse();
    assertThat(reader.offset()).isEqualTo(24);
    assertThat(reader.next()).isFalse();
  }
}
