package dev.batchgateway.activities.store;

import dev.batchgateway.activities.port.FileStore;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * Keeps objects as files under a root folder. Writes go to a hidden temporary file next to the
 * target and are renamed into place on commit, so a reader (or a restarted worker) never sees half
 * an object.
 */
public final class FilesystemFileStore implements FileStore {
  private final Path root;

  public FilesystemFileStore(Path root) throws IOException {
    this.root = root.toAbsolutePath().normalize();
    Files.createDirectories(this.root);
  }

  @Override
  public Pending create(String key) throws IOException {
    Path target = resolve(key);
    Files.createDirectories(target.getParent());
    Path temp = target.resolveSibling("." + target.getFileName() + ".tmp-" + UUID.randomUUID());
    OutputStream out = new java.io.BufferedOutputStream(Files.newOutputStream(temp), 64 * 1024);
    return new Pending() {
      private boolean done;

      @Override
      public OutputStream stream() {
        return out;
      }

      @Override
      public void commit() throws IOException {
        out.close();
        Files.move(
            temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        done = true;
      }

      @Override
      public void close() throws IOException {
        if (!done) {
          done = true;
          out.close();
          Files.deleteIfExists(temp);
        }
      }
    };
  }

  @Override
  public InputStream open(String key) throws IOException {
    return Files.newInputStream(resolve(key));
  }

  @Override
  public InputStream openRange(String key, long offset, long length) throws IOException {
    if (offset < 0 || length < 0) {
      throw new IllegalArgumentException("A range needs a non-negative offset and length");
    }
    FileChannel channel = FileChannel.open(resolve(key), StandardOpenOption.READ);
    channel.position(offset);
    return new RangeInputStream(Channels.newInputStream(channel), length);
  }

  @Override
  public boolean exists(String key) {
    return Files.isRegularFile(resolve(key));
  }

  @Override
  public List<String> list(String prefix) throws IOException {
    Path dir = resolve(prefix.contains("/") ? prefix.substring(0, prefix.lastIndexOf('/')) : "");
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    List<String> keys = new ArrayList<>();
    try (Stream<Path> files = Files.walk(dir)) {
      files
          .filter(Files::isRegularFile)
          .filter(path -> !path.getFileName().toString().startsWith("."))
          .map(path -> root.relativize(path).toString().replace('\\', '/'))
          .filter(key -> key.startsWith(prefix))
          .sorted()
          .forEach(keys::add);
    } catch (NoSuchFileException e) {
      return List.of();
    }
    return keys;
  }

  @Override
  public void delete(String key) throws IOException {
    Files.deleteIfExists(resolve(key));
  }

  @Override
  public void deleteAll(String prefix) throws IOException {
    for (String key : list(prefix)) {
      delete(key);
    }
    Path dir = resolve(prefix.endsWith("/") ? prefix.substring(0, prefix.length() - 1) : prefix);
    if (Files.isDirectory(dir)) {
      try (Stream<Path> paths = Files.walk(dir)) {
        for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(path);
        }
      }
    }
  }

  /** Maps a key to a path, refusing any key that would leave the root. */
  private Path resolve(String key) {
    Path path = root.resolve(key).normalize();
    if (!path.startsWith(root) || key.startsWith("/")) {
      throw new IllegalArgumentException("Storage key escapes the store: " + key);
    }
    return path;
  }
}
