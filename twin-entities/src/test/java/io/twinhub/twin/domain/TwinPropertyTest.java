package io.twinhub.twin.domain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.twinhub.twin.domain.TwinUpdate.PatchDesired;
import io.twinhub.twin.domain.TwinUpdate.PatchReported;
import io.twinhub.twin.domain.TwinUpdate.PatchTags;
import io.twinhub.twin.domain.TwinUpdate.ReplaceDesired;
import io.twinhub.twin.domain.TwinUpdate.ReplaceTags;
import io.twinhub.twin.domain.TwinUpdate.ReplaceTwin;
import io.twinhub.twin.domain.TwinUpdate.UpdateTwin;
import java.time.Instant;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Assume;
import net.jqwik.api.Combinators;
import net.jqwik.api.EdgeCasesMode;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.statistics.Statistics;

/**
 * Properties over random sequences of twin updates with small random documents and (not
 * necessarily increasing) instants, under small limits so that rejections happen often.
 */
class TwinPropertyTest {

    private static final JsonNodeFactory N = JsonNodeFactory.instance;

    /** Small limits: random documents hit every rule now and then. */
    static final TwinLimits SMALL = new TwinLimits(8, 3, 12, -1000, 1000, 60, 100, 100, 5);

    private static final Instant START = Instant.parse("2026-01-01T00:00:00Z");

    record Step(TwinUpdate update, Instant at) {}

    // ------------------------------------------------------------------ generators

    private static Arbitrary<String> keys() {
        return Arbitraries.frequencyOf(
                Tuple.of(80, Arbitraries.of("a", "b", "c", "d", "e", "f")),
                Tuple.of(1, Arbitraries.of("$v", "x.y", "sp ace", "", "k123456789")));
    }

    private static Arbitrary<JsonNode> leaves(boolean nulls) {
        Arbitrary<JsonNode> leaf = Arbitraries.oneOf(
                Arbitraries.integers().between(-1050, 1050).map(i -> (JsonNode) IntNode.valueOf(i)),
                Arbitraries.strings().withChars("xyzé€").ofMaxLength(6).map(s -> (JsonNode) TextNode.valueOf(s)),
                Arbitraries.of(BooleanNode.TRUE, BooleanNode.FALSE).map(b -> (JsonNode) b),
                Arbitraries.of(1.5, -0.25, 1e300, 2.0, 0.1, -8.5, 3.75, Double.POSITIVE_INFINITY).map(d -> (JsonNode) N.numberNode(d)));
        return nulls ? Arbitraries.frequencyOf(Tuple.of(1, Arbitraries.just(NullNode.instance)), Tuple.of(4, leaf)) : leaf;
    }

    private static Arbitrary<JsonNode> values(int depth, boolean nulls) {
        if (depth == 0) {
            return leaves(nulls);
        }
        Arbitrary<JsonNode> arrays = leaves(true).list().ofMaxSize(3).map(l -> {
            ArrayNode a = N.arrayNode();
            l.forEach(a::add);
            return a;
        });
        return Arbitraries.frequencyOf(
                Tuple.of(8, leaves(nulls)),
                Tuple.of(3, objects(depth - 1, nulls).map(o -> (JsonNode) o)),
                Tuple.of(1, arrays));
    }

    /** Objects nested up to {@code depth} further levels (SMALL allows 3, so 4 and 5 get rejected). */
    static Arbitrary<ObjectNode> objects(int depth, boolean nulls) {
        return Arbitraries.maps(keys(), values(depth, nulls)).ofMaxSize(4).map(m -> {
            ObjectNode o = N.objectNode();
            m.forEach(o::set);
            return o;
        });
    }

    private static Arbitrary<JsonDoc> patches() {
        return objects(4, true).map(JsonDoc::of);
    }

    private static Arbitrary<JsonDoc> documents() {
        return objects(4, false).map(JsonDoc::of);
    }

    private static Arbitrary<TwinUpdate> updates() {
        return Arbitraries.oneOf(
                patches().map(p -> (TwinUpdate) new PatchDesired(p)),
                patches().map(p -> (TwinUpdate) new PatchReported(p)),
                patches().map(p -> (TwinUpdate) new PatchTags(p)),
                documents().map(d -> (TwinUpdate) new ReplaceDesired(d)),
                documents().map(d -> (TwinUpdate) new ReplaceTags(d)),
                Combinators.combine(patches().injectNull(0.3), patches().injectNull(0.3))
                        .as((t, d) -> (TwinUpdate) new UpdateTwin(t, d)),
                Combinators.combine(documents(), documents()).as((t, d) -> (TwinUpdate) new ReplaceTwin(t, d)));
    }

    @Provide
    Arbitrary<List<Step>> steps() {
        Arbitrary<Instant> instants = Arbitraries.longs().between(0, 10_000_000_000L).map(START::plusMillis);
        return Combinators.combine(updates(), instants).as(Step::new).list().ofMaxSize(25);
    }

    // ------------------------------------------------------------------ (a) determinism

