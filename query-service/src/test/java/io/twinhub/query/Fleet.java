package io.twinhub.query;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.query.index.TwinIndex;
import io.twinhub.query.index.TwinKey;
import io.twinhub.twin.domain.Authentication;
import io.twinhub.twin.domain.ConnectionState;
import io.twinhub.twin.domain.DeviceStatus;
import io.twinhub.twin.domain.Identity;
import io.twinhub.twin.domain.IdentitySpec;
import io.twinhub.twin.domain.JsonDoc;
import io.twinhub.twin.domain.Outcome;
import io.twinhub.twin.domain.Twin;
import io.twinhub.twin.domain.TwinJson;
import io.twinhub.twin.domain.TwinState;
import io.twinhub.twin.domain.TwinUpdate;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ForkJoinPool;
import java.util.function.IntPredicate;
import java.util.stream.IntStream;

/**
 * The conformance fixture: 300 device twins and 150 module twins built with the twin domain
 * (so they carry real $metadata and $versions), every value a function of the device number i.
 * Expected query results are written from these rules and the language's semantics.
 *
 * <pre>
 * device        dev-000 .. dev-299 (three digits)
 * status        "disabled" when i%17==0, else "enabled"
 * auth          selfSigned (x509Thumbprint.primaryThumbprint = 40 hex digits) when i%25==0, else sas (null thumbprint)
 * connection    "Connected" when i%6==0, else "Disconnected"
 * tags.region   absent when i%30==29, else ["eu","us","apac"][i%3]
 * tags.floor    absent when i%7==0, else the string "G" when i%11==0, else the number i%10
 * tags.location {"building": "B"+(i%4), "room": i%50} when i even, else absent
 * tags.active   absent when i%13==0, else (i%4 != 3)
 * tags.name     "Pump-i" (i%3==0), "pump-i" (i%3==1), "valve-i" (i%3==2)
 * desired       even i only: interval = (i%6+1)*10, config.mode = "auto" when i%4==0 else "manual"
 * reported      battery = i%101 (absent when i%9==0); temp = 20.0 + (i%15)*0.5 (a double);
 *               fw = "1.(i%4).0"; connectivity = ["wifi","wired","cellular","lora"][i%4];
 *               status = "error" when i%8==7 else "ok"; arr = [1,2,3] when i%50==0;
 *               nested.a.b.c = i when i%20==0; reported at 2026-11-01T00:00Z + i minutes
 * versions      desired.$version = 2 for even i (one patch) else 1; reported.$version 2;
 *               version = 4 for even i, 3 for odd i
 * modules       i%5==0: "sensor" and "agent"; i%10==0 also "edge". Module twins: tags.role = moduleId,
 *               reported.reading = i + (0 sensor, 1 agent, 2 edge), reported.ok = (moduleId != "agent")
 * </pre>
 */
final class Fleet {
  static final int DEVICES = 300;
  static final Instant BASE = Instant.parse("2026-11-01T00:00:00Z");
  static final ObjectMapper JSON = new ObjectMapper();
  private static final JsonNodeFactory F = JsonNodeFactory.instance;

  private Fleet() {}

  // ---------------------------------------------------------------- the rules

  static String id(int i) {
    return String.format("dev-%03d", i);
  }

  static String region(int i) {
    return i % 30 == 29 ? null : List.of("eu", "us", "apac").get(i % 3);
  }

  /** Integer, String "G", or null (absent). */
  static Object floor(int i) {
    if (i % 7 == 0) return null;
    if (i % 11 == 0) return "G";
    return i % 10;
  }

  static Boolean active(int i) {
    return i % 13 == 0 ? null : i % 4 != 3;
  }

  static String name(int i) {
    return (i % 3 == 0 ? "Pump-" : i % 3 == 1 ? "pump-" : "valve-") + i;
  }

  static Integer battery(int i) {
    return i % 9 == 0 ? null : i % 101;
  }

  static double temp(int i) {
    return 20.0 + (i % 15) * 0.5;
  }

  static String fw(int i) {
    return "1." + (i % 4) + ".0";
  }

  static String connectivity(int i) {
    return List.of("wifi", "wired", "cellular", "lora").get(i % 4);
  }

  static String status(int i) {
    return i % 8 == 7 ? "error" : "ok";
  }

  static boolean hasModules(int i) {
    return i % 5 == 0;
  }

  static List<String> modules(int i) {
    if (i % 10 == 0) return List.of("sensor", "agent", "edge");
    if (i % 5 == 0) return List.of("sensor", "agent");
    return List.of();
  }

  static Instant reportedAt(int i) {
    return BASE.plus(Duration.ofMinutes(i));
  }

  /** Device ids (in id order) of the devices satisfying p. */
  static List<String> devices(IntPredicate p) {
    return IntStream.range(0, DEVICES).filter(p).mapToObj(Fleet::id).toList();
  }

  // ---------------------------------------------------------------- building

