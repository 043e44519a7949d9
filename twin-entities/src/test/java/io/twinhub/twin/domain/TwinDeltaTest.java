package io.twinhub.twin.domain;

import static io.twinhub.twin.domain.TestJson.doc;
import static io.twinhub.twin.domain.TestJson.node;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class TwinDeltaTest {
    static final Instant T0 = Instant.parse("2026-12-06T04:00:00Z");
    static final Instant T1 = Instant.parse("2026-12-06T04:01:00Z");
    static final Instant T2 = Instant.parse("2026-12-06T04:02:00Z");

    static TwinState desired(String desired, String reported) {
        TwinState s = TwinState.created(T0).apply(new TwinUpdate.PatchDesired(doc(desired)), T1);
        return reported == null ? s : s.apply(new TwinUpdate.PatchReported(doc(reported)), T2);
    }

    @Test
    void aFreshTwinAndAFullyAppliedOneOweNothing() {
        assertTrue(TwinDelta.of(TwinState.created(T0)).isEmpty());
        // Numbers by value; reported extras are not the device's debt.
        assertTrue(TwinDelta.of(desired("{'temp':21,'cfg':{'mode':'eco','list':[1,2]}}",
            "{'temp':21.0,'cfg':{'mode':'eco','list':[1,2]},'fw':'1.2'}")).isEmpty());
    }

    @Test
    void everyDesiredLeafThatDiffersOrIsMissingIsOwedWithBothValuesAndTimes() {
        TwinDelta d = TwinDelta.of(desired("{'temp':22,'cfg':{'mode':'eco','rate':5},'tags':['a'],'empty':{}}",
            "{'temp':21,'cfg':{'mode':'eco'},'tags':['b'],'empty':{}}"));
        assertEquals(List.of("temp", "cfg.rate", "tags"), d.entries().stream().map(TwinDelta.Entry::dotted).toList());

        TwinDelta.Entry temp = d.entries().get(0);
        assertEquals(node("22"), temp.desired());
        assertEquals(node("21"), temp.reported());
        assertEquals(T1, temp.desiredLastUpdated());
        assertEquals(2L, temp.desiredLastUpdatedVersion());
        assertEquals(T2, temp.reportedLastUpdated());

        TwinDelta.Entry rate = d.entries().get(1);
        assertEquals(node("5"), rate.desired());
        assertNull(rate.reported(), "missing in reported");
        assertNull(rate.reportedLastUpdated());
    }

    @Test
    void aReportedLeafWhereDesiredHasAnObjectOwesEveryMember() {
        TwinDelta d = TwinDelta.of(desired("{'cfg':{'a':1,'b':{'c':2}}}", "{'cfg':'legacy'}"));
        assertEquals(List.of("cfg.a", "cfg.b.c"), d.entries().stream().map(TwinDelta.Entry::dotted).toList());
        assertTrue(d.entries().stream().allMatch(e -> e.reported() == null));
        // Nothing reported at all: every desired leaf.
        assertEquals(2, TwinDelta.of(desired("{'cfg':{'a':1,'b':{'c':2}}}", null)).entries().size());
    }

    @Test
    void theJsonAndTheIndexFieldsSayTheSame() {
        Twin twin = Twin.created(Identity.create("dev1", null,
            new IdentitySpec(DeviceStatus.ENABLED, null, Authentication.sas("aGVsbG8taGVsbG8taGVsbG8taGVsbG8taGVsbG8taGU=", "d29ybGQtd29ybGQtd29ybGQtd29ybGQtd29ybGQtd28="), false), "1")
                .optionalValue().orElseThrow(), T0)
            .withState(desired("{'temp':22}", "{'temp':21}"));
        TwinDelta d = TwinDelta.of(twin.state());
        var json = TwinJson.delta(twin, d);
        assertEquals("dev1", json.path("deviceId").asText());
        assertEquals(false, json.path("isEmpty").asBoolean());
        assertEquals(1, json.path("count").asInt());
        assertEquals("temp", json.path("delta").get(0).path("path").asText());
        assertEquals("2026-12-06T04:01:00.000Z", json.path("delta").get(0).path("desiredLastUpdated").asText());
        assertEquals(TwinJson.deltaIndexFields(d), node("{'delta':{'isEmpty':false,'count':1}}"));
    }
}
