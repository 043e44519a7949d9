package io.twinhub.node.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DirectMethodRequestsTest {
  static final ObjectMapper JSON = new ObjectMapper();

  static DirectMethodRequests.Parsed parse(String json) throws Exception {
    return DirectMethodRequests.parse((ObjectNode) JSON.readTree(json), "dev1", null);
  }

  @Test
  void defaultsAndValues() throws Exception {
    DirectMethods.Request r = assertInstanceOf(DirectMethodRequests.Valid.class, parse("{\"methodName\":\"reboot\"}")).request();
    assertEquals("reboot", r.methodName());
    assertTrue(r.payload().isNull());
    assertEquals(Duration.ofSeconds(30), r.responseTimeout());
    assertEquals(Duration.ZERO, r.connectTimeout());
    DirectMethods.Request full = assertInstanceOf(DirectMethodRequests.Valid.class, parse(
        "{\"methodName\":\"set\",\"payload\":{\"a\":[1]},\"responseTimeoutInSeconds\":5,\"connectTimeoutInSeconds\":300}")).request();
    assertEquals("{\"a\":[1]}", full.payload().toString());
    assertEquals(Duration.ofSeconds(5), full.responseTimeout());
    assertEquals(Duration.ofSeconds(300), full.connectTimeout());
  }

  @Test
  void refusals() throws Exception {
    for (String bad : new String[] {"{}", "{\"methodName\":\"\"}", "{\"methodName\":7}", "{\"methodName\":\"a\\u0001\"}",
        "{\"methodName\":\"" + "m".repeat(129) + "\"}", "{\"methodName\":\"x\",\"responseTimeoutInSeconds\":4}",
        "{\"methodName\":\"x\",\"responseTimeoutInSeconds\":301}", "{\"methodName\":\"x\",\"responseTimeoutInSeconds\":\"30\"}",
        "{\"methodName\":\"x\",\"connectTimeoutInSeconds\":-1}", "{\"methodName\":\"x\",\"connectTimeoutInSeconds\":1.5}"}) {
      DirectMethodRequests.Invalid i = assertInstanceOf(DirectMethodRequests.Invalid.class, parse(bad), bad);
      assertEquals(400004, i.error().errorCode(), bad);
    }
  }
}
