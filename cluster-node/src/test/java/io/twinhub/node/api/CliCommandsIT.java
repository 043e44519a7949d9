package io.twinhub.node.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.twinhub.node.cli.TwinhubCli;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code ./twinhub device|twin|query ...} against a real node, as the README tour runs them: the
 * hub's answers, IoT Hub's errors named, and the exit codes scripts rely on (0 ok, 1 failure, 2 usage).
 */
class CliCommandsIT {

  @TempDir
  static Path dataDir;

  static ApiTestNode hub;

  record Run(int exit, String out, String err) {
    JsonNode json() throws Exception {
      return ApiClient.JSON.readTree(out);
    }
  }

  @BeforeAll
  static void start() throws Exception {
    hub = ApiTestNode.start(dataDir);
  }

  @AfterAll
  static void stop() throws Exception {
    if (hub != null) hub.close();
  }

  /** The command with this node's --data-dir and --url appended. */
  static Run cli(String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    all.addAll(List.of("--data-dir", dataDir.toString(), "--url", "https://127.0.0.1:" + hub.node.api().httpsPort()));
    return run(all.toArray(String[]::new));
  }

  static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = TwinhubCli.commandLine();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    int exit = cli.execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  @Test
  void theReadmeTour() throws Exception {
    Run created = cli("device", "create", "thermostat-1");
    assertEquals(0, created.exit(), created::toString);
    assertEquals("thermostat-1", created.json().path("deviceId").asText());

    Run got = cli("device", "get", "thermostat-1");
    assertEquals(0, got.exit(), got::toString);
    assertEquals("enabled", got.json().path("status").asText());

    Run patched = cli("twin", "patch", "thermostat-1", "{\"tags\":{\"site\":\"plant-7\"},\"properties\":{\"desired\":{\"targetTemp\":21.5}}}");
    assertEquals(0, patched.exit(), patched::toString);
    assertEquals(21.5, patched.json().path("properties").path("desired").path("targetTemp").asDouble());

    Run twin = cli("twin", "get", "thermostat-1");
    assertEquals(2, twin.json().path("properties").path("desired").path("$version").asInt());
    Run table = cli("twin", "get", "thermostat-1", "--format", "table");
    assertTrue(table.out().contains("properties.desired.targetTemp") && table.out().contains("21.5"), table::toString);

    Run stale = cli("twin", "patch", "thermostat-1", "{\"tags\":{\"a\":1}}", "--etag", "AAAAAAAAAAE=");
    assertEquals(1, stale.exit());
    assertTrue(stale.err().contains("PreconditionFailed") && stale.err().contains("412"), stale::toString);

    Run bad = cli("twin", "patch", "thermostat-1", "{\"tags\":{\"a.b\":1}}");
    assertEquals(1, bad.exit());
    assertTrue(bad.err().contains("ArgumentInvalid"), bad::toString);

    assertEquals(0, cli("device", "create", "gateway-1", "--edge").exit());
    Run listed = cli("device", "list");
    assertEquals(0, listed.exit(), listed::toString);
    assertTrue(listed.out().startsWith("deviceId") || listed.out().contains("deviceId"), listed::toString);

    // Query: a table by default, JSON on request, pages followed and the rest offered by token.
    Run q = awaitQuery("SELECT deviceId, tags.site AS site FROM devices WHERE tags.site = 'plant-7'", 1);
    assertTrue(q.out().contains("thermostat-1") && q.out().contains("plant-7"), q::toString);
    for (int i = 0; i < 5; i++) assertEquals(0, cli("twin", "patch", "gateway-1", "{\"tags\":{\"n\":" + i + "}}").exit());
    Run json = cli("query", "SELECT deviceId FROM devices", "--format", "json", "--page-size", "1");
    assertEquals(0, json.exit(), json::toString);
    assertTrue(json.json().size() >= 2, json::toString);
    Run limited = cli("query", "SELECT deviceId FROM devices", "--page-size", "1", "--max-items", "1");
    assertEquals(0, limited.exit(), limited::toString);
    assertTrue(limited.err().contains("--continuation"), limited::toString);
    Run syntax = cli("query", "SELECT FROM WHERE");
    assertEquals(1, syntax.exit(), syntax::toString);
    assertTrue(syntax.err().contains("400"), syntax::toString);

    assertEquals(0, cli("device", "delete", "thermostat-1").exit());
    Run gone = cli("device", "get", "thermostat-1");
    assertEquals(1, gone.exit());
    assertTrue(gone.err().contains("DeviceNotFound") && gone.err().contains("404"), gone::toString);

    Run weird = cli("device", "get", "a/b");
    assertEquals(1, weird.exit(), "an id is sent encoded and judged by the hub: " + weird);
    assertTrue(weird.err().contains("400"), weird::toString);
  }

  private static Run awaitQuery(String query, int rows) throws Exception {
    long deadline = System.nanoTime() + 60_000_000_000L;
    while (true) {
      Run r = cli("query", query, "--format", "json");
      if (r.exit() == 0 && r.json().size() >= rows) return cli("query", query);
      assertTrue(System.nanoTime() < deadline, "indexed in time: " + r);
      Thread.sleep(200);
    }
  }

  @Test
  void usageErrorsExit2AndFailuresExit1() {
    Run noSub = cli("device", "explode", "x");
    assertEquals(2, noSub.exit(), noSub::toString);
    Run noBody = cli("twin", "patch", "x");
    assertEquals(2, noBody.exit(), "patch needs a body: " + noBody);
    assertTrue(noBody.err().contains("JSON"), noBody::toString);
    Run badFlag = cli("twin", "get", "x", "--modul", "m");
    assertEquals(2, badFlag.exit(), badFlag::toString);
    assertTrue(badFlag.err().contains("--modul"), "names the bad flag: " + badFlag);
    Run noData = run("device", "get", "x", "--data-dir", dataDir.resolve("nothing-here").toString());
    assertEquals(2, noData.exit(), noData::toString);
    assertTrue(noData.err().contains("no node data"), noData::toString);
    Run nobody = run("device", "get", "x", "--data-dir", dataDir.toString(), "--url", "https://127.0.0.1:1");
    assertEquals(1, nobody.exit(), nobody::toString);
    assertTrue(nobody.err().contains("cannot reach"), nobody::toString);
  }
}
