package io.twinhub.node.api;

import io.twinhub.node.security.ServiceAuthenticator;
import io.twinhub.node.security.SharedAccessPolicies;
import io.twinhub.twin.auth.AccessRight;
import io.twinhub.twin.auth.SasOutcome;
import io.twinhub.twin.auth.SasToken;
import io.twinhub.twin.auth.SasVerifier;
import io.twinhub.twin.auth.SymmetricKeyPair;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

/** The verified-token cache never lets through what the verifier would refuse. */
class ServiceAuthTest {
  static final long NOW = 1_800_000_000L;

  @TempDir
  Path dataDir;

  SharedAccessPolicies policies;
  MutableClock clock = new MutableClock(NOW);
  ServiceAuth auth;

  static final class MutableClock extends Clock {
    long now;

    MutableClock(long now) {
      this.now = now;
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return Instant.ofEpochSecond(now);
    }
  }

  @BeforeEach
  void setUp() throws Exception {
    policies = SharedAccessPolicies.loadOrCreate(dataDir);
    auth = new ServiceAuth(new SasVerifier(List.of("hub.example.com"), clock), policies, clock, 3);
  }

  String token(String policy, long expiry) {
    return SasToken.signForService("hub.example.com", policy, policies.get(policy).keys().primaryKey(), expiry);
  }

  SasOutcome.Reason denied(String header, AccessRight right) {
    return assertInstanceOf(ServiceAuthenticator.Denied.class, auth.authenticate(header, right)).reason();
  }

  @Test
  void aCachedTokenStillExpiresAndStillNeedsTheRight() {
    String t = token("registryRead", NOW + 10);
    assertInstanceOf(ServiceAuthenticator.Authorized.class, auth.authenticate(t, AccessRight.RegistryRead));
    assertEquals(1, auth.cachedTokens());
    assertInstanceOf(ServiceAuthenticator.Authorized.class, auth.authenticate(t, AccessRight.RegistryRead));
    assertEquals(SasOutcome.Reason.INSUFFICIENT_RIGHTS, denied(t, AccessRight.RegistryWrite));
    assertEquals(SasOutcome.Reason.INSUFFICIENT_RIGHTS, denied(t, AccessRight.ServiceConnect));
    clock.now = NOW + 10;
    assertEquals(SasOutcome.Reason.EXPIRED, denied(t, AccessRight.RegistryRead));
    assertEquals(0, auth.cachedTokens());
  }

  @Test
  void aCachedTokenGrantsWhatItsPolicyImplies() {
    String t = token("registryReadWrite", NOW + 60);
    for (int i = 0; i < 2; i++) {   // verified, then from the cache
      assertInstanceOf(ServiceAuthenticator.Authorized.class, auth.authenticate(t, AccessRight.RegistryWrite));
      assertInstanceOf(ServiceAuthenticator.Authorized.class, auth.authenticate(t, AccessRight.RegistryRead));
      assertEquals(SasOutcome.Reason.INSUFFICIENT_RIGHTS, denied(t, AccessRight.ServiceConnect));
    }
    assertEquals(1, auth.cachedTokens());
  }

  @Test
  void refusedTokensAreNeverRememberedAndTheCacheIsBounded() {
    String forged = SasToken.signForService("hub.example.com", "iothubowner", SymmetricKeyPair.generate().primaryKey(), NOW + 60);
    assertEquals(SasOutcome.Reason.BAD_SIGNATURE, denied(forged, AccessRight.RegistryRead));
    assertEquals(SasOutcome.Reason.BAD_SIGNATURE, denied(forged, AccessRight.RegistryRead));
    assertEquals(SasOutcome.Reason.MISSING, denied(null, AccessRight.RegistryRead));
    assertEquals(0, auth.cachedTokens());
    for (int i = 0; i < 5; i++) {
      assertInstanceOf(ServiceAuthenticator.Authorized.class, auth.authenticate(token("iothubowner", NOW + 100 + i), AccessRight.ServiceConnect));
    }
    assertEquals(true, auth.cachedTokens() <= 3);
  }
}
