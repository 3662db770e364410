package dev.batchgateway.activities.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.batchgateway.activities.port.FileStore;
import dev.batchgateway.activities.port.SizeLimitExceededException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class FilesystemFileStoreTest {
  @TempDir Path root;
  private FilesystemFileStore store;

  @BeforeEach
  void setUp() throws IOException {
    store = new FilesystemFileStore(root.resolve("store"));
  }

  private void put(String key, String text) throws IOException {
    store.write(key, new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)), 1 << 20);
  }

  private String get(String key) throws IOException {
    try (InputStream in = store.open(key)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  private long filesOnDisk() throws IOException {
    try (Stream<Path> files = Files.walk(root)) {
      return files.filter(Files::isRegularFile).count();
    }
  }

  @Test
  void anObjectIsVisibleOnlyAfterCommit() throws IOException {
    try (FileStore.Pending pending = store.create("t1/files/a")) {
      pending.stream().write("hello".getBytes(StandardCharsets.UTF_8));
      pending.stream().flush();

      assertThat(store.exists("t1/files/a")).isFalse();
      assertThat(store.list("t1/")).isEmpty();
      assertThat(store.localPath("t1/files/a")).isEmpty();

      pending.commit();
    }

    assertThat(store.exists("t1/files/a")).isTrue();
    assertThat(get("t1/files/a")).isEqualTo("hello");
    assertThat(store.list("t1/")).containsExactly("t1/files/a");
    assertThat(store.localPath("t1/files/a"))
        .hasValueSatisfying(p -> assertThat(p).hasContent("hello"));
  }

  @Test
  void closingWithoutCommitLeavesNothing() throws IOException {
    try (FileStore.Pending pending = store.create("t1/files/a")) {
      pending.stream().write(new byte[100_000]);
    }

    assertThat(store.exists("t1/files/a")).isFalse();
    assertThat(store.list("")).isEmpty();
    assertThat(store.list("t1/")).isEmpty();
    assertThat(filesOnDisk()).isZero();
  }

  @Test
  void aCommitReplacesAnEarlierObject() throws IOException {
    put("t1/files/a", "first");
    put("t1/files/a", "second");

    assertThat(get("t1/files/a")).isEqualTo("second");
    assertThat(store.list("t1/")).containsExactly("t1/files/a");
  }

  @Test
  void writeReturnsTheByteCount() throws IOException {
    long written = store.write("t1/files/a", new ByteArrayInputStream(new byte[1000]), 1000);

    assertThat(written).isEqualTo(1000);
    assertThat(store.localPath("t1/files/a")).hasValueSatisfying(p -> assertThat(p).hasSize(1000));
  }

  @Test
  void writingMoreThanTheLimitThrowsAndStoresNothing() throws IOException {
    byte[] big = new byte[200_000];

    assertThatThrownBy(() -> store.write("t1/files/big", new ByteArrayInputStream(big), 150_000))
        .isInstanceOf(SizeLimitExceededException.class)
        .satisfies(e -> assertThat(((SizeLimitExceededException) e).limit()).isEqualTo(150_000));

    assertThat(store.exists("t1/files/big")).isFalse();
    assertThat(store.list("t1/")).isEmpty();
    assertThat(filesOnDisk()).isZero();
  }

  @Test
  void aFailedWriteKeepsTheEarlierObject() throws IOException {
    put("t1/files/a", "kept");

    assertThatThrownBy(() -> store.write("t1/files/a", new ByteArrayInputStream(new byte[10]), 5))
        .isInstanceOf(SizeLimitExceededException.class);

    assertThat(get("t1/files/a")).isEqualTo("kept");
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

    assertThat(store.list("t1/batches/b/chunk-00000/"))
        .containsExactly(
            "t1/batches/b/chunk-00000/input.jsonl",
            "t1/batches/b/chunk-00000/seg-00000.jsonl",
            "t1/batches/b/chunk-00000/seg-00000.partial.jsonl",
            "t1/batches/b/chunk-00000/seg-00001.jsonl");
    assertThat(store.list("t1/batches/b/")).hasSize(5).isSorted();
    assertThat(store.list("t1/batches/b")).hasSize(6).isSorted();
    assertThat(store.list("t1/")).hasSize(6);
    assertThat(store.list("t3/")).isEmpty();
  }

  @Test
  void openingAMissingObjectThrowsNoSuchFile() {
    assertThatThrownBy(() -> store.open("t1/files/none")).isInstanceOf(NoSuchFileException.class);
  }

  @ParameterizedTest
  @ValueSource(strings = {"../x", "t1/../../x", "/etc/passwd", "t1/files/../../../x"})
  void keysThatLeaveTheRootAreRejected(String key) throws IOException {
    assertThatThrownBy(() -> store.create(key)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> store.open(key)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> store.exists(key)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> store.delete(key)).isInstanceOf(IllegalArgumentException.class);
    assertThat(filesOnDisk()).isZero();
  }

  @Test
  void aKeyNamingASiblingOfTheRootIsRejected() throws IOException {
    Files.writeString(root.resolve("store-secret"), "secret");

    assertThatThrownBy(() -> store.open("../store-secret"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void deleteRemovesOneObjectAndIgnoresMissingOnes() throws IOException {
    put("t1/files/a", "a");
    put("t1/files/b", "b");

    store.delete("t1/files/a");
    store.delete("t1/files/none");

    assertThat(store.list("t1/")).containsExactly("t1/files/b");
  }

  @Test
  void deleteAllRemovesEverythingUnderThePrefixOnly() throws IOException {
    put("t1/batches/b/chunk-00000/input.jsonl", "x");
    put("t1/batches/b/chunk-00000/seg-00000.jsonl", "x");
    put("t1/batches/b/chunk-00001/input.jsonl", "x");
    put("t1/batches/b2/chunk-00000/input.jsonl", "x");
    put("t1/files/f", "x");

    store.deleteAll("t1/batches/b/");

    assertThat(store.list("t1/"))
        .containsExactly("t1/batches/b2/chunk-00000/input.jsonl", "t1/files/f");
    assertThat(root.resolve("store/t1/batches/b")).doesNotExist();
  }

  @Test
  void deleteAllOfAMissingPrefixIsNotAnError() throws IOException {
    store.deleteAll("t9/batches/none/");

    assertThat(store.list("")).isEmpty();
  }
}
