package io.twinhub.node.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Parsing, help and exit codes of every command, without a node (CliCommandsIT runs them against one). */
class TwinhubCliTest {

  @TempDir
  Path dir;

  static CliRun run(String... args) {
    return CliRun.of(args);
  }

  @Test
  void idleHttpConnectionsGoBeforeTheServerAbortsThem() {
    String given = System.getProperty(TwinhubCli.HTTP_KEEPALIVE_PROPERTY);
    try {
      System.clearProperty(TwinhubCli.HTTP_KEEPALIVE_PROPERTY);
      TwinhubCli.keepIdleHttpConnectionsUnderServerIdle();
      long clientSeconds = Long.parseLong(System.getProperty(TwinhubCli.HTTP_KEEPALIVE_PROPERTY));
      long serverSeconds = com.typesafe.config.ConfigFactory.load()
          .getDuration("akka.http.server.idle-timeout", java.util.concurrent.TimeUnit.SECONDS);
      assertTrue(clientSeconds < serverSeconds, clientSeconds + " s vs the server's " + serverSeconds + " s");
      System.setProperty(TwinhubCli.HTTP_KEEPALIVE_PROPERTY, "7");
      TwinhubCli.keepIdleHttpConnectionsUnderServerIdle();
      assertEquals("7", System.getProperty(TwinhubCli.HTTP_KEEPALIVE_PROPERTY), "the user's value wins");
    } finally {
      if (given == null) System.clearProperty(TwinhubCli.HTTP_KEEPALIVE_PROPERTY);
      else System.setProperty(TwinhubCli.HTTP_KEEPALIVE_PROPERTY, given);
    }
  }

  @Test
  void helpListsEveryCommandAndEachCommandHasItsOwn() {
    CliRun overview = run("help");
    assertEquals(0, overview.exit());
    for (String c : TwinhubCli.commandLine().getSubcommands().keySet()) {
      if (c.equals("docs")) {
        assertTrue(!overview.out().contains("  docs "), "hidden: " + overview.out());
        continue;
      }
      assertTrue(overview.out().contains(c), c + " listed: " + overview.out());
      CliRun help = run("help", c);
      assertEquals(0, help.exit(), c + ": " + help);
      if (!c.equals("help")) assertTrue(help.out().startsWith("Usage: twinhub " + c), c + ": " + help.out());
    }
    assertEquals(0, run().exit(), "no command: the overview");
    assertEquals(0, run("--version").exit());
    assertEquals(0, run("device", "help", "create").exit());
  }

  @Test
  void defaultsInHelpComeFromApplicationConf() {
    String help = run("help", "run").out();
    assertTrue(help.contains("--http-port=PORT") && help.contains("default 8443"), help);
    assertTrue(help.contains("TWINHUB_MQTT_PORT; default 8883"), help);
  }

  @Test
  void usageErrorsExit2AndNameTheProblem() {
    CliRun unknown = run("explode");
    assertEquals(2, unknown.exit());
    assertTrue(unknown.err().contains("explode"), unknown.err());
    CliRun badFlag = run("run", "--http-prot", "1");
    assertEquals(2, badFlag.exit());
    assertTrue(badFlag.err().contains("--http-prot") && badFlag.err().contains("--http-port"), "names it and suggests: " + badFlag.err());
    CliRun badValue = run("run", "--http-port", "many");
    assertEquals(2, badValue.exit());
    assertTrue(badValue.err().contains("--http-port") && badValue.err().contains("many"), badValue.err());
    CliRun badRole = run("run", "--roles", "twin,web");
    assertEquals(2, badRole.exit(), "refused before anything starts");
    assertTrue(badRole.err().contains("unknown role 'web'"), badRole.err());
    assertEquals(2, run("export").exit(), "--to is required");
    assertEquals(2, run("query").exit(), "a query is required");
    assertEquals(2, run("query", "SELECT * FROM devices", "--page-size", "0", "--data-dir", dir.toString()).exit());
    assertEquals(2, run("cluster", "start", "--cassandra-nodes", "2", "--dir", dir.toString()).exit());
    CliRun badRoles = run("cluster", "start", "2", "--roles", "1=web", "--dir", dir.toString());
    assertEquals(2, badRoles.exit());
    assertTrue(badRoles.err().contains("--roles"), badRoles.err());
    assertEquals(2, run("bench").exit(), "a workload is required");
    assertEquals(2, run("bench", "twin-get", "--concurrency", "many").exit());
    assertEquals(2, run("twin", "get").exit(), "an id is required");
  }

