package io.twinhub.edge.hub;

import java.util.Map;

/**
 * A message inside edgeHub: from a module's output (or a leaf device), with its application and
 * system properties (IoT Hub's names: {@code message-id}, {@code content-type},
 * {@code iothub-outputname}, ...) and body; {@code enqueuedMillis} is when edgeHub accepted it
 * (store-and-forward's time to live counts from there).
 */
public record EdgeMessage(String deviceId, String moduleId, String outputName, Map<String, String> properties,
                          Map<String, String> systemProperties, byte[] body, long enqueuedMillis) {
  public EdgeMessage {
    properties = Map.copyOf(properties);
    systemProperties = Map.copyOf(systemProperties);
  }

  /** IoT Edge's route source path of this message. */
  public String sourcePath() {
    if (moduleId == null) return "/messages/events";
    return outputName == null ? "/messages/modules/" + moduleId : "/messages/modules/" + moduleId + "/outputs/" + outputName;
  }
}
