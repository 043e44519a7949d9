package io.twinhub.twin.configuration;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import com.typesafe.config.ConfigFactory;
import io.twinhub.twin.domain.TwinLimits;
import io.twinhub.twin.error.IotHubErrorCode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;

import static io.twinhub.twin.configuration.ConfigurationFixtures.*;
import static org.junit.jupiter.api.Assertions.*;

class ConfigurationStoreTest {
  static final ActorTestKit testKit = ActorTestKit.create(ConfigFactory.parseString("""
      akka.actor.serialization-bindings { "io.twinhub.twin.TwinhubSerializable" = jackson-json }
      akka.actor.serialize-messages = on
      akka.loglevel = WARNING
      """).withFallback(EventSourcedBehaviorTestKit.config()));

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  static ConfigurationJson.Spec spec(String id, String body) {
    ConfigurationJson.Parsed p = ConfigurationJson.parse(json(body), id, TwinLimits.DEFAULT);
    return assertInstanceOf(ConfigurationJson.Valid.class, p, p.toString()).spec();
  }

  static final String ADM = "{\"content\": {\"deviceContent\": {\"properties.desired.mode\": \"eco\"}}, "
      + "\"targetCondition\": \"tags.site = 'a'\", \"priority\": 3, \"labels\": {\"team\": \"ops\"}}";

  @Test
  void createUpdateDeleteFollowIotHubsEtagRules() {
    ConfigurationStore s = ConfigurationStore.EMPTY;
    s = s.apply(changed(s.create(spec("c1", ADM), T0, 10)));
    Configuration c = s.byId().get("c1");
    assertEquals("MQ==", c.etag());
    assertEquals(3, c.priority());

    assertEquals(IotHubErrorCode.Conflict, refused(s.create(spec("c1", ADM), T0, 10)));
    assertEquals(IotHubErrorCode.NotFound, refused(s.update(spec("c2", ADM), "*", T0)));
    assertEquals(IotHubErrorCode.PreconditionFailed, refused(s.update(spec("c1", ADM), "\"Mg==\"", T0)));
    assertEquals(IotHubErrorCode.ArgumentInvalid, refused(s.update(spec("c1", ADM.replace("eco", "boost")), "*", T0)),
        "the content is fixed at creation");
    assertEquals(IotHubErrorCode.IotHubQuotaExceeded, refused(s.create(spec("c3", ADM), T0, 1)));

    Instant later = T0.plusSeconds(5);
    s = s.apply(changed(s.update(spec("c1", "{\"targetCondition\": \"tags.site = 'b'\", \"priority\": 7}"), c.etag(), later)));
    Configuration u = s.byId().get("c1");
    assertEquals(7, u.priority());
    assertEquals("tags.site = 'b'", u.targetCondition());
    assertEquals(c.content(), u.content(), "an update without content keeps it");
    assertEquals(T0, u.createdTimeUtc());
    assertEquals(later, u.lastUpdatedTimeUtc());
    assertNotEquals(c.etag(), u.etag());

    assertEquals(IotHubErrorCode.PreconditionFailed, refused(s.delete("c1", c.etag(), later)));
    s = s.apply(changed(s.delete("c1", u.etag(), later)));
    assertTrue(s.byId().isEmpty());
    s = s.apply(changed(s.create(spec("c1", ADM), later, 10)));
    assertNotEquals(u.etag(), s.byId().get("c1").etag(), "a re-created configuration never repeats an etag");
  }

  @Test
  void theEntityPersistsAndRecovers() {
    Clock clock = Clock.fixed(T0, ZoneOffset.UTC);
    var kit = EventSourcedBehaviorTestKit.<ConfigurationStoreEntity.Command, ConfigurationStore.Event, ConfigurationStore>create(
        testKit.system(), ConfigurationStoreEntity.create(clock, 10));
    var created = kit.<ConfigurationStoreEntity.Reply>runCommand(r -> new ConfigurationStoreEntity.Create(spec("c1", ADM), r));
    assertInstanceOf(ConfigurationStore.Created.class, created.event());
    var dup = kit.<ConfigurationStoreEntity.Reply>runCommand(r -> new ConfigurationStoreEntity.Create(spec("c1", ADM), r));
    assertEquals(IotHubErrorCode.Conflict, ((ConfigurationStoreEntity.Rejected) dup.reply()).error().code());
    assertTrue(dup.hasNoEvents());
    kit.restart();
    var got = kit.<ConfigurationStoreEntity.Reply>runCommand(r -> new ConfigurationStoreEntity.Get("c1", r));
    Configuration c = ((ConfigurationStoreEntity.Done) got.reply()).configuration();
    assertEquals("eco", c.content().deviceContent().get("properties.desired.mode").asText());
    var listed = kit.<ConfigurationStoreEntity.Reply>runCommand(ConfigurationStoreEntity.ListAll::new);
    assertEquals(1, ((ConfigurationStoreEntity.Listed) listed.reply()).configurations().size());
  }

  @Test
  void bodiesAreCheckedCompletely() {
    assertInvalid("C1", ADM, "lower-case");
    assertInvalid("c1", "{\"id\": \"other\"}", "differs from the id in the path");
    assertInvalid("c1", "{\"priority\": -1}", "priority must be a non-negative integer");
    assertInvalid("c1", "{\"content\": {\"deviceContent\": {\"tags.x\": 1}}}", "must be a path below properties.desired");
    assertInvalid("c1", "{\"content\": {\"deviceContent\": {\"properties.desired.a\": 1}, \"moduleContent\": {\"properties.desired.b\": 1}}}",
        "exactly one of");
    assertInvalid("c1", "{\"content\": {\"deviceContent\": {\"properties.desired.a\": {\"$bad\": 1}}}}", "properties.desired.a");
    assertInvalid("c1", "{\"labels\": {\"a\": 1}}", "labels.a must be a string");
    assertInvalid("c1", "{\"content\": {\"modulesContent\": {\"$edgeAgent\": {\"properties.desired\": {}}}}}", "$edgeHub");
    // What the SDK echoes back is accepted and ignored.
    spec("c1", "{\"id\": \"c1\", \"etag\": \"\", \"createdTimeUtc\": \"0001-01-01T00:00:00\", \"systemMetrics\": {\"results\": {}},"
        + " \"metrics\": {\"queries\": {}, \"results\": {\"x\": 1}}, \"content\": {}}");
  }

  private static void assertInvalid(String id, String body, String expected) {
    ConfigurationJson.Parsed p = ConfigurationJson.parse(json(body), id, TwinLimits.DEFAULT);
    var invalid = assertInstanceOf(ConfigurationJson.Invalid.class, p, body);
    assertEquals(IotHubErrorCode.ArgumentInvalid, invalid.error().code());
    assertTrue(invalid.error().message().contains(expected), invalid.error().message());
  }

  private static ConfigurationStore.Event changed(ConfigurationStore.Result r) {
    return assertInstanceOf(ConfigurationStore.Result.Changed.class, r, r.toString()).event();
  }

  private static IotHubErrorCode refused(ConfigurationStore.Result r) {
    return assertInstanceOf(ConfigurationStore.Result.Refused.class, r, r.toString()).error().code();
  }
}
