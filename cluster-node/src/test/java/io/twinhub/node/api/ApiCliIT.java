package io.twinhub.node.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.twinhub.node.api.cli.ApiCli;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code ./twinhub device ...} and {@code ./twinhub twin ...} against a real node, as the README tour runs them. */
class ApiCliIT {

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

  static Run cli(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    String[] all = new String[args.length + 4];
    System.arraycopy(args, 0, all, 0, args.length);
    all[args.length] = "--data-dir";
    all[args.length + 1] = dataDir.toString();
    all[args.length + 2] = "--url";
    all[args.length + 3] = "https://127.0.0.1:" + hub.node.api().httpsPort();
    int exit = ApiCli.run(all, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  @Test
  void theReadmeTour() throws Exception {
    Run created = cli("device", "create", "thermostat-1");
    assertEquals(0, created.exit(), created::toString);
    assertEquals("thermostat-1", created.json().path("deviceId").asText());

    Run got = cli("device", "get", "thermostat-1");
    assertEquals(0, got.exit(), got::toString);
    assertEquals("enabled", got.json().path("status").asText());

    Run patched = cli("twin", "patch", "thermostat-1", "{\"properties\":{\"desired\":{\"targetTemp\":21.5}}}");
    assertEquals(0, patched.exit(), patched::toString);
    assertEquals(21.5, patched.json().path("properties").path("desired").path("targetTemp").asDouble());

    Run twin = cli("twin", "get", "thermostat-1");
    assertEquals(2, twin.json().path("properties").path("desired").path("$version").asInt());

    Run stale = cli("twin", "patch", "thermostat-1", "{\"tags\":{\"a\":1}}", "--etag", "AAAAAAAAAAE=");
    assertEquals(1, stale.exit());
    assertTrue(stale.err().contains("PreconditionFailed (412001)"), stale::toString);

    Run bad = cli("twin", "patch", "thermostat-1", "{\"tags\":{\"a.b\":1}}");
    assertEquals(1, bad.exit());
    assertTrue(bad.err().contains("ArgumentInvalid (400004)"), bad::toString);

    assertEquals(0, cli("device", "create", "gateway-1", "--edge").exit());
    assertEquals(0, cli("device", "delete", "thermostat-1").exit());
    Run gone = cli("device", "get", "thermostat-1");
    assertEquals(1, gone.exit());
    assertTrue(gone.err().contains("DeviceNotFound (404001)"), gone::toString);

    Run weird = cli("device", "get", "a/b");
    assertEquals(1, weird.exit(), "an id is sent encoded and judged by the hub: " + weird);
    assertTrue(weird.err().contains("400004"), weird::toString);
  }

  @Test
  void usageAndConnectionProblemsExitWith2() {
    assertEquals(2, cli("device").exit());
    assertEquals(2, cli("device", "explode", "x").exit());
    assertEquals(2, cli("twin", "patch", "x").exit(), "patch needs a body");
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int exit = ApiCli.run(new String[] {"device", "get", "x", "--data-dir", dataDir.resolve("nothing-here").toString()},
        new PrintStream(new ByteArrayOutputStream()), new PrintStream(err, true, StandardCharsets.UTF_8));
    assertEquals(2, exit);
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("no node data"), err::toString);
  }
}
