package io.twinhub.mqtt.tls;

import javax.net.ssl.SSLSocket;
import java.io.InputStream;
import java.io.OutputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** Test helper: sends {@code bytes} over an echoing TLS connection from another thread and checks they come back whole. */
final class TlsEcho {
  private TlsEcho() {}

  /** Writes from a second thread so that a large echo cannot deadlock on full socket buffers. */
  static void assertEchoes(SSLSocket s, byte[] bytes) throws Exception {
    OutputStream out = s.getOutputStream();
    InputStream in = s.getInputStream();
    Thread writer = new Thread(() -> {
      try {
        out.write(bytes);
        out.flush();
      } catch (Exception e) {
        throw new RuntimeException(e);
      }
    });
    writer.start();
    assertArrayEquals(bytes, in.readNBytes(bytes.length));
    writer.join();
  }
}
