package io.twinhub.query;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.query.eval.InMemoryQuery;
import io.twinhub.query.index.TwinIndex;
import io.twinhub.query.lang.QueryParser;
import io.twinhub.twin.domain.TwinJson;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ForkJoinPool;
import java.util.function.IntFunction;
import java.util.function.IntPredicate;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static io.twinhub.query.Fleet.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The query language against the {@link Fleet}: every clause, operator and function, undefined
 * and null, GROUP BY, TOP, ORDER BY and paging. Expected results are written from the fleet's
 * rules and the language's semantics (never by running a query engine). Every query is run
 * through the Lucene-backed engine page by page (7 items per page) and, as a second opinion,
 * through the in-memory evaluator.
 */
class ConformanceTest {
  private static TwinIndex index;
  private static QueryEngine engine;
  private static List<ObjectNode> twins;

  @BeforeAll
  static void load() {
    index = Fleet.index();
    engine = new QueryEngine(index, QuerySettings.DEFAULT, ForkJoinPool.commonPool());
    twins = Fleet.twins();
  }

  @AfterAll
  static void close() {
    engine.close();
    index.close();
  }

  record Case(String sql, List<JsonNode> expected, boolean idsOnly) {}

  private static final List<Case> CASES = new ArrayList<>();

  /** SELECT * queries: the expected twins, by id, in order. */
  private static void ids(String sql, List<String> expectedIds) {
    List<JsonNode> e = new ArrayList<>();
    for (String id : expectedIds) e.add(JsonNodeFactory.instance.textNode(id));
    CASES.add(new Case(sql, e, true));
  }

  private static void devices(String where, IntPredicate p) {
    ids("SELECT * FROM devices WHERE " + where, Fleet.devices(p));
  }

  /** Queries whose rows are given as a JSON array (single quotes allowed). */
  private static void rows(String sql, String json) {
    List<JsonNode> e = new ArrayList<>();
    parse(json).forEach(e::add);
    CASES.add(new Case(sql, e, false));
  }

  private static void rows(String sql, List<JsonNode> e) {
    CASES.add(new Case(sql, e, false));
  }

  /** A JSON array written with single quotes. */
  static ArrayNode parse(String json) {
    try {
      return (ArrayNode) new com.fasterxml.jackson.databind.ObjectMapper()
          .configure(com.fasterxml.jackson.core.JsonParser.Feature.ALLOW_SINGLE_QUOTES, true).readTree(json);
    } catch (Exception e) {
      throw new IllegalArgumentException(json, e);
    }
  }

  private static ObjectNode obj() {
    return JsonNodeFactory.instance.objectNode();
  }

  private static long count(IntPredicate p) {
    return IntStream.range(0, DEVICES).filter(p).count();
  }

