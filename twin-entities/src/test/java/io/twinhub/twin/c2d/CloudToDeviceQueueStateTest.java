package io.twinhub.twin.c2d;

import io.twinhub.twin.error.IotHubErrorCode;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The queue's pure rules, without actors. */
class CloudToDeviceQueueStateTest {
  static final Instant T0 = Instant.parse("2026-12-06T04:00:00Z");
  static final CloudToDeviceSettings S = CloudToDeviceSettings.DEFAULT;

  static CloudToDeviceMessage msg(String id, DeliveryAck ack, Instant expiry) {
    return new CloudToDeviceMessage("dev1", id, "c-" + id, null, null, null, Map.of("k", "v"), ack, expiry, null, new byte[] {1, 2});
  }

  static CloudToDeviceQueue.State enqueue(CloudToDeviceQueue.State s, CloudToDeviceMessage m) {
    return s.apply(new CloudToDeviceQueue.Enqueued(s.nextSeq(), "g1", m.accepted(T0, S.defaultTtl(), S.maxTtl())));
  }

  @Test
  void defaultTtlAndCappedExpiry() {
    CloudToDeviceMessage none = msg("a", DeliveryAck.NONE, null).accepted(T0, Duration.ofHours(1), Duration.ofHours(48));
    assertEquals(T0.plus(Duration.ofHours(1)), none.expiryTime());
    assertEquals(T0, none.enqueuedTime());
    CloudToDeviceMessage far = msg("b", DeliveryAck.NONE, T0.plus(Duration.ofDays(30))).accepted(T0, Duration.ofHours(1), Duration.ofHours(48));
    assertEquals(T0.plus(Duration.ofHours(48)), far.expiryTime());
    CloudToDeviceMessage own = msg("c", DeliveryAck.NONE, T0.plusSeconds(5)).accepted(T0, Duration.ofHours(1), Duration.ofHours(48));
    assertEquals(T0.plusSeconds(5), own.expiryTime());
  }

  @Test
  void queueDepthLimitRefusesTheFiftyFirst() {
    CloudToDeviceQueue.State s = CloudToDeviceQueue.State.EMPTY;
    for (int i = 0; i < 50; i++) {
      assertTrue(s.refusal(msg("m" + i, DeliveryAck.NONE, null), S).isEmpty());
      s = enqueue(s, msg("m" + i, DeliveryAck.NONE, null));
    }
    assertEquals(50, s.depth());
    assertEquals(IotHubErrorCode.DeviceMaximumQueueDepthExceeded, s.refusal(msg("x", DeliveryAck.NONE, null), S).orElseThrow().code());
    assertEquals(403004, IotHubErrorCode.DeviceMaximumQueueDepthExceeded.code());
  }

  @Test
  void oversizedMessageRefused() {
    CloudToDeviceMessage big = new CloudToDeviceMessage("dev1", "big", null, null, null, null, Map.of(), DeliveryAck.NONE,
        null, null, new byte[S.maxMessageBytes() + 1]);
    assertEquals(IotHubErrorCode.MessageTooLarge, CloudToDeviceQueue.State.EMPTY.refusal(big, S).orElseThrow().code());
  }

  @Test
  void expiryAndSettlementRemoveInOrder() {
    CloudToDeviceQueue.State s = enqueue(CloudToDeviceQueue.State.EMPTY, msg("short", DeliveryAck.FULL, T0.plusSeconds(10)));
    s = enqueue(s, msg("long", DeliveryAck.POSITIVE, null));
    assertTrue(s.expire(T0.plusSeconds(9)).isEmpty());
    var expired = s.expire(T0.plusSeconds(10));
    assertEquals(1, expired.size());
    assertEquals(FeedbackStatus.Expired, expired.get(0).status());
    assertEquals("short", expired.get(0).messageId());
    assertTrue(expired.get(0).wantsFeedback());
    s = s.apply(expired.get(0));
    assertEquals(1, s.depth());
    assertEquals("long", s.queued().get(0).message().messageId());
    var purged = s.purge(T0.plusSeconds(11));
    assertEquals(FeedbackStatus.Purged, purged.get(0).status());
    assertFalse(purged.get(0).wantsFeedback(), "positive ack: no feedback for a purge");
    assertEquals(0, s.apply(purged.get(0)).depth());
  }

  @Test
  void resetWhenTheDeviceWasRecreated() {
    CloudToDeviceQueue.State s = enqueue(CloudToDeviceQueue.State.EMPTY, msg("a", DeliveryAck.NONE, null));
    assertFalse(s.otherGeneration("g1"));
    assertTrue(s.otherGeneration("g2"));
    s = s.apply(new CloudToDeviceQueue.Reset("g2", T0));
    assertEquals(0, s.depth());
    assertEquals(2, s.nextSeq(), "sequence numbers are never reused");
  }

  @Test
  void ackLevels() {
    assertEquals(DeliveryAck.FULL, DeliveryAck.parse("full").orElseThrow());
    assertEquals(DeliveryAck.NONE, DeliveryAck.parse(null).orElseThrow());
    assertTrue(DeliveryAck.parse("sometimes").isEmpty());
    for (FeedbackStatus f : FeedbackStatus.values()) {
      assertFalse(DeliveryAck.NONE.wants(f));
      assertTrue(DeliveryAck.FULL.wants(f));
      assertEquals(f == FeedbackStatus.Success, DeliveryAck.POSITIVE.wants(f));
      assertEquals(f != FeedbackStatus.Success, DeliveryAck.NEGATIVE.wants(f));
    }
  }

  @Test
  void deliveriesLockCountAndExpire() {
    Deliveries d = new Deliveries();
    String t1 = d.lock(7, T0, Duration.ofSeconds(60));
    assertEquals("7.1", t1);
    assertEquals(7L, d.seqOf(t1).orElseThrow());
    assertTrue(d.seqOf("8.1").isEmpty());
    assertTrue(d.seqOf("garbage").isEmpty());
    assertFalse(d.expireLocks(T0.plusSeconds(59)));
    assertTrue(d.expireLocks(T0.plusSeconds(60)));
    assertFalse(d.isLocked(7));
    assertTrue(d.seqOf(t1).isEmpty(), "an expired lock's token is stale");
    String t2 = d.lock(7, T0, Duration.ofSeconds(60));
    assertEquals("7.2", t2);
    assertTrue(d.exhausted(2).isEmpty(), "locked: not yet");
    d.unlock(7);
    assertEquals(java.util.List.of(7L), d.exhausted(2));
    d.forget(7);
    assertEquals(0, d.deliveries(7));
  }
}
