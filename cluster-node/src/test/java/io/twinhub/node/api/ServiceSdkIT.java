package io.twinhub.node.api;

import com.azure.core.credential.AzureSasCredential;
import com.microsoft.azure.sdk.iot.service.exceptions.ErrorCodeDescription;
import com.microsoft.azure.sdk.iot.service.exceptions.IotHubBadFormatException;
import com.microsoft.azure.sdk.iot.service.exceptions.IotHubConflictException;
import com.microsoft.azure.sdk.iot.service.exceptions.IotHubNotFoundException;
import com.microsoft.azure.sdk.iot.service.exceptions.IotHubPreconditionFailedException;
import com.microsoft.azure.sdk.iot.service.exceptions.IotHubUnauthorizedException;
import com.microsoft.azure.sdk.iot.service.registry.Device;
import com.microsoft.azure.sdk.iot.service.registry.DeviceStatus;
import com.microsoft.azure.sdk.iot.service.registry.Module;
import com.microsoft.azure.sdk.iot.service.registry.RegistryClient;
import com.microsoft.azure.sdk.iot.service.registry.RegistryStatistics;
import com.microsoft.azure.sdk.iot.service.twin.Twin;
import com.microsoft.azure.sdk.iot.service.twin.TwinClient;
import io.twinhub.mqtt.tls.TlsMaterial;
import io.twinhub.twin.auth.SasToken;
import io.twinhub.twin.auth.SymmetricKeyPair;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.SSLSocketFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The official Azure IoT service SDK for Java (iot-service-client 2.1.9), unmodified, against a
 * real node over HTTPS.
 *
 * <p>Reaching a non-default port: the SDK builds {@code "https://" + hostName + path}, but its
 * connection-string parser refuses {@code HostName=127.0.0.1:8443}. Its constructors taking a host
 * name and an {@link AzureSasCredential} accept {@code "127.0.0.1:<port>"} verbatim, so the test
 * signs a token for the {@code iothubowner} policy (sr = that host:port, which the hub accepts
 * with or without the port) and passes it in. Trust: the SDK uses the JVM default socket factory
 * of {@link HttpsURLConnection}, which is set to trust the node's generated CA.
 */
class ServiceSdkIT {

  @TempDir
  static Path dataDir;

  static ApiTestNode hub;
  static String host;
  static RegistryClient registry;
  static TwinClient twins;
  static SSLSocketFactory previousFactory;

  @BeforeAll
  static void start() throws Exception {
    hub = ApiTestNode.start(dataDir);
    previousFactory = HttpsURLConnection.getDefaultSSLSocketFactory();
    HttpsURLConnection.setDefaultSSLSocketFactory(
        TlsMaterial.clientSslContext(hub.node.api().tls().caPemPath()).getSocketFactory());
    host = hub.node.settings().hostName() + ":" + hub.node.api().httpsPort();
    AzureSasCredential credential = new AzureSasCredential(token("iothubowner", host));
    registry = new RegistryClient(host, credential);
    twins = new TwinClient(host, credential);
  }

  @AfterAll
  static void stop() throws Exception {
    if (previousFactory != null) HttpsURLConnection.setDefaultSSLSocketFactory(previousFactory);
    if (hub != null) hub.close();
  }

  static String token(String policy, String resource) {
    return SasToken.signForService(resource, policy, hub.policies().get(policy).keys().primaryKey(),
        Instant.now().getEpochSecond() + 3600);
  }

