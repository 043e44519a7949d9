package io.twinhub.ops.bench;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Base64;
import java.util.Locale;

/** IoT Hub's SAS tokens as the SDKs sign them (the harness is a client: it does not use the hub's code). */
public final class SasTokens {
  private SasTokens() {}

  /**
   * {@code sig = base64(HMAC-SHA256(key, urlencode(resource) + "\n" + expiry))}; {@code keyName}
   * null for a device's own key.
   */
  public static String sign(String resource, String base64Key, String keyName, long expiryEpochSeconds) {
    try {
      String sr = URLEncoder.encode(resource.toLowerCase(Locale.ROOT), StandardCharsets.UTF_8);
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(Base64.getDecoder().decode(base64Key), "HmacSHA256"));
      String sig = Base64.getEncoder().encodeToString(mac.doFinal((sr + "\n" + expiryEpochSeconds).getBytes(StandardCharsets.UTF_8)));
      return "SharedAccessSignature sr=" + sr + "&sig=" + URLEncoder.encode(sig, StandardCharsets.UTF_8) + "&se=" + expiryEpochSeconds
          + (keyName == null ? "" : "&skn=" + keyName);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }
}
