package io.twinhub.twin.configuration;

import io.twinhub.twin.TwinhubSerializable;
import io.twinhub.twin.domain.ETag;
import io.twinhub.twin.domain.JsonDoc;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * An automatic device/module configuration or IoT Edge deployment as IoT Hub stores it
 * ({@code PUT /configurations/{id}}). The content is fixed at creation (IoT Hub lets only target
 * condition, priority, labels and metrics change); {@code version} grows with every change and
 * gives the etag.
 *
 * @param targetCondition the query language's WHERE text as sent (possibly with a
 *                        {@code FROM devices[.modules] WHERE} prefix), "" targets nothing
 * @param metricQueries   custom metrics: name → query
 */
public record Configuration(String id, String schemaVersion, Map<String, String> labels, Content content,
                            String targetCondition, int priority, Map<String, String> metricQueries,
                            Instant createdTimeUtc, Instant lastUpdatedTimeUtc, long version)
    implements TwinhubSerializable {

  public Configuration {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(content, "content");
    labels = Map.copyOf(labels);
    metricQueries = Map.copyOf(metricQueries);
    targetCondition = targetCondition == null ? "" : targetCondition;
  }

  /** What a configuration writes: exactly one of the three is non-empty. */
  public record Content(JsonDoc deviceContent, JsonDoc moduleContent, JsonDoc modulesContent) {
    public Content {
      deviceContent = deviceContent == null ? JsonDoc.empty() : deviceContent;
      moduleContent = moduleContent == null ? JsonDoc.empty() : moduleContent;
      modulesContent = modulesContent == null ? JsonDoc.empty() : modulesContent;
    }

    @com.fasterxml.jackson.annotation.JsonIgnore
    public boolean isEmpty() {
      return deviceContent.isEmpty() && moduleContent.isEmpty() && modulesContent.isEmpty();
    }
  }

  /** What a configuration targets and writes. */
  public enum Kind {
    /** Automatic device configuration: {@code deviceContent} on device twins. */
    DEVICE,
    /** Automatic module configuration: {@code moduleContent} on module twins. */
    MODULE,
    /** IoT Edge deployment: {@code modulesContent} on the module twins of edge devices. */
    EDGE
  }

  public Kind kind() {
    if (!content.modulesContent().isEmpty()) return Kind.EDGE;
    return content.moduleContent().isEmpty() ? Kind.DEVICE : Kind.MODULE;
  }

  /**
   * A base deployment sets the whole desired properties of {@code $edgeAgent}; a layered one only
   * paths below {@code properties.desired} and is merged on top of the base.
   */
  @com.fasterxml.jackson.annotation.JsonIgnore
  public boolean isBaseDeployment() {
    return kind() == Kind.EDGE && content.modulesContent().toObjectNode().path("$edgeAgent").has(ConfigurationPaths.DESIRED);
  }

  public String etag() {
    return ETag.ofIdentityVersion(version);
  }

  public Map<String, String> sortedLabels() {
    return new TreeMap<>(labels);
  }

  /**
   * IoT Hub's precedence among configurations that target one twin: higher priority first, then
   * the most recently created; the id only makes the order total.
   */
  public static int precedence(Configuration a, Configuration b) {
    int c = Integer.compare(a.priority, b.priority);
    if (c != 0) return c;
    c = a.createdTimeUtc.compareTo(b.createdTimeUtc);
    return c != 0 ? c : a.id.compareTo(b.id);
  }

  /** This configuration after an accepted update of its mutable parts. */
  public Configuration updated(String newCondition, int newPriority, Map<String, String> newLabels,
                               Map<String, String> newMetrics, Instant at, long newVersion) {
    return new Configuration(id, schemaVersion, newLabels, content, newCondition, newPriority, newMetrics,
        createdTimeUtc, at, newVersion);
  }
}
