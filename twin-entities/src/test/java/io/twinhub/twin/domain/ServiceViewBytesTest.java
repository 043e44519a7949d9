package io.twinhub.twin.domain;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.twinhub.twin.domain.TwinUpdate.PatchDesired;
import io.twinhub.twin.domain.TwinUpdate.PatchReported;
import io.twinhub.twin.domain.TwinUpdate.ReplaceTwin;
import io.twinhub.twin.domain.TwinUpdate.UpdateTwin;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Base64;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.EdgeCasesMode;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

/**
 * {@link TwinJson#serviceViewBytes} (written straight from the twin) must be byte for byte what
 * rendering the tree ({@link TwinJson#serviceView}) and serializing it gives, and the hand-written
 * {@link TwinJson#timestamp} what the formatter gives.
 */
class ServiceViewBytesTest {

    private static final String KEY = Base64.getEncoder().encodeToString(new byte[16]);
    private static final Instant START = Instant.parse("2026-01-01T00:00:00Z");
    private static final DateTimeFormatter FORMATTER =
            DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

    record Step(TwinUpdate update, long atMillis) {}

    record Case(String moduleId, String statusReason, boolean disabled, boolean connected, long activityMillis,
                boolean edge, List<Step> steps) {}

    @Provide
    Arbitrary<Case> twins() {
        Arbitrary<JsonDoc> docs = TwinPropertyTest.objects(3, false).map(JsonDoc::of);
        Arbitrary<JsonDoc> patches = TwinPropertyTest.objects(3, true).map(JsonDoc::of);
        Arbitrary<TwinUpdate> updates = Arbitraries.oneOf(
                patches.map(p -> (TwinUpdate) new PatchDesired(p)),
                patches.map(p -> (TwinUpdate) new PatchReported(p)),
                Combinators.combine(patches.injectNull(0.3), patches.injectNull(0.3)).as((t, d) -> (TwinUpdate) new UpdateTwin(t, d)),
                Combinators.combine(docs, docs).as((t, d) -> (TwinUpdate) new ReplaceTwin(t, d)));
        Arbitrary<List<Step>> steps = Combinators.combine(updates, Arbitraries.longs().between(0, 10_000_000_000L))
                .as(Step::new).list().ofMaxSize(12);
        return Combinators.combine(
                Arbitraries.of("m1", "edge.agent").injectNull(0.5),
                Arbitraries.strings().withChars("ab\"\\é\u0001").ofMaxLength(5).injectNull(0.5),
                Arbitraries.of(true, false), Arbitraries.of(true, false),
                Arbitraries.longs().between(-1, 10_000_000_000L), Arbitraries.of(true, false), steps)
            .as(Case::new);
    }

    @Property(tries = 250, edgeCases = EdgeCasesMode.NONE)
    void bytesAreTheRenderedTreeSerialized(@ForAll("twins") Case c) {
        Twin twin = twin(c);
        assertEquals(new String(TwinJson.toBytes(TwinJson.serviceView(twin)), StandardCharsets.UTF_8),
                new String(TwinJson.serviceViewBytes(twin), StandardCharsets.UTF_8));
    }

    @Property(tries = 2000)
    void timestampIsTheFormattersText(@ForAll @LongRange(min = -70_000_000_000_000L, max = 260_000_000_000_000L) long millis) {
        Instant t = Instant.ofEpochMilli(millis).plusNanos(Math.floorMod(millis, 1_000_000));
        assertEquals(FORMATTER.format(t), TwinJson.timestamp(t));
    }

    @Test
    void timestampAtTheEdges() {
        for (String s : new String[] {"1970-01-01T00:00:00Z", "1969-12-31T23:59:59.999Z", "0001-01-01T00:00:00Z",
                "9999-12-31T23:59:59.999999999Z", "+10000-01-01T00:00:00Z", "2026-02-28T23:59:59.9995Z", "2024-02-29T12:00:00.001Z"}) {
            Instant t = Instant.parse(s);
            assertEquals(FORMATTER.format(t), TwinJson.timestamp(t), s);
        }
    }

    private static Twin twin(Case c) {
        IdentitySpec spec = new IdentitySpec(c.disabled() ? DeviceStatus.DISABLED : DeviceStatus.ENABLED, c.statusReason(),
                Authentication.sas(KEY, KEY), c.edge());
        Identity id = TestJson.accepted(Identity.create("dev-1", c.moduleId(), spec, "g1"));
        if (c.connected()) {
            id = id.withConnectionState(ConnectionState.CONNECTED, START.plusMillis(7));
        }
        if (c.activityMillis() >= 0) {
            id = id.withActivity(START.plusMillis(c.activityMillis()));
        }
        TwinState s = TwinState.created(START);
        for (Step step : c.steps()) {
            Outcome<TwinState> next = s.decide(step.update(), START.plusMillis(step.atMillis()), TwinLimits.DEFAULT);
            if (next instanceof Outcome.Accepted<TwinState> a) {
                s = a.value();
            }
        }
        return new Twin(id, s);
    }
}
