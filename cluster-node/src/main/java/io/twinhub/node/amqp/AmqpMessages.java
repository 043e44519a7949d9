package io.twinhub.node.amqp;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.twin.c2d.CloudToDeviceMessage;
import io.twinhub.twin.c2d.CloudToDeviceQueue;
import io.twinhub.twin.c2d.DeliveryAck;
import io.twinhub.twin.c2d.FeedbackStatus;
import io.twinhub.twin.domain.Identity;
import io.twinhub.twin.domain.TwinJson;
import io.twinhub.twin.error.IotHubError;
import io.twinhub.twin.error.IotHubErrorCode;
import org.apache.qpid.proton.amqp.Binary;
import org.apache.qpid.proton.amqp.Symbol;
import org.apache.qpid.proton.amqp.messaging.AmqpValue;
import org.apache.qpid.proton.amqp.messaging.ApplicationProperties;
import org.apache.qpid.proton.amqp.messaging.Data;
import org.apache.qpid.proton.amqp.messaging.Properties;
import org.apache.qpid.proton.amqp.messaging.Section;
import org.apache.qpid.proton.amqp.transport.ErrorCondition;
import org.apache.qpid.proton.message.Message;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * IoT Hub's AMQP shapes, as pure functions: a back end's message on {@code /messages/devicebound}
 * to a {@link CloudToDeviceMessage}, an IoT Hub error to the AMQP error condition the service SDKs
 * map back to the same exception ({@code ProtonJExceptionParser}), and feedback records to the
 * batch message of {@code /messages/servicebound/feedback}.
 */
public final class AmqpMessages {
  static final String FEEDBACK_CONTENT_TYPE = "application/vnd.microsoft.iothub.feedback.json";
  static final Symbol UNAUTHORIZED = Symbol.valueOf("amqp:unauthorized-access");
  static final Symbol NOT_FOUND = Symbol.valueOf("amqp:not-found");
  static final Symbol MESSAGE_SIZE_EXCEEDED = Symbol.valueOf("amqp:link:message-size-exceeded");
  static final Symbol INVALID_FIELD = Symbol.valueOf("amqp:invalid-field");
  static final Symbol NOT_IMPLEMENTED = Symbol.valueOf("amqp:not-implemented");
  static final Symbol DECODE_ERROR = Symbol.valueOf("amqp:decode-error");
  private static final Pattern DEVICE_TARGET = Pattern.compile("/devices/([^/]+)/messages/devicebound", Pattern.CASE_INSENSITIVE);
  private static final Pattern MODULE_TARGET = Pattern.compile("/devices/([^/]+)/modules/([^/]+)/messages/devicebound", Pattern.CASE_INSENSITIVE);

  private AmqpMessages() {}

  /** A message to send, or why not. */
  sealed interface Parsed {}

  record ToDevice(CloudToDeviceMessage message) implements Parsed {}

  record Invalid(ErrorCondition error) implements Parsed {}

