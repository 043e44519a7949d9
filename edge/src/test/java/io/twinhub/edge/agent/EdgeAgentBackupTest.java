package io.twinhub.edge.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.twinhub.edge.EdgeSettings;
import io.twinhub.twin.auth.ConnectionString;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLContext;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Base64;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * edgeAgent started while the hub cannot be reached and no module process is left running: it
 * runs the deployment it last applied (agent/backup.json, IoT Edge's backup config).
 */
class EdgeAgentBackupTest {
  static final ObjectMapper JSON = new ObjectMapper();
  @TempDir
  Path dir;

  static final String KEY = Base64.getEncoder().encodeToString("0123456789abcdef0123456789abcdef".getBytes());

  EdgeAgent agent(int closedPort) throws Exception {
    String key = KEY;
    EdgeSettings settings = new EdgeSettings(ConnectionString.device("127.0.0.1", "gw", key), closedPort, closedPort,
        null, dir, "127.0.0.1", "127.0.0.1", 0, EdgeSettings.DEFAULT_COOL_OFF_UNIT, EdgeSettings.DEFAULT_MAX_RESTART_COUNT);
    ModuleIdentities ids = new ModuleIdentities("127.0.0.1", closedPort, SSLContext.getDefault(), "gw", key,
        dir.resolve("agent/identities.json"));
    return new EdgeAgent(settings, SSLContext.getDefault(), ids, List.of(new ProcessModuleRuntime(dir.resolve("logs"))),
        dir.resolve("ca.pem"), Clock.systemUTC());
  }

  static String status(EdgeAgent a) throws Exception {
    return a.onLoop(() -> a.reported().at("/modules/sleeper/runtimeStatus").asText(""));
  }

  static void await(EdgeAgent a, String status) throws Exception {
    long deadline = System.currentTimeMillis() + 60_000;
    while (!status.equals(status(a))) {
      assertTrue(System.currentTimeMillis() < deadline, "sleeper " + status + ", is " + status(a));
      Thread.sleep(100);
    }
  }

  @Test
  void anAgentStartedWhileTheHubIsUnreachableRunsTheDeploymentItLastApplied() throws Exception {
    int closedPort;
    try (ServerSocket s = new ServerSocket(0)) {
      closedPort = s.getLocalPort();
    }
    // The module's identity as the agent keeps it (learnt from the hub in an earlier run).
    Files.createDirectories(dir.resolve("agent"));
    Files.writeString(dir.resolve("agent/identities.json"),
        "{\"sleeper\":{\"primaryKey\":\"" + KEY + "\",\"secondaryKey\":\"" + KEY + "\",\"generationId\":\"g1\"}}");
    JsonNode desired = JSON.readTree("""
        {"schemaVersion": "1.1", "$version": 4,
         "modules": {"sleeper": {"type": "process", "status": "running", "restartPolicy": "always",
                                 "settings": {"command": "sleep 300"}}}}""");

    EdgeAgent first = agent(closedPort);
    first.start();
    Thread.sleep(500); // the first connection attempt fails: no backup yet, nothing to run
    assertEquals("", status(first));
    first.onLoop(() -> {
      first.apply(desired); // as read from the hub
      return null;
    });
    await(first, "running");
    assertTrue(Files.exists(dir.resolve("agent/backup.json")));
    first.close(); // stops the module: none is left running for the next agent to adopt

    EdgeAgent second = agent(closedPort);
    try {
      second.start();
      await(second, "running");
      assertEquals(4, second.onLoop(() -> second.reported().path("lastDesiredVersion").asLong()));
    } finally {
      second.close();
    }
  }
}
