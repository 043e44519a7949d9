package com.contoso.functions;

import com.microsoft.azure.functions.ExecutionContext;
import com.microsoft.azure.functions.HttpMethod;
import com.microsoft.azure.functions.HttpRequestMessage;
import com.microsoft.azure.functions.HttpResponseMessage;
import com.microsoft.azure.functions.HttpStatus;
import com.microsoft.azure.functions.OutputBinding;
import com.microsoft.azure.functions.annotation.AuthorizationLevel;
import com.microsoft.azure.functions.annotation.BindingName;
import com.microsoft.azure.functions.annotation.Cardinality;
import com.microsoft.azure.functions.annotation.CustomBinding;
import com.microsoft.azure.functions.annotation.EventHubOutput;
import com.microsoft.azure.functions.annotation.EventHubTrigger;
import com.microsoft.azure.functions.annotation.FixedDelayRetry;
import com.microsoft.azure.functions.annotation.FunctionName;
import com.microsoft.azure.functions.annotation.HttpTrigger;
import com.microsoft.azure.functions.annotation.TimerTrigger;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A function app as it would be written for Azure Functions and IoT Hub: nothing here knows
 * twinhub except the {@code twinPatch} custom binding's type name.
 */
public class TwinFunctions {

  /** GET/POST /api/hello?name=x (or a body): anonymous. */
  @FunctionName("hello")
  public HttpResponseMessage hello(
      @HttpTrigger(name = "req", methods = {HttpMethod.GET, HttpMethod.POST}, authLevel = AuthorizationLevel.ANONYMOUS)
      HttpRequestMessage<Optional<String>> request,
      ExecutionContext context) {
    context.getLogger().info("hello called with " + request.getHttpMethod());
    String name = request.getQueryParameters().getOrDefault("name", request.getBody().orElse("world"));
    return request.createResponseBuilder(HttpStatus.OK)
        .header("Content-Type", "text/plain")
        .body("Hello, " + name)
        .build();
  }

  /** GET /api/devices/{deviceId}/greeting with a function key (?code= or x-functions-key). */
  @FunctionName("greeting")
  public HttpResponseMessage greeting(
      @HttpTrigger(name = "req", methods = {HttpMethod.GET}, route = "devices/{deviceId}/greeting",
          authLevel = AuthorizationLevel.FUNCTION) HttpRequestMessage<String> request,
      @BindingName("deviceId") String deviceId,
      ExecutionContext context) {
    return request.createResponseBuilder(HttpStatus.OK).body("{\"greeting\":\"hi " + deviceId + "\"}")
        .header("Content-Type", "application/json").build();
  }

  /** Always throws: its invocation is logged as failed, the host keeps serving. */
  @FunctionName("fail")
  public String fail(
      @HttpTrigger(name = "req", methods = {HttpMethod.GET}, authLevel = AuthorizationLevel.ANONYMOUS)
      HttpRequestMessage<Optional<String>> request,
      ExecutionContext context) {
    context.getLogger().warning("about to fail");
    throw new IllegalStateException("boom from the sample app");
  }

  /** Hangs: the host's timeout fails the invocation and interrupts it. */
  @FunctionName("sleepy")
  public String sleepy(
      @HttpTrigger(name = "req", methods = {HttpMethod.GET}, authLevel = AuthorizationLevel.ANONYMOUS)
      HttpRequestMessage<Optional<String>> request,
      ExecutionContext context) throws InterruptedException {
    Thread.sleep(600_000);
    return "woke up";
  }

  /**
   * Device telemetry from IoT Hub's built-in endpoint, one message at a time: the device's twin
   * gets the message as tag {@code lastTelemetry} (via the {@code twinPatch} output binding).
   */
  @FunctionName("telemetryToTwin")
  public void telemetryToTwin(
      @EventHubTrigger(name = "message", eventHubName = "messages/events", connection = "IoTHubConnection",
          cardinality = Cardinality.ONE) String message,
      @BindingName("SystemProperties") Map<String, Object> systemProperties,
      @BindingName("Properties") Map<String, Object> properties,
      @CustomBinding(direction = "out", name = "twin", type = "twinPatch") OutputBinding<String> twin,
      ExecutionContext context) {
    String deviceId = String.valueOf(systemProperties.get("iothub-connection-device-id"));
    context.getLogger().info("telemetry from " + deviceId + ": " + message);
    String value = message.trim().startsWith("{") ? message : quote(message);
    twin.setValue("{\"deviceId\":" + quote(deviceId) + ",\"tags\":{\"lastTelemetry\":" + value
        + ",\"lastTelemetryProperties\":" + quote(String.valueOf(properties)) + "}}");
  }

