package io.twinhub.node.api;

import io.twinhub.mqtt.tls.TlsMaterial;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLSession;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A configured PKCS12 keystore replaces the generated CA and server certificate. */
class OperatorKeystoreIT {

  @TempDir
  Path dir;

  @Test
  void theNodeServesTheOperatorsCertificate() throws Exception {
    Path keystore = dir.resolve("operator.p12");
    Process keytool = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
        "-genkeypair", "-alias", "server", "-keyalg", "EC", "-groupname", "secp256r1",
        "-dname", "CN=operator-test,O=example", "-ext", "SAN=ip:127.0.0.1,dns:localhost",
        "-storetype", "PKCS12", "-keystore", keystore.toString(), "-storepass", "s3cret", "-validity", "30")
        .redirectErrorStream(true).start();
    assertTrue(keytool.waitFor(60, TimeUnit.SECONDS));
    assertEquals(0, keytool.exitValue(), new String(keytool.getInputStream().readAllBytes()));

    Path data = dir.resolve("data");
    try (ApiTestNode hub = ApiTestNode.start(data, Map.of(
        "twinhub.http.tls.keystore", keystore.toString(), "twinhub.http.tls.keystore-password", "s3cret"))) {
      assertFalse(Files.exists(data.resolve("tls").resolve("ca.key")), "no CA generated");
      assertEquals(data.resolve("tls").resolve("keystore-ca.pem"), hub.node.api().tls().caPemPath());
      ApiClient.Reply stats = hub.client.get("/statistics/devices");
      assertEquals(200, stats.status(), stats::toString);

      HttpClient http = HttpClient.newBuilder()
          .sslContext(io.twinhub.mqtt.tls.TlsMaterial.clientSslContext(hub.node.api().tls().caPemPath())).build();
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(
          URI.create("https://127.0.0.1:" + hub.node.api().httpsPort() + "/statistics/service?api-version=2021-04-12"))
          .header("Authorization", hub.client.ownerToken()).build(), HttpResponse.BodyHandlers.ofString());
      SSLSession session = r.sslSession().orElseThrow();
      X509Certificate served = (X509Certificate) session.getPeerCertificates()[0];
      assertTrue(served.getSubjectX500Principal().getName().contains("CN=operator-test"), served.getSubjectX500Principal().getName());
      assertEquals(200, r.statusCode());
    }
  }
}
