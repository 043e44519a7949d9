package io.twinhub.twin.auth;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * IoT Hub connection strings, both kinds:
 * <ul>
 *   <li>service: {@code HostName=<host>;SharedAccessKeyName=<policy>;SharedAccessKey=<key>}
 *   <li>device/module: {@code HostName=<host>;DeviceId=<id>[;ModuleId=<mid>];SharedAccessKey=<key>}
 *       (optionally {@code GatewayHostName=}; {@code SharedAccessSignature=} instead of a key).
 * </ul>
 * Keys are matched case-insensitively, as the device SDK does. {@code DeviceId} is url-decoded on
 * parse, as iot-device-client does, so {@link #format()} escapes exactly the characters that
 * decoding would change ({@code %} and {@code +}) and leaves every other id as it is.
 *
 * <p>Mind the SDKs' own checks when choosing host names: iot-service-client 2.1.9 accepts only
 * {@code [a-zA-Z0-9_.-]} in {@code HostName} (no {@code :port}), and iot-device-client 2.5.0
 * requires a dot in it ({@code localhost} is refused; the text before the first dot is the hub
 * name). toString() hides keys and signatures.
 */
public record ConnectionString(
    String hostName,
    String sharedAccessKeyName,
    String sharedAccessKey,
    String sharedAccessSignature,
    String deviceId,
    String moduleId,
    String gatewayHostName) {

  public static final String HOST_NAME = "HostName";
  public static final String SHARED_ACCESS_KEY_NAME = "SharedAccessKeyName";
  public static final String SHARED_ACCESS_KEY = "SharedAccessKey";
  public static final String SHARED_ACCESS_SIGNATURE = "SharedAccessSignature";
  public static final String DEVICE_ID = "DeviceId";
  public static final String MODULE_ID = "ModuleId";
  public static final String GATEWAY_HOST_NAME = "GatewayHostName";

  private static final String[] KEYS = {
      HOST_NAME, SHARED_ACCESS_KEY_NAME, SHARED_ACCESS_KEY, SHARED_ACCESS_SIGNATURE, DEVICE_ID, MODULE_ID,
      GATEWAY_HOST_NAME};

  public ConnectionString {
    hostName = blankToNull(hostName);
    sharedAccessKeyName = blankToNull(sharedAccessKeyName);
    sharedAccessKey = blankToNull(sharedAccessKey);
    sharedAccessSignature = blankToNull(sharedAccessSignature);
    deviceId = blankToNull(deviceId);
    moduleId = blankToNull(moduleId);
    gatewayHostName = blankToNull(gatewayHostName);
    if (hostName == null) {
      throw new IllegalArgumentException("HostName is required");
    }
    if ((sharedAccessKey == null) == (sharedAccessSignature == null)) {
      throw new IllegalArgumentException("exactly one of SharedAccessKey and SharedAccessSignature is required");
    }
    if (sharedAccessKey != null && !SymmetricKey.isValid(sharedAccessKey)) {
      throw new IllegalArgumentException("SharedAccessKey is not base64 of 16 to 64 bytes");
    }
    if (deviceId == null) {
      if (sharedAccessKeyName == null) {
        throw new IllegalArgumentException("either SharedAccessKeyName (service) or DeviceId (device) is required");
      }
      if (moduleId != null || gatewayHostName != null) {
        throw new IllegalArgumentException("ModuleId and GatewayHostName need a DeviceId");
      }
      if (!SharedAccessPolicy.KEY_NAME.matcher(sharedAccessKeyName).matches()) {
        throw new IllegalArgumentException("SharedAccessKeyName is not a valid policy name");
      }
    } else if (sharedAccessKeyName != null) {
      throw new IllegalArgumentException("a connection string has either SharedAccessKeyName or DeviceId, not both");
    }
    for (String v : new String[] {hostName, sharedAccessKeyName, sharedAccessKey, sharedAccessSignature, moduleId,
        gatewayHostName}) {
      if (v != null && v.indexOf(';') >= 0) {
        throw new IllegalArgumentException("connection string values cannot contain ';'");
      }
    }
  }

  public static ConnectionString service(String hostName, String policyName, String key) {
    return new ConnectionString(hostName, policyName, key, null, null, null, null);
  }

  public static ConnectionString device(String hostName, String deviceId, String key) {
    return new ConnectionString(hostName, null, key, null, Objects.requireNonNull(deviceId, "deviceId"), null, null);
  }

  public static ConnectionString module(String hostName, String deviceId, String moduleId, String key) {
    return new ConnectionString(hostName, null, key, null, Objects.requireNonNull(deviceId, "deviceId"),
        Objects.requireNonNull(moduleId, "moduleId"), null);
  }

  /**
   * Parses {@code key=value} pairs separated by {@code ;} (empty pairs, e.g. a trailing
   * {@code ;}, are skipped; a value may contain {@code =}).
   *
   * @throws IllegalArgumentException on unknown or duplicate keys, a missing part, or an
   *     inconsistent combination; the message never contains the key.
   */
  public static ConnectionString parse(String text) {
    if (text == null || text.isBlank()) {
      throw new IllegalArgumentException("connection string is empty");
    }
    Map<String, String> values = new LinkedHashMap<>();
    for (String pair : text.strip().split(";")) {
      if (pair.isBlank()) {
        continue;
      }
      int eq = pair.indexOf('=');
      if (eq <= 0) {
        throw new IllegalArgumentException("connection string part without key=value");
      }
      String key = canonicalKey(pair.substring(0, eq).strip())
          .orElseThrow(() -> new IllegalArgumentException(
              "unknown connection string key '" + pair.substring(0, eq).strip() + "'"));
      if (values.put(key, pair.substring(eq + 1).strip()) != null) {
        throw new IllegalArgumentException("duplicate connection string key '" + key + "'");
      }
    }
    String deviceId = values.get(DEVICE_ID);
    if (deviceId != null) {
      deviceId = PercentCodec.decode(deviceId, true)
          .orElseThrow(() -> new IllegalArgumentException("DeviceId is not valid url-encoding"));
    }
    return new ConnectionString(values.get(HOST_NAME), values.get(SHARED_ACCESS_KEY_NAME),
        values.get(SHARED_ACCESS_KEY), values.get(SHARED_ACCESS_SIGNATURE), deviceId, values.get(MODULE_ID),
        values.get(GATEWAY_HOST_NAME));
  }

  public boolean isService() {
    return deviceId == null;
  }

  public boolean isDevice() {
    return deviceId != null && moduleId == null;
  }

  public boolean isModule() {
    return moduleId != null;
  }

  public Optional<String> key() {
    return Optional.ofNullable(sharedAccessKey);
  }

  /**
   * A token for this identity, as the matching SDK would make it.
   *
   * @throws IllegalStateException if this connection string carries a signature, not a key
   */
  public String sasToken(long expiryEpochSeconds) {
    if (sharedAccessKey == null) {
      throw new IllegalStateException("connection string has no SharedAccessKey");
    }
    return isService()
        ? SasToken.signForService(hostName, sharedAccessKeyName, sharedAccessKey, expiryEpochSeconds)
        : SasToken.signForDevice(hostName, deviceId, moduleId, sharedAccessKey, expiryEpochSeconds);
  }

  /** The full connection string, secrets included. Not for logs. */
  public String format() {
    return render(false);
  }

  @Override
  public String toString() {
    return render(true);
  }

  private String render(boolean redact) {
    StringBuilder sb = new StringBuilder(HOST_NAME).append('=').append(hostName);
    if (deviceId != null) {
      sb.append(';').append(DEVICE_ID).append('=').append(deviceId.replace("%", "%25").replace("+", "%2B"));
      if (moduleId != null) {
        sb.append(';').append(MODULE_ID).append('=').append(moduleId);
      }
    } else {
      sb.append(';').append(SHARED_ACCESS_KEY_NAME).append('=').append(sharedAccessKeyName);
    }
    if (sharedAccessKey != null) {
      sb.append(';').append(SHARED_ACCESS_KEY).append('=').append(redact ? "***" : sharedAccessKey);
    } else {
      sb.append(';').append(SHARED_ACCESS_SIGNATURE).append('=').append(redact ? "***" : sharedAccessSignature);
    }
    if (gatewayHostName != null) {
      sb.append(';').append(GATEWAY_HOST_NAME).append('=').append(gatewayHostName);
    }
    return sb.toString();
  }

  private static Optional<String> canonicalKey(String key) {
    for (String k : KEYS) {
      if (k.toLowerCase(Locale.ROOT).equals(key.toLowerCase(Locale.ROOT))) {
        return Optional.of(k);
      }
    }
    return Optional.empty();
  }

  private static String blankToNull(String s) {
    return s == null || s.isBlank() ? null : s.strip();
  }
}
