package io.twinhub.ops.amqp;

import org.apache.qpid.proton.amqp.Binary;
import org.apache.qpid.proton.amqp.messaging.Accepted;
import org.apache.qpid.proton.amqp.messaging.AmqpValue;
import org.apache.qpid.proton.amqp.messaging.ApplicationProperties;
import org.apache.qpid.proton.amqp.messaging.Data;
import org.apache.qpid.proton.amqp.messaging.Properties;
import org.apache.qpid.proton.amqp.messaging.Source;
import org.apache.qpid.proton.amqp.messaging.Target;
import org.apache.qpid.proton.engine.Delivery;
import org.apache.qpid.proton.engine.Receiver;
import org.apache.qpid.proton.engine.Sasl;
import org.apache.qpid.proton.engine.SaslListener;
import org.apache.qpid.proton.engine.Sender;
import org.apache.qpid.proton.engine.Session;
import org.apache.qpid.proton.engine.Transport;
import org.apache.qpid.proton.message.Message;

import java.nio.BufferOverflowException;
import java.util.Map;
import java.util.function.Consumer;

/**
 * What a back end says on its AMQP connection to the hub's service endpoint, as the service SDKs
 * say it, on a Proton-J engine: SASL ANONYMOUS, the {@code $cbs} links and a put-token with a
 * service SAS token, a sender to {@code /messages/devicebound} and its messages. Only the engine
 * side: the caller moves the bytes (the bench's Netty client, the tests' blocking socket).
 */
public final class ServiceAmqp {
  private ServiceAmqp() {}

  /** SASL ANONYMOUS as the client (the token comes later, by put-token). */
  public static void saslAnonymous(Transport transport) {
    saslAnonymous(transport, outcome -> { });
  }

  /** As above; {@code outcome} gets the server's SASL outcome. */
  public static void saslAnonymous(Transport transport, Consumer<Sasl.SaslOutcome> outcome) {
    Sasl sasl = transport.sasl();
    sasl.client();
    sasl.setMechanisms("ANONYMOUS");
    sasl.setListener(new SaslListener() {
      @Override
      public void onSaslOutcome(Sasl s, Transport t) {
        outcome.accept(s.getOutcome());
      }

      @Override
      public void onSaslMechanisms(Sasl s, Transport t) {}

      @Override
      public void onSaslInit(Sasl s, Transport t) {}

      @Override
      public void onSaslResponse(Sasl s, Transport t) {}

      @Override
      public void onSaslChallenge(Sasl s, Transport t) {}
    });
  }

  /** The claims-based-security links: put-tokens go out on {@code sender}, their answers come on {@code replies}. */
  public record Cbs(Sender sender, Receiver replies) {}

  /** Opens the {@code $cbs} sender and its reply receiver (with credit for the replies). */
  public static Cbs openCbs(Session session) {
    Sender cbs = session.sender("cbs-sender");
    cbs.setTarget(target("$cbs"));
    cbs.setSource(source("cbs-sender"));
    cbs.open();
    Receiver replies = session.receiver("cbs-receiver");
    replies.setSource(source("$cbs"));
    replies.setTarget(target("cbs"));
    replies.open();
    replies.flow(10);
    return new Cbs(cbs, replies);
  }

  /** A put-token of a service SAS token ({@code SharedAccessSignature ...}) for the hub {@code hostName}. */
  public static Message putToken(String messageId, String hostName, String token) {
    Message put = Message.Factory.create();
    Properties p = new Properties();
    p.setMessageId(messageId);
    p.setTo("$cbs");
    p.setReplyTo("cbs");
    put.setProperties(p);
    put.setApplicationProperties(new ApplicationProperties(Map.of("operation", "put-token",
        "type", "servicebus.windows.net:sastoken", "name", "amqps://" + hostName)));
    put.setBody(new AmqpValue(token));
    return put;
  }

  /** A put-token reply's status-code (200: accepted), or null when it has none. */
  public static Integer statusCode(Message reply) {
    Object status = reply.getApplicationProperties() == null ? null : reply.getApplicationProperties().getValue().get("status-code");
    return status instanceof Number n ? n.intValue() : null;
  }

  /** Opens a sender link to {@code /messages/devicebound}. */
  public static Sender openDevicebound(Session session, String linkName, String sourceAddress) {
    Sender s = session.sender(linkName);
    s.setTarget(target("/messages/devicebound"));
    s.setSource(source(sourceAddress));
    s.open();
    return s;
  }

  /** A cloud-to-device message for {@code deviceId} (no {@code iothub-ack}: no feedback record). */
  public static Message deviceboundMessage(String messageId, String deviceId, byte[] body) {
    Message m = Message.Factory.create();
    Properties p = new Properties();
    p.setMessageId(messageId);
    p.setTo("/devices/" + deviceId + "/messages/devicebound");
    m.setProperties(p);
    m.setBody(new Data(new Binary(body)));
    return m;
  }

  /** Encodes {@code m} as one delivery tagged {@code tag}; without credit Proton holds it until credit comes. */
  public static Delivery send(Sender s, Message m, byte[] tag) {
    byte[] buf = new byte[1024];
    int n;
    while (true) {
      try {
        n = m.encode(buf, 0, buf.length);
        break;
      } catch (BufferOverflowException e) {
        buf = new byte[buf.length * 2];
      }
    }
    Delivery d = s.delivery(tag);
    s.send(buf, 0, n);
    s.advance();
    return d;
  }

  /** Takes the whole message of {@code d} off {@code r}: accepted, settled, one more credit given. */
  public static Message receive(Receiver r, Delivery d) {
    byte[] bytes = new byte[d.pending()];
    int n = r.recv(bytes, 0, bytes.length);
    r.advance();
    d.disposition(Accepted.getInstance());
    d.settle();
    r.flow(1);
    Message m = Message.Factory.create();
    m.decode(bytes, 0, n);
    return m;
  }

  public static Target target(String address) {
    Target t = new Target();
    t.setAddress(address);
    return t;
  }

  public static Source source(String address) {
    Source s = new Source();
    s.setAddress(address);
    return s;
  }
}
