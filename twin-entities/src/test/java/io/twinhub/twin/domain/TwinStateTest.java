package io.twinhub.twin.domain;

import static io.twinhub.twin.domain.TestJson.accepted;
import static io.twinhub.twin.domain.TestJson.assertJson;
import static io.twinhub.twin.domain.TestJson.at;
import static io.twinhub.twin.domain.TestJson.doc;
import static io.twinhub.twin.domain.TestJson.obj;
import static io.twinhub.twin.domain.TestJson.rejected;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.twin.domain.TwinUpdate.PatchDesired;
import io.twinhub.twin.domain.TwinUpdate.PatchReported;
import io.twinhub.twin.domain.TwinUpdate.PatchTags;
import io.twinhub.twin.domain.TwinUpdate.ReplaceDesired;
import io.twinhub.twin.domain.TwinUpdate.ReplaceTags;
import io.twinhub.twin.domain.TwinUpdate.ReplaceTwin;
import io.twinhub.twin.domain.TwinUpdate.UpdateTwin;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class TwinStateTest {

    private static final Instant T0 = at("2026-11-24T09:41:50.123Z");
    private static final Instant T1 = at("2026-11-24T09:42:00.000Z");
    private static final TwinLimits L = TwinLimits.DEFAULT;

    private static TwinState created() {
        return TwinState.created(T0);
    }

    private static TwinState ok(TwinState s, TwinUpdate u) {
        return accepted(s.decide(u, T1, L));
    }

    @Test
    void createdTwinIsEmptyWithAllVersionsOne() {
        TwinState s = created();
        assertEquals(1, s.version());
        assertEquals("AAAAAAAAAAE=", s.etag());
        assertEquals(1, s.desired().version());
        assertEquals(1, s.reported().version());
        assertJson("{}", s.tags().toObjectNode());
        assertJson("{}", s.desired().values().toObjectNode());
        assertJson("{}", s.reported().values().toObjectNode());
    }

    @Test
    void seedMergeExampleFromTheDocs() {
        // Seed 002/003 "partial update": newProperty created, existingProperty overwritten,
        // otherOldProperty removed, everything else untouched.
        TwinState s = ok(created(), new ReplaceDesired(doc(
                "{'existingProperty':'old','otherOldProperty':{'x':1},'untouched':{'a':1,'b':[1,2]}}")));
        TwinState after = ok(s, new PatchDesired(doc(
                "{'newProperty':{'nestedProperty':'newValue'},'existingProperty':'otherNewValue','otherOldProperty':null}")));
        assertJson("{'existingProperty':'otherNewValue','untouched':{'a':1,'b':[1,2]},'newProperty':{'nestedProperty':'newValue'}}",
                after.desired().values().toObjectNode());
    }

    @Test
    void mergeIsRecursiveAndFollowsRfc7396() {
        TwinState s = ok(created(), new ReplaceDesired(doc("{'a':{'b':1,'c':{'d':2}},'leaf':'x','arr':[1,{'k':1}]}")));
        TwinState after = ok(s, new PatchDesired(doc(
                "{'a':{'c':{'e':3},'b':null},'leaf':{'now':'object','gone':null},'arr':[9],'absent':null,'new':{'n':null}}")));
        assertJson("{'a':{'c':{'d':2,'e':3}},'leaf':{'now':'object'},'arr':[9],'new':{}}",
                after.desired().values().toObjectNode());
        // An object replaced by a leaf.
        TwinState again = ok(after, new PatchDesired(doc("{'a':5}")));
        assertJson("{'a':5,'leaf':{'now':'object'},'arr':[9],'new':{}}", again.desired().values().toObjectNode());
    }

    @Test
    void nullsInsideArraysAreValuesNotDeletes() {
        TwinState after = ok(created(), new PatchReported(doc("{'arr':[null,{'x':null}]}")));
        assertJson("{'arr':[null,{'x':null}]}", after.reported().values().toObjectNode());
    }

    @Test
    void replaceDropsNullMembersAndOldKeys() {
        TwinState s = ok(created(), new PatchDesired(doc("{'old':1}")));
        TwinState after = ok(s, new ReplaceDesired(doc("{'a':null,'b':{'c':null,'d':1}}")));
        assertJson("{'b':{'d':1}}", after.desired().values().toObjectNode());
        TwinState tags = ok(after, new ReplaceTags(doc("{'t':{'u':null}}")));
        assertJson("{'t':{}}", tags.tags().toObjectNode());
    }

    @Test
    void patchTagsMerges() {
        TwinState s = ok(created(), new PatchTags(doc("{'location':{'region':'US','plant':'p1'}}")));
        TwinState after = ok(s, new PatchTags(doc("{'location':{'plant':null,'floor':'1'}}")));
        assertJson("{'location':{'region':'US','floor':'1'}}", after.tags().toObjectNode());
        assertEquals(1, after.desired().version(), "tags have no $version and do not touch desired");
    }

    @Test
    void sectionVersionsCountAcceptedWritesOfThatSection() {
        TwinState s = created();
        s = ok(s, new PatchDesired(doc("{'a':1}")));
        assertEquals(2, s.desired().version());
        assertEquals(1, s.reported().version());
        assertEquals(2, s.version());
        // A patch that changes nothing still counts (IoT Hub does so: the device is notified again).
        s = ok(s, new PatchDesired(doc("{'a':1}")));
        assertEquals(3, s.desired().version());
        s = ok(s, new PatchDesired(doc("{}")));
        assertEquals(4, s.desired().version());
        // A replace counts once, however many keys it writes.
        s = ok(s, new ReplaceDesired(doc("{'x':1,'y':{'z':2}}")));
        assertEquals(5, s.desired().version());
        s = ok(s, new PatchReported(doc("{'r':1}")));
        assertEquals(2, s.reported().version());
        assertEquals(5, s.desired().version());
        s = ok(s, new PatchTags(doc("{'t':1}")));
        assertEquals(5, s.desired().version());
        assertEquals(2, s.reported().version());
        assertEquals(7, s.version());
    }

    @Test
    void updateTwinCountsOnceForTheTwinAndOnceForDesired() {
        TwinState s = ok(created(), new UpdateTwin(doc("{'t':1}"), doc("{'d':1}")));
        assertEquals(2, s.version());
        assertEquals(2, s.desired().version());
        assertJson("{'t':1}", s.tags().toObjectNode());
        assertJson("{'d':1}", s.desired().values().toObjectNode());
        TwinState tagsOnly = ok(s, new UpdateTwin(doc("{'t':2}"), null));
        assertEquals(3, tagsOnly.version());
        assertEquals(2, tagsOnly.desired().version(), "desired not named: $version unchanged");
        assertSame(s.desired(), tagsOnly.desired());
        TwinState nothing = ok(tagsOnly, new UpdateTwin(null, null));
        assertEquals(4, nothing.version(), "every accepted write gets a new twin version/etag");
    }

    @Test
    void replaceTwinReplacesTagsAndDesiredButNotReported() {
        TwinState s = ok(created(), new UpdateTwin(doc("{'t':1,'u':2}"), doc("{'d':1,'e':2}")));
        s = ok(s, new PatchReported(doc("{'r':1}")));
        TwinState after = ok(s, new ReplaceTwin(doc("{'t':9}"), JsonDoc.empty()));
        assertJson("{'t':9}", after.tags().toObjectNode());
        assertJson("{}", after.desired().values().toObjectNode());
        assertJson("{'r':1}", after.reported().values().toObjectNode());
        assertEquals(s.desired().version() + 1, after.desired().version());
        assertEquals(s.reported(), after.reported());
    }

    @Test
    void aRecreatedTwinContinuesTheVersionsOfItsPreviousLife() {
        TwinState old = ok(ok(created(), new UpdateTwin(doc("{'t':1}"), doc("{'d':1}"))), new PatchReported(doc("{'r':1}")));
        TwinState again = TwinState.recreated(old, T1);
        assertEquals(old.version() + 1, again.version());
        assertEquals(old.desired().version() + 1, again.desired().version());
        assertEquals(old.reported().version() + 1, again.reported().version());
        assertNotEquals(old.etag(), again.etag());
        assertEquals(TwinState.created(T1).tags(), again.tags());
        assertEquals(TwinState.created(T1).desired().values(), again.desired().values());
        assertEquals(TwinState.created(T1).reported().metadata(), again.reported().metadata());
    }

    @Test
    void etagFollowsTwinVersion() {
        TwinState s = created();
        String e1 = s.etag();
        TwinState s2 = ok(s, new PatchReported(doc("{'a':1}")));
        assertNotEquals(e1, s2.etag());
        assertEquals("AAAAAAAAAAI=", s2.etag());
        assertEquals(ETag.ofTwinVersion(s2.version()), s2.etag());
    }

    @Test
    void ifMatchGuardsEveryUpdate() {
        TwinState s = created();
        String etag = s.etag();
        TwinUpdate u = new PatchTags(doc("{'a':1}"));
        accepted(s.decide(u, null, T1, L));
        accepted(s.decide(u, "*", T1, L));
        accepted(s.decide(u, etag, T1, L));
        accepted(s.decide(u, "\"" + etag + "\"", T1, L));
        rejected(s.decide(u, "\"AAAAAAAAAAI=\"", T1, L), TwinRule.PRECONDITION_FAILED, "");
        rejected(s.decide(u, "W/\"" + etag + "\"", T1, L), TwinRule.PRECONDITION_FAILED, "");
        accepted(s.decide(u, "\"nope\", \"" + etag + "\"", T1, L));
    }

    @Test
    void rejectedUpdateLeavesNothingApplied() {
        TwinState s = ok(created(), new UpdateTwin(doc("{'t':1}"), doc("{'d':1}")));
        TwinState before = s;
        // Valid tags part, invalid desired part: the whole request is refused.
        rejected(s.decide(new UpdateTwin(doc("{'t':2}"), doc("{'bad.key':1}")), T1, L),
                TwinRule.KEY_INVALID, "properties.desired.bad.key");
        assertEquals(before, s);
        assertJson("{'t':1}", s.tags().toObjectNode());
        // The caller's patch tree is not changed either.
        ObjectNode patch = obj("{'x':{'y':1}}");
        JsonDoc d = JsonDoc.of(patch);
        ok(s, new PatchDesired(d));
        assertJson("{'x':{'y':1}}", patch);
        patch.put("z", 1);
        assertJson("{'x':{'y':1}}", d.toObjectNode());
    }

    @Test
    void decideEqualsApplyForAcceptedUpdates() {
        TwinState s = created();
        TwinUpdate u = new UpdateTwin(doc("{'t':{'a':1}}"), doc("{'d':[1,2]}"));
        assertEquals(s.apply(u, T1), accepted(s.decide(u, T1, L)));
    }

    @Test
    void oldStatesStayUntouchedByLaterUpdates() {
        TwinState s1 = ok(created(), new PatchDesired(doc("{'a':{'b':1},'c':2}")));
        String before = TwinJson.toText(TwinJson.section(s1.desired(), true));
        TwinState s2 = ok(s1, new PatchDesired(doc("{'a':{'b':2,'x':3},'c':null}")));
        assertEquals(before, TwinJson.toText(TwinJson.section(s1.desired(), true)));
        assertJson("{'a':{'b':2,'x':3}}", s2.desired().values().toObjectNode());
    }

    @Test
    void timestampsAreCutToMilliseconds() {
        TwinState s = created().apply(new PatchReported(doc("{'a':1}")), at("2026-01-01T00:00:00.123456789Z"));
        assertEquals(at("2026-01-01T00:00:00.123Z"), s.reported().metadata().lastUpdated());
        assertEquals(at("2026-01-01T00:00:00.123Z"), s.reported().metadata().child("a").lastUpdated());
    }
}
