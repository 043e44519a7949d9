package io.twinhub.twin.auth;

import java.lang.management.*;
import java.time.*;
import java.util.*;
/**
 * What a CONNECT's SAS check costs warm, per CONNECT, by thread CPU: {@link SasVerifier#verifyDevice} (the
 * connection's own check) against {@link SasVerifier#signedByTwin} (what it takes since session 18 when the
 * twin attached it at the lookup). Not a test; run from twin-entities:
 * {@code java -cp target/classes:target/test-classes io.twinhub.twin.auth.SasConnectBench}.
 */
public class SasConnectBench {
  public static void main(String[] a) {
    String host = "hub.example.com";
    SasVerifier v = new SasVerifier(Set.of(host), Clock.systemUTC());
    String key = Base64.getEncoder().encodeToString(new byte[32]);
    SymmetricKeyPair keys = new SymmetricKeyPair(key, Base64.getEncoder().encodeToString(new byte[] {1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32}));
    long exp = Instant.now().getEpochSecond() + 3600;
    int n = 2000;
    SasToken[] t = new SasToken[n];
    for (int i = 0; i < n; i++) t[i] = SasToken.tryParse(SasToken.signForDevice(host, "dev" + i, null, key, exp)).orElseThrow();
    ThreadMXBean mx = ManagementFactory.getThreadMXBean();
    for (int round = 0; round < 6; round++) {
      long c0 = mx.getCurrentThreadCpuTime(); int ok = 0;
      for (int r = 0; r < 100; r++) for (int i = 0; i < n; i++) {
        final int j = i;
        if (v.verifyDevice(t[i], "dev" + j, null, (d, m) -> Optional.of(keys), PolicyLookup.NONE).isValid()) ok++;
      }
      long c1 = mx.getCurrentThreadCpuTime();
      for (int r = 0; r < 100; r++) for (int i = 0; i < n; i++) if (v.signedByTwin(t[i], "dev" + i, null).isValid()) ok++;
      long c2 = mx.getCurrentThreadCpuTime();
      System.out.printf("round %d: verifyDevice %.2f us, signedByTwin %.2f us per CONNECT (%d ok)%n", round, (c1 - c0) / 1e3 / (100.0 * n), (c2 - c1) / 1e3 / (100.0 * n), ok);
    }
  }
}
