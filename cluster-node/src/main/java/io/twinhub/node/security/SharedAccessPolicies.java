package io.twinhub.node.security;

import io.twinhub.mqtt.tls.SecureFiles;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.twin.auth.AccessRight;
import io.twinhub.twin.auth.ConnectionString;
import io.twinhub.twin.auth.PolicyLookup;
import io.twinhub.twin.auth.SharedAccessPolicy;
import io.twinhub.twin.auth.SymmetricKeyPair;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The hub's shared access policies, as IoT Hub creates them for a new hub: {@code iothubowner}
 * (all rights), {@code service} (ServiceConnect), {@code device} (DeviceConnect), {@code
 * registryRead} (RegistryRead) and {@code registryReadWrite} (RegistryRead, RegistryWrite).
 *
 * <p>Keys are generated on first start and kept in {@code <dataDir>/security/policies.json}
 * (directory 700, file 600 where the file system has POSIX permissions; written atomically), and
 * read back on later starts. Policies added to the file by hand are kept; a default policy
 * missing from the file is generated and the file rewritten. A file that cannot be read is an
 * error, never a reason to make new keys (that would lock every client out). Immutable; keys never
 * appear in toString().
 *
 * <p>In a multi-node cluster every node must use the same file (copy it, or point the data
 * directories' {@code security/} at shared storage); otherwise a token signed with one node's
 * keys fails on another.
 */
public final class SharedAccessPolicies implements PolicyLookup {

  public static final String IOTHUBOWNER = "iothubowner";
  public static final String SERVICE = "service";
  public static final String DEVICE = "device";
  public static final String REGISTRY_READ = "registryRead";
  public static final String REGISTRY_READ_WRITE = "registryReadWrite";

  /** The defaults, in IoT Hub's order. */
  public static final Map<String, AccessRights> DEFAULTS;

  static {
    Map<String, AccessRights> d = new LinkedHashMap<>();
    d.put(IOTHUBOWNER, AccessRights.all());
    d.put(SERVICE, AccessRights.of(AccessRight.ServiceConnect));
    d.put(DEVICE, AccessRights.of(AccessRight.DeviceConnect));
    d.put(REGISTRY_READ, AccessRights.of(AccessRight.RegistryRead));
    d.put(REGISTRY_READ_WRITE, AccessRights.of(AccessRight.RegistryRead, AccessRight.RegistryWrite));
    DEFAULTS = Collections.unmodifiableMap(d);
  }

  private static final Logger log = LoggerFactory.getLogger(SharedAccessPolicies.class);
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  private static final int FORMAT_VERSION = 1;

  private final Path file;
  private final Map<String, SharedAccessPolicy> byName;

  private SharedAccessPolicies(Path file, Map<String, SharedAccessPolicy> byName) {
    this.file = file;
    this.byName = Collections.unmodifiableMap(new LinkedHashMap<>(byName));
  }

  /** {@code <dataDir>/security/policies.json}. */
  public static Path fileIn(Path dataDir) {
    return dataDir.resolve("security").resolve("policies.json");
  }

  /**
   * Reads the policies from {@code <dataDir>/security/policies.json}, creating the file with
   * fresh keys if it does not exist.
   *
   * @throws IOException if the file exists but is not a valid policies file, or cannot be written
   */
  public static SharedAccessPolicies loadOrCreate(Path dataDir) throws IOException {
    Path file = fileIn(dataDir);
    SecureFiles.ensureDirectory(file.getParent(), true);
    Map<String, SharedAccessPolicy> policies = new LinkedHashMap<>();
    boolean exists = Files.exists(file);
    if (exists) {
      policies.putAll(read(file));
      SecureFiles.restrictToOwner(file);
    }
    List<String> added = new ArrayList<>();
    for (Map.Entry<String, AccessRights> d : DEFAULTS.entrySet()) {
      if (!policies.containsKey(d.getKey())) {
        policies.put(d.getKey(), new SharedAccessPolicy(d.getKey(), d.getValue().asSet(), SymmetricKeyPair.generate()));
        added.add(d.getKey());
      }
    }
    if (!added.isEmpty()) {
      write(file, policies);
      log.info("{} shared access policies {} in {}", exists ? "added" : "generated", added, file);
    }
    return new SharedAccessPolicies(file, policies);
  }

  @Override
  public Optional<SharedAccessPolicy> find(String keyName) {
    return Optional.ofNullable(byName.get(keyName));
  }

  public SharedAccessPolicy get(String keyName) {
    return find(keyName).orElseThrow(() -> new IllegalArgumentException("no policy named " + keyName));
  }

  public List<SharedAccessPolicy> policies() {
    return List.copyOf(byName.values());
  }

  public Path file() {
    return file;
  }

  /** {@code HostName=<host>;SharedAccessKeyName=<policy>;SharedAccessKey=<primary key>}. */
  public ConnectionString connectionString(String policyName, String hostName) {
    return ConnectionString.service(hostName, policyName, get(policyName).keys().primaryKey());
  }

  /** The {@code iothubowner} connection string for {@code hostName}; contains the key. */
  public String ownerConnectionString(String hostName) {
    return connectionString(IOTHUBOWNER, hostName).format();
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("SharedAccessPolicies[");
    byName.values().forEach(p -> sb.append(p.keyName()).append('(').append(AccessRights.of(p.rights())).append(");"));
    return sb.append(']').toString();
  }

  private static Map<String, SharedAccessPolicy> read(Path file) throws IOException {
    JsonNode root;
    try {
      root = JSON.readTree(file.toFile());
    } catch (IOException e) {
      throw new IOException(file + " is not valid JSON", e);
    }
    if (root == null || !root.isObject() || root.path("version").asInt(-1) != FORMAT_VERSION
        || !root.path("policies").isArray()) {
      throw new IOException(file + " is not a version " + FORMAT_VERSION + " policies file");
    }
    Map<String, SharedAccessPolicy> policies = new LinkedHashMap<>();
    for (JsonNode p : root.get("policies")) {
      String name = p.path("keyName").asText("");
      try {
        SharedAccessPolicy policy = new SharedAccessPolicy(name,
            AccessRights.parse(p.path("rights").asText("")).asSet(),
            new SymmetricKeyPair(p.path("primaryKey").asText(""), p.path("secondaryKey").asText("")));
        if (policies.put(name, policy) != null) {
          throw new IOException(file + ": policy '" + name + "' defined twice");
        }
      } catch (IllegalArgumentException e) {
        // The message names the field, never the key material.
        throw new IOException(file + ": invalid policy '" + name + "': " + e.getMessage());
      }
    }
    return policies;
  }

  private static void write(Path file, Map<String, SharedAccessPolicy> policies) throws IOException {
    ObjectNode root = JSON.createObjectNode();
    root.put("version", FORMAT_VERSION);
    ArrayNode list = root.putArray("policies");
    for (SharedAccessPolicy p : policies.values()) {
      ObjectNode o = list.addObject();
      o.put("keyName", p.keyName());
      o.put("rights", AccessRights.of(p.rights()).toString());
      o.put("primaryKey", p.keys().primaryKey());
      o.put("secondaryKey", p.keys().secondaryKey());
    }
    SecureFiles.writeAtomically(file, JSON.writeValueAsBytes(root), true);
  }
}