    @Property(tries = 300, edgeCases = EdgeCasesMode.NONE)
    void sameStepsFromTheSameStartGiveTheSameTwin(@ForAll("steps") List<Step> steps) {
        TwinState first = run(TwinState.created(START), steps);
        TwinState second = run(TwinState.created(START), steps);
        assertEquals(first, second);
        assertEquals(TwinJson.toText(TwinJson.deviceView(first, true)), TwinJson.toText(TwinJson.deviceView(second, true)));
        assertEquals(TwinJson.toText(first.tags().tree()), TwinJson.toText(second.tags().tree()));
        // Replay = apply of the accepted updates, without validation.
        TwinState replayed = TwinState.created(START);
        TwinState s = TwinState.created(START);
        for (Step step : steps) {
            Outcome<TwinState> o = s.decide(step.update(), step.at(), SMALL);
            if (o.isAccepted()) {
                s = o.optionalValue().orElseThrow();
                replayed = replayed.apply(step.update(), step.at());
            }
        }
        assertEquals(s, replayed);
    }

    private static TwinState run(TwinState start, List<Step> steps) {
        TwinState s = start;
        for (Step step : steps) {
            s = s.decide(step.update(), step.at(), SMALL).optionalValue().orElse(s);
        }
        return s;
    }

    // ------------------------------------------------------------------ (b) versions

    @Property(tries = 300, edgeCases = EdgeCasesMode.NONE)
    void versionsGrowByOnePerAcceptedWriteAndNeverRepeat(@ForAll("steps") List<Step> steps) {
        TwinState s = TwinState.created(START);
        Set<String> etags = new HashSet<>(Set.of(s.etag()));
        Set<Long> desiredVersions = new HashSet<>(Set.of(s.desired().version()));
        Set<Long> reportedVersions = new HashSet<>(Set.of(s.reported().version()));
        for (Step step : steps) {
            Outcome<TwinState> o = s.decide(step.update(), step.at(), SMALL);
            Statistics.label("outcome").collect(o.isAccepted() ? "accepted" : o.optionalRejection().orElseThrow().rule());
            if (!o.isAccepted()) {
                continue; // `s` is immutable: a rejection cannot have changed it
            }
            TwinState next = o.optionalValue().orElseThrow();
            assertEquals(s.version() + 1, next.version());
            assertTrue(etags.add(next.etag()), "etag reused");
            assertEquals(s.desired().version() + (touchesDesired(step.update()) ? 1 : 0), next.desired().version());
            assertEquals(s.reported().version() + (step.update() instanceof PatchReported ? 1 : 0), next.reported().version());
            if (touchesDesired(step.update())) {
                assertTrue(desiredVersions.add(next.desired().version()), "desired $version reused");
            } else {
                assertSame(s.desired(), next.desired());
            }
            if (step.update() instanceof PatchReported) {
                assertTrue(reportedVersions.add(next.reported().version()), "reported $version reused");
            } else {
                assertSame(s.reported(), next.reported());
            }
            s = next;
        }
    }

    private static boolean touchesDesired(TwinUpdate u) {
        return u instanceof PatchDesired || u instanceof ReplaceDesired || u instanceof ReplaceTwin
                || (u instanceof UpdateTwin ut && ut.desiredPatch() != null);
    }

    // ------------------------------------------------------------------ (c) merge composition

    /** Valid-only small docs (default limits, valid keys) so both paths are accepted. */
    private static Arbitrary<ObjectNode> validObjects(int depth, boolean nulls) {
        Arbitrary<JsonNode> leaf = Arbitraries.oneOf(
                Arbitraries.integers().between(-5, 5).map(i -> (JsonNode) IntNode.valueOf(i)),
                Arbitraries.of("x", "y").map(s -> (JsonNode) TextNode.valueOf(s)));
        Arbitrary<JsonNode> value = nulls
                ? Arbitraries.frequencyOf(Tuple.of(1, Arbitraries.just(NullNode.instance)), Tuple.of(3, leaf)) : leaf;
        Arbitrary<JsonNode> member = depth == 0 ? value
                : Arbitraries.frequencyOf(Tuple.of(3, value), Tuple.of(2, validObjects(depth - 1, nulls).map(o -> (JsonNode) o)));
        return Arbitraries.maps(Arbitraries.of("a", "b", "c"), member).ofMaxSize(3).map(m -> {
            ObjectNode o = N.objectNode();
            m.forEach(o::set);
            return o;
        });
    }

    @Provide
    Arbitrary<ObjectNode> targets() {
        return validObjects(3, false);
    }

    @Provide
    Arbitrary<ObjectNode> mergePatches() {
        return validObjects(3, true);
    }

