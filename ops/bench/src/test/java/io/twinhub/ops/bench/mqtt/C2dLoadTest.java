package io.twinhub.ops.bench.mqtt;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class C2dLoadTest {

  @Test
  void messageIdFromTheDeviceboundPropertyBag() {
    assertEquals("abc-17", C2dLoad.messageId(
        "devices/c2d-bench-3/messages/devicebound/%24.mid=abc-17&%24.to=%2Fdevices%2Fc2d-bench-3%2Fmessages%2FdeviceBound"));
    assertEquals("x", C2dLoad.messageId("devices/d/messages/devicebound/%24.mid=x"));
    assertNull(C2dLoad.messageId("devices/d/messages/devicebound/color=blue"));
  }
}
