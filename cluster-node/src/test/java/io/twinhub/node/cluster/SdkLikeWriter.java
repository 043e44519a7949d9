package io.twinhub.node.cluster;

import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A client patching random twins through one node as the SDKs do: a write answered 429 or 5xx, or
 * not answered, is retried (same body) after {@link ClusterFailoverIT#sdkBackoff}; any other answer
 * ends it and the next write starts. Each write sets {@code <property> = {"writer": n, "n": i}} in
 * desired properties, so every applied write bumps desired {@code $version} by one. Stops when
 * {@code stop} is set or its node's process is gone; what happens is told to a {@link Listener}
 * (called on the writer's thread). Used by the kill ({@link ClusterFailoverIT}) and partition
 * ({@link PartitionFailover}) scenarios.
 */
final class SdkLikeWriter implements Runnable {
  private static final ObjectMapper JSON = new ObjectMapper();

  interface Listener {
    /** Acknowledged (200) at desired {@code $version} {@code version}; times are {@link System#nanoTime()}. */
    void acknowledged(String twin, long version, long sentNanos, long answeredNanos);

    /** An attempt that will be retried: {@code status} 429/5xx with its body, or 0 for no answer. */
    default void retrying(String twin, long sentNanos, long answeredNanos, int status, String body) {}

    /** Answered with a client error (4xx but 429): not retried. */
    default void refused(String twin, int status, String body) {}
  }

  private final NodeProcesses cluster;
  private final NodeProcesses.Node node;
  private final List<String> devices;
  private final String property;
  private final Random random;
  private final AtomicBoolean stop;
  private final Listener listener;

  SdkLikeWriter(NodeProcesses cluster, NodeProcesses.Node node, List<String> devices, String property, long seed,
                AtomicBoolean stop, Listener listener) {
    this.cluster = cluster;
    this.node = node;
    this.devices = devices;
    this.property = property;
    this.random = new Random(seed);
    this.stop = stop;
    this.listener = listener;
  }

  /** Starts it on a thread of its own. */
  Thread start(String name) {
    Thread t = new Thread(this, name);
    t.start();
    return t;
  }

  @Override
  public void run() {
    int i = 0;
    int attempt = 0;
    String id = null;
    String body = null;
    while (!stop.get()) {
      if (attempt == 0) {
        id = devices.get(random.nextInt(devices.size()));
        body = "{\"properties\":{\"desired\":{\"" + property + "\":{\"writer\":" + node.index() + ",\"n\":" + (i++) + "}}}}";
      }
      long sent = System.nanoTime();
      try {
        var r = cluster.send(node, "PATCH", "/twins/" + id, body);
        long answered = System.nanoTime();
        if (r.statusCode() == 200) {
          listener.acknowledged(id, JSON.readTree(r.body()).path("properties").path("desired").path("$version").asLong(), sent, answered);
          attempt = 0;
          continue;
        } else if (r.statusCode() < 500 && r.statusCode() != 429) {
          listener.refused(id, r.statusCode(), r.body());
          attempt = 0;
          continue;
        }
        listener.retrying(id, sent, answered, r.statusCode(), r.body());
      } catch (java.io.IOException e) {
        if (!node.current().isAlive()) return; // its node is gone
        listener.retrying(id, sent, System.nanoTime(), 0, e.toString());
      } catch (Exception e) {
        return;
      }
      try {
        Thread.sleep(ClusterFailoverIT.sdkBackoff(attempt++, random));
      } catch (InterruptedException e) {
        return;
      }
    }
  }
}
