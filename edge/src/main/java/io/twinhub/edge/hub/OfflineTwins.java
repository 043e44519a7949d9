package io.twinhub.edge.hub;

import akka.util.ByteString;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * edgeHub's copy of its modules' twins for when the hub cannot be reached: the last twin the hub
 * returned ({@code {desired, reported}}), reported patches accepted meanwhile (queued in order
 * and merged into the copy, so a GET shows them), and which modules must be brought back in sync.
 * The queue is in memory: a restart of the runtime while offline loses queued patches.
 */
final class OfflineTwins {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int MAX_QUEUED = 1000;

  private final Map<String, ObjectNode> copies = new HashMap<>();
  private final Map<String, Deque<ByteString>> queued = new HashMap<>();
  /** Modules that were answered offline (the desired part of their copy may be stale). */
  private final Map<String, Boolean> stale = new HashMap<>();

  synchronized void remember(String module, JsonNode twin) {
    if (twin.isObject()) copies.put(module, ((ObjectNode) twin).deepCopy());
  }

  synchronized Optional<JsonNode> copy(String module) {
    stale.put(module, true);
    return Optional.ofNullable(copies.get(module)).map(JsonNode::deepCopy);
  }

  synchronized void markStale(String module) {
    stale.put(module, true);
  }

  synchronized boolean hasQueued(String module) {
    Deque<ByteString> q = queued.get(module);
    return q != null && !q.isEmpty();
  }

  /** Queues a reported patch; false when it is not a JSON object or the queue is full. */
  synchronized boolean queue(String module, ByteString patch) {
    JsonNode p;
    try {
      p = JSON.readTree(patch.toArrayUnsafe());
    } catch (IOException e) {
      return false;
    }
    Deque<ByteString> q = queued.computeIfAbsent(module, k -> new ArrayDeque<>());
    if (!p.isObject() || q.size() >= MAX_QUEUED) return false;
    q.addLast(patch);
    stale.put(module, true);
    ObjectNode copy = copies.get(module);
    if (copy != null) merge(copy.with("reported"), p);
    return true;
  }

  /** A reported patch the hub accepted while online: kept in the copy. */
  synchronized void reportedAccepted(String module, ByteString patch) {
    ObjectNode copy = copies.get(module);
    if (copy == null) return;
    try {
      JsonNode p = JSON.readTree(patch.toArrayUnsafe());
      if (p.isObject()) merge(copy.with("reported"), p);
    } catch (IOException ignored) {
      // the hub accepted it, so it was JSON; nothing to keep otherwise
    }
  }

  synchronized List<String> pendingModules() {
    return stale.keySet().stream().toList();
  }

  synchronized Optional<ByteString> nextQueued(String module) {
    Deque<ByteString> q = queued.get(module);
    return q == null || q.isEmpty() ? Optional.empty() : Optional.of(q.peekFirst());
  }

  synchronized void dequeue(String module) {
    Deque<ByteString> q = queued.get(module);
    if (q != null) q.pollFirst();
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