  private static List<String> moduleIds(IntFunction<List<String>> modulesOf) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < DEVICES; i++) {
      for (String m : modulesOf.apply(i).stream().sorted().toList()) out.add(id(i) + "/" + m);
    }
    return out;
  }

  private static boolean between(double v, double lo, double hi) {
    return v >= lo && v <= hi;
  }

  static {
    // ------------------------------------------------------------ identity fields
    ids("SELECT * FROM devices", Fleet.devices(i -> true));
    devices("deviceId = 'dev-042'", i -> i == 42);
    devices("deviceId = 'DEV-042'", i -> false); // case-sensitive
    devices("status = 'disabled'", i -> i % 17 == 0);
    devices("status != 'disabled'", i -> i % 17 != 0);
    devices("connectionState = 'Connected'", i -> i % 6 == 0);
    devices("version = 4", i -> i % 2 == 0);
    devices("version >= 3.5", i -> i % 2 == 0);
    devices("version < 4 AND version > 2", i -> i % 2 == 1);
    devices("properties.desired.$version = 2", i -> i % 2 == 0);
    devices("properties.reported.$version = 2", i -> true);
    devices("capabilities.iotEdge = false", i -> true);
    devices("x509Thumbprint.primaryThumbprint = null", i -> i % 25 != 0);
    devices("IS_NULL(x509Thumbprint.primaryThumbprint)", i -> i % 25 != 0);
    devices("IS_STRING(x509Thumbprint.primaryThumbprint)", i -> i % 25 == 0);
    devices("x509Thumbprint.primaryThumbprint != null", i -> false); // string != null is undefined, null != null false
    devices("authenticationType = 'selfSigned'", i -> i % 25 == 0);
    devices("deviceId >= 'dev-290'", i -> i >= 290);
    devices("deviceId > 'dev-29'", i -> i >= 290); // 'dev-290' > 'dev-29': longer with equal prefix
    devices("STARTSWITH(deviceId, 'dev-1')", i -> i >= 100 && i < 200);

    // ------------------------------------------------------------ tags: strings, numbers, objects, booleans
    devices("tags.region = 'eu'", i -> "eu".equals(region(i)));
    devices("tags.region != 'eu'", i -> region(i) != null && !region(i).equals("eu"));
    devices("tags.region <> 'eu'", i -> region(i) != null && !region(i).equals("eu"));
    devices("NOT (tags.region = 'eu')", i -> region(i) != null && !region(i).equals("eu"));
    devices("tags.region IN ['eu', 'apac']", i -> "eu".equals(region(i)) || "apac".equals(region(i)));
    devices("tags.region NIN ['eu', 'apac']", i -> "us".equals(region(i)));
    devices("tags.region NOT IN ('eu')", i -> region(i) != null && !region(i).equals("eu"));
    devices("tags.floor = 3", i -> Integer.valueOf(3).equals(floor(i)));
    devices("tags.floor = 3.0", i -> Integer.valueOf(3).equals(floor(i)));
    devices("tags.floor = '3'", i -> false); // a string is never equal to a number
    devices("tags.floor = 'G'", i -> "G".equals(floor(i)));
    devices("tags.floor > 7", i -> floor(i) instanceof Integer n && n > 7);
    devices("tags.floor >= 'A'", i -> "G".equals(floor(i)));
    devices("IS_NUMBER(tags.floor)", i -> floor(i) instanceof Integer);
    devices("NOT IS_DEFINED(tags.floor)", i -> floor(i) == null);
    devices("IS_DEFINED(tags.location)", i -> i % 2 == 0);
    devices("IS_OBJECT(tags.location)", i -> i % 2 == 0);
    devices("tags.location.building = 'B2'", i -> i % 4 == 2);
    devices("tags.location.room < 5", i -> i % 2 == 0 && i % 50 < 5);
    devices("tags.active = true", i -> Boolean.TRUE.equals(active(i)));
    devices("tags.active", i -> Boolean.TRUE.equals(active(i)));
    devices("tags.active = false", i -> Boolean.FALSE.equals(active(i)));
    devices("NOT tags.active", i -> Boolean.FALSE.equals(active(i)));
    devices("tags.active != true", i -> Boolean.FALSE.equals(active(i)));
    devices("tags.active < true", i -> Boolean.FALSE.equals(active(i))); // false < true
    devices("IS_BOOL(tags.active)", i -> active(i) != null);

    // ------------------------------------------------------------ string functions
    devices("STARTSWITH(tags.name, 'pump-')", i -> i % 3 == 1); // case-sensitive
    devices("STARTSWITH(tags.name, 'Pump')", i -> i % 3 == 0);
    devices("STARTS_WITH(tags.name, 'valve-29')", i -> i % 3 == 2 && String.valueOf(i).startsWith("29"));
    devices("ENDSWITH(tags.name, '-7')", i -> i == 7);
    devices("CONTAINS(tags.name, 'mp-1')", i -> i % 3 != 2 && String.valueOf(i).startsWith("1"));
    devices("CONTAINS(tags.name, '*')", i -> false); // wildcards are literal characters
    devices("LOWER(tags.name) = 'pump-3'", i -> i == 3);
    devices("UPPER(tags.region) = 'EU'", i -> "eu".equals(region(i)));
    devices("LENGTH(tags.name) = 6", i -> i < 10 && i % 3 != 2);
    devices("CONCAT(tags.region, '-', tags.name) = 'eu-Pump-3'", i -> i == 3);
    devices("SUBSTRING(tags.name, 0, 5) = 'valve'", i -> i % 3 == 2);
    devices("SUBSTRING(tags.name, 6) = '42'", i -> i == 142); // pump-142; valve-242 gives '242', Pump-42 gives '2'
    devices("INDEX_OF(tags.name, '-') = 4", i -> i % 3 != 2);
    devices("LTRIM(tags.region) = 'eu' AND RTRIM(tags.region) = 'eu' AND TRIM(tags.region) = 'eu'", i -> "eu".equals(region(i)));

    // ------------------------------------------------------------ reported numbers and arithmetic
    devices("properties.reported.battery < 20", i -> battery(i) != null && battery(i) < 20);
    devices("properties.reported.battery >= 100", i -> battery(i) != null && battery(i) >= 100);
    devices("properties.reported.battery = 0", i -> battery(i) != null && battery(i) == 0);
    devices("properties.reported.temp = 21", i -> temp(i) == 21.0); // 21 = 21.0
    devices("properties.reported.temp > 26.5", i -> temp(i) > 26.5);
    devices("properties.reported.temp <= 20.0", i -> temp(i) <= 20.0);
    devices("properties.reported.battery * 2 > 190", i -> battery(i) != null && battery(i) * 2 > 190);
    devices("properties.reported.battery + 10 = 20", i -> battery(i) != null && battery(i) == 10);
    devices("properties.reported.battery % 50 = 0", i -> battery(i) != null && battery(i) % 50 == 0);
    devices("properties.reported.battery / 4 = 2.5", i -> battery(i) != null && battery(i) == 10);
    devices("-properties.reported.battery < -98", i -> battery(i) != null && battery(i) > 98);
    devices("properties.reported.battery - 1 >= 99", i -> battery(i) != null && battery(i) >= 100);
    devices("ABS(properties.reported.temp - 24) < 0.6", i -> Math.abs(temp(i) - 24) < 0.6);
    devices("FLOOR(properties.reported.temp) = 22", i -> Math.floor(temp(i)) == 22);
    devices("CEILING(properties.reported.temp) = 21", i -> Math.ceil(temp(i)) == 21);
    devices("ROUND(properties.reported.temp) = 21", i -> temp(i) == 20.5 || temp(i) == 21.0); // half away from zero
    devices("SQUARE(properties.reported.battery) = 49", i -> battery(i) != null && battery(i) == 7);
    devices("SQRT(properties.reported.battery) = 3", i -> battery(i) != null && battery(i) == 9);
    devices("POWER(properties.reported.battery, 2) > 9800", i -> battery(i) != null && battery(i) >= 99);
    devices("SIGN(properties.reported.battery) = 0", i -> battery(i) != null && battery(i) == 0);
    // pump-4 gives '4'; valve-8 gives '-8'
    devices("AS_NUMBER(SUBSTRING(tags.name, 5)) IN [4, -8]", i -> i == 4 || i == 8);
    devices("properties.reported.battery = properties.reported.battery", i -> battery(i) != null);
    devices("properties.reported.battery > properties.desired.interval",
        i -> i % 2 == 0 && battery(i) != null && battery(i) > (i % 6 + 1) * 10);
    devices("properties.reported.battery / 0 = 1", i -> false); // division by zero is undefined

    // ------------------------------------------------------------ reported strings, metadata, arrays, nesting
    devices("properties.reported.connectivity IN ['wifi', 'wired']", i -> i % 4 <= 1);
    devices("properties.reported.fw > '1.2'", i -> i % 4 >= 2); // strings compare by character
    devices("properties.reported.status = 'error' AND tags.region = 'us'", i -> i % 8 == 7 && "us".equals(region(i)));
    devices("properties.reported.status = 'error' OR properties.reported.battery < 5",
        i -> i % 8 == 7 || (battery(i) != null && battery(i) < 5));
    devices("properties.reported.$metadata.battery.$lastUpdated > '2026-11-01T02:00'", i -> battery(i) != null && i >= 120);
    devices("properties.reported.$metadata.$lastUpdated < '2026-11-01T00:10:00.000Z'", i -> i < 10);
    devices("properties.desired.$metadata.interval.$lastUpdatedVersion = 2", i -> i % 2 == 0);
    devices("IS_ARRAY(properties.reported.arr)", i -> i % 50 == 0);
    devices("properties.reported.arr = 1", i -> false); // arrays do not compare
    devices("properties.reported.nested.a.b.c >= 100", i -> i % 20 == 0 && i >= 100);
    devices("IS_OBJECT(properties.reported.nested.a)", i -> i % 20 == 0);
    devices("IS_PRIMITIVE(properties.reported.nested)", i -> false);
    devices("IS_PRIMITIVE(properties.reported.status)", i -> true);
    devices("properties.desired.config.mode = 'auto'", i -> i % 4 == 0);
    devices("properties.desired.interval IN [10, 20]", i -> i % 6 == 0);
    devices("properties.desired.interval NIN [10, 20]", i -> i % 2 == 0 && i % 6 != 0 && i % 6 != 1);

    // ------------------------------------------------------------ undefined and null
    devices("tags.missing = null", i -> false);
    devices("tags.missing != 'x'", i -> false);
    devices("NOT (tags.missing = 'x')", i -> false);
    devices("tags.missing = 'x' OR tags.region = 'eu'", i -> "eu".equals(region(i)));
    devices("NOT (tags.missing = 'x' AND tags.region = 'eu')", i -> region(i) != null && !region(i).equals("eu"));
    devices("tags.region = undefined", i -> false);
    devices("tags.active = 1", i -> false); // type mismatch: undefined
    devices("NOT (tags.active = 1)", i -> false); // NOT undefined is undefined
    devices("tags.floor IN [3, 'G']", i -> Integer.valueOf(3).equals(floor(i)) || "G".equals(floor(i)));
    devices("tags.floor NIN [3, 'G']", i -> false); // a number vs 'G' is undefined, so NIN is never true
    devices("tags.floor NIN [3, 4]", i -> floor(i) instanceof Integer n && n != 3 && n != 4);
    devices("IS_DEFINED(tags.region) AND NOT IS_DEFINED(tags.floor)", i -> region(i) != null && floor(i) == null);
    devices("true", i -> true);
    devices("false", i -> false);
    devices("1 = 1", i -> true);
    devices("tags.region = 'eu' AND true", i -> "eu".equals(region(i)));

    // ------------------------------------------------------------ modules
    ids("SELECT * FROM devices.modules", moduleIds(Fleet::modules));
    ids("SELECT * FROM devices.modules WHERE moduleId = 'edge'", moduleIds(i -> i % 10 == 0 ? List.of("edge") : List.of()));
    ids("SELECT * FROM devices.modules WHERE properties.reported.ok = false", moduleIds(i -> hasModules(i) ? List.of("agent") : List.of()));
    ids("SELECT * FROM devices.modules WHERE properties.reported.reading > 295", List.of("dev-295/agent"));
    ids("SELECT * FROM devices.modules WHERE deviceId = 'dev-001'", List.of());
    ids("SELECT * FROM devices.modules WHERE devices.modules.tags.role = 'sensor' AND deviceId < 'dev-011'",
        List.of("dev-000/sensor", "dev-005/sensor", "dev-010/sensor"));
    ids("SELECT * FROM devices WHERE moduleId = 'edge'", List.of());

    // ------------------------------------------------------------ projections
    rows("SELECT deviceId, tags.region FROM devices WHERE deviceId IN ['dev-001', 'dev-029']",
        "[{'deviceId':'dev-001','region':'us'},{'deviceId':'dev-029'}]"); // undefined is left out
    rows("SELECT tags.location FROM devices WHERE deviceId = 'dev-002'", "[{'location':{'building':'B2','room':2}}]");
    rows("SELECT properties.reported.battery * 2 AS doubled, LOWER(tags.name) AS n FROM devices WHERE deviceId = 'dev-003'",
        "[{'doubled':6,'n':'pump-3'}]");
    rows("SELECT deviceId, properties.reported.temp FROM devices WHERE deviceId = 'dev-002'",
        "[{'deviceId':'dev-002','temp':21.0}]");
    rows("SELECT x509Thumbprint.primaryThumbprint FROM devices WHERE deviceId = 'dev-001'", "[{'primaryThumbprint':null}]");
    rows("SELECT devices.deviceId FROM devices WHERE devices.tags.region = 'eu' AND devices.deviceId < 'dev-010'",
        "[{'deviceId':'dev-000'},{'deviceId':'dev-003'},{'deviceId':'dev-006'},{'deviceId':'dev-009'}]");
    rows("SELECT d.deviceId AS id FROM devices AS d WHERE d.tags.region = 'us' AND d.deviceId < 'dev-008'",
        "[{'id':'dev-001'},{'id':'dev-004'},{'id':'dev-007'}]");
    rows("SELECT tags['name'] AS n, properties.reported.battery + 1 FROM devices WHERE deviceId = 'dev-004'",
        "[{'n':'pump-4','$1':5}]");
    rows("SELECT deviceId, moduleId, properties.reported.reading AS r FROM devices.modules WHERE deviceId = 'dev-010'",
        "[{'deviceId':'dev-010','moduleId':'agent','r':11},{'deviceId':'dev-010','moduleId':'edge','r':12},"
            + "{'deviceId':'dev-010','moduleId':'sensor','r':10}]");
    {
      List<JsonNode> e = new ArrayList<>();
      for (int i = 0; i < DEVICES; i++) {
        if (!"G".equals(floor(i))) continue;
        ObjectNode r = obj().put("id", id(i));
        if (battery(i) != null) r.put("b", battery(i));
        e.add(r);
      }
      rows("SELECT deviceId AS id, properties.reported.battery AS b FROM devices WHERE tags.floor = 'G'", e);
    }

    // ------------------------------------------------------------ TOP
    ids("SELECT TOP 5 * FROM devices WHERE tags.region = 'us'", List.of("dev-001", "dev-004", "dev-007", "dev-010", "dev-013"));
    ids("SELECT TOP 0 * FROM devices", List.of());
    ids("SELECT TOP 1000 * FROM devices WHERE status = 'disabled'", Fleet.devices(i -> i % 17 == 0));
    ids("SELECT TOP 12 * FROM devices", Fleet.devices(i -> i < 12)); // TOP across pages of 7

    // ------------------------------------------------------------ aggregates and GROUP BY
    rows("SELECT COUNT() FROM devices", "[{'numberOfDevices':300}]");
    rows("SELECT COUNT() AS n FROM devices WHERE tags.region = 'eu'", "[{'n':100}]");
    rows("SELECT COUNT() AS n FROM devices.modules", "[{'n':150}]");
    rows("SELECT COUNT() AS n FROM devices WHERE deviceId = 'nope'", "[{'n':0}]");
    rows("SELECT COUNT() AS n FROM devices WHERE LOWER(tags.region) = 'eu'", "[{'n':100}]");
    rows("SELECT tags.region AS region, COUNT() AS n FROM devices GROUP BY tags.region",
        "[{'n':10},{'region':'apac','n':90},{'region':'eu','n':100},{'region':'us','n':100}]"); // undefined first
    rows("SELECT properties.reported.connectivity AS c, COUNT() AS n FROM devices WHERE tags.region = 'eu' "
            + "GROUP BY properties.reported.connectivity",
        "[{'c':'cellular','n':25},{'c':'lora','n':25},{'c':'wifi','n':25},{'c':'wired','n':25}]");
    {
      List<JsonNode> e = new ArrayList<>();
      e.add(obj().put("n", count(i -> floor(i) == null)));
      for (int f = 0; f < 10; f++) {
        final int ff = f;
        e.add(obj().put("f", f).put("n", count(i -> Integer.valueOf(ff).equals(floor(i)))));
      }
      e.add(obj().put("f", "G").put("n", count(i -> "G".equals(floor(i))))); // numbers before strings
      rows("SELECT tags.floor AS f, COUNT() AS n FROM devices GROUP BY tags.floor", e);
    }
    rows("SELECT tags.active AS a, COUNT() AS n FROM devices GROUP BY tags.active",
        List.of(obj().put("n", count(i -> active(i) == null)),
            obj().put("a", false).put("n", count(i -> Boolean.FALSE.equals(active(i)))),
            obj().put("a", true).put("n", count(i -> Boolean.TRUE.equals(active(i))))));
    {
      IntPredicate eu = i -> "eu".equals(region(i)) && battery(i) != null;
      long sum = IntStream.range(0, DEVICES).filter(eu).mapToLong(Fleet::battery).sum();
      long n = count(eu);
      int min = IntStream.range(0, DEVICES).filter(eu).map(Fleet::battery).min().orElseThrow();
      int max = IntStream.range(0, DEVICES).filter(eu).map(Fleet::battery).max().orElseThrow();
      ObjectNode r = obj().put("sum", sum).put("min", min).put("max", max).put("n", 100);
      double avg = (double) sum / n;
      if (avg == Math.rint(avg)) r.put("avg", (long) avg);
      else r.put("avg", avg);
      rows("SELECT SUM(properties.reported.battery) AS sum, MIN(properties.reported.battery) AS min, "
          + "MAX(properties.reported.battery) AS max, COUNT() AS n, AVG(properties.reported.battery) AS avg "
          + "FROM devices WHERE tags.region = 'eu'", List.of(r));
    }
    {
      List<JsonNode> e = new ArrayList<>();
      Map<String, Long> sums = new LinkedHashMap<>();
      sums.put(null, 0L);
      for (String r : List.of("apac", "eu", "us")) sums.put(r, 0L);
      for (int i = 0; i < DEVICES; i++) {
        if (battery(i) != null) sums.merge(region(i), (long) battery(i), Long::sum);
      }
      sums.forEach((r, s) -> e.add(r == null ? obj().put("s", s) : obj().put("r", r).put("s", s)));
      rows("SELECT tags.region AS r, SUM(properties.reported.battery) AS s FROM devices GROUP BY tags.region", e);
    }
    rows("SELECT MAX(properties.reported.temp) AS m, MIN(properties.reported.temp) AS lo FROM devices", "[{'m':27,'lo':20}]");
    rows("SELECT AVG(tags.floor) AS a FROM devices WHERE tags.floor = 'G'", "[{}]"); // no numbers: AVG undefined
    rows("SELECT SUM(tags.floor) AS s FROM devices WHERE tags.floor = 'G'", "[{'s':0}]");
    rows("SELECT x509Thumbprint.primaryThumbprint AS t, COUNT() AS n FROM devices WHERE status = 'disabled' "
            + "GROUP BY x509Thumbprint.primaryThumbprint",
        "[{'t':null,'n':17},{'t':'ABCDEF0123456789ABCDEF0123456789ABCD0000','n':1}]"); // null sorts before strings
    {
      List<JsonNode> e = new ArrayList<>();
      for (String s : List.of("error", "ok")) {
        List<String> regions = new ArrayList<>();
        regions.add(null);
        regions.addAll(List.of("apac", "eu", "us"));
        for (String r : regions) {
          long n = count(i -> status(i).equals(s) && java.util.Objects.equals(region(i), r));
          if (n == 0) continue;
          ObjectNode row = obj().put("s", s);
          if (r != null) row.put("r", r);
          e.add(row.put("n", n));
        }
      }
      rows("SELECT properties.reported.status AS s, tags.region AS r, COUNT() AS n FROM devices "
          + "GROUP BY properties.reported.status, tags.region", e);
    }
    rows("SELECT moduleId AS m, COUNT() AS n FROM devices.modules GROUP BY moduleId",
        "[{'m':'agent','n':60},{'m':'edge','n':30},{'m':'sensor','n':60}]");
    rows("SELECT LENGTH(tags.name) AS len, COUNT() AS n FROM devices GROUP BY LENGTH(tags.name)",
        List.of(obj().put("len", 6).put("n", count(i -> i < 10 && i % 3 != 2)),
            obj().put("len", 7).put("n", count(i -> (i < 10 && i % 3 == 2) || (i >= 10 && i < 100 && i % 3 != 2))),
            obj().put("len", 8).put("n", count(i -> (i >= 10 && i < 100 && i % 3 == 2) || (i >= 100 && i % 3 != 2))),
            obj().put("len", 9).put("n", count(i -> i >= 100 && i % 3 == 2))));
    rows("SELECT properties.reported.connectivity AS c FROM devices WHERE deviceId < 'dev-008' "
        + "GROUP BY properties.reported.connectivity", "[{'c':'cellular'},{'c':'lora'},{'c':'wifi'},{'c':'wired'}]");

    // ------------------------------------------------------------ ORDER BY (beyond IoT Hub)
    {
      List<JsonNode> e = new ArrayList<>();
      for (int b = 100; b > 97; b--) {
        for (int i = 0; i < DEVICES; i++) {
          if (battery(i) != null && battery(i) == b) e.add(obj().put("deviceId", id(i)).put("b", b));
        }
      }
      rows("SELECT deviceId, properties.reported.battery AS b FROM devices WHERE properties.reported.battery > 97 "
          + "ORDER BY properties.reported.battery DESC", e);
    }
    ids("SELECT TOP 4 * FROM devices ORDER BY tags.floor", List.of("dev-000", "dev-007", "dev-014", "dev-021")); // undefined first
    ids("SELECT TOP 3 * FROM devices ORDER BY tags.floor DESC", List.of("dev-011", "dev-022", "dev-033")); // strings last
    ids("SELECT * FROM devices WHERE deviceId < 'dev-006' ORDER BY tags.name DESC, deviceId",
        List.of("dev-005", "dev-002", "dev-004", "dev-001", "dev-003", "dev-000")); // valve > pump > Pump
    ids("SELECT * FROM devices WHERE deviceId < 'dev-004' ORDER BY properties.reported.connectivity ASC",
        List.of("dev-002", "dev-003", "dev-000", "dev-001"));
  }

  @TestFactory
  Stream<DynamicTest> queries() {
    assertTrue(CASES.size() >= 80, "at least 80 queries: " + CASES.size());
    return CASES.stream().map(c -> DynamicTest.dynamicTest(c.sql(), () -> check(c)));
  }

  private static void check(Case c) {
    List<ObjectNode> actual = runAll(c.sql(), 7);
    List<ObjectNode> reference = InMemoryQuery.run(QueryParser.parse(c.sql()), twins);
    if (c.idsOnly()) {
      List<String> expected = c.expected().stream().map(JsonNode::asText).toList();
      assertEquals(expected, actual.stream().map(ConformanceTest::twinId).toList(), "index: " + c.sql());
      assertEquals(expected, reference.stream().map(ConformanceTest::twinId).toList(), "in-memory: " + c.sql());
    } else {
      assertRows(c.expected(), actual, "index: " + c.sql());
      assertRows(c.expected(), reference, "in-memory: " + c.sql());
    }
  }

  static String twinId(JsonNode t) {
    return t.has("moduleId") ? t.get("deviceId").asText() + "/" + t.get("moduleId").asText() : t.get("deviceId").asText();
  }

  /** Numbers compare by value (21 = 21.0 in JSON terms), everything else exactly. */
  static final Comparator<JsonNode> NUMERIC = (a, b) -> {
    if (a.isNumber() && b.isNumber()) return Double.compare(a.doubleValue(), b.doubleValue());
    return a.equals(b) ? 0 : 1;
  };

  static void assertRows(List<JsonNode> expected, List<? extends JsonNode> actual, String what) {
    boolean same = expected.size() == actual.size();
    for (int i = 0; same && i < expected.size(); i++) same = expected.get(i).equals(NUMERIC, actual.get(i));
    if (!same) assertEquals(expected.toString(), actual.toString(), what);
  }

  /** Every page of a query, checking the paging contract on the way. */
  static List<ObjectNode> runAll(String sql, int pageSize) {
    return runAll(engine, sql, pageSize);
  }

  static List<ObjectNode> runAll(QueryEngine engine, String sql, int pageSize) {
    List<ObjectNode> all = new ArrayList<>();
    String token = null;
    int pages = 0;
    do {
      QueryResult r = engine.query(sql, pageSize, token);
      assertTrue(r.items().size() <= pageSize, "page larger than asked");
      if (r.continuation() != null) assertEquals(pageSize, r.items().size(), "a page before the last is full: " + sql);
      all.addAll(r.json());
      token = r.continuation();
      assertTrue(++pages < 1000);
    } while (token != null);
    return all;
  }

  @Test
  void selectStarReturnsTheServiceViewVerbatim() {
    QueryResult r = engine.query("SELECT * FROM devices WHERE deviceId = 'dev-042'", 10, null);
    assertEquals(TwinJson.serviceView(Fleet.device(42)), r.json().get(0));
    assertEquals("twin", r.itemType());
    QueryResult m = engine.query("SELECT * FROM devices.modules WHERE deviceId = 'dev-010' AND moduleId = 'edge'", 10, null);
    assertEquals(TwinJson.serviceView(Fleet.module(10, "edge")), m.json().get(0));
    assertEquals("raw", engine.query("SELECT deviceId FROM devices", 10, null).itemType());
  }

  @Test
  void pagesOfOneAndOfTheMaximumGiveTheSameRows() {
    String sql = "SELECT deviceId FROM devices WHERE properties.reported.battery < 30 AND LOWER(tags.name) >= 'p'";
    List<ObjectNode> one = runAll(sql, 1);
    List<ObjectNode> big = runAll(sql, 1000);
    assertEquals(big, one);
    assertEquals(count(i -> battery(i) != null && battery(i) < 30 && name(i).toLowerCase().compareTo("p") >= 0), one.size());
  }

  @Test
  void groupsArePagedByKey() {
    List<ObjectNode> rows = runAll("SELECT tags.floor AS f, COUNT() AS n FROM devices GROUP BY tags.floor", 2);
    assertEquals(12, rows.size());
  }
}
