package io.twinhub.mqtt.session;

import io.twinhub.mqtt.codec.MqttPacket.Publish;
import io.twinhub.twin.c2d.CloudToDeviceMessage;
import io.twinhub.twin.c2d.CloudToDeviceQueue;
import io.twinhub.twin.c2d.DeliveryAck;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static io.twinhub.mqtt.session.SessionHarness.await;
import static io.twinhub.mqtt.codec.MqttPacket.PacketIdOnly.pubAck;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Cloud-to-device delivery on one MQTT connection while the device's queue entity loses its
 * in-memory delivery state (a new incarnation: a shard moved, a node died), the situation of
 * {@code ClusterFailoverIT}'s C2D scenario. The new incarnation delivers every message it still
 * holds again to the re-attached session. The device must not get a message a second time on
 * the connection that has it, and its PUBACK of the packet it has must complete the message.
 * The real queue entity is stopped as a shard hand-off stops it (PoisonPill); the session's
 * heartbeat (300 ms here) re-attaches to the next incarnation.
 */
class CloudToDeviceSessionTest {
  static SessionHarness hub;

  @BeforeAll
  static void start() {
    hub = new SessionHarness("""
        twinhub.mqtt.heartbeat-interval = 300ms
        akka.actor.testkit.typed.system-shutdown-default = 60s
        """, Duration.ofSeconds(30));
  }

  @AfterAll
  static void stop() {
    hub.shutdown();
  }

  @Test
  void aMessageInFlightWhenItsQueueRestartedIsNotPublishedTwiceAndItsPubAckCompletesIt() throws Exception {
    String dev = hub.createDevice("c2d-inflight");
    var device = hub.new Client();
    device.connectOk(dev, null);
    device.subscribe("devices/" + dev + "/messages/devicebound/#");
    send(dev, "x");
    Publish x = expectMessage(device, "x"); // not PUBACKed yet

    // The queue entity stops as a shard hand-off stops it (PoisonPill): its deliveries (x locked) are forgotten.
    stopQueue(dev);

    send(dev, "z");
    List<String> before = receiveUntil(device, "z");
    assertEquals(List.of(), before, "x published a second time on the connection that has it");
    // The device acknowledges the packet it got: that completes x, whatever the queue's new lock says.
    device.sendAndAwaitAck(pubAck(x.packetId()));
    device.sendAndAwaitAck(pubAck(lastZ.packetId()));
    awaitDepth(dev, 0, "x and z completed");
  }

  // ------------------------------------------------------------------ helpers

  private Publish lastZ;

  private static CloudToDeviceMessage message(String dev, String id) {
    return new CloudToDeviceMessage(dev, id, null, null, null, null, Map.of(), DeliveryAck.NONE, null, null,
        id.getBytes(StandardCharsets.UTF_8));
  }

  private static void send(String dev, String id) {
    var r = await(hub.deps.c2d().send(message(dev, id)));
    assertInstanceOf(CloudToDeviceQueue.Queued.class, r, () -> "send " + id + ": " + r);
  }

  private static Publish expectMessage(SessionHarness.Client device, String id) {
    Publish p = device.receivePublish();
    assertEquals(1, p.qos());
    assertEquals(id, p.payload().utf8String());
    return p;
  }

  /** The C2D messages that arrive before {@code id}; {@code id}'s own publish is kept in {@link #lastZ}. */
  private List<String> receiveUntil(SessionHarness.Client device, String id) {
    List<String> before = new ArrayList<>();
    while (true) {
      Publish p = assertInstanceOf(Publish.class, device.out.receiveMessage(Duration.ofSeconds(60)));
      String body = p.payload().utf8String();
      if (body.equals(id)) {
        lastZ = p;
        return before;
      }
      before.add(body + "#" + p.packetId() + (p.dup() ? "+dup" : ""));
    }
  }

  /** Stops {@code dev}'s queue entity the way a shard hand-off does (classic PoisonPill) and waits until it stopped. */
  private static void stopQueue(String dev) throws Exception {
    akka.actor.ActorRef queue = akka.actor.typed.javadsl.Adapter.toClassic(hub.testKit.system())
        .actorSelection("/system/sharding/" + CloudToDeviceQueue.TYPE_KEY.name() + "/*/" + dev)
        .resolveOne(Duration.ofSeconds(30)).toCompletableFuture().get(60, TimeUnit.SECONDS);
    var watcher = hub.testKit.createTestProbe();
    akka.actor.typed.ActorRef<Object> typed = akka.actor.typed.javadsl.Adapter.toTyped(queue);
    queue.tell(akka.actor.PoisonPill.getInstance(), akka.actor.ActorRef.noSender());
    watcher.expectTerminated(typed, Duration.ofSeconds(60));
  }

  private static void awaitDepth(String dev, int depth, String what) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
    int last = -1;
    while (System.nanoTime() < deadline) {
      try {
        last = hub.deps.c2d().depth(dev).toCompletableFuture().get(40, TimeUnit.SECONDS);
        if (last == depth) return;
      } catch (Exception e) {
        // the queue is restarting: ask again
      }
      Thread.sleep(100);
    }
    fail(what + ": " + dev + " still holds " + last + " messages");
  }
}
