package io.twinhub.twin.domain;

import com.fasterxml.jackson.annotation.JsonProperty;

import java.util.Objects;

/**
 * Who made a twin change, journaled with it (audit; twin history): the kind of writer and its
 * name: the SAS policy of a back end, the device (or {@code deviceId/moduleId}) that reported,
 * the configuration whose content was applied, the job that wrote it.
 */
public record Author(Kind kind, String name) {

  public enum Kind {
    @JsonProperty("service") SERVICE,
    @JsonProperty("device") DEVICE,
    @JsonProperty("configuration") CONFIGURATION,
    @JsonProperty("job") JOB;

    /** The wire name (history, change streams). */
    public String wire() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  public Author {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(name, "name");
  }

  /** A back end signing with the SAS policy {@code policyName}. */
  public static Author service(String policyName) {
    return new Author(Kind.SERVICE, policyName);
  }

  /** The device or module itself (its own key, or a DeviceConnect policy acting for it). */
  public static Author device(String deviceId, String moduleId) {
    return new Author(Kind.DEVICE, moduleId == null ? deviceId : deviceId + "/" + moduleId);
  }

  public static Author configuration(String configurationId) {
    return new Author(Kind.CONFIGURATION, configurationId);
  }

  public static Author job(String jobId) {
    return new Author(Kind.JOB, jobId);
  }
}
