package dev.batchgateway.activities.port;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What every {@link FileStore} adapter must do, run against each of them on a real backend. A
 * subclass hands out an empty store for each test.
 */
public abstract class FileStoreContract {

  /** An empty store; called before each test. */
  protected abstract FileStore newStore() throws IOException;

  /** Big enough that the adapter writes it in several pieces (parts, buffers). */
  protected int largeObjectBytes() {
    return 3 * 1024 * 1024 + 12_345;
  }

  private FileStore store;

  @BeforeEach
  void createStore() throws IOException {
    store = newStore();
  }

  private FileStore s() {
    return store;
  }

  protected void put(String key, String text) throws IOException {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    s().write(key, new ByteArrayInputStream(bytes), bytes.length);
  }

  protected String get(String key) throws IOException {
    try (InputStream in = s().open(key)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  private String range(String key, long offset, long length) throws IOException {
    try (InputStream in = s().openRange(key, offset, length)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  private static byte[] randomBytes(int size, long seed) {
    byte[] bytes = new byte[size];
    new Random(seed).nextBytes(bytes);
    return bytes;
  }

  @Test
  void anObjectIsVisibleOnlyAfterCommit() throws IOException {
    try (FileStore.Pending pending = s().create("t1/files/a")) {
      pending.stream().write("hello".getBytes(StandardCharsets.UTF_8));
      pending.stream().flush();

      assertThat(s().exists("t1/files/a")).isFalse();
      assertThat(s().list("t1/")).isEmpty();
      assertThatThrownBy(() -> s().open("t1/files/a")).isInstanceOf(NoSuchFileException.class);

      pending.commit();
    }

    assertThat(s().exists("t1/files/a")).isTrue();
    assertThat(get("t1/files/a")).isEqualTo("hello");
    assertThat(s().list("t1/")).containsExactly("t1/files/a");
  }

  @Test
  void closingWithoutCommitLeavesNothing() throws IOException {
    try (FileStore.Pending pending = s().create("t1/files/a")) {
      pending.stream().write(new byte[100_000]);
    }
    try (FileStore.Pending pending = s().create("t1/files/large")) {
      pending.stream().write(randomBytes(largeObjectBytes(), 1));
    }

    assertThat(s().exists("t1/files/a")).isFalse();
    assertThat(s().exists("t1/files/large")).isFalse();
    assertThat(s().list("")).isEmpty();
    assertThat(s().list("t1/")).isEmpty();
  }

  @Test
  void anEmptyObjectCanBeStored() throws IOException {
    try (FileStore.Pending pending = s().create("t1/files/empty")) {
      pending.commit();
    }

    assertThat(s().exists("t1/files/empty")).isTrue();
    assertThat(get("t1/files/empty")).isEmpty();
    assertThat(range("t1/files/empty", 0, 10)).isEmpty();
  }

  @Test
  void aCommitReplacesAnEarlierObject() throws IOException {
    put("t1/files/a", "first");
    put("t1/files/a", "second");

    assertThat(get("t1/files/a")).isEqualTo("second");
    assertThat(s().list("t1/")).containsExactly("t1/files/a");
  }

  @Test
  void writeReturnsTheByteCount() throws IOException {
    long written = s().write("t1/files/a", new ByteArrayInputStream(new byte[1000]), 1000);

    assertThat(written).isEqualTo(1000);
    try (InputStream in = s().open("t1/files/a")) {
      assertThat(in.readAllBytes()).hasSize(1000);
    }
  }

  @Test
  void writingMoreThanTheLimitThrowsAndStoresNothing() throws IOException {
    byte[] big = randomBytes(largeObjectBytes(), 2);
    long limit = big.length - 1;

    assertThatThrownBy(() -> s().write("t1/files/big", new ByteArrayInputStream(big), limit))
        .isInstanceOf(SizeLimitExceededException.class)
        .satisfies(e -> assertThat(((SizeLimitExceededException) e).limit()).isEqualTo(limit));

    assertThat(s().exists("t1/files/big")).isFalse();
    assertThat(s().list("t1/")).isEmpty();
  }

  @Test
  void aFailedWriteKeepsTheEarlierObject() throws IOException {
    put("t1/files/a", "kept");

    assertThatThrownBy(() -> s().write("t1/files/a", new ByteArrayInputStream(new byte[10]), 5))
        .isInstanceOf(SizeLimitExceededException.class);

    assertThat(get("t1/files/a")).isEqualTo("kept");
  }

  @Test
  void aLargeObjectWrittenInSmallPiecesReadsBackWholeAndByRange() throws IOException {
    byte[] bytes = randomBytes(largeObjectBytes(), 3);
    try (FileStore.Pending pending = s().create("t1/files/large")) {
      OutputStream out = pending.stream();
      int at = 0;
      int step = 1;
      while (at < bytes.length) {
        int n = Math.min(step, bytes.length - at);
        out.write(bytes, at, n);
        at += n;
        step = step * 7 % 100_003 + 1;
      }
      pending.commit();
    }

    try (InputStream in = s().open("t1/files/large")) {
      assertThat(Arrays.equals(in.readAllBytes(), bytes)).isTrue();
    }
    int middle = bytes.length / 2;
    try (InputStream in = s().openRange("t1/files/large", middle - 1000, 2_000_000)) {
      byte[] part = in.readAllBytes();
      assertThat(part).hasSize(Math.min(2_000_000, bytes.length - middle + 1000));
      assertThat(
              Arrays.equals(
                  part, Arrays.copyOfRange(bytes, middle - 1000, middle - 1000 + part.length)))
          .isTrue();
    }
  }

  @Test
  void singleByteWritesAndArrayWritesMakeOneObject() throws IOException {
    byte[] bytes = randomBytes(largeObjectBytes(), 4);
    int half = bytes.length / 2 + 1;
    try (FileStore.Pending pending = s().create("t1/files/mixed")) {
      OutputStream out = pending.stream();
      for (int i = 0; i < half; i++) {
        out.write(bytes[i]);
      }
      out.write(bytes, half, bytes.length - half);
      pending.commit();
    }

    try (InputStream in = s().open("t1/files/mixed")) {
      assertThat(Arrays.equals(in.readAllBytes(), bytes)).isTrue();
    }
  }

  @Test
  void aRangeReadsTheBytesAskedAndStopsAtTheEnd() throws IOException {
    put("t1/files/r", "0123456789");

    assertThat(range("t1/files/r", 0, 10)).isEqualTo("0123456789");
    assertThat(range("t1/files/r", 0, 1)).isEqualTo("0");
    assertThat(range("t1/files/r", 3, 4)).isEqualTo("3456");
    assertThat(range("t1/files/r", 9, 1)).isEqualTo("9");
    assertThat(range("t1/files/r", 7, 100)).isEqualTo("789");
    assertThat(range("t1/files/r", 4, 0)).isEmpty();
    assertThat(range("t1/files/r", 10, 5)).isEmpty();
    assertThat(range("t1/files/r", 50, 5)).isEmpty();
  }

  @Test
  void aRangeCanBeSkippedThrough() throws IOException {
    put("t1/files/r", "0123456789");

    try (InputStream in = s().openRange("t1/files/r", 2, 6)) {
      in.skipNBytes(3);
      assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("567");
    }
  }

  @Test
  void listReturnsKeysUnderThePrefixSorted() throws IOException {
    put("t1/batches/b/chunk-00001/seg-00000.jsonl", "x");
    put("t1/batches/b/chunk-00000/seg-00001.jsonl", "x");
    put("t1/batches/b/chunk-00000/seg-00000.partial.jsonl", "x");
    put("t1/batches/b/chunk-00000/seg-00000.jsonl", "x");
    put("t1/batches/b/chunk-00000/input.jsonl", "x");
    put("t1/batches/bb/chunk-00000/input.jsonl", "x");
    put("t2/batches/b/chunk-00000/input.jsonl", "x");

    assertThat(s().list("t1/batches/b/chunk-00000/"))
        .containsExactly(
            "t1/batches/b/chunk-00000/input.jsonl",
            "t1/batches/b/chunk-00000/seg-00000.jsonl",
            "t1/batches/b/chunk-00000/seg-00000.partial.jsonl",
            "t1/batches/b/chunk-00000/seg-00001.jsonl");
    assertThat(s().list("t1/batches/b/")).hasSize(5).isSorted();
    assertThat(s().list("t1/batches/b")).hasSize(6).isSorted();
    assertThat(s().list("t1/")).hasSize(6);
    assertThat(s().list("")).hasSize(7).isSorted();
    assertThat(s().list("t3/")).isEmpty();
  }

  @Test
  void openingAMissingObjectThrowsNoSuchFile() {
    assertThatThrownBy(() -> s().open("t1/files/none")).isInstanceOf(NoSuchFileException.class);
    assertThatThrownBy(() -> s().openRange("t1/files/none", 0, 10))
        .isInstanceOf(NoSuchFileException.class);
    assertThatThrownBy(() -> s().openRange("t1/files/none", 5, 10))
        .isInstanceOf(NoSuchFileException.class);
  }

  @Test
  void deleteRemovesOneObjectAndIgnoresMissingOnes() throws IOException {
    put("t1/files/a", "a");
    put("t1/files/b", "b");

    s().delete("t1/files/a");
    s().delete("t1/files/none");

    assertThat(s().list("t1/")).containsExactly("t1/files/b");
    assertThat(s().exists("t1/files/a")).isFalse();
    assertThatThrownBy(() -> s().open("t1/files/a")).isInstanceOf(NoSuchFileException.class);
  }

  @Test
  void deleteAllRemovesEverythingUnderThePrefixOnly() throws IOException {
    put("t1/batches/b/chunk-00000/input.jsonl", "x");
    put("t1/batches/b/chunk-00000/seg-00000.jsonl", "x");
    put("t1/batches/b/chunk-00001/input.jsonl", "x");
    put("t1/batches/b2/chunk-00000/input.jsonl", "x");
    put("t1/files/f", "x");
    put("t2/batches/b/chunk-00000/input.jsonl", "x");

    s().deleteAll("t1/batches/b/");

    assertThat(s().list("t1/"))
        .containsExactly("t1/batches/b2/chunk-00000/input.jsonl", "t1/files/f");
    assertThat(s().list("t2/")).containsExactly("t2/batches/b/chunk-00000/input.jsonl");
  }

  @Test
  void deleteAllOfAMissingPrefixIsNotAnError() throws IOException {
    s().deleteAll("t9/batches/none/");

    assertThat(s().list("")).isEmpty();
  }
}