  static String id(String prefix) {
    return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  @Test
  void registryClientAddsGetsUpdatesAndRemovesDevices() throws Exception {
    String id = id("sdk-dev");
    Device sent = new Device(id);
    Device added = registry.addDevice(sent);
    assertEquals(id, added.getDeviceId());
    assertEquals(DeviceStatus.Enabled, added.getStatus());
    assertEquals(sent.getPrimaryKey(), added.getPrimaryKey(), "the SDK's own keys are kept");
    assertEquals("MQ==", added.getETag());
    assertNotNull(added.getGenerationId());

    IotHubConflictException conflict = assertThrows(IotHubConflictException.class, () -> registry.addDevice(new Device(id)));
    assertEquals(409001, conflict.getErrorCode());
    assertEquals(ErrorCodeDescription.DeviceAlreadyExists, conflict.getErrorCodeDescription());

    Device got = registry.getDevice(id);
    assertEquals(added.getETag(), got.getETag());
    assertEquals(added.getSecondaryKey(), got.getSecondaryKey());

    got.setStatus(DeviceStatus.Disabled);
    Device updated = registry.updateDevice(got);
    assertEquals(DeviceStatus.Disabled, updated.getStatus());
    assertEquals("Mg==", updated.getETag());
    assertEquals(DeviceStatus.Disabled, registry.getDevice(id).getStatus());

    // removeDevice(Device) sends the device's etag as If-Match: a stale one is refused.
    IotHubPreconditionFailedException stale = assertThrows(IotHubPreconditionFailedException.class,
        () -> registry.removeDevice(added));
    assertEquals(412001, stale.getErrorCode());
    registry.removeDevice(updated);
    IotHubNotFoundException gone = assertThrows(IotHubNotFoundException.class, () -> registry.getDevice(id));
    assertEquals(ErrorCodeDescription.DeviceNotFound, gone.getErrorCodeDescription());
    assertThrows(IotHubNotFoundException.class, () -> registry.removeDevice(id));
  }

  @Test
  void registryClientManagesModules() throws Exception {
    String id = id("sdk-edge");
    registry.addDevice(new Device(id));
    Module m1 = registry.addModule(new Module(id, "m1"));
    assertEquals("m1", m1.getId());
    assertEquals(id, m1.getDeviceId());
    registry.addModule(new Module(id, "m2"));
    IotHubConflictException conflict = assertThrows(IotHubConflictException.class, () -> registry.addModule(new Module(id, "m1")));
    assertEquals(409301, conflict.getErrorCode());

    Module got = registry.getModule(id, "m1");
    assertEquals(m1.getPrimaryKey(), got.getPrimaryKey());
    List<Module> modules = registry.getModulesOnDevice(id);
    assertEquals(List.of("m1", "m2"), modules.stream().map(Module::getId).sorted().toList());

    String key = SymmetricKeyPair.generate().primaryKey();
    got.getSymmetricKey().setPrimaryKey(key);
    Module updated = registry.updateModule(got);
    assertEquals(key, updated.getPrimaryKey());
    assertEquals(key, registry.getModule(id, "m1").getPrimaryKey());

    registry.removeModule(id, "m1");
    IotHubNotFoundException gone = assertThrows(IotHubNotFoundException.class, () -> registry.getModule(id, "m1"));
    assertEquals(ErrorCodeDescription.ModuleNotFound, gone.getErrorCodeDescription());
    registry.removeModule(registry.getModule(id, "m2"));
    assertTrue(registry.getModulesOnDevice(id).isEmpty());
    assertThrows(IotHubNotFoundException.class, () -> registry.addModule(new Module(id("sdk-missing"), "m1")));
  }

  @Test
  void twinClientGetsPatchesAndReplacesWithAndWithoutEtags() throws Exception {
    String id = id("sdk-twin");
    registry.addDevice(new Device(id));
    Twin twin = twins.get(id);
    assertEquals(id, twin.getDeviceId());
    assertEquals(1, twin.getVersion());
    assertEquals("AAAAAAAAAAE=", twin.getETag());
    assertTrue(twin.getTags().isEmpty());

    // The SDK's usual flow: fetch, change, patch (it echoes the fetched desired $version).
    twin.getTags().put("site", "plant-7");
    twin.getDesiredProperties().put("telemetryInterval", 30);
    Twin patched = twins.patch(twin);
    assertEquals(2, patched.getVersion());
    assertEquals("plant-7", patched.getTags().get("site"));
    assertEquals(30.0, ((Number) patched.getDesiredProperties().get("telemetryInterval")).doubleValue());
    assertEquals(2, patched.getDesiredProperties().getVersion());

    // Conditional on the current etag: accepted; on the old one: PreconditionFailed.
    Twin change = new Twin(id);
    change.getDesiredProperties().put("telemetryInterval", 60);
    Twin conditional = twins.patch(change, patched.getETag());
    assertEquals(3, conditional.getVersion());
    IotHubPreconditionFailedException conflict = assertThrows(IotHubPreconditionFailedException.class,
        () -> twins.patch(change, patched.getETag()));
    assertEquals(412001, conflict.getErrorCode());

    Twin replacement = new Twin(id);
    replacement.getTags().put("only", "this");
    replacement.getDesiredProperties().put("mode", "eco");
    Twin replaced = twins.replace(replacement);
    assertEquals(1, replaced.getTags().size());
    assertEquals("this", replaced.getTags().get("only"));
    assertFalse(replaced.getDesiredProperties().containsKey("telemetryInterval"));
    assertEquals("eco", replaced.getDesiredProperties().get("mode"));
    assertThrows(IotHubPreconditionFailedException.class, () -> twins.replace(replacement, conditional.getETag()));
    Twin replacedAgain = twins.replace(replacement, replaced.getETag());
    assertEquals(replaced.getVersion() + 1, replacedAgain.getVersion());

    Twin fetched = twins.get(id);
    assertEquals(replacedAgain.getETag(), fetched.getETag());
    assertEquals("eco", fetched.getDesiredProperties().get("mode"));

    Twin bad = new Twin(id);
    bad.getTags().put("a.b", 1);
    IotHubBadFormatException invalid = assertThrows(IotHubBadFormatException.class, () -> twins.patch(bad));
    assertEquals(400004, invalid.getErrorCode());
    assertThrows(IotHubNotFoundException.class, () -> twins.get(id("sdk-missing")));
  }

  @Test
  void twinClientHandlesModuleTwins() throws Exception {
    String id = id("sdk-mtwin");
    registry.addDevice(new Device(id));
    registry.addModule(new Module(id, "sensor"));
    Twin twin = twins.get(id, "sensor");
    assertEquals(id, twin.getDeviceId());
    assertEquals("sensor", twin.getModuleId());
    twin.getDesiredProperties().put("rate", 5);
    Twin patched = twins.patch(twin);
    assertEquals("sensor", patched.getModuleId());
    assertEquals(5.0, ((Number) twins.get(id, "sensor").getDesiredProperties().get("rate")).doubleValue());
  }

  @Test
  void registryStatisticsCountDevices() throws Exception {
    String id = id("sdk-stats");
    registry.addDevice(new Device(id));
    Device disabled = new Device(id + "-off");
    disabled.setStatus(DeviceStatus.Disabled);
    registry.addDevice(disabled);
    // The registry view follows the journal with a few seconds' delay.
    long deadline = System.nanoTime() + Duration.ofSeconds(45).toNanos();
    RegistryStatistics stats = registry.getStatistics();
    while (!(stats.getTotalDeviceCount() >= 2 && stats.getDisabledDeviceCount() >= 1 && stats.getEnabledDeviceCount() >= 1)
        && System.nanoTime() < deadline) {
      Thread.sleep(500);
      stats = registry.getStatistics();
    }
    assertTrue(stats.getTotalDeviceCount() >= 2, () -> "total " + registryStats());
    assertTrue(stats.getDisabledDeviceCount() >= 1, () -> "disabled " + registryStats());
    assertTrue(stats.getEnabledDeviceCount() >= 1, () -> "enabled " + registryStats());
    assertEquals(stats.getTotalDeviceCount(), stats.getEnabledDeviceCount() + stats.getDisabledDeviceCount());
  }

  @Test
  void wrongCredentialsAreUnauthorized() throws Exception {
    RegistryClient readOnly = new RegistryClient(host, new AzureSasCredential(token("registryRead", host)));
    IotHubUnauthorizedException denied = assertThrows(IotHubUnauthorizedException.class, () -> readOnly.addDevice(new Device(id("nope"))));
    assertEquals(401002, denied.getErrorCode());
    assertEquals(ErrorCodeDescription.IotHubUnauthorizedAccess, denied.getErrorCodeDescription());
    TwinClient otherHub = new TwinClient(host, new AzureSasCredential(token("iothubowner", "otherhub.azure-devices.net")));
    assertThrows(IotHubUnauthorizedException.class, () -> otherHub.get("anything"));
  }

  static String registryStats() {
    try {
      RegistryStatistics s = registry.getStatistics();
      return s.getTotalDeviceCount() + "/" + s.getEnabledDeviceCount() + "/" + s.getDisabledDeviceCount();
    } catch (Exception e) {
      return e.toString();
    }
  }
}
