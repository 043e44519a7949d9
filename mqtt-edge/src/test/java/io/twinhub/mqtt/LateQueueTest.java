package io.twinhub.mqtt;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.japi.Pair;
import akka.stream.BoundedSourceQueue;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import akka.util.ByteString;
import io.twinhub.mqtt.codec.MqttCodec;
import io.twinhub.mqtt.codec.MqttPacket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LateQueueTest {
  private static final ActorTestKit testKit = ActorTestKit.create();

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  private static Pair<BoundedSourceQueue<ByteString>, CompletionStage<List<ByteString>>> queue() {
    return Source.<ByteString>queue(8).toMat(Sink.seq(), akka.stream.javadsl.Keep.both()).run(testKit.system());
  }

  @Test
  void theTwoPacketsOfOneAnswerAreOneWriteInOrderAndCloseCompletesTheConnection() throws Exception {
    var q = queue();
    MqttGateway.LateQueue late = new MqttGateway.LateQueue();
    late.set(q.first());
    MqttPacket ack = MqttPacket.PacketIdOnly.pubAck(7);
    MqttPacket res = MqttPacket.Publish.qos0("$iothub/twin/res/204/?$rid=1&$version=2", ByteString.emptyByteString());
    assertTrue(late.offer(ack, res));
    assertTrue(late.offer(ack));
    late.close();
    List<ByteString> written = q.second().toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertEquals(List.of(MqttCodec.encode(ack).concat(MqttCodec.encode(res)), MqttCodec.encode(ack)), written);
    assertEquals(ack, MqttCodec.decode(written.get(0).take(4)), "PUBACK first");
  }

  @Test
  void aSessionClosedBeforeItsStreamRanWritesNothingAndTheLateQueueIsLeftAlone() {
    MqttGateway.LateQueue late = new MqttGateway.LateQueue();
    late.close();
    assertFalse(late.offer(MqttPacket.PacketIdOnly.pubAck(1)), "no stream: the write fails at once");
    var q = queue();
    late.set(q.first());
    assertFalse(late.offer(MqttPacket.PacketIdOnly.pubAck(2)), "still the closed one");
    q.first().complete();
  }

  @Test
  void aStreamThatEndedWithoutAQueueFailsWrites() {
    MqttGateway.LateQueue late = new MqttGateway.LateQueue();
    late.fail();
    assertFalse(late.offer(MqttPacket.PacketIdOnly.pubAck(1), MqttPacket.PacketIdOnly.pubAck(2)));
    late.close();
  }
}