  static Twin device(int i) {
    Authentication auth = i % 25 == 0
        ? Authentication.selfSigned("ABCDEF0123456789ABCDEF0123456789ABCD" + String.format("%04d", i), null)
        : Authentication.sas("a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U=", "c2Vjb25kc2Vjb25kc2Vjb25kc2Vjb25kc2Vjb25kcw==");
    IdentitySpec spec = new IdentitySpec(i % 17 == 0 ? DeviceStatus.DISABLED : DeviceStatus.ENABLED, null, auth, false);
    Identity identity = accepted(Identity.create(id(i), null, spec, "gen-" + i));
    if (i % 6 == 0) identity = identity.withConnectionState(ConnectionState.CONNECTED, BASE.plusSeconds(i));
    Instant created = BASE.minus(Duration.ofDays(1));
    TwinState state = TwinState.created(created);

    ObjectNode tags = F.objectNode();
    if (region(i) != null) tags.put("region", region(i));
    Object floor = floor(i);
    if (floor instanceof Integer n) tags.put("floor", n);
    if (floor instanceof String s) tags.put("floor", s);
    if (i % 2 == 0) tags.putObject("location").put("building", "B" + (i % 4)).put("room", i % 50);
    if (active(i) != null) tags.put("active", active(i));
    tags.put("name", name(i));
    state = state.apply(new TwinUpdate.PatchTags(JsonDoc.of(tags)), created.plusSeconds(1));

    if (i % 2 == 0) {
      ObjectNode desired = F.objectNode();
      desired.put("interval", (i % 6 + 1) * 10);
      desired.putObject("config").put("mode", i % 4 == 0 ? "auto" : "manual");
      state = state.apply(new TwinUpdate.PatchDesired(JsonDoc.of(desired)), created.plusSeconds(2));
    }

    ObjectNode reported = F.objectNode();
    if (battery(i) != null) reported.put("battery", battery(i));
    reported.put("temp", temp(i));
    reported.put("fw", fw(i));
    reported.put("connectivity", connectivity(i));
    reported.put("status", status(i));
    if (i % 50 == 0) reported.putArray("arr").add(1).add(2).add(3);
    if (i % 20 == 0) reported.putObject("nested").putObject("a").putObject("b").put("c", i);
    state = state.apply(new TwinUpdate.PatchReported(JsonDoc.of(reported)), reportedAt(i));
    return new Twin(identity, state);
  }

  static Twin module(int i, String moduleId) {
    IdentitySpec spec = new IdentitySpec(DeviceStatus.ENABLED, null,
        Authentication.sas("a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U=", "c2Vjb25kc2Vjb25kc2Vjb25kc2Vjb25kc2Vjb25kcw=="), false);
    Identity identity = accepted(Identity.create(id(i), moduleId, spec, "gen-" + i + "-" + moduleId));
    TwinState state = TwinState.created(BASE);
    state = state.apply(new TwinUpdate.PatchTags(JsonDoc.of(F.objectNode().put("role", moduleId))), BASE.plusSeconds(1));
    ObjectNode reported = F.objectNode();
    reported.put("reading", i + modules(i).indexOf(moduleId));
    reported.put("ok", !moduleId.equals("agent"));
    state = state.apply(new TwinUpdate.PatchReported(JsonDoc.of(reported)), BASE.plusSeconds(2));
    return new Twin(identity, state);
  }

  /** Every twin of the fleet as service-view JSON (devices, then modules). */
  static List<ObjectNode> twins() {
    List<ObjectNode> out = new ArrayList<>();
    for (int i = 0; i < DEVICES; i++) out.add(TwinJson.serviceView(device(i)));
    for (int i = 0; i < DEVICES; i++) {
      for (String m : modules(i)) out.add(TwinJson.serviceView(module(i, m)));
    }
    return out;
  }

  /** An in-memory index holding the fleet. */
  static TwinIndex index() {
    TwinIndex index = TwinIndex.inMemory();
    long seq = 0;
    for (ObjectNode t : twins()) {
      TwinKey key = t.has("moduleId") ? TwinKey.module(t.get("deviceId").asText(), t.get("moduleId").asText())
          : TwinKey.device(t.get("deviceId").asText());
      index.put(key, t, ++seq, null);
    }
    index.refresh();
    return index;
  }

  /** The fleet's index with a query engine on it (default settings); closes both. */
  static Indexed indexed() {
    return new Indexed(index());
  }

  /** A test's fleet: the index, its engine, and the writer's next sequence numbers for what the test changes. */
  static final class Indexed implements AutoCloseable {
    final TwinIndex index;
    final QueryEngine engine;
    private long seq = 1_000_000; // beyond the fleet's own writes

    private Indexed(TwinIndex index) {
      this.index = index;
      this.engine = new QueryEngine(index, QuerySettings.DEFAULT, ForkJoinPool.commonPool());
    }

    long nextSeq() {
      return ++seq;
    }

    /** Writes a device twin (service view), visible after the next refresh. */
    void put(ObjectNode twin) {
      index.put(TwinKey.device(twin.get("deviceId").asText()), twin, nextSeq(), null);
    }

    @Override
    public void close() {
      engine.close();
      index.close();
    }
  }

  private static <T> T accepted(Outcome<T> o) {
    return o.optionalValue().orElseThrow(() -> new IllegalStateException(o.optionalRejection().toString()));
  }
}