    @Property(tries = 1000, edgeCases = EdgeCasesMode.NONE)
    void patchingTwiceEqualsPatchingOnceWithTheComposedPatch(
            @ForAll("targets") ObjectNode target, @ForAll("mergePatches") ObjectNode p, @ForAll("mergePatches") ObjectNode q) {
        // RFC 7396 patches are not closed under composition: if p writes a non-object (or null)
        // where q writes an object, no single patch can say "replace with this object". Only
        // composable pairs are compared; see mergePatchesAreNotClosedUnderComposition.
        boolean composable = composable(p, q);
        Statistics.label("composable").collect(composable);
        Assume.that(composable);
        TwinState t = TwinState.created(START).decide(new ReplaceDesired(JsonDoc.of(target)), START, TwinLimits.DEFAULT)
                .optionalValue().orElseThrow();
        TwinState twice = t.decide(new PatchDesired(JsonDoc.of(p)), START, TwinLimits.DEFAULT)
                .flatMap(s -> s.decide(new PatchDesired(JsonDoc.of(q)), START, TwinLimits.DEFAULT))
                .optionalValue().orElseThrow();
        TwinState once = t.decide(new PatchDesired(JsonDoc.of(combine(p, q))), START, TwinLimits.DEFAULT)
                .optionalValue().orElseThrow();
        assertEquals(twice.desired().values(), once.desired().values());
    }

    /** RFC 7396 composition: one patch with the effect of p then q (when {@link #composable}). */
    static ObjectNode combine(ObjectNode p, ObjectNode q) {
        ObjectNode out = p.deepCopy();
        Iterator<Map.Entry<String, JsonNode>> it = q.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode pv = out.get(e.getKey());
            JsonNode qv = e.getValue();
            out.set(e.getKey(), qv.isObject() && pv != null && pv.isObject()
                    ? combine((ObjectNode) pv, (ObjectNode) qv) : qv.deepCopy());
        }
        return out;
    }

    static boolean composable(ObjectNode p, ObjectNode q) {
        Iterator<Map.Entry<String, JsonNode>> it = q.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode pv = p.get(e.getKey());
            if (e.getValue().isObject() && pv != null
                    && (!pv.isObject() || !composable((ObjectNode) pv, (ObjectNode) e.getValue()))) {
                return false;
            }
        }
        return true;
    }

    @net.jqwik.api.Example
    void mergePatchesAreNotClosedUnderComposition() {
        ObjectNode t = TestJson.obj("{'a':{'keep':1}}");
        ObjectNode p = TestJson.obj("{'a':1}");
        ObjectNode q = TestJson.obj("{'a':{'b':2}}");
        assertFalse(composable(p, q));
        assertEquals(TestJson.obj("{'a':{'b':2}}"), MergePatch.apply(MergePatch.apply(t, p), q));
        assertEquals(TestJson.obj("{'a':{'keep':1,'b':2}}"), MergePatch.apply(t, combine(p, q)));
    }

    // ------------------------------------------------------------------ (d) validity

    @Property(tries = 300, edgeCases = EdgeCasesMode.NONE)
    void acceptedUpdatesNeverProduceAnInvalidTwin(@ForAll("steps") List<Step> steps) {
        TwinState s = TwinState.created(START);
        int accepted = 0;
        for (Step step : steps) {
            Outcome<TwinState> o = s.decide(step.update(), step.at(), SMALL);
            if (o.isAccepted()) {
                s = o.optionalValue().orElseThrow();
                accepted++;
                for (Section section : Section.values()) {
                    Optional<Rejection> problem = TwinValidator.checkSection(s.section(section), section, SMALL);
                    final TwinState bad = s;
                    assertTrue(problem.isEmpty(), () -> problem + " in " + bad);
                }
                checkMetadataMirrorsValues(s.desired().values().tree(), s.desired().metadata(), s.desired().version(), true);
                checkMetadataMirrorsValues(s.reported().values().tree(), s.reported().metadata(), s.reported().version(), false);
            }
        }
        Statistics.label("accepted per run").collect(Math.min(accepted, 5));
    }

    /** Same keys at every object level, leaves without children, parents newest, versions sane. */
    private static void checkMetadataMirrorsValues(ObjectNode values, Metadata m, long sectionVersion, boolean desired) {
        assertEquals(setOf(values.fieldNames()), m.children().keySet());
        if (desired) {
            assertTrue(m.lastUpdatedVersion() == null || m.lastUpdatedVersion() <= sectionVersion);
        } else {
            assertEquals(null, m.lastUpdatedVersion());
        }
        Iterator<Map.Entry<String, JsonNode>> it = values.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            Metadata child = m.child(e.getKey());
            assertNotNull(child);
            assertFalse(child.lastUpdated().isAfter(m.lastUpdated()), "parent older than child");
            if (desired) {
                assertNotNull(child.lastUpdatedVersion());
            }
            if (e.getValue().isObject()) {
                checkMetadataMirrorsValues((ObjectNode) e.getValue(), child, sectionVersion, desired);
            } else {
                assertTrue(child.children().isEmpty());
            }
        }
    }

    private static Set<String> setOf(Iterator<String> it) {
        Set<String> out = new HashSet<>();
        it.forEachRemaining(out::add);
        return out;
    }
}
