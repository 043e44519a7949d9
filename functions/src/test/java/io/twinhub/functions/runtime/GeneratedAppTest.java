package io.twinhub.functions.runtime;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Apps compiled here from a few lines of source against the library: what publish refuses, and batch binding. */
class GeneratedAppTest {

  /** Compiles {@code source} (class {@code app.Fn}) against the Azure Functions library into a JAR. */
  static Path app(Path dir, String source) throws Exception {
    Path src = dir.resolve("src/app/Fn.java");
    Files.createDirectories(src.getParent());
    Files.writeString(src, source);
    Path classes = Files.createDirectories(dir.resolve("classes"));
    assertEquals(0, AppJars.compile(src, classes), "compiles");
    Path jar = dir.resolve("app.jar");
    try (var out = Files.newOutputStream(jar)) {
      AppJars.jar(classes, out);
    }
    return jar;
  }

  @Test
  void anUnsupportedTriggerIsRefusedNamingFunctionAndBinding(@TempDir Path dir) throws Exception {
    Path jar = app(dir, """
        package app;
        import com.microsoft.azure.functions.annotation.*;
        public class Fn {
          @FunctionName("onBlob")
          public void onBlob(@BlobTrigger(name = "b", path = "c/{name}", connection = "Storage") String b) {}
        }
        """);
    InvalidAppException e = assertThrows(InvalidAppException.class, () -> FunctionApp.load("x", 1, jar));
    assertTrue(e.getMessage().startsWith("function 'onBlob' (app.Fn.onBlob): @BlobTrigger on trigger is not supported by twinhub"),
        e.getMessage());
  }

  @Test
  void anUnboundParameterAndABadScheduleAreRefused(@TempDir Path dir) throws Exception {
    Path jar = app(dir, """
        package app;
        import com.microsoft.azure.functions.annotation.*;
        public class Fn {
          @FunctionName("tick")
          public void tick(@TimerTrigger(name = "t", schedule = "*/5 * * * *") String t) {}
          @FunctionName("loose")
          public void loose(@TimerTrigger(name = "t", schedule = "0 * * * * *") String t, String extra) {}
        }
        """);
    InvalidAppException e = assertThrows(InvalidAppException.class, () -> FunctionApp.load("x", 1, jar));
    assertEquals(2, e.problems().size(), e::getMessage);
    assertTrue(e.getMessage().contains("'loose'") && e.getMessage().contains("parameter #2 (java.lang.String) has no binding"), e.getMessage());
    assertTrue(e.getMessage().contains("'tick'") && e.getMessage().contains("must have six fields"), e.getMessage());
  }

  @Test
  void aBatchBindsToAStringAsAJsonArrayUnderTheDefaultCardinality(@TempDir Path dir) throws Exception {
    Path jar = app(dir, """
        package app;
        import com.microsoft.azure.functions.*;
        import com.microsoft.azure.functions.annotation.*;
        public class Fn {
          @FunctionName("batch")
          public void batch(@EventHubTrigger(name = "m", eventHubName = "messages/events", connection = "c") String batch,
                            ExecutionContext context) {
            context.getLogger().info(batch);
          }
        }
        """);
    try (FunctionApp app = FunctionApp.load("x", 1, jar)) {
      assertTrue(((Trigger.EventHub) app.functions().get("batch").trigger()).many(), "MANY is the annotation's default");
      var json = new InvocationInput.Event("{\"a\":1}".getBytes(StandardCharsets.UTF_8), Map.of(), Map.of(), Instant.now());
      var text = new InvocationInput.Event("plain".getBytes(StandardCharsets.UTF_8), Map.of(), Map.of(), Instant.now());
      InvocationResult r = app.invoke("batch", new InvocationInput.Events(List.of(json, text)), "i1");
      assertTrue(r.succeeded(), r::error);
      assertTrue(r.logs().get(0).endsWith("INFO [{\"a\":1},\"plain\"]"), r.logs()::toString);
    }
  }

  @Test
  void eventHubOutputsResolveTheirRouteFromAppSettingsAndCarryEveryValue(@TempDir Path dir) throws Exception {
    Path jar = app(dir, """
        package app;
        import com.microsoft.azure.functions.*;
        import com.microsoft.azure.functions.annotation.*;
        import java.util.*;
        public class Fn {
          @FunctionName("relay")
          @EventHubOutput(name = "$return", eventHubName = "%AlertsRoute%", connection = "Hub")
          public String relay(@EventHubTrigger(name = "m", eventHubName = "messages/events", connection = "Hub",
                                  cardinality = Cardinality.ONE) String m,
                              @EventHubOutput(name = "copies", eventHubName = "audit", connection = "Hub") OutputBinding<List<String>> copies,
                              @BindingName("AppSettings") Map<String, String> settings) {
            copies.setValue(List.of(m, m + settings.get("Suffix")));
            return "alert:" + m;
          }
        }
        """);
    InvalidAppException e = assertThrows(InvalidAppException.class, () -> FunctionApp.load("x", 1, jar));
    assertTrue(e.getMessage().contains("app setting 'AlertsRoute' (in '%AlertsRoute%') is not set"), e.getMessage());
    try (FunctionApp app = FunctionApp.load("x", 1, jar, Map.of("AlertsRoute", "alerts", "Suffix", "!"))) {
      FunctionDefinition f = app.functions().get("relay");
      assertEquals(new FunctionDefinition.Output("$return", "eventHub", "alerts"), f.returnOutput());
      var event = new InvocationInput.Event("hot".getBytes(StandardCharsets.UTF_8), Map.of(), Map.of(), Instant.now());
      InvocationResult r = app.invoke("relay", new InvocationInput.Events(List.of(event)), "i1");
      assertTrue(r.succeeded(), r::error);
      assertEquals(2, r.outputs().size(), r.outputs()::toString);
      assertEquals(new FunctionDefinition.Output("copies", "eventHub", "audit"), r.outputs().get(0).binding());
      assertEquals(List.of("hot", "hot!"), r.outputs().get(0).value());
      assertEquals("alerts", r.outputs().get(1).binding().target());
      assertEquals("alert:hot", r.outputs().get(1).value());
    }
  }
}
