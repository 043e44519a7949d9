package io.twinhub.twin.auth;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SasTokenTest {

  /** Bytes 0..31; the vectors below were computed with Python's hmac/base64/urllib. */
  static final String KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
  static final long SE = 1700000000L;

  @Test
  void serviceTokenMatchesKnownVector() {
    assertEquals(
        "SharedAccessSignature sr=myhub.example.com&sig=xOfNzX1u0JnUP%2B8Bh%2F9F0Sc6lPGG3MIHLawMsHbiuQE%3D"
            + "&se=1700000000&skn=iothubowner",
        SasToken.signForService("MyHub.Example.COM", "iothubowner", KEY, SE));
  }

  @Test
  void deviceAndModuleTokensMatchKnownVectorsInDeviceSdkLayout() {
    assertEquals(
        "SharedAccessSignature sig=lb8z7QzaKuuFl3Bb%2Fa23RLWpj0r8HfEfWAi2WG5TKOg%3D&se=1700000000"
            + "&sr=myhub.example.com/devices/dev1",
        SasToken.signForDevice("myhub.example.com", "dev1", null, KEY, SE));
    assertEquals(
        "SharedAccessSignature sig=x7NWa9yh6knCaPflW56J%2B33bsKjXVSD3BzW53C5x6p8%3D&se=1700000000"
            + "&sr=myhub.example.com/devices/dev1/modules/m1",
        SasToken.signForDevice("myhub.example.com", "dev1", "m1", KEY, SE));
  }

  @Test
  void canonicalSignEncodesWholeResourceLikeDotNet() {
    assertEquals(
        "SharedAccessSignature sr=myhub.example.com%2Fdevices%2Fdev1"
            + "&sig=rXdC5pRiH32nXOAWcY2aO3wA3hO90ix1EqSB0ri5rZI%3D&se=1700000000",
        SasToken.sign("myhub.example.com/devices/dev1", KEY, SE, null));
  }

  @Test
  void signMatchesIndependentImplementationForRandomKeysAndIds() {
    for (int i = 0; i < 50; i++) {
      String key = SymmetricKey.generate();
      String id = "dev-" + i + (i % 3 == 0 ? "+x:y@z" : "");
      long se = 1_600_000_000L + i * 7919L;
      String sr = "hub" + i + ".example.net/devices/" + URLEncoder.encode(id, StandardCharsets.UTF_8);
      String expected = "SharedAccessSignature sig="
          + URLEncoder.encode(referenceSignature(key, sr + "\n" + se), StandardCharsets.UTF_8)
          + "&se=" + se + "&sr=" + sr;
      assertEquals(expected, SasToken.signForDevice("hub" + i + ".example.net", id, null, key, se));
    }
  }

  @Test
  void parseRoundTripsAllForms() {
    SasToken service = parsed(SasToken.signForService("Hub.Example.com:8443", "service", KEY, SE));
    assertEquals("hub.example.com:8443", service.resourceUri());
    assertEquals("hub.example.com%3A8443", service.rawResourceUri());
    assertEquals("service", service.keyName().orElseThrow());
    assertEquals(SE, service.expiryEpochSeconds());
    assertTrue(service.isSignedWith(KEY));

    SasToken device = parsed(SasToken.signForDevice("hub.example.com", "a+b", "m/1", KEY, SE));
    assertEquals("hub.example.com/devices/a+b/modules/m/1", device.resourceUri());
    assertTrue(device.keyName().isEmpty());
    assertTrue(device.isSignedWith(KEY));
    assertFalse(device.isSignedWith(SymmetricKey.generate()));
  }

  @Test
  void fieldOrderAndSchemeCaseDoNotMatter() {
    String sig = URLEncoder.encode(referenceSignature(KEY, "hub.example.com\n" + SE), StandardCharsets.UTF_8);
    for (String t : new String[] {
        "SharedAccessSignature se=" + SE + "&skn=p&sr=hub.example.com&sig=" + sig,
        "sharedaccesssignature sig=" + sig + "&sr=hub.example.com&skn=p&se=" + SE,
        "  SharedAccessSignature sr=hub.example.com&se=" + SE + "&sig=" + sig + "&skn=p  "}) {
      SasToken token = parsed(t);
      assertTrue(token.isSignedWith(KEY), t);
      assertEquals("p", token.keyName().orElseThrow());
    }
  }

  @Test
  void unescapedBase64SignatureIsStillTheSameSignature() {
    String raw = referenceSignature(KEY, "hub.example.com\n" + SE); // contains no '&'
    SasToken token = parsed("SharedAccessSignature sr=hub.example.com&sig=" + raw + "&se=" + SE);
    assertTrue(token.isSignedWith(KEY));
  }

  @Test
  void signatureOverCanonicalEncodingOfTheSameResourceIsAccepted() {
    // Signed over "hub.example.com%2Fdevices%2Fd1", sent with literal slashes: same resource.
    String signed = URLEncoder.encode("hub.example.com/devices/d1", StandardCharsets.UTF_8);
    String sig = URLEncoder.encode(referenceSignature(KEY, signed + "\n" + SE), StandardCharsets.UTF_8);
    assertTrue(parsed("SharedAccessSignature sr=hub.example.com/devices/d1&sig=" + sig + "&se=" + SE)
        .isSignedWith(KEY));
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "",
      "   ",
      "Bearer abc",
      "SharedAccessSignature",
      "SharedAccessSignature ",
      "SharedAccessSignaturesr=a&sig=b&se=1",
      "SharedAccessSignature  sr=hub&sig=%SIG%&se=1",             // two spaces
      "SharedAccessSignature sr=hub&sig=%SIG%",                   // missing se
      "SharedAccessSignature sig=%SIG%&se=1",                     // missing sr
      "SharedAccessSignature sr=hub&se=1",                        // missing sig
      "SharedAccessSignature sr=hub&sig=%SIG%&se=1&se=2",         // duplicate
      "SharedAccessSignature sr=hub&sr=hub&sig=%SIG%&se=1",       // duplicate
      "SharedAccessSignature sr=hub&sig=%SIG%&se=1&skn=a&skn=b",  // duplicate
      "SharedAccessSignature sr=hub&sig=%SIG%&se=1&foo=bar",      // unknown field
      "SharedAccessSignature SR=hub&sig=%SIG%&se=1",              // keys are lower case
      "SharedAccessSignature sr=hub&sig=%SIG%&se=1&",             // empty field
      "SharedAccessSignature &sr=hub&sig=%SIG%&se=1",
      "SharedAccessSignature sr=&sig=%SIG%&se=1",                 // empty value
      "SharedAccessSignature sr=hub&sig=%SIG%&se=",
      "SharedAccessSignature sr=hub&sig=%SIG%&se",
      "SharedAccessSignature sr=hub&sig=%SIG%&se=-1",
      "SharedAccessSignature sr=hub&sig=%SIG%&se=1.5",
      "SharedAccessSignature sr=hub&sig=%SIG%&se=0x10",
      "SharedAccessSignature sr=hub&sig=%SIG%&se=99999999999999999999",  // overflows long
      "SharedAccessSignature sr=hub&sig=!!notbase64!!&se=1",      // garbage base64
      "SharedAccessSignature sr=hub&sig=YWJj&se=1",               // base64, but not 32 bytes
      "SharedAccessSignature sr=hub&sig=%ZZ&se=1",                // bad escape in sig
      "SharedAccessSignature sr=hub%2&sig=%SIG%&se=1",            // truncated escape
      "SharedAccessSignature sr=hub%G1&sig=%SIG%&se=1",           // non-hex escape
      "SharedAccessSignature sr=hub%C3%28&sig=%SIG%&se=1",        // invalid UTF-8
      "SharedAccessSignature sr=hub%0A/devices/d&sig=%SIG%&se=1", // control character
      "SharedAccessSignature sr=hub\u00e9&sig=%SIG%&se=1",        // raw non-ASCII
      "SharedAccessSignature sr=hub&sig=%SIG%&se=1&skn=bad%20name",
      "SharedAccessSignature sr=hub sig=%SIG% se=1",
  })
  void malformedTokensAreTypedFailuresNotExceptions(String template) {
    String sig = URLEncoder.encode(referenceSignature(KEY, "x"), StandardCharsets.UTF_8);
    SasToken.ParseResult result = SasToken.parse(template.replace("%SIG%", sig));
    SasToken.Malformed m = assertInstanceOf(SasToken.Malformed.class, result, template);
    assertFalse(m.reason().contains(sig), "reason must not echo the signature");
    assertTrue(SasToken.tryParse(template.replace("%SIG%", sig)).isEmpty());
  }

  @Test
  void nullAndOverlongTokensAreMalformed() {
    assertInstanceOf(SasToken.Malformed.class, SasToken.parse(null));
    String longSr = "h".repeat(SasToken.MAX_LENGTH);
    assertInstanceOf(SasToken.Malformed.class,
        SasToken.parse(SasToken.sign(longSr, KEY, SE, null)));
  }

  @Test
  void toStringHidesTheSignature() {
    String token = SasToken.signForService("hub.example.com", "iothubowner", KEY, SE);
    String sig = token.substring(token.indexOf("sig=") + 4, token.indexOf("&se="));
    String shown = parsed(token).toString();
    assertFalse(shown.contains(sig));
    assertFalse(shown.contains(java.net.URLDecoder.decode(sig, StandardCharsets.UTF_8)));
    assertTrue(shown.contains("hub.example.com"));
  }

  @Test
  void signingWithAnInvalidKeyIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> SasToken.sign("hub", "not base64!", SE, null));
    assertThrows(IllegalArgumentException.class, () -> SasToken.sign("hub", "YWJj", SE, null)); // 3 bytes
    assertFalse(parsed(SasToken.sign("hub", KEY, SE, null)).isSignedWith("garbage"));
  }

  static SasToken parsed(String token) {
    SasToken.ParseResult r = SasToken.parse(token);
    return assertInstanceOf(SasToken.Parsed.class, r, () -> "not parsed: " + r).token();
  }

  /** Independent of the production code: plain JCA HMAC-SHA256 and java.util.Base64. */
  static String referenceSignature(String base64Key, String toSign) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(Base64.getDecoder().decode(base64Key), "HmacSHA256"));
      return Base64.getEncoder().encodeToString(mac.doFinal(toSign.getBytes(StandardCharsets.UTF_8)));
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }
}
