package io.twinhub.twin.domain;

import static io.twinhub.twin.domain.TestJson.accepted;
import static io.twinhub.twin.domain.TestJson.assertJson;
import static io.twinhub.twin.domain.TestJson.at;
import static io.twinhub.twin.domain.TestJson.doc;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.twin.domain.TwinUpdate.PatchDesired;
import io.twinhub.twin.domain.TwinUpdate.PatchReported;
import io.twinhub.twin.domain.TwinUpdate.ReplaceDesired;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class MetadataTest {

    private static final TwinLimits L = TwinLimits.DEFAULT;

    private static TwinState step(TwinState s, TwinUpdate u, String iso) {
        return accepted(s.decide(u, at(iso), L));
    }

    @Test
    void seedDesiredMetadataExample() {
        // Seed 002 "Twin-metagegevens", desired part, with today's $lastUpdatedVersion added.
        TwinState s = TwinState.created(at("2016-03-01T00:00:00.000Z"));
        for (int i = 0; i < 21; i++) { // reach $version 23 like the seed
            s = step(s, new PatchDesired(doc("{}")), "2016-03-02T00:00:00.000Z");
        }
        s = step(s, new PatchDesired(doc("{'telemetryConfig':{'sendFrequency':'5m'}}")), "2016-03-30T16:24:48.789Z");
        assertEquals(23, s.desired().version());
        assertJson("""
                {'telemetryConfig':{'sendFrequency':'5m'},
                 '$metadata':{
                   'telemetryConfig':{
                     'sendFrequency':{'$lastUpdated':'2016-03-30T16:24:48.789Z','$lastUpdatedVersion':23},
                     '$lastUpdated':'2016-03-30T16:24:48.789Z','$lastUpdatedVersion':23},
                   '$lastUpdated':'2016-03-30T16:24:48.789Z','$lastUpdatedVersion':23},
                 '$version':23}""", TwinJson.section(s.desired(), true));
    }

    @Test
    void seedReportedMetadataExample() {
        // Seed 002, reported part. The seed's text has two slips we do not copy: a value
        // ("sendFrequency": "5m") inside $metadata, and a root $lastUpdated (16:24) older than its
        // child batteryLevel (16:35), contradicting "an object's $lastUpdated is the newest child".
        TwinState s = TwinState.created(at("2016-03-01T00:00:00.000Z"));
        s = step(s, new PatchReported(doc("{'telemetryConfig':{'sendFrequency':'5m','status':'success'}}")),
                "2016-03-31T16:35:48.789Z");
        s = step(s, new PatchReported(doc("{'batteryLevel':'55%'}")), "2016-04-01T16:35:48.789Z");
        assertJson("""
                {'telemetryConfig':{
                   'sendFrequency':{'$lastUpdated':'2016-03-31T16:35:48.789Z'},
                   'status':{'$lastUpdated':'2016-03-31T16:35:48.789Z'},
                   '$lastUpdated':'2016-03-31T16:35:48.789Z'},
                 'batteryLevel':{'$lastUpdated':'2016-04-01T16:35:48.789Z'},
                 '$lastUpdated':'2016-04-01T16:35:48.789Z'}""", TwinJson.metadata(s.reported()));
    }

    @Test
    void createdSectionsCarryOnlyTheCreationTime() {
        TwinState s = TwinState.created(at("2026-11-24T09:41:50.123Z"));
        assertJson("{'$lastUpdated':'2026-11-24T09:41:50.123Z'}", TwinJson.metadata(s.desired()));
        assertJson("{'$lastUpdated':'2026-11-24T09:41:50.123Z'}", TwinJson.metadata(s.reported()));
    }

    @Test
    void onlyWrittenPathsAreStamped() {
        TwinState s = TwinState.created(at("2026-01-01T00:00:00Z"));
        s = step(s, new PatchDesired(doc("{'a':{'b':1,'c':{'d':1}},'e':1}")), "2026-01-02T00:00:00Z"); // v2
        s = step(s, new PatchDesired(doc("{'a':{'c':{'x':2}}}")), "2026-01-03T00:00:00Z"); // v3
        assertJson("""
                {'$lastUpdated':'2026-01-03T00:00:00.000Z','$lastUpdatedVersion':3,
                 'a':{'$lastUpdated':'2026-01-03T00:00:00.000Z','$lastUpdatedVersion':3,
                      'b':{'$lastUpdated':'2026-01-02T00:00:00.000Z','$lastUpdatedVersion':2},
                      'c':{'$lastUpdated':'2026-01-03T00:00:00.000Z','$lastUpdatedVersion':3,
                           'd':{'$lastUpdated':'2026-01-02T00:00:00.000Z','$lastUpdatedVersion':2},
                           'x':{'$lastUpdated':'2026-01-03T00:00:00.000Z','$lastUpdatedVersion':3}}},
                 'e':{'$lastUpdated':'2026-01-02T00:00:00.000Z','$lastUpdatedVersion':2}}""",
                TwinJson.metadata(s.desired()));
    }

    @Test
    void rewritingAnEqualValueStillStampsIt() {
        TwinState s = TwinState.created(at("2026-01-01T00:00:00Z"));
        s = step(s, new PatchReported(doc("{'a':1,'b':1}")), "2026-01-02T00:00:00Z");
        s = step(s, new PatchReported(doc("{'a':1}")), "2026-01-03T00:00:00Z");
        assertEquals(at("2026-01-03T00:00:00Z"), s.reported().metadata().child("a").lastUpdated());
        assertEquals(at("2026-01-02T00:00:00Z"), s.reported().metadata().child("b").lastUpdated());
    }

    @Test
    void deletingAKeyDropsItsMetadataAndStampsTheParent() {
        TwinState s = TwinState.created(at("2026-01-01T00:00:00Z"));
        s = step(s, new PatchReported(doc("{'a':{'b':1,'c':{'d':1}},'e':1}")), "2026-01-02T00:00:00Z");
        s = step(s, new PatchReported(doc("{'a':{'c':null}}")), "2026-01-03T00:00:00Z");
        assertJson("""
                {'$lastUpdated':'2026-01-03T00:00:00.000Z',
                 'a':{'$lastUpdated':'2026-01-03T00:00:00.000Z',
                      'b':{'$lastUpdated':'2026-01-02T00:00:00.000Z'}},
                 'e':{'$lastUpdated':'2026-01-02T00:00:00.000Z'}}""", TwinJson.metadata(s.reported()));
        assertNull(s.reported().metadata().child("a").child("c"));
        s = step(s, new PatchReported(doc("{'a':null}")), "2026-01-04T00:00:00Z");
        assertNull(s.reported().metadata().child("a"));
        assertEquals(at("2026-01-04T00:00:00Z"), s.reported().metadata().lastUpdated());
    }

    @Test
    void objectLastUpdatedIsTheNewestChildEvenWhenTheClockRanBackwards() {
        TwinState s = TwinState.created(at("2026-01-01T00:00:00Z"));
        s = step(s, new PatchReported(doc("{'a':{'b':1}}")), "2026-01-05T00:00:00Z");
        // An older instant (e.g. another node's clock after failover) writes a sibling.
        s = step(s, new PatchReported(doc("{'a':{'c':1}}")), "2026-01-03T00:00:00Z");
        Metadata a = s.reported().metadata().child("a");
        assertEquals(at("2026-01-03T00:00:00Z"), a.child("c").lastUpdated());
        assertEquals(at("2026-01-05T00:00:00Z"), a.lastUpdated());
        assertEquals(at("2026-01-05T00:00:00Z"), s.reported().metadata().lastUpdated());
    }

    @Test
    void valueTypeChangesReshapeMetadata() {
        TwinState s = TwinState.created(at("2026-01-01T00:00:00Z"));
        s = step(s, new PatchDesired(doc("{'a':{'b':{'c':1}}}")), "2026-01-02T00:00:00Z");
        s = step(s, new PatchDesired(doc("{'a':{'b':'leaf now'}}")), "2026-01-03T00:00:00Z");
        assertEquals(0, s.desired().metadata().child("a").child("b").children().size());
        s = step(s, new PatchDesired(doc("{'a':{'b':{'x':1}}}")), "2026-01-04T00:00:00Z");
        assertJson("""
                {'$lastUpdated':'2026-01-04T00:00:00.000Z','$lastUpdatedVersion':4,
                 'b':{'$lastUpdated':'2026-01-04T00:00:00.000Z','$lastUpdatedVersion':4,
                      'x':{'$lastUpdated':'2026-01-04T00:00:00.000Z','$lastUpdatedVersion':4}}}""",
                (ObjectNode) TwinJson.metadata(s.desired()).get("a"));
        s = step(s, new PatchDesired(doc("{'arr':[{'deep':{'x':1}}]}")), "2026-01-05T00:00:00Z");
        assertEquals(0, s.desired().metadata().child("arr").children().size(), "arrays are leaves for $metadata");
    }

    @Test
    void replaceRestampsEveryNode() {
        TwinState s = TwinState.created(at("2026-01-01T00:00:00Z"));
        s = step(s, new PatchDesired(doc("{'keep':{'x':1}}")), "2026-01-02T00:00:00Z");
        s = step(s, new ReplaceDesired(doc("{'keep':{'x':1},'y':2}")), "2026-01-03T00:00:00Z");
        assertJson("""
                {'$lastUpdated':'2026-01-03T00:00:00.000Z','$lastUpdatedVersion':3,
                 'keep':{'$lastUpdated':'2026-01-03T00:00:00.000Z','$lastUpdatedVersion':3,
                         'x':{'$lastUpdated':'2026-01-03T00:00:00.000Z','$lastUpdatedVersion':3}},
                 'y':{'$lastUpdated':'2026-01-03T00:00:00.000Z','$lastUpdatedVersion':3}}""",
                TwinJson.metadata(s.desired()));
    }

    @Test
    void reportedHasNoLastUpdatedVersion() {
        TwinState s = TwinState.created(Instant.EPOCH);
        s = step(s, new PatchReported(doc("{'a':{'b':1}}")), "2026-01-02T00:00:00Z");
        assertNull(s.reported().metadata().lastUpdatedVersion());
        assertNull(s.reported().metadata().child("a").child("b").lastUpdatedVersion());
    }
}
