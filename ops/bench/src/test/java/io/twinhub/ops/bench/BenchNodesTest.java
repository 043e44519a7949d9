package io.twinhub.ops.bench;

import org.junit.jupiter.api.Test;

import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BenchNodesTest {

  @Test
  void ownerConnectionStringFromTheReadyBanner() {
    String banner = """
        twinhub node ready in 16.2 s
          data dir     /tmp/x/node-1
          REST API     https://127.0.0.1:38823 (clients trust the CA /tmp/x/node-1/tls/ca.pem)
          owner        HostName=127.0.0.1;SharedAccessKeyName=iothubowner;SharedAccessKey=gYJYC1+zWdz=
                       (SDKs reach port 38823 with host name "127.0.0.1:38823" and a SAS token, see README)
        """;
    assertEquals(Optional.of("HostName=127.0.0.1;SharedAccessKeyName=iothubowner;SharedAccessKey=gYJYC1+zWdz="),
        BenchNodes.ownerConnectionString(banner));
    assertEquals(Optional.empty(), BenchNodes.ownerConnectionString("twinhub: port 8443 is in use"));
  }

  /** A node started with every port 0 (as the bench starts them) says in its banner what it bound. */
  @Test
  void boundPortsFromTheReadyBanner() throws Exception {
    String banner = """
        twinhub node ready in 16.2 s
          data dir     /tmp/x/node-1
          cassandra    embedded, 127.0.0.1:10231 (pid 4434, up in 7.6 s, data /tmp/x/node-1/cassandra)
          REST API     https://127.0.0.1:38823 (clients trust the CA /tmp/x/node-1/tls/ca.pem)
          owner        HostName=127.0.0.1;SharedAccessKeyName=iothubowner;SharedAccessKey=gYJYC1+zWdz=
                       (SDKs reach port 38823 with host name "127.0.0.1:38823" and a SAS token, see README)
          AMQPS        amqps://127.0.0.1:41001 (cloud-to-device messages and feedback; the service SDKs need port 5671)
          MQTT         mqtts://127.0.0.1:37663 (devices, MQTT 3.1.1 over TLS with the same CA; the device SDKs need port 8883)
          roles        twin,api,mqtt,query,worker
          health       http://127.0.0.1:45111/ready  http://127.0.0.1:45111/alive
          cluster      akka://twinhub@127.0.0.1:46367 (management http://127.0.0.1:45111/cluster/members)
          stop with Ctrl-C (or SIGTERM)
        """;
    assertEquals(38823, BenchNodes.bannerPort(banner, "REST API"));
    assertEquals(41001, BenchNodes.bannerPort(banner, "AMQPS"));
    assertEquals(37663, BenchNodes.bannerPort(banner, "MQTT"));
    assertEquals(45111, BenchNodes.bannerPort(banner, "health"));
    assertEquals(46367, BenchNodes.bannerPort(banner, "cluster"));
    assertEquals(0, BenchNodes.bannerPort("  MQTT         off (no mqtt role)\n", "MQTT"));
    assertEquals(8443, BenchNodes.bannerPort("  REST API     https://[::1]:8443 (clients trust ...)\n", "REST API"));
    org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class, () -> BenchNodes.bannerPort(banner, "Kafka"));
  }

  @Test
  void aStartThatLostAPortIsToldFromOtherFailures() {
    // The node's Akka HTTP bind (session 18), the node's own check, the Cassandra launcher's check.
    assertTrue(BenchNodes.portTaken("java.net.BindException: [/127.0.0.1:43995] Address already in use"));
    assertTrue(BenchNodes.portTaken("twinhub run: HTTP port 8443 on 127.0.0.1 is already in use; choose another with --http-port"));
    assertTrue(BenchNodes.portTaken("embedded Cassandra failed to start: Storage port 10077 on 127.0.0.1 is already in use (...)"));
    assertFalse(BenchNodes.portTaken("twinhub run: node not ready within 180 s"));
    assertFalse(BenchNodes.portTaken("Data directory /tmp/c is already in use by another Cassandra launcher"));
  }

  @Test
  void baselinesSayTheirBoundPort(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
    java.nio.file.Path log = dir.resolve("http-bare.log");
    java.nio.file.Files.writeString(log, "starting\nbare http ready on /127.0.0.1:40123, 785 byte document\n");
    assertEquals(40123, BenchRun.boundPort(log, "bare http ready"));
    java.nio.file.Files.writeString(log, "bare mqtt ready on /127.0.0.1:40125 (TLS, compact stage)\n");
    assertEquals(40125, BenchRun.boundPort(log, "bare mqtt ready"));
  }

  @Test
  void restartedNodeIsReadyAtTheSecondBanner() {
    String log = "twinhub node ready in 16.2 s\n--- restarted ---\ntwinhub node ready in 9.0 s\n";
    assertEquals(2, BenchNodes.occurrences(log, "twinhub node ready"));
    assertEquals(0, BenchNodes.occurrences("", "twinhub node ready"));
  }

  @Test
  void journalSchemaNamesWhatIsMissing() {
    assertEquals(java.util.List.of("twinhub.tag_views", "twinhub_snapshot.snapshots"), JournalSchema.missing(
        java.util.Set.of("twinhub.messages", "twinhub.metadata", "twinhub.tag_write_progress", "system.local")));
  }

  @Test
  void bareDocumentHasTheAskedSize() {
    assertEquals(785, BareHttpServer.document(785).length);
    assertEquals('{', BareHttpServer.document(785)[0]);
  }
}
