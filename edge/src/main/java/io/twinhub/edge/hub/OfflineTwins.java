package io.twinhub.edge.hub;

import akka.util.ByteString;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * edgeHub's copy of its modules' twins for when the hub cannot be reached: the last twin the hub
 * returned ({@code {desired, reported}}), reported patches accepted meanwhile (queued in order
 * and merged into the copy, so a GET shows them), and which modules must be brought back in sync.
 * The queued patches are on disk (a {@link DurableQueue} per module, {@code reported~<module>.log},
 * forced before the module gets its 204), so a kill of the runtime while offline loses none of
 * what was answered; patches older than the time to live
 * ({@code storeAndForwardConfiguration.timeToLiveSecs}) are dropped instead of sent. Each copy is
 * kept on disk too ({@code twin~<module>.json}, replaced atomically and forced on every change), so
 * a runtime restarted while the hub is unreachable answers GETs from it; queued patches are merged
 * into it again at load (merge patches applied again in order change nothing), in case the runtime
 * died between queueing a patch and writing the copy.
 */
final class OfflineTwins implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int MAX_QUEUED = 1000;
  private static final String PREFIX = "reported~";
  private static final String TWIN_PREFIX = "twin~";

  /** A reported patch as a module sent it, and when edgeHub accepted it. */
  record QueuedPatch(String patch, long acceptedMillis) {}

  private final Path dir;
  private final Map<String, ObjectNode> copies = new HashMap<>();
  private final Map<String, DurableQueue<QueuedPatch>> queued = new HashMap<>();
  /** Modules that were answered offline (the desired part of their copy may be stale). */
  private final Map<String, Boolean> stale = new HashMap<>();
  private volatile long timeToLiveMillis = Duration.ofHours(2).toMillis();

  /** Opens the queues left in {@code dir}: their modules are brought back in sync first. */
  OfflineTwins(Path dir) throws IOException {
    this.dir = dir;
    Files.createDirectories(dir);
    try (var files = Files.list(dir)) {
      for (Path f : files.toList()) {
        String n = f.getFileName().toString();
        if (n.startsWith(TWIN_PREFIX) && n.endsWith(".json")) {
          loadCopy(URLDecoder.decode(n.substring(TWIN_PREFIX.length(), n.length() - 5), StandardCharsets.UTF_8), f);
          continue;
        }
        if (!n.startsWith(PREFIX) || !n.endsWith(".log")) continue;
        String module = URLDecoder.decode(n.substring(PREFIX.length(), n.length() - 4), StandardCharsets.UTF_8);
        DurableQueue<QueuedPatch> q = queue(module);
        if (q.pending() > 0) stale.put(module, true);
      }
    }
    for (var e : copies.entrySet()) {
      DurableQueue<QueuedPatch> q = queued.get(e.getKey());
      if (q == null) continue;
      for (QueuedPatch p : q.pendingValues()) {
        JsonNode patch = JSON.readTree(p.patch());
        if (patch.isObject()) merge(e.getValue().with("reported"), patch);
      }
    }
  }

  private void loadCopy(String module, Path f) {
    try {
      JsonNode twin = JSON.readTree(f.toFile());
      if (twin != null && twin.isObject()) copies.put(module, (ObjectNode) twin);
    } catch (IOException e) {
      // a copy that cannot be read is no copy: GETs wait for the hub
    }
  }

  private Path copyFile(String module) {
    return dir.resolve(TWIN_PREFIX + URLEncoder.encode(module, StandardCharsets.UTF_8) + ".json");
  }

  /** Writes the copy of {@code module}: temp file forced, renamed over the old one, directory forced. */
  private void persist(String module) {
    ObjectNode copy = copies.get(module);
    if (copy == null) return;
    Path target = copyFile(module);
    Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
    try {
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
          StandardOpenOption.TRUNCATE_EXISTING)) {
        ByteBuffer b = ByteBuffer.wrap(JSON.writeValueAsBytes(copy));
        while (b.hasRemaining()) ch.write(b);
        ch.force(true);
      }
      Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
        d.force(true);
      } catch (IOException ignored) {
        // not every file system lets a directory be forced
      }
    } catch (IOException e) {
      // the copy in memory still serves; the disk copy stays the previous one
    }
  }

  void timeToLive(Duration ttl) {
    timeToLiveMillis = ttl.toMillis();
  }

  private DurableQueue<QueuedPatch> queue(String module) throws IOException {
    DurableQueue<QueuedPatch> q = queued.get(module);
    if (q == null) {
      q = new DurableQueue<>(dir, PREFIX + URLEncoder.encode(module, StandardCharsets.UTF_8), QueuedPatch.class);
      queued.put(module, q);
    }
    return q;
  }

  /**
   * The twin the hub returned becomes the copy, except a reported section older than the copy's:
   * a GET (the resync's, or a module's) the hub answered before it applied a patch edgeHub relayed
   * meanwhile can arrive after that patch's 204 was merged ({@link #reportedAccepted}).
   */
  synchronized void remember(String module, JsonNode twin) {
    if (!twin.isObject()) return;
    ObjectNode next = ((ObjectNode) twin).deepCopy();
    ObjectNode old = copies.get(module);
    if (old != null && reportedVersion(old) > reportedVersion(next)) next.set("reported", old.get("reported").deepCopy());
    copies.put(module, next);
    persist(module);
  }

  private static long reportedVersion(JsonNode twin) {
    return twin.path("reported").path("$version").asLong(-1);
  }

  /** A desired patch the hub sent to {@code module} (with {@code $version}): kept in the copy. */
  synchronized void desiredPatched(String module, ByteString patch) {
    ObjectNode copy = copies.get(module);
    if (copy == null) return;
    try {
      JsonNode p = JSON.readTree(patch.toArrayUnsafe());
      if (!p.isObject()) return;
      merge(copy.with("desired"), p);
      persist(module);
    } catch (IOException ignored) {
      // not JSON: the module gets it as sent, the copy stays
    }
  }

  synchronized Optional<JsonNode> copy(String module) {
    stale.put(module, true);
    return Optional.ofNullable(copies.get(module)).map(JsonNode::deepCopy);
  }

  synchronized void markStale(String module) {
    stale.put(module, true);
  }

  synchronized boolean hasQueued(String module) {
    DurableQueue<QueuedPatch> q = queued.get(module);
    return q != null && q.pending() > 0;
  }

  /** Queues a reported patch on disk; false when it is not a JSON object, the queue is full or the disk fails. */
  synchronized boolean queue(String module, ByteString patch) {
    JsonNode p;
    try {
      p = JSON.readTree(patch.toArrayUnsafe());
      if (!p.isObject()) return false;
      DurableQueue<QueuedPatch> q = queue(module);
      if (q.pending() >= MAX_QUEUED) return false;
      q.append(new QueuedPatch(patch.utf8String(), System.currentTimeMillis()));
    } catch (IOException e) {
      return false;
    }
    stale.put(module, true);
    ObjectNode copy = copies.get(module);
    if (copy != null) {
      merge(copy.with("reported"), p);
      persist(module);
    }
    return true;
  }

  /** A reported patch the hub accepted while online as reported version {@code version} (-1: unknown): kept in the copy. */
  synchronized void reportedAccepted(String module, ByteString patch, long version) {
    ObjectNode copy = copies.get(module);
    if (copy == null) return;
    try {
      JsonNode p = JSON.readTree(patch.toArrayUnsafe());
      if (!p.isObject()) return;
      ObjectNode reported = copy.with("reported");
      merge(reported, p);
      if (version > reportedVersion(copy)) reported.put("$version", version);
      persist(module);
    } catch (IOException ignored) {
      // the hub accepted it, so it was JSON; nothing to keep otherwise
    }
  }

  synchronized List<String> pendingModules() {
    return stale.keySet().stream().toList();
  }

  /** The oldest queued patch of {@code module} within the time to live (older ones are dropped). */
  synchronized Optional<ByteString> nextQueued(String module) throws IOException {
    DurableQueue<QueuedPatch> q = queued.get(module);
    if (q == null) return Optional.empty();
    while (true) {
      Optional<DurableQueue.Entry<QueuedPatch>> e = q.peek();
      if (e.isEmpty()) return Optional.empty();
      if (System.currentTimeMillis() - e.get().value().acceptedMillis() <= timeToLiveMillis) {
        return Optional.of(ByteString.fromString(e.get().value().patch()));
      }
      q.acknowledge(e.get().next());
    }
  }

  /** The hub accepted (or refused for good) the oldest queued patch of {@code module}. */
  synchronized void dequeue(String module) throws IOException {
    DurableQueue<QueuedPatch> q = queued.get(module);
    if (q == null) return;
    Optional<DurableQueue.Entry<QueuedPatch>> e = q.peek();
    if (e.isPresent()) q.acknowledge(e.get().next());
  }

  @Override
  public synchronized void close() {
    for (DurableQueue<QueuedPatch> q : queued.values()) {
      try {
        q.close();
      } catch (IOException ignored) {
        // closing anyway
      }
    }
  }

  /**
   * The hub's twin after reconnection: becomes the copy; the desired change since the copy (as a
   * merge patch with {@code $version}) if the desired version moved on, for the module.
   */
  synchronized Optional<JsonNode> resynced(String module, JsonNode twin) {
    stale.remove(module);
    ObjectNode old = copies.get(module);
    remember(module, twin);
    if (old == null) return Optional.empty();
    JsonNode before = old.path("desired");
    JsonNode after = twin.path("desired");
    if (after.path("$version").asLong() <= before.path("$version").asLong()) return Optional.empty();
    ObjectNode patch = diff(before, after);
    patch.set("$version", after.path("$version"));
    return Optional.of(patch);
  }

  /** A merge patch turning {@code before} into {@code after} (removed keys as null). */
  static ObjectNode diff(JsonNode before, JsonNode after) {
    ObjectNode patch = JsonNodeFactory.instance.objectNode();
    before.fieldNames().forEachRemaining(k -> {
      if (!k.startsWith("$") && !after.has(k)) patch.putNull(k);
    });
    after.fields().forEachRemaining(e -> {
      String k = e.getKey();
      if (k.startsWith("$")) return;
      JsonNode b = before.get(k);
      if (b != null && b.isObject() && e.getValue().isObject()) {
        ObjectNode sub = diff(b, e.getValue());
        if (!sub.isEmpty()) patch.set(k, sub);
      } else if (b == null || !b.equals(e.getValue())) {
        patch.set(k, e.getValue());
      }
    });
    return patch;
  }

  /** JSON merge patch (null deletes), as the hub applies reported patches. */
  static void merge(ObjectNode target, JsonNode patch) {
    patch.fields().forEachRemaining(e -> {
      if (e.getValue().isNull()) target.remove(e.getKey());
      else if (e.getValue().isObject() && target.get(e.getKey()) instanceof ObjectNode child) merge(child, e.getValue());
      else target.set(e.getKey(), e.getValue().deepCopy());
    });
  }
}
