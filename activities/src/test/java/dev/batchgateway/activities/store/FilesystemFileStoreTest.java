package dev.batchgateway.activities.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.batchgateway.activities.port.FileStore;
import dev.batchgateway.activities.port.FileStoreContract;
import dev.batchgateway.activities.port.SizeLimitExceededException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The file store contract on a local folder, and what only a folder can show. */
class FilesystemFileStoreTest extends FileStoreContract {
  @TempDir Path root;
  private FilesystemFileStore store;

  @Override
  protected FileStore newStore() throws IOException {
    store = new FilesystemFileStore(root.resolve("store"));
    return store;
  }

  private long filesOnDisk() throws IOException {
    try (Stream<Path> files = Files.walk(root)) {
      return files.filter(Files::isRegularFile).count();
    }
  }

  @Test
  void aCommittedObjectIsAFileUnderTheRoot() throws IOException {
    try (FileStore.Pending pending = store.create("t1/files/a")) {
      pending.stream().write(new byte[1000]);
      pending.stream().flush();
      assertThat(root.resolve("store/t1/files/a")).doesNotExist();
      pending.commit();
    }

    assertThat(root.resolve("store/t1/files/a")).hasSize(1000);
  }

  @Test
  void abandonedAndRefusedWritesLeaveNoFileBehind() throws IOException {
    try (FileStore.Pending pending = store.create("t1/files/a")) {
      pending.stream().write(new byte[100_000]);
    }
    assertThatThrownBy(
            () -> store.write("t1/files/big", new ByteArrayInputStream(new byte[200_000]), 150_000))
        .isInstanceOf(SizeLimitExceededException.class);

    assertThat(filesOnDisk()).isZero();
  }

  @ParameterizedTest
  @ValueSource(strings = {"../x", "t1/../../x", "/etc/passwd", "t1/files/../../../x"})
  void keysThatLeaveTheRootAreRejected(String key) throws IOException {
    assertThatThrownBy(() -> store.create(key)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> store.open(key)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> store.openRange(key, 0, 1))
        .isInstanceOf(IllegalArgumentException.class);
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
  void deleteAllRemovesTheFolderToo() throws IOException {
    store.write("t1/batches/b/chunk-00000/input.jsonl", new ByteArrayInputStream(new byte[1]), 1);

    store.deleteAll("t1/batches/b/");

    assertThat(root.resolve("store/t1/batches/b")).doesNotExist();
  }
}
