package io.twinhub.node.amqp;

import io.twinhub.node.TwinhubNode;
import io.twinhub.node.mqtt.MqttTestNodes;
import io.twinhub.node.security.SharedAccessPolicies;
import io.twinhub.ops.cassandra.SharedEmbeddedCassandra;
import io.twinhub.twin.auth.SasToken;
import org.apache.qpid.proton.amqp.messaging.Accepted;
import org.apache.qpid.proton.amqp.messaging.Rejected;
import org.apache.qpid.proton.amqp.transport.DeliveryState;
import org.apache.qpid.proton.amqp.transport.ErrorCondition;
import org.apache.qpid.proton.engine.EndpointState;
import org.apache.qpid.proton.engine.Sender;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLContext;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static io.twinhub.node.mqtt.MqttTestNodes.HOST;
import static io.twinhub.node.mqtt.MqttTestNodes.KEY1;
import static io.twinhub.node.mqtt.MqttTestNodes.await;
import static io.twinhub.node.mqtt.MqttTestNodes.createDevice;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Bad input on the AMQPS service endpoint, from a Proton-J client and raw bytes on a TLS socket
 * (no SDK, so the node's AMQP listener takes a free port): each gets a clear AMQP error and ends
 * only its own connection or link, while a well-behaved back end connected beside it keeps
 * sending. {@code CloudToDeviceIT} covers the same through the official Java SDK (not AMQP at
 * all, a SASL mechanism not offered, expired and device tokens, a message over the size limit).
 * Last, the node's graceful shutdown: the open connection gets an AMQP close, the port is unbound.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AmqpBadInputIT {
  @TempDir
  static Path dataDir;
  static TwinhubNode node;
  static SSLContext tls;
  static int amqpPort;
  static String device;
  static ProtonTestClient good;
  static Sender goodSender;

  @BeforeAll
  static void start() throws Exception {
    amqpPort = SharedEmbeddedCassandra.freePort();
    node = MqttTestNodes.start(dataDir, SharedEmbeddedCassandra.freePort(), amqpPort);
    tls = MqttTestNodes.clientTls(dataDir);
    device = "bad-input-" + UUID.randomUUID().toString().substring(0, 8);
    createDevice(node.twins(), device);
    good = new ProtonTestClient(tls, HOST, amqpPort);
    assertEquals(200, status(good.putToken(serviceToken(3600))));
    goodSender = good.devicebound();
    assertGoodConnectionSends();
  }

  @AfterAll
  static void stop() throws Exception {
    if (good != null) good.close();
    if (node != null) node.stop().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  @Test
  @Order(Integer.MAX_VALUE) // after the others (unordered tests come at Integer.MAX_VALUE / 2)
  void gracefulShutdownClosesOpenConnectionsWithAnAmqpCloseAndUnbinds() throws Exception {
    String metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://" + HOST + ":"
        + node.settings().managementPort() + "/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
    assertTrue(metrics.lines().anyMatch(l -> l.matches("twinhub_amqp_connections(\\{.*})? [1-9].*")), metrics);
    assertTrue(metrics.contains("twinhub_amqp_auth_failures_total"), "auth failures on /metrics");
    var stopped = node.stop();
    node = null;
    assertTrue(good.pumpUntil(() -> good.connection.getRemoteState() == EndpointState.CLOSED), "an AMQP close before the node goes");
    assertEquals("amqp:connection:forced", condition(good.connection.getRemoteCondition()));
    stopped.toCompletableFuture().get(120, TimeUnit.SECONDS);
    assertThrows(ConnectException.class, () -> new java.net.Socket(HOST, amqpPort).close(), "the AMQP port is unbound");
  }

  static String serviceToken(long validSeconds) throws Exception {
    var owner = SharedAccessPolicies.loadOrCreate(dataDir).get(SharedAccessPolicies.IOTHUBOWNER);
    return SasToken.signForService(HOST, owner.keyName(), owner.keys().primaryKey(), System.currentTimeMillis() / 1000 + validSeconds);
  }

  static int status(Map<?, ?> reply) {
    return ((Number) reply.get("status-code")).intValue();
  }

  /** The connection opened before the bad input still queues messages. */
  static void assertGoodConnectionSends() throws Exception {
    int before = await(node.c2d().depth(device));
    DeliveryState s = good.sendToDevice(goodSender, device, "still here".getBytes(StandardCharsets.UTF_8));
    assertInstanceOf(Accepted.class, s, "the well-behaved connection still sends: " + s);
    assertEquals(before + 1, await(node.c2d().depth(device)));
  }

  static String condition(ErrorCondition c) {
    return c == null || c.getCondition() == null ? null : c.getCondition().toString();
  }

  @Test
  void brokenFramesAfterTheHandshakeCloseThatConnectionWithAFramingError() throws Exception {
    try (ProtonTestClient bad = new ProtonTestClient(tls, HOST, amqpPort)) {
      assertTrue(bad.pumpUntil(() -> bad.connection.getRemoteState() == EndpointState.ACTIVE), "SASL and open done");
      // A frame whose data offset (1) is below the minimum (2): framing error.
      bad.writeRaw(new byte[] {0, 0, 0, 16, 1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8});
      assertTrue(bad.pumpUntil(bad::socketClosed), "the server ends the connection");
      assertEquals(EndpointState.CLOSED, bad.connection.getRemoteState(), "with an AMQP close first");
      assertEquals("amqp:connection:framing-error", condition(bad.connection.getRemoteCondition()));
    }
    assertGoodConnectionSends();
  }

  @Test
  void anUndecodablePerformativeClosesThatConnection() throws Exception {
    try (ProtonTestClient bad = new ProtonTestClient(tls, HOST, amqpPort)) {
      assertTrue(bad.pumpUntil(() -> bad.connection.getRemoteState() == EndpointState.ACTIVE), "SASL and open done");
      // A well-formed frame carrying a described type no AMQP performative has (descriptor 0x77).
      bad.writeRaw(new byte[] {0, 0, 0, 14, 2, 0, 0, 0, 0x00, 0x53, 0x77, (byte) 0xc0, 1, 0});
      assertTrue(bad.pumpUntil(bad::socketClosed), "the server ends the connection");
      assertEquals(EndpointState.CLOSED, bad.connection.getRemoteState(), "with an AMQP close first");
      assertEquals("amqp:decode-error", condition(bad.connection.getRemoteCondition()));
    }
    assertGoodConnectionSends();
  }

  @Test
  void aLinkBeforeAuthenticationIsRefusedAndTheConnectionStaysUsable() throws Exception {
    try (ProtonTestClient c = new ProtonTestClient(tls, HOST, amqpPort)) {
      Sender early = c.devicebound();
      assertTrue(c.pumpUntil(() -> early.getRemoteState() == EndpointState.CLOSED), "the attach is refused");
      assertEquals("amqp:unauthorized-access", condition(early.getRemoteCondition()));
      assertEquals(EndpointState.ACTIVE, c.connection.getRemoteState(), "the connection stays open");
      assertEquals(200, status(c.putToken(serviceToken(3600))));
      Sender later = c.devicebound();
      assertInstanceOf(Accepted.class, c.sendToDevice(later, device, "after put-token".getBytes(StandardCharsets.UTF_8)));
    }
  }

  @Test
  void outOfScopeAndMalformedTokensAre401OnCbs() throws Exception {
    try (ProtonTestClient c = new ProtonTestClient(tls, HOST, amqpPort)) {
      String deviceToken = SasToken.signForDevice(HOST, device, null, KEY1, System.currentTimeMillis() / 1000 + 600);
      Map<?, ?> refused = c.putToken(deviceToken);
      assertEquals(401, status(refused), refused.toString());
      assertEquals(401, status(c.putToken("SharedAccessSignature sr=nonsense")));
      var owner = SharedAccessPolicies.loadOrCreate(dataDir).get(SharedAccessPolicies.IOTHUBOWNER);
      String otherHost = SasToken.signForService("other.azure-devices.net", owner.keyName(), owner.keys().primaryKey(),
          System.currentTimeMillis() / 1000 + 600);
      assertEquals(401, status(c.putToken(otherHost)), "a token for another hub");
      Sender s = c.devicebound();
      assertTrue(c.pumpUntil(() -> s.getRemoteState() == EndpointState.CLOSED), "no link without a valid token");
      assertEquals("amqp:unauthorized-access", condition(s.getRemoteCondition()));
    }
    assertGoodConnectionSends();
  }

  @Test
  void aTokenThatExpiresClosesThatConnectionWithUnauthorizedAccess() throws Exception {
    try (ProtonTestClient c = new ProtonTestClient(tls, HOST, amqpPort)) {
      // Valid for a few seconds (SAS expiry is in whole seconds): accepted, then the server closes at its expiry.
      assertEquals(200, status(c.putToken(serviceToken(5))));
      assertTrue(c.pumpUntil(() -> c.connection.getRemoteState() == EndpointState.CLOSED), "closed when the token expires");
      assertEquals("amqp:unauthorized-access", condition(c.connection.getRemoteCondition()));
    }
    assertGoodConnectionSends();
  }

  @Test
  void oversizedMessagesAreRejectedAndAFarTooLargeTransferClosesOnlyItsLink() throws Exception {
    try (ProtonTestClient c = new ProtonTestClient(tls, HOST, amqpPort)) {
      assertEquals(200, status(c.putToken(serviceToken(3600))));
      Sender s = c.devicebound();
      DeliveryState big = c.sendToDevice(s, device, new byte[100 * 1024]);
      assertInstanceOf(Rejected.class, big);
      assertEquals("amqp:link:message-size-exceeded", condition(((Rejected) big).getError()));
      assertInstanceOf(Accepted.class, c.sendToDevice(s, device, new byte[10]), "the link goes on");
      // Far beyond the limit (4 x): the server stops reading it and closes the link.
      c.sendToDevice(s, device, new byte[1024 * 1024]);
      assertTrue(c.pumpUntil(() -> s.getRemoteState() == EndpointState.CLOSED), "the link is closed");
      assertEquals("amqp:link:message-size-exceeded", condition(s.getRemoteCondition()));
      assertEquals(EndpointState.ACTIVE, c.connection.getRemoteState(), "the connection stays open");
      Sender again = c.devicebound();
      assertInstanceOf(Accepted.class, c.sendToDevice(again, device, new byte[10]), "a new link on the same connection");
    }
    assertGoodConnectionSends();
  }
}
