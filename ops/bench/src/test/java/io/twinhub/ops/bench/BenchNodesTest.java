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
  void bareDocumentHasTheAskedSize() {
    assertEquals(785, BareHttpServer.document(785).length);
    assertEquals('{', BareHttpServer.document(785)[0]);
  }
}