  @Test
  void failuresExit1WithOneLine() {
    CliRun noCluster = run("cluster", "status", "--dir", dir.resolve("none").toString());
    assertEquals(1, noCluster.exit());
    assertTrue(noCluster.err().contains("no cluster under"), noCluster.err());
    assertTrue(!noCluster.err().contains("\tat "), "no stack trace: " + noCluster.err());
  }

  @Test
  void anUnreachableNodeIsOneLineNamingIt() throws Exception {
    int port = io.twinhub.ops.net.FreePorts.next(); // claimed by this JVM, bound by no one
    CliRun r = run("twin", "get", "d1", "--url", "http://127.0.0.1:" + port, "--connection-string",
        "HostName=127.0.0.1;SharedAccessKeyName=iothubowner;SharedAccessKey=aGVsbG8taGVsbG8taGVsbG8taGVsbG8taGVsbG8taGU=");
    assertEquals(1, r.exit(), r.err());
    assertTrue(r.err().contains("cannot reach http://127.0.0.1:" + port), r.err());
    assertTrue(!r.err().contains("\tat "), "no stack trace: " + r.err());
  }

  @Test
  void onlyGivenNodeFlagsOverrideTheConfiguration() {
    CommandLine cli = TwinhubCli.commandLine();
    RunCommand run = cli.getSubcommands().get("run").getCommand();
    cli.parseArgs("run", "--http-port", "9443", "--roles", "api,mqtt");
    assertEquals(Map.of("twinhub.http.port", 9443, "twinhub.roles", "api,mqtt"), run.node.overrides());
    cli = TwinhubCli.commandLine();
    run = cli.getSubcommands().get("run").getCommand();
    cli.parseArgs("run", "--iothub-ports", "--mqtt-port", "18883");
    assertEquals(Map.of("twinhub.http.port", 443, "twinhub.mqtt.port", 18883, "twinhub.amqp.port", 5671), run.node.overrides(),
        "--iothub-ports listens where IoT Hub does; an explicit port wins");
    assertEquals(443, run.node.settings().httpPort());
  }

  @Test
  void completionScriptKnowsTheCommands() {
    CliRun c = run("completion");
    assertEquals(0, c.exit());
    assertTrue(c.out().contains("complete -F") && c.out().contains("reindex") && c.out().contains("--connection-string"), c.out());
  }

  /** docs/CLI.md is generated from the definitions: regenerate with ./twinhub docs > docs/CLI.md. */
  @Test
  void theCommandReferenceIsCurrent() throws Exception {
    String generated = DocsCommand.markdown(TwinhubCli.commandLine(ConfigDefaults.withoutEnvironment()));
    Path file = Path.of("..", "docs", "CLI.md");
    assertTrue(Files.exists(file), "docs/CLI.md exists");
    assertEquals(generated, Files.readString(file), "docs/CLI.md is stale: run ./twinhub docs > docs/CLI.md");
  }

  @Test
  void oneProgressStyle() {
    ProgressBar bar = new ProgressBar(new PrintWriter(new StringWriter()), "events", () -> 0L);
    assertEquals("[###############---------------]  50%  1,000 events  100/s  ETA 0:10  at x",
        bar.line(1000, 0.5, 10, "at x"));
    assertEquals("[??????????????????????????????]   ?%  5 events  1/s  ETA --:--", bar.line(5, -1, 5, null));
    assertEquals("1:01:01", ProgressBar.clock(3661));
  }
}