  /**
   * The C2D message a back end sent: {@code to} names the device, {@code message-id},
   * {@code correlation-id}, {@code user-id}, {@code content-type}, {@code content-encoding},
   * {@code absolute-expiry-time}, application properties ({@code iothub-ack} among them) and the
   * body (data, or an AMQP string/binary value). A message without id gets one, so its feedback
   * can name it.
   */
  static Parsed toDevice(Message m) {
    Properties p = m.getProperties();
    String to = p == null ? null : p.getTo();
    if (to == null) return invalid(INVALID_FIELD, "the message has no 'to' (/devices/{deviceId}/messages/devicebound)");
    if (MODULE_TARGET.matcher(to).matches()) return invalid(NOT_IMPLEMENTED, "cloud-to-module messages are not supported");
    Matcher dev = DEVICE_TARGET.matcher(to);
    if (!dev.matches()) return invalid(INVALID_FIELD, "'to' must be /devices/{deviceId}/messages/devicebound, not " + clip(to));
    String deviceId = java.net.URLDecoder.decode(dev.group(1), StandardCharsets.UTF_8);
    var badId = Identity.checkId(deviceId, "deviceId");
    if (badId.isPresent()) return invalid(INVALID_FIELD, "invalid deviceId in 'to': " + clip(deviceId));
    Map<String, String> props = new HashMap<>();
    if (m.getApplicationProperties() != null && m.getApplicationProperties().getValue() != null) {
      for (Map.Entry<?, ?> e : ((Map<?, ?>) m.getApplicationProperties().getValue()).entrySet()) {
        if (e.getKey() == null || e.getValue() == null) continue;
        props.put(e.getKey().toString(), e.getValue().toString());
      }
    }
    var ack = DeliveryAck.parse(props.remove("iothub-ack"));
    if (ack.isEmpty()) return invalid(INVALID_FIELD, "iothub-ack must be none, positive, negative or full");
    Object id = p.getMessageId();
    String messageId = id == null ? UUID.randomUUID().toString() : id.toString();
    byte[] body;
    try {
      body = body(m.getBody());
    } catch (IllegalArgumentException e) {
      return invalid(DECODE_ERROR, e.getMessage());
    }
    return new ToDevice(new CloudToDeviceMessage(deviceId, messageId,
        p.getCorrelationId() == null ? null : p.getCorrelationId().toString(),
        p.getUserId() == null ? null : new String(p.getUserId().getArray(), p.getUserId().getArrayOffset(), p.getUserId().getLength(), StandardCharsets.UTF_8),
        p.getContentType() == null ? null : p.getContentType().toString(),
        p.getContentEncoding() == null ? null : p.getContentEncoding().toString(),
        props, ack.get(), p.getAbsoluteExpiryTime() == null ? null : p.getAbsoluteExpiryTime().toInstant(), null, body));
  }

  private static byte[] body(Section s) {
    if (s == null) return new byte[0];
    if (s instanceof Data d) return d.getValue().getArray().length == d.getValue().getLength()
        ? d.getValue().getArray() : java.util.Arrays.copyOfRange(d.getValue().getArray(), d.getValue().getArrayOffset(),
        d.getValue().getArrayOffset() + d.getValue().getLength());
    if (s instanceof AmqpValue v && v.getValue() instanceof String str) return str.getBytes(StandardCharsets.UTF_8);
    if (s instanceof AmqpValue v && v.getValue() instanceof Binary b) return java.util.Arrays.copyOfRange(b.getArray(), b.getArrayOffset(), b.getArrayOffset() + b.getLength());
    throw new IllegalArgumentException("the body must be data, a string or binary value");
  }

  private static Invalid invalid(Symbol condition, String description) {
    return new Invalid(new ErrorCondition(condition, description));
  }

  /** The condition the service SDKs turn into the exception IoT Hub's error would give. */
  static ErrorCondition condition(IotHubError e) {
    IotHubErrorCode c = e.code();
    Symbol s = switch (c) {
      case DeviceNotFound, ModuleNotFound, NotFound -> NOT_FOUND;
      case DeviceMaximumQueueDepthExceeded -> Symbol.valueOf("amqp:resource-limit-exceeded");
      case MessageTooLarge, RequestEntityTooLarge -> MESSAGE_SIZE_EXCEEDED;
      case IotHubUnauthorizedAccess, Unauthorized -> UNAUTHORIZED;
      case PreconditionFailed -> Symbol.valueOf("amqp:precondition-failed");
      case ArgumentInvalid, ArgumentNull, BadFormat -> INVALID_FIELD;
      case ServiceUnavailable, ThrottlingException -> Symbol.valueOf("com.microsoft:timeout");
      default -> Symbol.valueOf("amqp:internal-error");
    };
    return new ErrorCondition(s, c.name() + " (" + c.code() + "): " + e.message());
  }

