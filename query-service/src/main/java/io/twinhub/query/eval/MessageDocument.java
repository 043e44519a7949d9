package io.twinhub.query.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.Map;
import java.util.function.Function;

/**
 * A device or module message as routing conditions read one (IoT Hub's message routing and IoT
 * Edge's routes alike): application properties by their names, the JSON body under
 * {@code $body} (only when it is JSON), system properties as {@code $contentType},
 * {@code $contentEncoding}, {@code $messageId}, {@code $correlationId},
 * {@code $connectionDeviceId}, {@code $connectionModuleId}; plus {@code deviceId},
 * {@code moduleId} and {@code source}. {@link Evaluator} then evaluates a condition over it.
 */
public final class MessageDocument {
  private MessageDocument() {}

  /**
   * @param system    a system property by IoT Hub's name ({@code content-type}, {@code message-id},
   *                  {@code iothub-connection-device-id}, ...), null when absent
   * @param jsonBody  the body when it is JSON, else null
   */
  public static ObjectNode of(Map<String, String> properties, JsonNode jsonBody, Function<String, String> system,
                              String deviceId, String moduleId, String source) {
    ObjectNode doc = JsonNodeFactory.instance.objectNode();
    properties.forEach(doc::put);
    if (jsonBody != null) doc.set("$body", jsonBody);
    putIfPresent(doc, "$contentType", system.apply("content-type"));
    putIfPresent(doc, "$contentEncoding", system.apply("content-encoding"));
    putIfPresent(doc, "$messageId", system.apply("message-id"));
    putIfPresent(doc, "$correlationId", system.apply("correlation-id"));
    putIfPresent(doc, "$connectionDeviceId", system.apply("iothub-connection-device-id"));
    putIfPresent(doc, "$connectionModuleId", system.apply("iothub-connection-module-id"));
    doc.put("deviceId", deviceId);
    if (moduleId != null) doc.put("moduleId", moduleId);
    doc.put("source", source);
    return doc;
  }

  private static void putIfPresent(ObjectNode doc, String name, String value) {
    if (value != null) doc.put(name, value);
  }
}
