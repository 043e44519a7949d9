package io.twinhub.query.exec;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.query.lang.QueryException;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;

/**
 * The opaque {@code x-ms-continuation} token: where the next page starts (the last returned
 * twin's order key, or sort values, or group key), how many items were returned so far (TOP),
 * and a hash of the query it belongs to; base64url JSON followed by an HMAC-SHA256 tag, so a
 * client can neither forge a position nor reuse a token with another query.
 *
 * <p>Query nodes behind one load balancer must share the key ({@code twinhub.query.continuation-key}),
 * otherwise a page served by one node cannot be continued on another.
 */
public final class ContinuationTokens {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int TAG_BYTES = 16;
  /** Tokens longer than this are refused unread. */
  public static final int MAX_TOKEN_LENGTH = 8192;

  private final SecretKeySpec key;

  public ContinuationTokens(byte[] key) {
    if (key.length < 16) throw new IllegalArgumentException("continuation key must have at least 16 bytes");
    this.key = new SecretKeySpec(key.clone(), "HmacSHA256");
  }

  /** Tokens from a random key: valid only on this node until it restarts. */
  public static ContinuationTokens random() {
    byte[] k = new byte[32];
    new SecureRandom().nextBytes(k);
    return new ContinuationTokens(k);
  }

  /** Where a page resumes. {@code after} is null at the start. */
  public record Cursor(long returned, JsonNode after) {
    public static final Cursor START = new Cursor(0, null);
  }

  public String encode(String queryText, Cursor cursor) {
    ObjectNode o = JSON.createObjectNode();
    o.put("q", queryHash(queryText));
    o.put("n", cursor.returned());
    o.set("a", cursor.after());
    try {
      byte[] payload = JSON.writeValueAsBytes(o);
      Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
      return b64.encodeToString(payload) + "." + b64.encodeToString(tag(payload));
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The cursor of a token issued for {@code queryText}; 400 (QueryException) for anything else. */
  public Cursor decode(String queryText, String token) {
    if (token == null || token.isEmpty()) return Cursor.START;
    if (token.length() > MAX_TOKEN_LENGTH) throw invalid("is too long");
    int dot = token.indexOf('.');
    if (dot < 0) throw invalid("is malformed");
    byte[] payload;
    byte[] tag;
    try {
      Base64.Decoder b64 = Base64.getUrlDecoder();
      payload = b64.decode(token.substring(0, dot));
      tag = b64.decode(token.substring(dot + 1));
    } catch (IllegalArgumentException e) {
      throw invalid("is malformed");
    }
    if (!MessageDigest.isEqual(tag, tag(payload))) throw invalid("was not issued by this hub or was altered");
    try {
      JsonNode o = JSON.readTree(payload);
      if (!queryHash(queryText).equals(o.path("q").asText())) {
        throw invalid("belongs to another query; send the query the token was issued for");
      }
      return new Cursor(o.path("n").asLong(), o.get("a"));
    } catch (IOException e) {
      throw invalid("is malformed");
    }
  }

  private byte[] tag(byte[] payload) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(key);
      return Arrays.copyOf(mac.doFinal(payload), TAG_BYTES);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String queryHash(String text) {
    try {
      byte[] h = MessageDigest.getInstance("SHA-256").digest(text.strip().getBytes(StandardCharsets.UTF_8));
      return Base64.getUrlEncoder().withoutPadding().encodeToString(Arrays.copyOf(h, 12));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static QueryException invalid(String why) {
    return new QueryException(0, 0, "the continuation token (x-ms-continuation) " + why);
  }
}
