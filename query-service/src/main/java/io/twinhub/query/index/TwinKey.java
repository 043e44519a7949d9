package io.twinhub.query.index;

import java.util.Objects;

/**
 * Which twin: a device twin ({@code moduleId == null}) or a module twin. Ids follow IoT Hub's
 * syntax, which has no {@code /}, no control characters and no spaces.
 */
public record TwinKey(String deviceId, String moduleId) implements Comparable<TwinKey> {

  public TwinKey {
    Objects.requireNonNull(deviceId, "deviceId");
  }

  public static TwinKey device(String deviceId) {
    return new TwinKey(deviceId, null);
  }

  public static TwinKey module(String deviceId, String moduleId) {
    return new TwinKey(deviceId, Objects.requireNonNull(moduleId, "moduleId"));
  }

  public boolean isModule() {
    return moduleId != null;
  }

  /** Unique term of the twin's document (devices and modules never collide). */
  String term() {
    return isModule() ? "m:" + deviceId + "/" + moduleId : "d:" + deviceId;
  }

  /**
   * The result order of queries without ORDER BY, and what a continuation token resumes after:
   * by device id, then module id (the NUL separator sorts a device before its modules).
   */
  public String orderKey() {
    return isModule() ? deviceId + '\u0000' + moduleId : deviceId;
  }

  /** "dev1" or "dev1/mod1". */
  @Override
  public String toString() {
    return isModule() ? deviceId + "/" + moduleId : deviceId;
  }

  /** Parses {@link #toString()}. */
  public static TwinKey parse(String s) {
    int slash = s.indexOf('/');
    return slash < 0 ? device(s) : module(s.substring(0, slash), s.substring(slash + 1));
  }

  @Override
  public int compareTo(TwinKey o) {
    return orderKey().compareTo(o.orderKey());
  }
}