  /** Refuses messages saying "poison": retried twice a second apart, then skipped; later messages still come. */
  @FunctionName("rejectPoison")
  @FixedDelayRetry(maxRetryCount = 2, delayInterval = "00:00:01")
  public void rejectPoison(
      @EventHubTrigger(name = "message", eventHubName = "messages/events", connection = "IoTHubConnection",
          cardinality = Cardinality.ONE) String message,
      ExecutionContext context) {
    if (message.contains("poison")) throw new IllegalArgumentException("poison message: " + message);
  }

  /** A twinhub route (twinhub.routes, here one of twin changes) as an Event Hubs trigger: the change notification's JSON. */
  @FunctionName("twinChanges")
  public void twinChanges(
      @EventHubTrigger(name = "change", eventHubName = "twin-changes", connection = "IoTHubConnection",
          cardinality = Cardinality.ONE) String change,
      @BindingName("SystemProperties") Map<String, Object> systemProperties,
      @BindingName("Properties") Map<String, Object> properties,
      ExecutionContext context) {
    context.getLogger().info("twin change of " + systemProperties.get("iothub-connection-device-id") + " ("
        + properties.get("opType") + "): " + change);
  }

  /** The same feed in batches. */
  @FunctionName("telemetryBatch")
  public void telemetryBatch(
      @EventHubTrigger(name = "messages", eventHubName = "messages/events", connection = "IoTHubConnection",
          cardinality = Cardinality.MANY) List<String> messages,
      @BindingName("SystemPropertiesArray") Map<String, Object>[] systemProperties,
      ExecutionContext context) {
    context.getLogger().info("batch of " + messages.size() + " message(s), first from "
        + systemProperties[0].get("iothub-connection-device-id"));
  }

  /**
   * POST /api/notify with lines of text (a function key): each line becomes one message on the
   * route {@code twin-changes} (an Event Hubs output: Azure sends each element of a list as one event),
   * beside the twin changes the route carries.
   */
  @FunctionName("notify")
  public HttpResponseMessage notify(
      @HttpTrigger(name = "req", methods = {HttpMethod.POST}, authLevel = AuthorizationLevel.FUNCTION)
      HttpRequestMessage<Optional<String>> request,
      @EventHubOutput(name = "events", eventHubName = "twin-changes", connection = "IoTHubConnection") OutputBinding<List<String>> events,
      ExecutionContext context) {
    List<String> out = new ArrayList<>();
    for (String line : request.getBody().orElse("").split("\n")) {
      if (!line.isBlank()) out.add("{\"notification\":" + quote(line.trim()) + "}");
    }
    events.setValue(out);
    context.getLogger().info("notify: " + out.size() + " event(s) to twin-changes");
    return request.createResponseBuilder(HttpStatus.ACCEPTED).body(String.valueOf(out.size())).build();
  }

  /**
   * GET /api/settings/{name}: an app setting. On Azure app settings are environment variables; in
   * twinhub's shared worker JVM they come as {@code @BindingName("AppSettings")} (null on Azure, so
   * the same code falls back to the environment there).
   */
  @FunctionName("setting")
  public HttpResponseMessage setting(
      @HttpTrigger(name = "req", methods = {HttpMethod.GET}, route = "settings/{name}", authLevel = AuthorizationLevel.ANONYMOUS)
      HttpRequestMessage<Optional<String>> request,
      @BindingName("name") String name,
      @BindingName("AppSettings") Map<String, String> settings) {
    String value = settings != null ? settings.get(name) : System.getenv(name);
    return value == null ? request.createResponseBuilder(HttpStatus.NOT_FOUND).build()
        : request.createResponseBuilder(HttpStatus.OK).header("Content-Type", "text/plain").body(value).build();
  }

  /**
   * GET /api/hog: a leak, keeping 64 KB more every millisecond until the heap runs out (bad input:
   * the invocation fails with a clear error, the node keeps serving). Admin key only; never called
   * in a shared JVM.
   */
  @FunctionName("hog")
  public String hog(
      @HttpTrigger(name = "req", methods = {HttpMethod.GET}, authLevel = AuthorizationLevel.ADMIN)
      HttpRequestMessage<Optional<String>> request,
      ExecutionContext context) throws InterruptedException {
    List<byte[]> kept = new ArrayList<>();
    while (true) {
      kept.add(new byte[64 * 1024]);
      Thread.sleep(1);
    }
  }

  /** Every 5 seconds, once in the cluster. */
  @FunctionName("heartbeat")
  public void heartbeat(@TimerTrigger(name = "timer", schedule = "*/5 * * * * *") String timerInfo,
                        ExecutionContext context) {
    context.getLogger().info("heartbeat " + timerInfo);
  }

  private static String quote(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        default -> {
          if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
          else b.append(c);
        }
      }
    }
    return b.append('"').toString();
  }
}
