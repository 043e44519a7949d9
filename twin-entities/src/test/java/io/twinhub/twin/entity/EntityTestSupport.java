package io.twinhub.twin.entity;

import akka.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.twinhub.twin.domain.Authentication;
import io.twinhub.twin.domain.DeviceStatus;
import io.twinhub.twin.domain.IdentitySpec;
import io.twinhub.twin.domain.JsonDoc;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicLong;

/** Shared fixtures for entity tests: config with Jackson bound and serialization verified. */
final class EntityTestSupport {
  static final ObjectMapper JSON = new ObjectMapper();
  static final String KEY1 = "aGVsbG8taGVsbG8taGVsbG8taGVsbG8taGVsbG8taGU=";
  static final String KEY2 = "d29ybGQtd29ybGQtd29ybGQtd29ybGQtd29ybGQtd28=";

  static final Config CONFIG = ConfigFactory.parseString("""
      akka.actor.serialization-bindings { "io.twinhub.twin.TwinhubSerializable" = jackson-json }
      akka.actor.serialize-messages = on
      akka.loglevel = WARNING
      """).withFallback(EventSourcedBehaviorTestKit.config());

  private EntityTestSupport() {}

  static IdentitySpec sasSpec() {
    return new IdentitySpec(DeviceStatus.ENABLED, null, Authentication.sas(KEY1, KEY2), false);
  }

  static JsonDoc doc(String json) {
    try {
      return JsonDoc.of((ObjectNode) JSON.readTree(json));
    } catch (Exception e) {
      throw new IllegalArgumentException(json, e);
    }
  }

  /** A clock that advances 1 ms per reading, so every event has its own instant. */
  static Clock steppingClock() {
    AtomicLong ms = new AtomicLong(Instant.parse("2026-11-24T10:00:00Z").toEpochMilli());
    return new Clock() {
      public ZoneOffset getZone() {
        return ZoneOffset.UTC;
      }

      public Clock withZone(java.time.ZoneId zone) {
        return this;
      }

      public Instant instant() {
        return Instant.ofEpochMilli(ms.incrementAndGet());
      }
    };
  }
}