  /**
   * One feedback batch: a JSON array of records ({@code originalMessageId}, {@code deviceId},
   * {@code deviceGenerationId}, {@code statusCode}, {@code description}, {@code enqueuedTimeUtc}).
   * The Java service SDK reads the body through {@code Binary.toString()}, which turns every
   * byte outside printable ASCII and every backslash into {@code \xNN}; so the JSON carries no
   * escapes: characters that would need one are replaced by {@code _}.
   */
  static Message feedbackBatch(List<CloudToDeviceQueue.Settled> records) {
    ArrayNode array = JsonNodeFactory.instance.arrayNode();
    for (CloudToDeviceQueue.Settled r : records) {
      ObjectNode o = array.addObject();
      o.put("originalMessageId", plain(r.messageId()));
      o.put("deviceGenerationId", plain(r.generationId() == null ? "" : r.generationId()));
      o.put("deviceId", plain(r.deviceId()));
      o.put("enqueuedTimeUtc", TwinJson.timestamp(r.at()));
      o.put("statusCode", r.status().name());
      o.put("description", description(r.status()));
    }
    Message m = Message.Factory.create();
    Properties p = new Properties();
    p.setMessageId(UUID.randomUUID().toString());
    p.setContentType(Symbol.valueOf(FEEDBACK_CONTENT_TYPE));
    m.setProperties(p);
    m.setBody(new Data(new Binary(array.toString().getBytes(StandardCharsets.US_ASCII))));
    return m;
  }

  static String description(FeedbackStatus s) {
    return switch (s) {
      case Success -> "Success";
      case Expired -> "Message expired";
      case DeliveryCountExceeded -> "Message delivery count exceeded";
      case Rejected -> "Message rejected";
      case Purged -> "Message purged";
    };
  }

  /** Printable ASCII without {@code "} and {@code \}: what survives the Java SDK's feedback parsing. */
  static String plain(String s) {
    StringBuilder b = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      b.append(c > 31 && c < 127 && c != '"' && c != '\\' ? c : '_');
    }
    return b.toString();
  }

  /** The CBS answer to a put-token: {@code correlation-id} = the request's {@code message-id}, status code and description. */
  static Message cbsResponse(Object requestMessageId, int status, String description) {
    Message m = Message.Factory.create();
    Properties p = new Properties();
    p.setCorrelationId(requestMessageId);
    m.setProperties(p);
    Map<String, Object> app = new HashMap<>();
    app.put("status-code", status);
    app.put("status-description", description);
    m.setApplicationProperties(new ApplicationProperties(app));
    return m;
  }

  /**
   * A whole AMQP frame (channel 0) carrying {@code close} with {@code why}: what the endpoint writes
   * itself after Proton stopped at a frame it could not decode (Proton's output is closed then).
   */
  static byte[] closeFrame(ErrorCondition why) {
    org.apache.qpid.proton.codec.DecoderImpl decoder = new org.apache.qpid.proton.codec.DecoderImpl();
    org.apache.qpid.proton.codec.EncoderImpl encoder = new org.apache.qpid.proton.codec.EncoderImpl(decoder);
    org.apache.qpid.proton.codec.AMQPDefinedTypes.registerAllTypes(decoder, encoder);
    java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(1024);
    buf.position(8);
    encoder.setByteBuffer(buf);
    org.apache.qpid.proton.amqp.transport.Close close = new org.apache.qpid.proton.amqp.transport.Close();
    close.setError(why);
    encoder.writeObject(close);
    int size = buf.position();
    buf.putInt(0, size).put(4, (byte) 2).put(5, (byte) 0).putShort(6, (short) 0); // size, doff 2 words, AMQP frame, channel 0
    return java.util.Arrays.copyOf(buf.array(), size);
  }

  static String clip(String s) {
    return s.length() <= 128 ? s : s.substring(0, 128) + "...";
  }
}
