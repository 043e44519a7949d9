package io.twinhub.edge.hub;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class RouteTest {

  static EdgeMessage message(String module, String output, Map<String, String> props, String contentType, String body) {
    Map<String, String> sys = contentType == null ? Map.of() : Map.of("content-type", contentType);
    return new EdgeMessage("gw", module, output, props, sys, body.getBytes(StandardCharsets.UTF_8), 0);
  }

  @Test
  void iotEdgeRouteSyntax() {
    Route r = Route.parse("hot", "FROM /messages/modules/a/outputs/out1 WHERE $body.temp > 30 AND alert = 'yes' "
        + "INTO BrokeredEndpoint(\"/modules/b/inputs/in1\")");
    assertEquals(new Route.ModuleInput("b", "in1"), r.sink());
    EdgeMessage hot = message("a", "out1", Map.of("alert", "yes"), "application/json", "{\"temp\": 31}");
    assertTrue(r.matches(hot));
    assertFalse(r.matches(message("a", "out1", Map.of("alert", "yes"), "application/json", "{\"temp\": 30}")));
    assertFalse(r.matches(message("a", "out1", Map.of("alert", "yes"), "text/plain", "{\"temp\": 31}")),
        "the body is read as JSON only when its content type says so");
    assertFalse(r.matches(message("a", "out2", Map.of("alert", "yes"), "application/json", "{\"temp\": 31}")));

    Route up = Route.parse("up", "from /messages/* into $upstream");
    assertInstanceOf(Route.Upstream.class, up.sink());
    assertTrue(up.matches(message("x", null, Map.of(), null, "")));
    assertTrue(up.matches(message(null, null, Map.of(), null, "")), "leaf device messages too");
  }

  @Test
  void sourcePaths() {
    assertTrue(Route.sourceMatches("/messages/modules/a/*", "/messages/modules/a/outputs/o"));
    assertTrue(Route.sourceMatches("/messages/modules/a/outputs/*", "/messages/modules/a/outputs/o"));
    assertFalse(Route.sourceMatches("/messages/modules/a/*", "/messages/modules/ab/outputs/o"));
    assertTrue(Route.sourceMatches("/messages/modules/a", "/messages/modules/a"));
    assertFalse(Route.sourceMatches("/messages/modules/a/outputs/o", "/messages/modules/a/outputs/o2"));
    assertTrue(Route.sourceMatches("/*", "/messages/events"));
  }

  @Test
  void badRoutesNameTheProblem() {
    assertTrue(assertThrows(IllegalArgumentException.class, () -> Route.parse("r", "TO nowhere")).getMessage()
        .contains("FROM <source>"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> Route.parse("r", "FROM /messages/* INTO somewhere"))
        .getMessage().contains("$upstream or BrokeredEndpoint"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> Route.parse("r", "FROM /messages/* WHERE a = INTO $upstream"))
        .getMessage().contains("condition"));
  }

  @Test
  void propertyBagsPutSystemPropertiesFirstAndEncodeForTheSdks() {
    String bag = PropertyBag.encode(new java.util.LinkedHashMap<>(Map.of("$.cdid", "gw")),
        Map.of("content-type", "application/json", "iothub-connection-device-id", "ignored"),
        Map.of("note", "a b+c&d=e"));
    assertEquals("%24.cdid=gw&%24.ct=application%2Fjson&note=a%20b%2Bc%26d%3De", bag);
  }
}
