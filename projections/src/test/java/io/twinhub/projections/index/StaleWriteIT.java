package io.twinhub.projections.index;

import akka.actor.typed.ActorSystem;
import akka.persistence.cassandra.query.javadsl.CassandraReadJournal;
import akka.persistence.query.EventEnvelope;
import akka.persistence.query.PersistenceQuery;
import akka.serialization.SerializationExtension;
import akka.serialization.Serializers;
import akka.stream.javadsl.Sink;
import com.datastax.oss.driver.api.core.cql.Row;
import com.datastax.oss.driver.api.core.uuid.Uuids;
import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import io.twinhub.projections.journal.NewestWriter;
import io.twinhub.projections.journal.TwinJournal;
import io.twinhub.twin.domain.TwinJson;
import io.twinhub.twin.domain.TwinUpdate;
import io.twinhub.twin.entity.TwinEvent;
import io.twinhub.twin.service.TwinService;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static io.twinhub.projections.index.QueryIndexIT.accepted;
import static io.twinhub.projections.index.QueryIndexIT.await;
import static io.twinhub.projections.index.QueryIndexIT.doc;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The race behind a repeated {@code $version} after a Cassandra freeze, made deterministic: an
 * entity's incarnation gives up on a write (here: it is stopped), the next incarnation recovers
 * without it and writes the same sequence number, and only then does the old write land, with
 * its older write time. Cassandra keeps both rows. The entity (Akka's replay filter) and the
 * projections' journal reads ({@link NewestWriter}) must both see only the new incarnation's event,
 * also when the doubled number is the journal's last: Akka bounds a recovery by the highest
 * number, and the plugin's read stops at the first event with it ({@link TwinJournal}).
 */
class StaleWriteIT {
  static final String ID = "stale-" + UUID.randomUUID().toString().substring(0, 6);
  static final String PID = "Device|" + ID;

  @Test
  void aLateWriteOfAnOldIncarnationGivesWayToTheNewIncarnationsEvent() throws Exception {
    // Incarnation 1: created (1) and patched (2), then gone.
    ActorSystem<Void> first = start("stale-1");
    QueryIndexIT.warmUp(new TwinService(first, Duration.ofSeconds(30)), ID);
    accepted(await(new TwinService(first, Duration.ofSeconds(30))
        .updateTwin(ID, null, new TwinUpdate.PatchDesired(doc("{\"step\":1}")), null)));
    QueryIndexIT.stopNode(first);

    // Incarnation 2 recovers (1, 2) and writes 3, acknowledged.
    ActorSystem<Void> second = start("stale-2");
    accepted(await(new TwinService(second, Duration.ofSeconds(30))
        .updateTwin(ID, null, new TwinUpdate.PatchDesired(doc("{\"step\":2}")), null)));
    CassandraReadJournal journal = readJournal(second);
    List<EventEnvelope> clean = events(second, journal);
    assertEquals(List.of(1L, 2L, 3L), clean.stream().map(EventEnvelope::sequenceNr).toList());

    // Now incarnation 1's timed-out write of 3 lands: its writer, a write time before incarnation 2's.
    landStaleWrite(second, journal, clean.get(1), clean.get(2));
    List<EventEnvelope> raw = events(second, journal);
    assertEquals(List.of(1L, 2L, 3L, 3L), raw.stream().map(EventEnvelope::sequenceNr).toList(),
        "Cassandra keeps both writes of 3");
    assertNotEquals(clean.get(2).event(), raw.get(2).event(), "the stale write sorts first (older write time)");
    assertEquals(clean.get(2).event(), raw.get(3).event());

    // The projections' reads: one event per number, the acknowledged one.
    JournalReader reader = new JournalReader(second, CassandraReadJournal.Identifier());
    List<EventEnvelope> read = reader.events(PID, 1, 3, Duration.ofSeconds(30));
    assertEquals(List.of(1L, 2L, 3L), read.stream().map(EventEnvelope::sequenceNr).toList());
    assertEquals(clean.get(2).event(), read.get(2).event());
    QueryIndexIT.stopNode(second);

    // Incarnation 3 recovers through Akka's replay filter: the same choice.
    ActorSystem<Void> third = start("stale-3");
    JsonNode desired = TwinJson.serviceView(accepted(await(new TwinService(third, Duration.ofSeconds(30)).getTwin(ID, null))))
        .path("properties").path("desired");
    assertEquals(2, desired.path("step").asInt(), desired.toString());
    assertTrue(desired.path("stale").isMissingNode(), desired.toString());
    assertEquals(3, desired.path("$version").asLong());
    QueryIndexIT.stopNode(third);
  }

  /** Incarnation 1's write of {@code acknowledged}'s sequence number, as a frozen Cassandra applies it late. */
  private static void landStaleWrite(ActorSystem<Void> system, CassandraReadJournal journal, EventEnvelope before,
                                     EventEnvelope acknowledged) throws Exception {
    String table = system.settings().config().getString("akka.persistence.cassandra.journal.keyspace") + ".messages";
    Row previous = row(journal, table, before.sequenceNr());
    Row current = row(journal, table, acknowledged.sequenceNr());
    assertNotEquals(previous.getString("writer_uuid"), current.getString("writer_uuid"), "two incarnations, two writers");
    TwinEvent.DesiredPatched real = (TwinEvent.DesiredPatched) acknowledged.event();
    TwinEvent stale = new TwinEvent.DesiredPatched(doc("{\"stale\":true}"), real.versions(), real.at());
    var serialization = SerializationExtension.get(system.classicSystem());
    var serializer = serialization.findSerializerFor(stale);
    long writtenAt = (before.timestamp() + acknowledged.timestamp()) / 2;
    await(journal.session().executeWrite("INSERT INTO " + table + " (persistence_id, partition_nr, sequence_nr, timestamp, "
            + "timebucket, writer_uuid, ser_id, ser_manifest, event_manifest, event, tags) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        PID, current.getLong("partition_nr"), acknowledged.sequenceNr(), Uuids.startOf(writtenAt),
        current.getString("timebucket"), previous.getString("writer_uuid"), serializer.identifier(),
        Serializers.manifestFor(serializer, stale), current.getString("event_manifest"),
        ByteBuffer.wrap(serializer.toBinary(stale)), current.getSet("tags", String.class)));
  }

  private static Row row(CassandraReadJournal journal, String table, long seq) throws Exception {
    return await(journal.session().selectOne("SELECT * FROM " + table
        + " WHERE persistence_id = ? AND partition_nr = 0 AND sequence_nr = ?", PID, seq)).orElseThrow();
  }

  private static List<EventEnvelope> events(ActorSystem<Void> system, CassandraReadJournal journal) throws Exception {
    return journal.currentEventsByPersistenceId(PID, 0, Long.MAX_VALUE).runWith(Sink.seq(), system)
        .toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  private static CassandraReadJournal readJournal(ActorSystem<Void> system) {
    return PersistenceQuery.get(system.classicSystem()).getReadJournalFor(CassandraReadJournal.class, CassandraReadJournal.Identifier());
  }

  /** The index ITs' node, on a keyspace of its own (QueryIndexIT counts every event of its journal); a new writer per start. */
  private static ActorSystem<Void> start(String name) {
    return QueryIndexIT.startNode(name, ConfigFactory.parseMap(java.util.Map.of(
        "akka.persistence.cassandra.journal.keyspace", "twinhub_stale_it",
        "akka.persistence.cassandra.snapshot.keyspace", "twinhub_stale_it_snapshot")));
  }
}
