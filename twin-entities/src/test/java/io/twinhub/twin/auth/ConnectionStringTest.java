package io.twinhub.twin.auth;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConnectionStringTest {

  static final String KEY = SasTokenTest.KEY;

  @Test
  void serviceFormRoundTrips() {
    ConnectionString cs = ConnectionString.service("hub.example.com", "iothubowner", KEY);
    assertEquals("HostName=hub.example.com;SharedAccessKeyName=iothubowner;SharedAccessKey=" + KEY, cs.format());
    assertEquals(cs, ConnectionString.parse(cs.format()));
    assertTrue(cs.isService());
    assertFalse(cs.isDevice());
  }

  @Test
  void deviceAndModuleFormsRoundTrip() {
    ConnectionString d = ConnectionString.device("hub.example.com", "dev1", KEY);
    assertEquals("HostName=hub.example.com;DeviceId=dev1;SharedAccessKey=" + KEY, d.format());
    assertTrue(d.isDevice());
    ConnectionString m = ConnectionString.module("hub.example.com", "dev1", "m1", KEY);
    assertEquals("HostName=hub.example.com;DeviceId=dev1;ModuleId=m1;SharedAccessKey=" + KEY, m.format());
    assertTrue(m.isModule());
    assertEquals(d, ConnectionString.parse(d.format()));
    assertEquals(m, ConnectionString.parse(m.format()));
  }

  @Test
  void parseIsCaseInsensitiveOnKeysAndOrderFree() {
    ConnectionString cs = ConnectionString.parse(
        "sharedaccesskey=" + KEY + ";DEVICEID=dev1;hostname=hub.example.com;GatewayHostName=edge.local;");
    assertEquals("hub.example.com", cs.hostName());
    assertEquals("dev1", cs.deviceId());
    assertEquals("edge.local", cs.gatewayHostName());
    assertEquals(KEY, cs.key().orElseThrow());
  }

  @Test
  void deviceIdIsUrlDecodedLikeTheDeviceSdkAndFormattedSoItSurvives() {
    assertEquals("a b", ConnectionString.parse("HostName=h.x;DeviceId=a+b;SharedAccessKey=" + KEY).deviceId());
    for (String id : List.of("a+b", "50%off", "x:y@z$'()", "plain-id.1")) {
      ConnectionString cs = ConnectionString.device("h.x", id, KEY);
      assertEquals(id, ConnectionString.parse(cs.format()).deviceId(), id);
    }
    assertEquals("HostName=h.x;DeviceId=x:y@z;SharedAccessKey=" + KEY,
        ConnectionString.device("h.x", "x:y@z", KEY).format());
  }

  @Test
  void signatureInsteadOfKey() {
    String token = SasToken.signForDevice("h.x", "dev1", null, KEY, 1900000000L);
    ConnectionString cs = ConnectionString.parse("HostName=h.x;DeviceId=dev1;SharedAccessSignature=" + token);
    assertEquals(token, cs.sharedAccessSignature());
    assertTrue(cs.key().isEmpty());
    assertFalse(cs.toString().contains("sig="));
    assertThrows(IllegalStateException.class, () -> cs.sasToken(1));
  }

  @Test
  void sasTokenFromConnectionStringVerifies() {
    Clock clock = Clock.fixed(Instant.ofEpochSecond(1_700_000_000L), ZoneOffset.UTC);
    SasVerifier verifier = new SasVerifier(List.of("hub.example.com"), clock);
    SymmetricKeyPair keys = new SymmetricKeyPair(KEY, SymmetricKey.generate());
    SharedAccessPolicy owner = new SharedAccessPolicy("iothubowner", EnumSet.allOf(AccessRight.class), keys);
    String svc = ConnectionString.service("hub.example.com", "iothubowner", KEY).sasToken(1_700_003_600L);
    assertTrue(verifier.verifyService(svc, AccessRight.ServiceConnect, n -> Optional.of(owner)).isValid());
    String mod = ConnectionString.module("hub.example.com", "d", "m", KEY).sasToken(1_700_003_600L);
    assertTrue(verifier.verifyDevice(mod, "d", "m", (d, m) -> Optional.of(keys)).isValid());
  }

  @Test
  void toStringNeverShowsTheKey() {
    ConnectionString cs = ConnectionString.service("hub.example.com", "iothubowner", KEY);
    assertFalse(cs.toString().contains(KEY));
    assertTrue(cs.toString().contains("SharedAccessKey=***"));
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "",
      "HostName=h.x",
      "HostName=h.x;SharedAccessKey=%KEY%",                                      // neither policy nor device
      "SharedAccessKeyName=p;SharedAccessKey=%KEY%",                             // no host
      "HostName=h.x;SharedAccessKeyName=p",                                      // no key
      "HostName=h.x;SharedAccessKeyName=p;DeviceId=d;SharedAccessKey=%KEY%",     // both kinds
      "HostName=h.x;SharedAccessKeyName=p;ModuleId=m;SharedAccessKey=%KEY%",
      "HostName=h.x;DeviceId=d;SharedAccessKey=%KEY%;SharedAccessSignature=x",   // both secrets
      "HostName=h.x;DeviceId=d;SharedAccessKey=%KEY%;DeviceId=e",                // duplicate
      "HostName=h.x;DeviceId=d;SharedAccessKey=%KEY%;Color=blue",                // unknown
      "HostName=h.x;DeviceId=d;SharedAccessKey=not-base64!",
      "HostName=h.x;DeviceId=d%zz;SharedAccessKey=%KEY%",
      "HostName=h.x;SharedAccessKeyName=bad name;SharedAccessKey=%KEY%",
      "HostName=h.x;DeviceId",
  })
  void invalidConnectionStringsAreRejectedWithoutEchoingTheKey(String template) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ConnectionString.parse(template.replace("%KEY%", KEY)));
    assertFalse(String.valueOf(e.getMessage()).contains(KEY));
  }

  @Test
  void generatedKeysAreRandom32ByteBase64() {
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < 100; i++) {
      String k = SymmetricKey.generate();
      assertEquals(32, Base64.getDecoder().decode(k).length);
      assertTrue(seen.add(k));
    }
    assertTrue(SymmetricKey.isValid(KEY));
    assertFalse(SymmetricKey.isValid(Base64.getEncoder().encodeToString(new byte[15])));
    assertFalse(SymmetricKey.isValid(Base64.getEncoder().encodeToString(new byte[65])));
    assertFalse(SymmetricKey.isValid("****"));
    assertFalse(SymmetricKey.isValid(null));
    SymmetricKeyPair pair = SymmetricKeyPair.generate();
    assertFalse(pair.toString().contains(pair.primaryKey()));
    assertFalse(pair.primaryKey().equals(pair.secondaryKey()));
    assertThrows(IllegalArgumentException.class, () -> new SymmetricKeyPair("x", KEY));
  }
}
