package io.twinhub.twin.auth;

import java.util.List;

/** Primary and secondary key of a policy, device or module. toString() never shows them. */
public record SymmetricKeyPair(String primaryKey, String secondaryKey) {

  public SymmetricKeyPair {
    if (!SymmetricKey.isValid(primaryKey) || !SymmetricKey.isValid(secondaryKey)) {
      throw new IllegalArgumentException("keys must be base64 of 16 to 64 bytes");
    }
  }

  public static SymmetricKeyPair generate() {
    return new SymmetricKeyPair(SymmetricKey.generate(), SymmetricKey.generate());
  }

  public List<String> both() {
    return List.of(primaryKey, secondaryKey);
  }

  @Override
  public String toString() {
    return "SymmetricKeyPair[primaryKey=***, secondaryKey=***]";
  }

}
