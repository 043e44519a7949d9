package io.twinhub.twin.auth;

import java.security.SecureRandom;
import java.util.Base64;
import java.util.Optional;

/** Base64 symmetric keys as IoT Hub uses them for policies, devices and modules. */
public final class SymmetricKey {

  /** Length of generated keys, as the Azure portal makes them. */
  public static final int GENERATED_BYTES = 32;
  /** IoT Hub accepts keys of 16 to 64 bytes. */
  public static final int MIN_BYTES = 16;
  public static final int MAX_BYTES = 64;

  private static final SecureRandom RANDOM = new SecureRandom();

  private SymmetricKey() {}

  /** A fresh random 32-byte key, base64 (standard alphabet, padded). */
  public static String generate() {
    byte[] key = new byte[GENERATED_BYTES];
    RANDOM.nextBytes(key);
    return Base64.getEncoder().encodeToString(key);
  }

  /** The key bytes, if {@code base64Key} is standard base64 of 16 to 64 bytes. */
  public static Optional<byte[]> decode(String base64Key) {
    if (base64Key == null || base64Key.isEmpty()) {
      return Optional.empty();
    }
    try {
      byte[] bytes = Base64.getDecoder().decode(base64Key);
      if (bytes.length < MIN_BYTES || bytes.length > MAX_BYTES) {
        return Optional.empty();
      }
      return Optional.of(bytes);
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  public static boolean isValid(String base64Key) {
    return decode(base64Key).isPresent();
  }
}
