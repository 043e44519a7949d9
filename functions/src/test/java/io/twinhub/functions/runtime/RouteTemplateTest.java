package io.twinhub.functions.runtime;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class RouteTemplateTest {

  @Test
  void literalsParametersOptionalAndCatchAll() {
    assertEquals(Optional.of(Map.of()), RouteTemplate.match("hello", "hello"));
    assertEquals(Optional.of(Map.of()), RouteTemplate.match("hello", "HELLO"));
    assertEquals(Optional.empty(), RouteTemplate.match("hello", "hello/x"));
    assertEquals(Optional.of(Map.of("deviceId", "d 1")), RouteTemplate.match("devices/{deviceId}/greeting", "devices/d%201/greeting"));
    assertEquals(Optional.empty(), RouteTemplate.match("devices/{deviceId}/greeting", "devices/d1"));
    assertEquals(Optional.of(Map.of()), RouteTemplate.match("items/{id?}", "items"));
    assertEquals(Optional.of(Map.of("id", "7")), RouteTemplate.match("items/{id:int?}", "items/7"));
    assertEquals(Optional.of(Map.of("path", "a/b/c")), RouteTemplate.match("files/{*path}", "files/a/b/c"));
  }

  @Test
  void returnValuesBecomeResponses() {
    ObjectMapper json = new ObjectMapper();
    assertEquals(204, HttpResult.of(null, json).status());
    HttpResult text = HttpResult.of("hi", json);
    assertEquals("text/plain; charset=utf-8", text.contentType());
    assertArrayEquals("hi".getBytes(StandardCharsets.UTF_8), text.body());
    HttpResult built = HttpResult.of(new HttpMessages.ResponseBuilder().status(com.microsoft.azure.functions.HttpStatus.CREATED)
        .header("Content-Type", "application/json").header("X-Id", "1").body("{}").build(), json);
    assertEquals(201, built.status());
    assertEquals("application/json", built.contentType());
    assertEquals(Map.of("X-Id", "1"), built.headers());
    assertEquals("{\"a\":1}", new String(HttpResult.of(Map.of("a", 1), json).body(), StandardCharsets.UTF_8));
  }
}
