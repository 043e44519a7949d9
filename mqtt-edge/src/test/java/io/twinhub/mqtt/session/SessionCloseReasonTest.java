package io.twinhub.mqtt.session;

import akka.persistence.testkit.javadsl.PersistenceTestKit;
import akka.util.ByteString;
import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.twinhub.mqtt.codec.MqttPacket.*;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;

import static io.twinhub.mqtt.session.SessionHarness.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Every close says why, at a level an operator sees when the hub decided it (session 15's flake hunt:
 * a connection closed after CONNACK with nothing in the log, because every reason was at DEBUG).
 * The hub's own closes (telemetry not stored, keep-alive, taken over) at INFO; the device's own end at DEBUG.
 */
class SessionCloseReasonTest {
  static SessionHarness hub;
  static ListAppender<ILoggingEvent> log;
  static Logger logger;

  @BeforeAll
  static void start() {
    // A long ask timeout: a telemetry append the journal does not confirm must be answered by the
    // log at once, not given up by the ask (the close below would come after the test's 30 s).
    hub = new SessionHarness("", Duration.ofSeconds(120));
    logger = (Logger) LoggerFactory.getLogger(MqttSession.class);
    logger.setLevel(Level.DEBUG);
    log = new ListAppender<>();
    log.start();
    logger.addAppender(log);
  }

  @AfterAll
  static void stop() {
    logger.detachAppender(log);
    logger.setLevel(null);
    hub.shutdown();
  }

  /** The one "closing ..." line of {@code deviceId}'s connection, once it is logged. */
  private static ILoggingEvent closeLine(String deviceId) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (System.nanoTime() < deadline) {
      List<ILoggingEvent> lines;
      synchronized (log) {
        lines = List.copyOf(log.list);
      }
      for (ILoggingEvent e : lines) {
        if (e.getFormattedMessage().startsWith("closing " + deviceId + " ")) return e;
      }
      Thread.sleep(20);
    }
    return fail("no close logged for " + deviceId);
  }

  @Test
  void telemetryTheJournalDoesNotConfirmClosesTheConnectionWithItsReasonAtInfo() throws Exception {
    String dev = hub.createDevice("unstored");
    var c = hub.new Client();
    c.connectOk(dev, null);
    PersistenceTestKit.create(hub.testKit.system()).failNextPersisted("Telemetry|" + dev, new RuntimeException("journal down"));
    c.send(new Publish(false, 1, false, "devices/" + dev + "/messages/events/", 7, ByteString.fromString("x")));
    c.expectClosed(); // no PUBACK: the device's SDK reconnects and sends it again
    ILoggingEvent line = closeLine(dev);
    assertEquals(Level.INFO, line.getLevel(), line.getFormattedMessage());
    assertTrue(line.getFormattedMessage().contains("telemetry not stored: the journal write of a message from Telemetry|" + dev
        + " failed"), line.getFormattedMessage());
  }

  @Test
  void keepAliveExpiryAndTakeOverAreLoggedAtInfo() throws Exception {
    String idle = hub.createDevice("idle");
    var c = hub.new Client();
    c.send(connect(idle, null, token(idle, null, KEY1, 3600), 1));
    assertEquals(ConnectReturnCode.ACCEPTED, ((ConnAck) c.receive()).returnCode());
    c.expectClosed();
    ILoggingEvent line = closeLine(idle);
    assertEquals(Level.INFO, line.getLevel(), line.getFormattedMessage());
    assertTrue(line.getFormattedMessage().endsWith("keep-alive expired"), line.getFormattedMessage());

    String twice = hub.createDevice("twice");
    var first = hub.new Client();
    first.connectOk(twice, null);
    hub.new Client().connectOk(twice, null);
    first.expectClosed();
    line = closeLine(twice);
    assertEquals(Level.INFO, line.getLevel(), line.getFormattedMessage());
    assertTrue(line.getFormattedMessage().contains("closed by the twin: taken over"), line.getFormattedMessage());
  }

  @Test
  void theDevicesOwnDisconnectIsLoggedAtDebug() throws Exception {
    String dev = hub.createDevice("bye");
    var c = hub.new Client();
    c.connectOk(dev, null);
    c.send(Empty.DISCONNECT_PACKET);
    c.expectClosed();
    ILoggingEvent line = closeLine(dev);
    assertEquals(Level.DEBUG, line.getLevel(), line.getFormattedMessage());
    assertTrue(line.getFormattedMessage().endsWith("device disconnected"), line.getFormattedMessage());
    // The connect's own line (level checked before ctx.getLog() since session 18): still there at DEBUG,
    // with the actor's logging context.
    ILoggingEvent connected;
    synchronized (log) {
      connected = log.list.stream().filter(e -> e.getFormattedMessage().startsWith(dev + " connected from ")).findFirst()
          .orElseGet(() -> fail("no connect logged for " + dev));
    }
    assertEquals(Level.DEBUG, connected.getLevel());
    assertTrue(connected.getMDCPropertyMap().containsKey("akkaSource"), connected.getMDCPropertyMap().toString());
  }
}
