package io.twinhub.twin.domain;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.Arrays;
import java.util.function.LongUnaryOperator;

/**
 * Hand-run micro-measurement, not a test: a ~1 KB desired merge patch applied to a twin whose
 * desired section is ~4 KB (IoT Hub size measure), through {@link TwinState#decide} (validation,
 * merge, $metadata, versions, size check). Prints median / p99 / p99.9 per operation.
 *
 * <pre>
 * cd /work/main &amp;&amp; mvn -B -q -pl twin-entities -am install -DskipTests
 * mvn -B -q -pl twin-entities exec:java -Dexec.classpathScope=test -Dexec.mainClass=io.twinhub.twin.domain.MergeBench
 * </pre>
 */
public final class MergeBench {

    private static final JsonNodeFactory N = JsonNodeFactory.instance;
    private static final Instant T0 = Instant.parse("2026-11-24T09:41:50.123Z");

    public static void main(String[] args) {
        int warmup = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
        int iterations = args.length > 1 ? Integer.parseInt(args[1]) : 200_000;

        TwinState base = TwinState.created(T0).apply(new TwinUpdate.ReplaceDesired(JsonDoc.of(desired4k())), T0);
        TwinUpdate update = new TwinUpdate.PatchDesired(JsonDoc.of(patch1k()));
        byte[] patchBytes = TwinJson.toBytes(patch1k());
        System.out.printf("desired section: %d bytes (IoT Hub measure), %d bytes JSON text; patch: %d bytes (measure), %d bytes JSON%n",
                TwinValidator.sizeOf(base.desired().values()), TwinJson.toBytes(base.desired().values().tree()).length,
                TwinValidator.sizeOf(JsonDoc.of(patch1k())), patchBytes.length);
        TwinState once = base.decide(update, T0, TwinLimits.DEFAULT).optionalValue().orElseThrow();
        System.out.printf("rendered service view after the patch: %d bytes%n",
                TwinJson.toBytes(TwinJson.serviceView(new Twin(identity(), once))).length);

        measure("decide(PatchDesired)            ", warmup, iterations,
                i -> base.decide(update, T0.plusMillis(i), TwinLimits.DEFAULT).optionalValue().orElseThrow().version());
        measure("parse body + decide             ", warmup, iterations,
                i -> TwinJson.parseSectionPatch(patchBytes, Section.DESIRED, TwinLimits.DEFAULT)
                        .flatMap(u -> base.decide(u, T0.plusMillis(i), TwinLimits.DEFAULT))
                        .optionalValue().orElseThrow().version());
        measure("apply only (replay, no checks)  ", warmup, iterations,
                i -> base.apply(update, T0.plusMillis(i)).version());
        Twin twin = new Twin(identity(), once);
        measure("render service view to bytes    ", warmup, iterations,
                i -> TwinJson.toBytes(TwinJson.serviceView(twin)).length);
        measure("service view bytes, streamed    ", warmup, iterations,
                i -> TwinJson.serviceViewBytes(twin).length);
    }

    private static void measure(String name, int warmup, int iterations, LongUnaryOperator op) {
        long sink = 0;
        for (int i = 0; i < warmup; i++) {
            sink += op.applyAsLong(i);
        }
        long[] nanos = new long[iterations];
        for (int i = 0; i < iterations; i++) {
            long t = System.nanoTime();
            sink += op.applyAsLong(i);
            nanos[i] = System.nanoTime() - t;
        }
        Arrays.sort(nanos);
        System.out.printf("%s n=%d  median %6.2f us   p99 %6.2f us   p99.9 %7.2f us   (sink %d)%n", name, iterations,
                nanos[iterations / 2] / 1e3, nanos[(int) (iterations * 0.99)] / 1e3,
                nanos[(int) (iterations * 0.999)] / 1e3, sink % 10);
    }

    /** ~4 KB by IoT Hub's measure: 8 groups of settings, strings and numbers, 2 levels deep. */
    static ObjectNode desired4k() {
        ObjectNode d = N.objectNode();
        int g = 0;
        while (TwinValidator.sizeOf(JsonDoc.of(d)) < 4096 - 300) {
            ObjectNode group = d.putObject("group" + g);
            for (int k = 0; k < 5; k++) {
                group.put("setting" + k, "value-" + g + "-" + k + "-" + "x".repeat(40));
            }
            group.put("interval", 30 + g);
            group.put("enabled", g % 2 == 0);
            group.putObject("limits").put("min", g).put("max", 100 + g).put("unit", "celsius");
            g++;
        }
        while (TwinValidator.sizeOf(JsonDoc.of(d)) < 4096) {
            d.put("pad" + d.size(), "p".repeat(20));
        }
        return d;
    }

    /** ~1 KB: rewrites settings in three groups, adds a nested object, deletes two keys. */
    static ObjectNode patch1k() {
        ObjectNode p = N.objectNode();
        for (int g = 0; g < 3; g++) {
            ObjectNode group = p.putObject("group" + g);
            for (int k = 0; k < 4; k++) {
                group.put("setting" + k, "new-" + g + "-" + k + "-" + "y".repeat(45));
            }
            group.putNull("enabled");
            group.putObject("limits").put("max", 200 + g);
        }
        ObjectNode fw = p.putObject("firmware");
        fw.put("version", "2.4.1").put("url", "https://updates.example.com/fw/2.4.1/" + "z".repeat(60))
                .put("checksum", "sha256:" + "0123456789abcdef".repeat(4)).put("rollout", 25);
        return p;
    }

    private static Identity identity() {
        String key = java.util.Base64.getEncoder().encodeToString(new byte[32]);
        return Identity.create("bench-device", null,
                new IdentitySpec(DeviceStatus.ENABLED, null, Authentication.sas(key, key), false), "1")
                .optionalValue().orElseThrow();
    }
}
