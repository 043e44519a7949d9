package io.twinhub.functions.runtime;

import com.microsoft.azure.functions.HttpResponseMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.jar.JarOutputStream;
import java.util.zip.ZipEntry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The sample app's JAR (built by the reactor) loaded, scanned and invoked in its own class loader. */
class FunctionAppTest {
  static FunctionApp app;

  static Path sampleJar() {
    Path p = Path.of(System.getProperty("functions.sample.jar", "../functions-sample/target/twinhub-functions-sample-0.1.0-SNAPSHOT.jar"));
    assertTrue(Files.isRegularFile(p), "the sample app JAR is built by the reactor first: " + p);
    return p;
  }

  @BeforeAll
  static void load() throws Exception {
    app = FunctionApp.load("sample", 1, sampleJar());
  }

  @AfterAll
  static void close() {
    app.close();
  }

  @Test
  void findsEveryFunctionWithItsTrigger() {
    Map<String, FunctionDefinition> f = app.functions();
    assertEquals(List.of("fail", "greeting", "heartbeat", "hello", "hog", "notify", "rejectPoison", "setting", "sleepy", "telemetryBatch",
            "telemetryToTwin", "twinChanges"),
        f.keySet().stream().sorted().toList());
    assertEquals(new Trigger.Http("devices/{deviceId}/greeting", List.of("GET"), "FUNCTION"), f.get("greeting").trigger());
    assertEquals("hello", ((Trigger.Http) f.get("hello").trigger()).route());
    Trigger.EventHub one = (Trigger.EventHub) f.get("telemetryToTwin").trigger();
    assertEquals("messages/events", one.eventHubName());
    assertFalse(one.many());
    assertTrue(((Trigger.EventHub) f.get("telemetryBatch").trigger()).many());
    assertEquals("*/5 * * * * *", ((Trigger.Timer) f.get("heartbeat").trigger()).schedule());
    assertEquals(new FunctionDefinition.RetryPolicy(2, java.time.Duration.ofSeconds(1), java.time.Duration.ofSeconds(1), false),
        f.get("rejectPoison").retry());
    assertEquals(FunctionDefinition.RetryPolicy.DEFAULT, f.get("telemetryToTwin").retry());
  }

  @Test
  void appClassesLiveInTheirOwnLoaderAndShareOnlyTheLibrary() throws Exception {
    Class<?> c = app.functions().get("hello").method().getDeclaringClass();
    assertEquals("function-app-sample", c.getClassLoader().getName());
    assertEquals(HttpResponseMessage.class, c.getClassLoader().loadClass(HttpResponseMessage.class.getName()));
    // The hub's classes (and Jackson) are invisible to the app.
    assertThrows(ClassNotFoundException.class, () -> c.getClassLoader().loadClass(FunctionApp.class.getName()));
    assertThrows(ClassNotFoundException.class, () -> c.getClassLoader().loadClass("com.fasterxml.jackson.databind.ObjectMapper"));
    try (FunctionApp other = FunctionApp.load("sample", 2, sampleJar())) {
      assertNotSame(c, other.functions().get("hello").method().getDeclaringClass());
    }
  }

  @Test
  void httpFunctionGetsItsRequestAndLogs() {
    InvocationResult r = app.invoke("hello", new InvocationInput.Http("GET", URI.create("https://h/api/hello?name=Ada"),
        Map.of("Accept", "text/plain"), Map.of("name", "Ada"), new byte[0], Map.of()), "inv-1");
    assertTrue(r.succeeded(), r::error);
    HttpResponseMessage response = (HttpResponseMessage) r.returnValue();
    assertEquals(200, response.getStatusCode());
    assertEquals("Hello, Ada", response.getBody());
    assertEquals("text/plain", response.getHeader("content-type"));
    assertEquals(1, r.logs().size());
    assertTrue(r.logs().get(0).contains("INFO hello called with GET"), r.logs()::toString);
  }

  @Test
  void routeValuesBindByName() {
    InvocationResult r = app.invoke("greeting", new InvocationInput.Http("GET", URI.create("https://h/api/devices/d7/greeting"),
        Map.of(), Map.of(), new byte[0], Map.of("deviceId", "d7")), "inv-2");
    assertTrue(r.succeeded(), r::error);
    assertEquals("{\"greeting\":\"hi d7\"}", ((HttpResponseMessage) r.returnValue()).getBody());
  }

  @Test
  void aThrowingFunctionIsAFailedInvocation() {
    InvocationResult r = app.invoke("fail", new InvocationInput.Http("GET", URI.create("https://h/api/fail"), Map.of(), Map.of(),
        new byte[0], Map.of()), "inv-3");
    assertFalse(r.succeeded());
    assertEquals("java.lang.IllegalStateException: boom from the sample app", r.error());
    assertTrue(r.logs().get(0).contains("about to fail"));
  }

  @Test
  void telemetrySetsATwinPatchOutput() {
    var event = new InvocationInput.Event("{\"temperature\":21.5}".getBytes(StandardCharsets.UTF_8), Map.of("alert", "no"),
        Map.of("iothub-connection-device-id", "thermo-1"), Instant.parse("2026-01-01T00:00:00Z"));
    InvocationResult r = app.invoke("telemetryToTwin", new InvocationInput.Events(List.of(event)), "inv-4");
    assertTrue(r.succeeded(), r::error);
    assertEquals(1, r.outputs().size());
    assertEquals("twinPatch", r.outputs().get(0).binding().kind());
    assertEquals("{\"deviceId\":\"thermo-1\",\"tags\":{\"lastTelemetry\":{\"temperature\":21.5},\"lastTelemetryProperties\":\"{alert=no}\"}}",
        r.outputs().get(0).value());
  }

  @Test
  void batchesBindListsAndPropertyArrays() {
    var e1 = new InvocationInput.Event("a".getBytes(StandardCharsets.UTF_8), Map.of(), Map.of("iothub-connection-device-id", "d1"), Instant.now());
    var e2 = new InvocationInput.Event("b".getBytes(StandardCharsets.UTF_8), Map.of(), Map.of("iothub-connection-device-id", "d2"), Instant.now());
    InvocationResult r = app.invoke("telemetryBatch", new InvocationInput.Events(List.of(e1, e2)), "inv-5");
    assertTrue(r.succeeded(), r::error);
    assertTrue(r.logs().get(0).contains("batch of 2 message(s), first from d1"), r.logs()::toString);
  }

  @Test
  void aJarWithoutFunctionsIsRefusedWithAReason(@TempDir Path dir) throws Exception {
    Path jar = dir.resolve("empty.jar");
    try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
      out.putNextEntry(new ZipEntry("readme.txt"));
      out.write("no code".getBytes(StandardCharsets.UTF_8));
    }
    InvalidAppException e = assertThrows(InvalidAppException.class, () -> FunctionApp.load("empty", 1, jar));
    assertTrue(e.getMessage().contains("holds no function"), e.getMessage());
    Path notAJar = Files.writeString(dir.resolve("x.jar"), "hello");
    assertTrue(assertThrows(InvalidAppException.class, () -> FunctionApp.load("x", 1, notAJar)).getMessage().contains("not a JAR"));
  }

  @Test
  void retryIntervalsAreTimeSpans() {
    assertEquals(java.time.Duration.ofSeconds(5), FunctionApp.timeSpan("00:00:05"));
    assertEquals(java.time.Duration.ofDays(1).plusMinutes(2), FunctionApp.timeSpan("1.00:02:00"));
    assertThrows(IllegalArgumentException.class, () -> FunctionApp.timeSpan("5s"));
  }
}
