package io.twinhub.node.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.twinhub.node.cli.CliRun;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code ./twinhub device|twin|query ...} against a real node, as the README tour runs them: the
 * hub's answers, IoT Hub's errors named, and the exit codes scripts rely on (0 ok, 1 failure, 2 usage).
 */
@Order(SharedApiNode.ORDER) // shares SharedApiNode's node with the other users, one after the other
class CliCommandsIT {

  static Path dataDir;

  static ApiTestNode hub;

  /** A run's output as JSON. */
  static JsonNode json(CliRun run) throws Exception {
    return ApiClient.JSON.readTree(run.out());
  }

  @BeforeAll
  static void start() throws Exception {
    hub = SharedApiNode.acquire();
    dataDir = SharedApiNode.dataDir();
  }

  /** The command with this node's --data-dir and --url appended. */
  static CliRun cli(String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    all.addAll(List.of("--data-dir", dataDir.toString(), "--url", "https://127.0.0.1:" + hub.node.api().httpsPort()));
    return run(all.toArray(String[]::new));
  }

  static CliRun run(String... args) {
    return CliRun.of(args);
  }

  @Test
  void theReadmeTour() throws Exception {
    CliRun created = cli("device", "create", "thermostat-1");
    assertEquals(0, created.exit(), created::toString);
    assertEquals("thermostat-1", json(created).path("deviceId").asText());

    CliRun got = cli("device", "get", "thermostat-1");
    assertEquals(0, got.exit(), got::toString);
    assertEquals("enabled", json(got).path("status").asText());

    CliRun patched = cli("twin", "patch", "thermostat-1", "{\"tags\":{\"site\":\"plant-7\"},\"properties\":{\"desired\":{\"targetTemp\":21.5}}}");
    assertEquals(0, patched.exit(), patched::toString);
    assertEquals(21.5, json(patched).path("properties").path("desired").path("targetTemp").asDouble());

    CliRun twin = cli("twin", "get", "thermostat-1");
    assertEquals(2, json(twin).path("properties").path("desired").path("$version").asInt());
    CliRun table = cli("twin", "get", "thermostat-1", "--format", "table");
    assertTrue(table.out().contains("properties.desired.targetTemp") && table.out().contains("21.5"), table::toString);

    CliRun stale = cli("twin", "patch", "thermostat-1", "{\"tags\":{\"a\":1}}", "--etag", "AAAAAAAAAAE=");
    assertEquals(1, stale.exit());
    assertTrue(stale.err().contains("PreconditionFailed") && stale.err().contains("412"), stale::toString);

    CliRun bad = cli("twin", "patch", "thermostat-1", "{\"tags\":{\"a.b\":1}}");
    assertEquals(1, bad.exit());
    assertTrue(bad.err().contains("ArgumentInvalid"), bad::toString);

    assertEquals(0, cli("device", "create", "gateway-1", "--edge").exit());
    CliRun listed = cli("device", "list");
    assertEquals(0, listed.exit(), listed::toString);
    assertTrue(listed.out().startsWith("deviceId") || listed.out().contains("deviceId"), listed::toString);

    // Query: a table by default, JSON on request, pages followed and the rest offered by token.
    CliRun q = awaitQuery("SELECT deviceId, tags.site AS site FROM devices WHERE tags.site = 'plant-7'", 1);
    assertTrue(q.out().contains("thermostat-1") && q.out().contains("plant-7"), q::toString);
    for (int i = 0; i < 5; i++) assertEquals(0, cli("twin", "patch", "gateway-1", "{\"tags\":{\"n\":" + i + "}}").exit());
    CliRun json = cli("query", "SELECT deviceId FROM devices", "--format", "json", "--page-size", "1");
    assertEquals(0, json.exit(), json::toString);
    assertTrue(json(json).size() >= 2, json::toString);
    CliRun limited = cli("query", "SELECT deviceId FROM devices", "--page-size", "1", "--max-items", "1");
    assertEquals(0, limited.exit(), limited::toString);
    assertTrue(limited.err().contains("--continuation"), limited::toString);
    CliRun syntax = cli("query", "SELECT FROM WHERE");
    assertEquals(1, syntax.exit(), syntax::toString);
    assertTrue(syntax.err().contains("400"), syntax::toString);

    assertEquals(0, cli("device", "delete", "thermostat-1").exit());
    CliRun gone = cli("device", "get", "thermostat-1");
    assertEquals(1, gone.exit());
    assertTrue(gone.err().contains("DeviceNotFound") && gone.err().contains("404"), gone::toString);

    CliRun weird = cli("device", "get", "a/b");
    assertEquals(1, weird.exit(), "an id is sent encoded and judged by the hub: " + weird);
    assertTrue(weird.err().contains("400"), weird::toString);
  }

  private static CliRun awaitQuery(String query, int rows) throws Exception {
    long deadline = System.nanoTime() + 60_000_000_000L;
    while (true) {
      CliRun r = cli("query", query, "--format", "json");
      if (r.exit() == 0 && json(r).size() >= rows) return cli("query", query);
      assertTrue(System.nanoTime() < deadline, "indexed in time: " + r);
      Thread.sleep(200);
    }
  }

  @Test
  void usageErrorsExit2AndFailuresExit1() {
    CliRun noSub = cli("device", "explode", "x");
    assertEquals(2, noSub.exit(), noSub::toString);
    CliRun noBody = cli("twin", "patch", "x");
    assertEquals(2, noBody.exit(), "patch needs a body: " + noBody);
    assertTrue(noBody.err().contains("JSON"), noBody::toString);
    CliRun badFlag = cli("twin", "get", "x", "--modul", "m");
    assertEquals(2, badFlag.exit(), badFlag::toString);
    assertTrue(badFlag.err().contains("--modul"), "names the bad flag: " + badFlag);
    CliRun noData = run("device", "get", "x", "--data-dir", dataDir.resolve("nothing-here").toString());
    assertEquals(2, noData.exit(), noData::toString);
    assertTrue(noData.err().contains("no node data"), noData::toString);
    CliRun nobody = run("device", "get", "x", "--data-dir", dataDir.toString(), "--url", "https://127.0.0.1:1");
    assertEquals(1, nobody.exit(), nobody::toString);
    assertTrue(nobody.err().contains("cannot reach"), nobody::toString);
  }
}
