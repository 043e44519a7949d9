package io.twinhub.ops.bench;

import org.junit.jupiter.api.Test;

import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
