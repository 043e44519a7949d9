package io.twinhub.mqtt.session;

import akka.persistence.testkit.JournalOperation;
import akka.persistence.testkit.ProcessingPolicy;
import akka.persistence.testkit.ProcessingResult;
import akka.persistence.testkit.ProcessingSuccess;
import akka.persistence.testkit.StorageFailure;
import akka.persistence.testkit.WriteEvents;
import akka.persistence.testkit.javadsl.PersistenceTestKit;
import io.twinhub.mqtt.codec.MqttPacket.PacketIdOnly;
import io.twinhub.mqtt.codec.MqttPacket.Publish;
import io.twinhub.twin.c2d.CloudToDeviceMessage;
import io.twinhub.twin.c2d.CloudToDeviceQueue;
import io.twinhub.twin.c2d.DeliveryAck;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static io.twinhub.mqtt.session.SessionHarness.await;
import static io.twinhub.mqtt.codec.MqttPacket.PacketIdOnly.pubAck;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Cloud-to-device delivery on one MQTT connection while the device's queue entity loses its
 * in-memory delivery state (a new incarnation: a shard moved, a node died, a journal write
 * failed), the situation of {@code ClusterFailoverIT}'s C2D scenario. The new incarnation
 * delivers every message it still holds again to the re-attached session. The device must
 * neither get a message a second time on the connection that has it, nor lose the completion
 * its PUBACK asked for. A journal write failure (the real queue, the in-memory journal refusing
 * one write) forces the new incarnation deterministically; the session's heartbeat re-attaches.
 */
class CloudToDeviceSessionTest {
  static SessionHarness hub;
  static PersistenceTestKit journal;

  @BeforeAll
  static void start() {
    hub = new SessionHarness("""
        twinhub.mqtt.heartbeat-interval = 300ms
        """);
    journal = PersistenceTestKit.create(hub.testKit.system());
  }

  @AfterAll
  static void stop() {
    hub.shutdown();
  }

  @AfterEach
  void resetJournal() {
    journal.resetPolicy();
  }

  @Test
  void aMessagePubAckedBeforeItsQueueRestartedIsNotDeliveredAgainAndIsCompleted() throws Exception {
    String dev = hub.createDevice("c2d-acked");
    var device = hub.new Client();
    device.connectOk(dev, null);
    device.subscribe("devices/" + dev + "/messages/devicebound/#");
    send(dev, "x");
    Publish x = expectMessage(device, "x");

    // The PUBACK's completion is the write that fails: the queue stops without it.
    CountDownLatch failed = failNextWrite(dev);
    device.sendAndAwaitAck(pubAck(x.packetId()));
    assertTrue(failed.await(30, TimeUnit.SECONDS), "the completion was written");

    // The next incarnation still holds x; z is sent behind it, so by the time z arrives the
    // session has seen x come back.
    send(dev, "z");
    List<String> before = receiveUntil(device, "z");
    assertEquals(List.of(), before, "delivered again on the connection that PUBACKed it");
    device.sendAndAwaitAck(pubAck(lastZ.packetId()));
    awaitDepth(dev, 0, "x's completion is sent again, z's arrives");
    device.expectNothing(Duration.ofMillis(500));
  }

  @Test
  void aMessageInFlightWhenItsQueueRestartedIsNotPublishedTwiceAndItsPubAckCompletesIt() throws Exception {
    String dev = hub.createDevice("c2d-inflight");
    var device = hub.new Client();
    device.connectOk(dev, null);
    device.subscribe("devices/" + dev + "/messages/devicebound/#");
    send(dev, "x");
    Publish x = expectMessage(device, "x"); // not PUBACKed yet

    // A send whose write fails: the queue stops, its deliveries (x locked) forgotten.
    CountDownLatch failed = failNextWrite(dev);
    hub.deps.c2d().send(message(dev, "lost"));
    assertTrue(failed.await(30, TimeUnit.SECONDS), "the write failed");

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
      Publish p = device.receivePublish();
      String body = p.payload().utf8String();
      if (body.equals(id)) {
        lastZ = p;
        return before;
      }
      before.add(body + "#" + p.packetId() + (p.dup() ? "+dup" : ""));
    }
  }

  /** The next journal write of {@code dev}'s queue fails (once); the latch opens when it did. */
  private static CountDownLatch failNextWrite(String dev) {
    String pid = "CloudToDevice|" + dev;
    CountDownLatch failed = new CountDownLatch(1);
    AtomicBoolean armed = new AtomicBoolean(true);
    journal.withPolicy(new ProcessingPolicy<JournalOperation>() {
      @Override
      public ProcessingResult tryProcess(String persistenceId, JournalOperation op) {
        if (persistenceId.equals(pid) && op instanceof WriteEvents && armed.compareAndSet(true, false)) {
          failed.countDown();
          return StorageFailure.create(new RuntimeException("journal write refused by the test"));
        }
        return ProcessingSuccess.getInstance();
      }
    });
    return failed;
  }

  private static void awaitDepth(String dev, int depth, String what) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    int last = -1;
    while (System.nanoTime() < deadline) {
      try {
        last = hub.deps.c2d().depth(dev).toCompletableFuture().get(10, TimeUnit.SECONDS);
        if (last == depth) return;
      } catch (Exception e) {
        // the queue is restarting: ask again
      }
      Thread.sleep(100);
    }
    fail(what + ": " + dev + " still holds " + last + " messages");
  }
}
