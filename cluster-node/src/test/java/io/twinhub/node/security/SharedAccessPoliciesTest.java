package io.twinhub.node.security;

import io.twinhub.mqtt.tls.SecureFiles;
import io.twinhub.twin.auth.AccessRight;
import io.twinhub.twin.auth.ConnectionString;
import io.twinhub.twin.auth.SharedAccessPolicy;
import io.twinhub.twin.auth.SymmetricKey;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class SharedAccessPoliciesTest {

  @TempDir
  Path dataDir;

  @Test
  void firstStartGeneratesIotHubsDefaultPolicies() throws IOException {
    SharedAccessPolicies policies = SharedAccessPolicies.loadOrCreate(dataDir);
    assertEquals(List.of("iothubowner", "service", "device", "registryRead", "registryReadWrite"),
        policies.policies().stream().map(SharedAccessPolicy::keyName).toList());
    assertEquals(Set.of(AccessRight.values()), policies.get("iothubowner").rights());
    assertEquals(Set.of(AccessRight.ServiceConnect), policies.get("service").rights());
    assertEquals(Set.of(AccessRight.DeviceConnect), policies.get("device").rights());
    assertEquals(Set.of(AccessRight.RegistryRead), policies.get("registryRead").rights());
    assertEquals(Set.of(AccessRight.RegistryRead, AccessRight.RegistryWrite), policies.get("registryReadWrite").rights());

    Set<String> keys = new HashSet<>();
    for (SharedAccessPolicy p : policies.policies()) {
      assertTrue(SymmetricKey.isValid(p.keys().primaryKey()));
      assertTrue(keys.add(p.keys().primaryKey()));
      assertTrue(keys.add(p.keys().secondaryKey()));
    }
    assertEquals(10, keys.size());
    assertEquals(dataDir.resolve("security/policies.json"), policies.file());
    assertTrue(policies.find("nobody").isEmpty());
  }

  @Test
  void reloadGivesIdenticalPoliciesAndLeavesTheFileAlone() throws IOException {
    SharedAccessPolicies first = SharedAccessPolicies.loadOrCreate(dataDir);
    byte[] bytes = Files.readAllBytes(first.file());
    SharedAccessPolicies second = SharedAccessPolicies.loadOrCreate(dataDir);
    assertEquals(first.policies(), second.policies());
    for (SharedAccessPolicy p : first.policies()) {
      assertEquals(p.keys().primaryKey(), second.get(p.keyName()).keys().primaryKey());
      assertEquals(p.keys().secondaryKey(), second.get(p.keyName()).keys().secondaryKey());
    }
    assertArrayEquals(bytes, Files.readAllBytes(first.file()));
    try (Stream<Path> files = Files.list(first.file().getParent())) {
      assertEquals(List.of("policies.json"), files.map(f -> f.getFileName().toString()).toList(), "no temp files left");
    }
  }

  @Test
  void fileIsOwnerOnly() throws IOException {
    SharedAccessPolicies policies = SharedAccessPolicies.loadOrCreate(dataDir);
    assumeTrue(SecureFiles.isPosix(dataDir));
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(policies.file())));
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(policies.file().getParent())));

    Files.setPosixFilePermissions(policies.file(), PosixFilePermissions.fromString("rw-r--r--"));
    SharedAccessPolicies.loadOrCreate(dataDir);
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(policies.file())));
  }

  @Test
  void ownerConnectionStringCarriesThePrimaryKey() throws IOException {
    SharedAccessPolicies policies = SharedAccessPolicies.loadOrCreate(dataDir);
    String cs = policies.ownerConnectionString("hub.example.com");
    ConnectionString parsed = ConnectionString.parse(cs);
    assertEquals("hub.example.com", parsed.hostName());
    assertEquals("iothubowner", parsed.sharedAccessKeyName());
    assertEquals(policies.get("iothubowner").keys().primaryKey(), parsed.sharedAccessKey());
    assertEquals("HostName=hub.example.com;SharedAccessKeyName=service;SharedAccessKey="
        + policies.get("service").keys().primaryKey(), policies.connectionString("service", "hub.example.com").format());
  }

  @Test
  void keysNeverInToString() throws IOException {
    SharedAccessPolicies policies = SharedAccessPolicies.loadOrCreate(dataDir);
    String shown = policies + " " + policies.policies() + " " + policies.get("iothubowner").keys()
        + " " + policies.connectionString("iothubowner", "h.example.com");
    for (SharedAccessPolicy p : policies.policies()) {
      assertFalse(shown.contains(p.keys().primaryKey()), shown);
      assertFalse(shown.contains(p.keys().secondaryKey()), shown);
    }
    assertTrue(shown.contains("iothubowner"));
  }

  @Test
  void missingDefaultsAreAddedAndCustomPoliciesKept() throws IOException {
    SharedAccessPolicies first = SharedAccessPolicies.loadOrCreate(dataDir);
    String key = SymmetricKey.generate();
    String custom = "{\"version\":1,\"policies\":[{\"keyName\":\"iothubowner\",\"rights\":\""
        + "RegistryRead, RegistryWrite, ServiceConnect, DeviceConnect\",\"primaryKey\":\""
        + first.get("iothubowner").keys().primaryKey() + "\",\"secondaryKey\":\""
        + first.get("iothubowner").keys().secondaryKey() + "\"},"
        + "{\"keyName\":\"analytics\",\"rights\":\"RegistryRead,ServiceConnect\",\"primaryKey\":\"" + key
        + "\",\"secondaryKey\":\"" + key + "\"}]}";
    Files.writeString(first.file(), custom);
    SharedAccessPolicies second = SharedAccessPolicies.loadOrCreate(dataDir);
    assertEquals(first.get("iothubowner"), second.get("iothubowner"));
    assertEquals(Set.of(AccessRight.RegistryRead, AccessRight.ServiceConnect), second.get("analytics").rights());
    assertNotEquals(first.get("service").keys(), second.get("service").keys(), "regenerated, was missing");
    assertEquals(second.policies(), SharedAccessPolicies.loadOrCreate(dataDir).policies());
    assertEquals(6, second.policies().size());
  }

  @Test
  void unreadableFileIsAnErrorNeverSilentlyReplaced() throws IOException {
    Path file = SharedAccessPolicies.fileIn(dataDir);
    Files.createDirectories(file.getParent());
    String key = SymmetricKey.generate();
    for (String bad : List.of(
        "{not json",
        "[]",
        "{\"version\":2,\"policies\":[]}",
        "{\"version\":1}",
        "{\"version\":1,\"policies\":[{\"keyName\":\"x\",\"rights\":\"Everything\",\"primaryKey\":\"" + key
            + "\",\"secondaryKey\":\"" + key + "\"}]}",
        "{\"version\":1,\"policies\":[{\"keyName\":\"x\",\"rights\":\"\",\"primaryKey\":\"short\",\"secondaryKey\":\""
            + key + "\"}]}",
        "{\"version\":1,\"policies\":[{\"keyName\":\"bad name\",\"rights\":\"\",\"primaryKey\":\"" + key
            + "\",\"secondaryKey\":\"" + key + "\"}]}")) {
      Files.writeString(file, bad);
      IOException e = assertThrows(IOException.class, () -> SharedAccessPolicies.loadOrCreate(dataDir), bad);
      assertFalse(String.valueOf(e.getMessage()).contains(key));
      assertEquals(bad, Files.readString(file, StandardCharsets.UTF_8));
    }
  }

  @Test
  void accessRightsParseAndRenderAsIotHubDoes() {
    AccessRights r = AccessRights.parse("RegistryWrite, ServiceConnect,DeviceConnect");
    assertEquals("RegistryWrite, ServiceConnect, DeviceConnect", r.toString());
    assertTrue(r.grants(AccessRight.RegistryRead));
    assertFalse(AccessRights.of(AccessRight.RegistryRead).grants(AccessRight.RegistryWrite));
    assertEquals(AccessRights.all(), AccessRights.parse(AccessRights.all().toString()));
    assertEquals(Set.of(), AccessRights.parse("").asSet());
    assertThrows(IllegalArgumentException.class, () -> AccessRights.parse("RegistryRead, Root"));
    assertEquals("RegistryRead, RegistryWrite, ServiceConnect, DeviceConnect",
        Stream.of(AccessRight.values()).map(Enum::name).collect(Collectors.joining(", ")));
  }
}
