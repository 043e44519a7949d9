package io.twinhub.twin.auth;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A parsed IoT Hub shared access signature:
 * {@code SharedAccessSignature sr=<resource>&sig=<signature>&se=<expiry>[&skn=<policy>]}, fields
 * in any order.
 *
 * <p>The signature is {@code base64(HMAC-SHA256(base64decode(key), <signed sr> + "\n" + se))}
 * where the signed sr is the {@code sr} value exactly as it stands in the token. The SDKs differ in
 * how they encode it, and each signs what it sends:
 * <ul>
 *   <li>iot-service-client: {@code sr=URLEncoder(hostName.toLowerCase())}, order sr, sig, se, skn;
 *   <li>iot-device-client: {@code sr=<hostName>/devices/<URLEncoder(id)>[/modules/<URLEncoder(mid)>]}
 *       (slashes left as they are, host not lower-cased), order sig, se, sr, no skn;
 *   <li>.NET and the portal: {@code sr=URLEncoder(<host>/devices/<URLEncoder(id)>)}.
 * </ul>
 * {@link #toString()} never shows the signature: a token is a credential until it expires.
 */
public final class SasToken {

  public static final String SCHEME = "SharedAccessSignature";
  /** Longer than anything a real identity could produce; bounds the work for garbage input. */
  public static final int MAX_LENGTH = 4096;

  private static final int HMAC_SHA256_BYTES = 32;
  private static final Pattern EXPIRY = Pattern.compile("[0-9]{1,19}");
  private static final Pattern FIELD_VALUE = Pattern.compile("[\\x21-\\x7e]+");

  private final String rawResourceUri;
  private final String resourceUri;
  private final byte[] signature;
  private final long expiry;
  private final String keyName;

  private SasToken(String rawResourceUri, String resourceUri, byte[] signature, long expiry, String keyName) {
    this.rawResourceUri = rawResourceUri;
    this.resourceUri = resourceUri;
    this.signature = signature;
    this.expiry = expiry;
    this.keyName = keyName;
  }

  /** The result of {@link #parse}: never an exception for bad input. */
  public sealed interface ParseResult permits Parsed, Malformed {}

  public record Parsed(SasToken token) implements ParseResult {}

  /** Why the text is not a token; safe to log (never echoes the signature). */
  public record Malformed(String reason) implements ParseResult {}

  /**
   * Parses a token strictly: scheme {@code SharedAccessSignature} (any case), one space, then
   * {@code &}-separated {@code key=value} fields. {@code sr}, {@code sig} and {@code se} are
   * required, {@code skn} optional; unknown, duplicate or empty fields, bad percent-escapes,
   * a signature that is not base64 of 32 bytes and a non-numeric expiry are all malformed.
   */
  public static ParseResult parse(String text) {
    if (text == null) {
      return new Malformed("no token");
    }
    String t = text.strip();
    if (t.isEmpty()) {
      return new Malformed("no token");
    }
    if (t.length() > MAX_LENGTH) {
      return new Malformed("token longer than " + MAX_LENGTH + " characters");
    }
    int space = t.indexOf(' ');
    if (space < 0 || !t.substring(0, space).equalsIgnoreCase(SCHEME)) {
      return new Malformed("not a SharedAccessSignature token");
    }
    String fieldPart = t.substring(space + 1);
    if (fieldPart.isEmpty() || !FIELD_VALUE.matcher(fieldPart).matches()) {
      return new Malformed("token fields missing or containing spaces or non-ASCII characters");
    }
    Map<String, String> fields = new HashMap<>();
    for (String field : fieldPart.split("&", -1)) {
      int eq = field.indexOf('=');
      if (eq <= 0 || eq == field.length() - 1) {
        return new Malformed("token field without key or value");
      }
      String key = field.substring(0, eq);
      if (!key.equals("sr") && !key.equals("sig") && !key.equals("se") && !key.equals("skn")) {
        return new Malformed("unknown token field '" + sanitize(key) + "'");
      }
      if (fields.put(key, field.substring(eq + 1)) != null) {
        return new Malformed("duplicate token field '" + key + "'");
      }
    }
    for (String required : new String[] {"sr", "sig", "se"}) {
      if (!fields.containsKey(required)) {
        return new Malformed("token field '" + required + "' missing");
      }
    }

    String rawSr = fields.get("sr");
    Optional<String> sr = PercentCodec.decode(rawSr, true);
    if (sr.isEmpty() || sr.get().isEmpty()) {
      return new Malformed("token field 'sr' is not a valid url-encoded resource");
    }

    // '+' is kept: an unescaped base64 '+' is still the same signature.
    Optional<String> sigText = PercentCodec.decode(fields.get("sig"), false);
    if (sigText.isEmpty()) {
      return new Malformed("token field 'sig' is not valid url-encoding");
    }
    byte[] sig;
    try {
      sig = Base64.getDecoder().decode(sigText.get());
    } catch (IllegalArgumentException e) {
      return new Malformed("token field 'sig' is not base64");
    }
    if (sig.length != HMAC_SHA256_BYTES) {
      return new Malformed("token field 'sig' is not an HMAC-SHA256 signature");
    }

    String se = fields.get("se");
    if (!EXPIRY.matcher(se).matches()) {
      return new Malformed("token field 'se' is not a number of seconds");
    }
    long expiry;
    try {
      expiry = Long.parseLong(se);
    } catch (NumberFormatException e) {
      return new Malformed("token field 'se' is out of range");
    }

    String keyName = null;
    if (fields.containsKey("skn")) {
      Optional<String> skn = PercentCodec.decode(fields.get("skn"), true);
      if (skn.isEmpty() || !SharedAccessPolicy.KEY_NAME.matcher(skn.get()).matches()) {
        return new Malformed("token field 'skn' is not a valid policy name");
      }
      keyName = skn.get();
    }
    return new Parsed(new SasToken(rawSr, sr.get(), sig, expiry, keyName));
  }

  /** The token, if {@code text} is a well-formed one. */
  public static Optional<SasToken> tryParse(String text) {
    return parse(text) instanceof Parsed p ? Optional.of(p.token()) : Optional.empty();
  }

  /**
   * Signs in the canonical form (.NET SDK, and the service SDK for host-only resources):
   * {@code sr=URLEncoder(resourceUri)&sig=...&se=...[&skn=keyName]}, over {@code
   * URLEncoder(resourceUri) + "\n" + se}.
   *
   * @param keyName the policy name, or {@code null} for a device or module token
   * @throws IllegalArgumentException if the key is not base64 of 16 to 64 bytes
   */
  public static String sign(String resourceUri, String base64Key, long expiryEpochSeconds, String keyName) {
    Objects.requireNonNull(resourceUri, "resourceUri");
    String sr = PercentCodec.encode(resourceUri);
    String sig = PercentCodec.encode(signature(base64Key, sr, expiryEpochSeconds));
    String token = SCHEME + " sr=" + sr + "&sig=" + sig + "&se=" + expiryEpochSeconds;
    return keyName == null ? token : token + "&skn=" + keyName;
  }

  /** Byte for byte what iot-service-client's {@code IotHubServiceSasToken} sends. */
  public static String signForService(String hostName, String keyName, String base64Key, long expiryEpochSeconds) {
    Objects.requireNonNull(keyName, "keyName");
    return sign(hostName.toLowerCase(), base64Key, expiryEpochSeconds, keyName);
  }

  /**
   * Byte for byte what iot-device-client's {@code IotHubSasToken} sends:
   * {@code SharedAccessSignature sig=...&se=...&sr=<host>/devices/<enc id>[/modules/<enc mid>]}.
   *
   * @param moduleId {@code null} for a device token
   */
  public static String signForDevice(String hostName, String deviceId, String moduleId, String base64Key,
      long expiryEpochSeconds) {
    Objects.requireNonNull(hostName, "hostName");
    Objects.requireNonNull(deviceId, "deviceId");
    String sr = hostName + "/devices/" + PercentCodec.encode(deviceId)
        + (moduleId == null || moduleId.isEmpty() ? "" : "/modules/" + PercentCodec.encode(moduleId));
    String sig = PercentCodec.encode(signature(base64Key, sr, expiryEpochSeconds));
    return SCHEME + " sig=" + sig + "&se=" + expiryEpochSeconds + "&sr=" + sr;
  }

  /** {@code base64(HMAC-SHA256(base64decode(key), signedResource + "\n" + expiry))}. */
  public static String signature(String base64Key, String signedResource, long expiryEpochSeconds) {
    byte[] key = SymmetricKey.decode(base64Key)
        .orElseThrow(() -> new IllegalArgumentException("key is not base64 of 16 to 64 bytes"));
    return Base64.getEncoder().encodeToString(hmac(key, signedResource + "\n" + expiryEpochSeconds));
  }

  /**
   * Whether this token was signed with {@code base64Key}. The signed string is the {@code sr} as
   * sent; the canonical re-encoding of the decoded {@code sr} is accepted too (both decode to the
   * same resource, so neither widens what the token grants). Comparison is constant-time.
   */
  public boolean isSignedWith(String base64Key) {
    Optional<byte[]> key = SymmetricKey.decode(base64Key);
    if (key.isEmpty()) {
      return false;
    }
    boolean match = MessageDigest.isEqual(signature, hmac(key.get(), rawResourceUri + "\n" + expiry));
    String canonical = PercentCodec.encode(resourceUri);
    if (!canonical.equals(rawResourceUri)) {
      match |= MessageDigest.isEqual(signature, hmac(key.get(), canonical + "\n" + expiry));
    }
    return match;
  }

  /**
   * One {@code Mac} per thread, re-keyed per use: {@code Mac.getInstance} (provider lookup,
   * JCE verification, reflection) cost more than the HMAC itself, once per key per connect. Only
   * the algorithm object is reused; no key or result is kept between uses, so a changed key takes
   * effect at once.
   */
  private static final ThreadLocal<Mac> MAC = ThreadLocal.withInitial(() -> {
    try {
      return Mac.getInstance("HmacSHA256");
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 unavailable", e); // every JDK has it
    }
  });

  private static byte[] hmac(byte[] key, String data) {
    Mac mac = MAC.get();
    try {
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 unavailable", e);
    }
    return mac.doFinal(data.getBytes(StandardCharsets.UTF_8)); // doFinal resets the Mac
  }

  private static String sanitize(String s) {
    return s.length() > 16 ? s.substring(0, 16) + "..." : s;
  }

  /** The url-decoded resource ({@code sr}), e.g. {@code myhub.example/devices/dev1}. */
  public String resourceUri() {
    return resourceUri;
  }

  /** The {@code sr} value exactly as it stood in the token (what the client signed). */
  public String rawResourceUri() {
    return rawResourceUri;
  }

  /** {@code se}: seconds since the epoch; the token is valid while now is before it. */
  public long expiryEpochSeconds() {
    return expiry;
  }

  /** {@code skn}: the policy name of a service token; empty for device and module tokens. */
  public Optional<String> keyName() {
    return Optional.ofNullable(keyName);
  }

  @Override
  public String toString() {
    return "SasToken[sr=" + resourceUri + ", se=" + expiry + (keyName == null ? "" : ", skn=" + keyName)
        + ", sig=***]";
  }
}
