package io.twinhub.node.api;

import com.azure.core.credential.AzureSasCredential;
import com.microsoft.azure.sdk.iot.service.configurations.Configuration;
import com.microsoft.azure.sdk.iot.service.configurations.ConfigurationContent;
import com.microsoft.azure.sdk.iot.service.configurations.ConfigurationMetrics;
import com.microsoft.azure.sdk.iot.service.configurations.ConfigurationsClient;
import com.microsoft.azure.sdk.iot.service.exceptions.IotHubBadFormatException;
import com.microsoft.azure.sdk.iot.service.exceptions.IotHubConflictException;
import com.microsoft.azure.sdk.iot.service.exceptions.IotHubException;
import com.microsoft.azure.sdk.iot.service.exceptions.IotHubNotFoundException;
import com.microsoft.azure.sdk.iot.service.exceptions.IotHubPreconditionFailedException;
import com.microsoft.azure.sdk.iot.service.registry.Device;
import com.microsoft.azure.sdk.iot.service.registry.Module;
import com.microsoft.azure.sdk.iot.service.registry.RegistryClient;
import com.microsoft.azure.sdk.iot.service.twin.DeviceCapabilities;
import com.microsoft.azure.sdk.iot.service.twin.Twin;
import com.microsoft.azure.sdk.iot.service.twin.TwinClient;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.mqtt.tls.TlsMaterial;
import io.twinhub.twin.auth.SasToken;
import io.twinhub.twin.domain.JsonDoc;
import io.twinhub.twin.domain.TwinUpdate;
import io.twinhub.twin.entity.TwinReply;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.SSLSocketFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Automatic device configurations and IoT Edge deployments driven by the official Java service SDK
 * (iot-service-client 2.1.9: {@link ConfigurationsClient}, {@link RegistryClient}, {@link TwinClient}),
 * unmodified, against one real node: the content reaches twins that join a target set later,
 * priorities decide conflicts, base and layered deployments add up on {@code $edgeAgent} and
 * {@code $edgeHub}, metrics count, etags guard updates, bad manifests are refused. Every test uses
 * its own tag values, so they share the node without seeing each other's twins.
 */
class ConfigurationsSdkIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration DEADLINE = Duration.ofSeconds(90);

  @TempDir
  static Path dataDir;

  static ApiTestNode hub;
  static RegistryClient registry;
  static TwinClient twins;
  static ConfigurationsClient configurations;
  static SSLSocketFactory previousFactory;

  @BeforeAll
  static void start() throws Exception {
    hub = ApiTestNode.start(dataDir, Map.of("twinhub.configurations.metrics-interval", "1s"));
    previousFactory = HttpsURLConnection.getDefaultSSLSocketFactory();
    HttpsURLConnection.setDefaultSSLSocketFactory(
        TlsMaterial.clientSslContext(hub.node.api().tls().caPemPath()).getSocketFactory());
    String host = hub.node.settings().hostName() + ":" + hub.node.api().httpsPort();
    AzureSasCredential credential = new AzureSasCredential(SasToken.signForService(host, "iothubowner",
        hub.policies().get("iothubowner").keys().primaryKey(), Instant.now().getEpochSecond() + 3600));
    registry = new RegistryClient(host, credential);
    twins = new TwinClient(host, credential);
    configurations = new ConfigurationsClient(host, credential);
  }

  @AfterAll
  static void stop() throws Exception {
    if (previousFactory != null) HttpsURLConnection.setDefaultSSLSocketFactory(previousFactory);
    if (hub != null) hub.close();
  }

  @Test
  void automaticConfigurationReachesDevicesThatJoinItsTargetSetLater() throws Exception {
    String site = id("plant");
    String early = id("adm-a");
    String late = id("adm-b");
    registry.addDevice(new Device(early));
    registry.addDevice(new Device(late));
    tag(early, "site", site);

    Configuration c = new Configuration(id("thermostats"));
    c.setContent(deviceContent(Map.of("properties.desired.thermostat", Map.of("target", 21L, "mode", "heat"))));
    c.setTargetCondition("tags.site = '" + site + "'");
    c.setPriority(10);
    ConfigurationMetrics custom = new ConfigurationMetrics();
    custom.setQueries(Map.of("onSite", "SELECT deviceId FROM devices WHERE tags.site = '" + site + "'"));
    c.setMetrics(custom);
    Configuration created = configurations.create(c);
    assertEquals(c.getId(), created.getId());
    assertEquals(10, created.getPriority());
    assertFalse(created.getEtag().isEmpty());
    assertNotEquals("0001-01-01T00:00:00", created.getCreatedTimeUtc());

    awaitDesired(early, null, "thermostat", "{\"target\":21,\"mode\":\"heat\"}");
    assertNull(twins.get(late).getDesiredProperties().get("thermostat"), "not targeted yet");

    tag(late, "site", site); // joins the target set: nobody asks for the content
    awaitDesired(late, null, "thermostat", "{\"target\":21,\"mode\":\"heat\"}");

    await("metrics of " + c.getId(), () -> {
      Configuration got = configurations.get(c.getId());
      Map<String, Long> system = got.getSystemMetrics().getResults();
      return Long.valueOf(2).equals(system.get("targetedCount")) && Long.valueOf(2).equals(system.get("appliedCount"))
          && Long.valueOf(2).equals(got.getMetrics().getResults().get("onSite"));
    });

    // etags: the SDK's replace sends If-Match *, its delete sends the configuration's etag.
    Configuration fetched = configurations.get(c.getId());
    fetched.setPriority(11);
    Configuration replaced = configurations.replace(fetched);
    assertEquals(11, replaced.getPriority());
    assertNotEquals(fetched.getEtag(), replaced.getEtag());
    assertEquals(created.getCreatedTimeUtc(), replaced.getCreatedTimeUtc());
    IotHubPreconditionFailedException stale = assertThrows(IotHubPreconditionFailedException.class,
        () -> configurations.delete(fetched));
    assertEquals(412001, stale.getErrorCode());
    assertThrows(IotHubConflictException.class, () -> configurations.create(c));
    assertTrue(configurations.get(100).stream().anyMatch(x -> x.getId().equals(c.getId())));

    configurations.delete(replaced);
    assertThrows(IotHubNotFoundException.class, () -> configurations.get(c.getId()));
    // IoT Hub leaves applied content where it is when a configuration goes away.
    assertEquals(21L, ((Map<?, ?>) twins.get(early).getDesiredProperties().get("thermostat")).get("target"));
  }

  @Test
  void highestPriorityWinsPerPathAndTiesGoToTheNewest() throws Exception {
    String group = id("fans");
    String device = id("adm-p");
    registry.addDevice(new Device(device));
    tag(device, "group", group);
    String condition = "tags.group = '" + group + "'";

    Configuration low = configuration(id("low"), condition, 5,
        Map.of("properties.desired.mode", "eco", "properties.desired.fan", "auto"));
    Configuration high = configuration(id("high"), condition, 10, Map.of("properties.desired.mode", "boost"));
    configurations.create(low);
    Configuration highCreated = configurations.create(high);
    await("boost and auto", () -> "boost".equals(desired(device, "mode")) && "auto".equals(desired(device, "fan")));

    Configuration demoted = configurations.get(highCreated.getId());
    demoted.setPriority(1);
    configurations.replace(demoted);
    await("eco after the demotion", () -> "eco".equals(desired(device, "mode")));

    configurations.create(configuration(id("tie"), condition, 5, Map.of("properties.desired.mode", "quiet")));
    await("quiet: same priority as 'low', created later", () -> "quiet".equals(desired(device, "mode")));
    assertEquals("auto", desired(device, "fan"));

    await("applied counts", () -> {
      Map<String, Long> lowMetrics = configurations.get(low.getId()).getSystemMetrics().getResults();
      Map<String, Long> highMetrics = configurations.get(high.getId()).getSystemMetrics().getResults();
      return Long.valueOf(1).equals(lowMetrics.get("appliedCount")) // its fan is in effect
          && Long.valueOf(1).equals(highMetrics.get("targetedCount"))
          && Long.valueOf(0).equals(highMetrics.get("appliedCount")); // overridden on its only path
    });
  }

  @Test
  void edgeDeviceGetsSystemModulesAndBaseAndLayeredDeploymentsAddUp() throws Exception {
    String fleet = id("fleet");
    String device = id("edge");
    addEdgeDevice(device);
    List<String> modules = registry.getModulesOnDevice(device).stream().map(Module::getId).sorted().toList();
    assertEquals(List.of("$edgeAgent", "$edgeHub"), modules);
    assertEquals(0, twins.get(device, "$edgeAgent").getDesiredProperties().size(), "no deployment yet");
    tag(device, "fleet", fleet);

    Configuration base = new Configuration(id("base"));
    base.setContent(modulesContent(baseManifest()));
    base.setTargetCondition("tags.fleet = '" + fleet + "'");
    base.setPriority(1);
    configurations.create(base);
    Configuration layered = new Configuration(id("layer"));
    layered.setContent(modulesContent(json("""
        {"$edgeAgent": {"properties.desired.modules.filter": {"type": "docker", "status": "running",
            "restartPolicy": "always", "settings": {"image": "example/filter:1.0"}}},
         "$edgeHub": {"properties.desired.routes.filterToUpstream": "FROM /messages/modules/filter/* INTO $upstream"},
         "tempSensor": {"properties.desired.threshold": 30}}""")));
    layered.setTargetCondition("tags.fleet = '" + fleet + "'");
    layered.setPriority(10);
    configurations.create(layered);

    await("base + layer on $edgeAgent and $edgeHub", () -> {
      Twin agent = twins.get(device, "$edgeAgent");
      Twin hubTwin = twins.get(device, "$edgeHub");
      Map<?, ?> deployed = (Map<?, ?>) agent.getDesiredProperties().get("modules");
      Map<?, ?> routes = (Map<?, ?>) hubTwin.getDesiredProperties().get("routes");
      return deployed != null && deployed.containsKey("tempSensor") && deployed.containsKey("filter")
          && routes != null && routes.containsKey("upstream") && routes.containsKey("filterToUpstream");
    });

    // A module the deployment names gets its desired properties once its identity exists (edgeAgent creates it).
    registry.addModule(new Module(device, "tempSensor"));
    await("tempSensor's desired from the layer", () ->
        Long.valueOf(30).equals(twins.get(device, "tempSensor").getDesiredProperties().get("threshold")));

    // The edge runtime's report (what edgeAgent writes after applying the deployment).
    long desiredVersion = twins.get(device, "$edgeAgent").getDesiredProperties().getVersion();
    TwinReply reported = hub.node.twins().updateTwin(device, "$edgeAgent", new TwinUpdate.PatchReported(JsonDoc.of(
            (ObjectNode) json("{\"lastDesiredVersion\": " + desiredVersion + ", \"lastDesiredStatus\": {\"code\": 200}}"))), null)
        .toCompletableFuture().get(30, TimeUnit.SECONDS);
    assertTrue(reported instanceof TwinReply.Accepted, reported.toString());
    await("deployment metrics", () -> {
      Map<String, Long> m = configurations.get(base.getId()).getSystemMetrics().getResults();
      Map<String, Long> l = configurations.get(layered.getId()).getSystemMetrics().getResults();
      return Long.valueOf(1).equals(m.get("targetedCount")) && Long.valueOf(1).equals(m.get("appliedCount"))
          && Long.valueOf(1).equals(m.get("reportedSuccessfulCount")) && Long.valueOf(0).equals(m.get("reportedFailedCount"))
          && Long.valueOf(1).equals(l.get("appliedCount"));
    });
  }

  @Test
  void applyConfigurationContentSetsModuleTwinsDirectly() throws Exception {
    String device = id("edge-apply");
    addEdgeDevice(device);
    configurations.applyConfigurationContentOnDevice(device, modulesContent(baseManifest()));
    Twin agent = twins.get(device, "$edgeAgent");
    assertEquals("1.1", agent.getDesiredProperties().get("schemaVersion"));
    assertTrue(((Map<?, ?>) agent.getDesiredProperties().get("modules")).containsKey("tempSensor"));
    assertEquals(7200L, ((Number) ((Map<?, ?>) twins.get(device, "$edgeHub").getDesiredProperties()
        .get("storeAndForwardConfiguration")).get("timeToLiveSecs")).longValue());

    String leaf = id("leaf");
    registry.addDevice(new Device(leaf));
    IotHubBadFormatException notEdge = assertThrows(IotHubBadFormatException.class,
        () -> configurations.applyConfigurationContentOnDevice(leaf, modulesContent(baseManifest())));
    assertEquals(400004, notEdge.getErrorCode());
  }

  @Test
  void badManifestsAndQueriesAreRefusedWithArgumentInvalid() throws Exception {
    ObjectNode noImage = (ObjectNode) baseManifest();
    ((ObjectNode) noImage.at("/$edgeAgent/properties.desired/modules/tempSensor/settings")).remove("image");
    assertArgumentInvalid(modulesContent(noImage), "tags.x = 1", "settings.image");

    ObjectNode badPolicy = (ObjectNode) baseManifest();
    ((ObjectNode) badPolicy.at("/$edgeAgent/properties.desired/modules/tempSensor")).put("restartPolicy", "sometimes");
    assertArgumentInvalid(modulesContent(badPolicy), "tags.x = 1", "restartPolicy");

    ObjectNode noHub = (ObjectNode) baseManifest();
    noHub.remove("$edgeHub");
    assertArgumentInvalid(modulesContent(noHub), "tags.x = 1", "$edgeHub");

    assertArgumentInvalid(deviceContent(Map.of("tags.site", "x")), "tags.x = 1", "properties.desired");
    assertArgumentInvalid(deviceContent(Map.of("properties.desired.a", 1L)), "tags.x = = 1", "targetCondition");
  }

  /** What the Java SDK has no method for (testQueries, ?top=), and bodies it never sends, over plain HTTPS. */
  @Test
  void testQueriesListingAndMalformedBodiesOverRest() throws Exception {
    ApiClient api = hub.client;
    ApiClient.Reply checked = api.post("/configurations/testQueries", """
        {"targetCondition": "tags.site = 'a' AND", "customMetricQueries": {
            "good": "SELECT deviceId FROM devices WHERE properties.reported.ok = true",
            "bad": "SELECT FROM devices"}}""");
    assertEquals(200, checked.status(), checked::toString);
    assertTrue(checked.json().path("targetConditionError").asText().startsWith("targetCondition: "), checked::toString);
    assertEquals("", checked.json().at("/customMetricQueryErrors/good").asText());
    assertTrue(checked.json().at("/customMetricQueryErrors/bad").asText().contains("metrics.queries.bad"), checked::toString);
    ApiClient.Reply fine = api.post("/configurations/testQueries", "{\"targetCondition\": \"tags.site = 'a'\"}");
    assertEquals("", fine.json().path("targetConditionError").asText());

    String id = id("rest");
    ApiClient.Reply created = api.put("/configurations/" + id,
        "{\"content\": {\"deviceContent\": {\"properties.desired.x\": 1}}, \"targetCondition\": \"\"}");
    assertEquals(200, created.status(), created::toString);
    assertEquals("\"" + created.json().path("etag").asText() + "\"", created.header("etag").orElseThrow());
    assertEquals(1, api.get("/configurations?top=1").json().size());
    assertEquals(400004, api.get("/configurations?top=0").errorCode());
    assertEquals(400004, api.get("/configurations?top=x").errorCode());
    assertEquals(404, api.put("/configurations/" + id("absent"), "{\"targetCondition\": \"\"}", "*").status(),
        "an update of nothing");
    ApiClient.Reply malformed = api.put("/configurations/" + id("broken"), "{\"content\": ");
    assertEquals(400, malformed.status(), malformed::toString);
    assertEquals(400004, api.put("/configurations/" + id("wrongtype"), "{\"priority\": \"high\"}").errorCode());
    assertEquals(400004, api.put("/configurations/Upper", "{}").errorCode());
    assertEquals(204, api.delete("/configurations/" + id, "*").status());
    assertEquals(404, api.delete("/configurations/" + id, "*").status());
  }

  @Test
  void moduleConfigurationsTargetModuleTwins() throws Exception {
    String role = id("role");
    String device = id("adm-m");
    registry.addDevice(new Device(device));
    registry.addModule(new Module(device, "sensor"));
    registry.addModule(new Module(device, "other"));
    Twin sensor = twins.get(device, "sensor");
    sensor.getTags().put("role", role);
    twins.patch(sensor);

    Configuration c = new Configuration(id("sampling"));
    ConfigurationContent content = new ConfigurationContent();
    content.setModuleContent(new HashMap<>(Map.of("properties.desired.sampling", Map.of("seconds", 5L))));
    c.setContent(content);
    c.setTargetCondition("FROM devices.modules WHERE tags.role = '" + role + "'");
    configurations.create(c);
    awaitDesired(device, "sensor", "sampling", "{\"seconds\": 5}");
    assertNull(twins.get(device, "other").getDesiredProperties().get("sampling"), "not targeted");
    assertNull(twins.get(device).getDesiredProperties().get("sampling"), "a module configuration leaves the device twin alone");
    await("module metrics", () -> Long.valueOf(1).equals(
        configurations.get(c.getId()).getSystemMetrics().getResults().get("appliedCount")));
  }

  /** IoT Edge devices made by bulk import, or by turning the capability on, get their system modules too. */
  @Test
  void bulkAndUpdatedEdgeDevicesGetSystemModules() throws Exception {
    String bulk = id("edge-bulk");
    ApiClient.Reply imported = hub.client.post("/devices",
        "[{\"id\": \"" + bulk + "\", \"importMode\": \"create\", \"capabilities\": {\"iotEdge\": true}}]");
    assertEquals(200, imported.status(), imported::toString);
    assertEquals(List.of("$edgeAgent", "$edgeHub"),
        registry.getModulesOnDevice(bulk).stream().map(Module::getId).sorted().toList());

    String later = id("edge-later");
    Device plain = registry.addDevice(new Device(later));
    assertEquals(List.of(), registry.getModulesOnDevice(later));
    DeviceCapabilities capabilities = new DeviceCapabilities();
    capabilities.setIotEdge(true);
    plain.setCapabilities(capabilities);
    registry.updateDevice(plain);
    assertEquals(List.of("$edgeAgent", "$edgeHub"),
        registry.getModulesOnDevice(later).stream().map(Module::getId).sorted().toList());
  }

  /** {@code ./twinhub deployment create|list|show|delete} against the same node. */
  @Test
  void deploymentCommand() throws Exception {
    String fleet = id("cli");
    String device = id("edge-cli");
    addEdgeDevice(device);
    tag(device, "fleet", fleet);
    Path manifest = dataDir.resolve(fleet + ".json");
    java.nio.file.Files.writeString(manifest, "{\"modulesContent\": " + baseManifest() + "}");
    String id = id("cli-deployment");

    io.twinhub.node.cli.CliRun created = cli("deployment", "create", id, "--file", manifest.toString(),
        "--target-condition", "tags.fleet = '" + fleet + "'", "--priority", "3");
    assertEquals(0, created.exit(), created::toString);
    assertEquals(3, JSON.readTree(created.out()).path("priority").asInt());
    await("the CLI's deployment on $edgeHub", () -> twins.get(device, "$edgeHub").getDesiredProperties().get("routes") != null);
    await("listed with its metrics", () -> {
      io.twinhub.node.cli.CliRun listed = cli("deployment", "list");
      return listed.exit() == 0 && listed.out().lines().anyMatch(l -> l.contains(id) && l.contains("deployment") && l.contains(" 1 "));
    });
    io.twinhub.node.cli.CliRun shown = cli("deployment", "show", id);
    assertEquals(0, shown.exit(), shown::toString);
    assertTrue(JSON.readTree(shown.out()).at("/systemMetrics/results").has("targetedCount"), shown::toString);

    java.nio.file.Files.writeString(manifest, "{\"modulesContent\": {\"$edgeAgent\": {\"properties.desired\": {}}}}");
    io.twinhub.node.cli.CliRun bad = cli("deployment", "create", id("cli-bad"), "--file", manifest.toString());
    assertEquals(1, bad.exit(), bad::toString);
    assertTrue(bad.err().contains("ArgumentInvalid") && bad.err().contains("$edgeHub"), bad::toString);

    assertEquals(0, cli("deployment", "delete", id).exit());
    assertEquals(1, cli("deployment", "show", id).exit());
  }

  private static io.twinhub.node.cli.CliRun cli(String... args) {
    List<String> all = new java.util.ArrayList<>(List.of(args));
    all.addAll(List.of("--data-dir", dataDir.toString(), "--url", "https://127.0.0.1:" + hub.node.api().httpsPort()));
    return io.twinhub.node.cli.CliRun.of(all.toArray(String[]::new));
  }

  // ------------------------------------------------------------------ helpers

  /** An IoT Edge device ({@code capabilities.iotEdge}), created with the SDK. */
  private static void addEdgeDevice(String deviceId) throws Exception {
    Device edge = new Device(deviceId);
    DeviceCapabilities capabilities = new DeviceCapabilities();
    capabilities.setIotEdge(true);
    edge.setCapabilities(capabilities);
    registry.addDevice(edge);
  }

  private static void assertArgumentInvalid(ConfigurationContent content, String condition, String named) {
    Configuration c = new Configuration(id("bad"));
    c.setContent(content);
    c.setTargetCondition(condition);
    IotHubException e = assertThrows(IotHubBadFormatException.class, () -> configurations.create(c));
    assertEquals(400004, e.getErrorCode(), e.getMessage());
    assertTrue(e.getMessage().contains(named), e.getMessage());
    assertThrows(IotHubNotFoundException.class, () -> configurations.get(c.getId()), "nothing was stored");
  }

  private static com.fasterxml.jackson.databind.JsonNode baseManifest() throws Exception {
    return json("""
        {"$edgeAgent": {"properties.desired": {
            "schemaVersion": "1.1",
            "runtime": {"type": "docker", "settings": {"minDockerVersion": "v1.25", "loggingOptions": "", "registryCredentials": {}}},
            "systemModules": {
              "edgeAgent": {"type": "docker", "settings": {"image": "mcr.microsoft.com/azureiotedge-agent:1.5", "createOptions": "{}"}},
              "edgeHub": {"type": "docker", "status": "running", "restartPolicy": "always",
                          "settings": {"image": "mcr.microsoft.com/azureiotedge-hub:1.5", "createOptions": "{}"}}},
            "modules": {
              "tempSensor": {"version": "1.0", "type": "docker", "status": "running", "restartPolicy": "always",
                             "env": {"SEND_INTERVAL": {"value": 5}},
                             "settings": {"image": "mcr.microsoft.com/azureiotedge-simulated-temperature-sensor:1.5", "createOptions": "{}"}}}}},
         "$edgeHub": {"properties.desired": {
            "schemaVersion": "1.1",
            "routes": {"upstream": {"route": "FROM /messages/* INTO $upstream", "priority": 0, "timeToLiveSecs": 86400}},
            "storeAndForwardConfiguration": {"timeToLiveSecs": 7200}}}}""");
  }

  @SuppressWarnings("unchecked")
  private static ConfigurationContent modulesContent(com.fasterxml.jackson.databind.JsonNode modules) {
    ConfigurationContent content = new ConfigurationContent();
    content.setModulesContent(JSON.convertValue(modules, Map.class));
    return content;
  }

  private static ConfigurationContent deviceContent(Map<String, Object> paths) {
    ConfigurationContent content = new ConfigurationContent();
    content.setDeviceContent(new HashMap<>(paths));
    return content;
  }

  private static Configuration configuration(String id, String condition, int priority, Map<String, Object> paths) {
    Configuration c = new Configuration(id);
    c.setContent(deviceContent(paths));
    c.setTargetCondition(condition);
    c.setPriority(priority);
    return c;
  }

  private static com.fasterxml.jackson.databind.JsonNode json(String text) throws Exception {
    return JSON.readTree(text);
  }

  private static void tag(String deviceId, String name, String value) throws Exception {
    Twin twin = twins.get(deviceId);
    twin.getTags().put(name, value);
    twins.patch(twin);
  }

  private static Object desired(String deviceId, String name) throws Exception {
    return twins.get(deviceId).getDesiredProperties().get(name);
  }

  private static void awaitDesired(String deviceId, String moduleId, String name, String expectedJson) throws Exception {
    com.fasterxml.jackson.databind.JsonNode expected = json(expectedJson);
    await(name + " on " + deviceId, () -> {
      Object v = (moduleId == null ? twins.get(deviceId) : twins.get(deviceId, moduleId)).getDesiredProperties().get(name);
      return v != null && expected.equals(normalized(v));
    });
  }

  /** The SDK's TwinCollection (maps, Long/Double numbers) as a Jackson tree for comparison. */
  private static com.fasterxml.jackson.databind.JsonNode normalized(Object v) {
    try {
      return JSON.readTree(JSON.writeValueAsString(v));
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static void await(String what, Callable<Boolean> condition) throws Exception {
    long end = System.nanoTime() + DEADLINE.toNanos();
    Exception last = null;
    while (System.nanoTime() < end) {
      try {
        if (condition.call()) return;
      } catch (Exception e) {
        last = e;
      }
      Thread.sleep(250);
    }
    fail("not within " + DEADLINE.toSeconds() + " s: " + what + (last != null ? " (last error: " + last + ")" : ""));
  }

  private static String id(String prefix) {
    return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
  }
}
