package io.twinhub.mqtt.session;

import org.junit.jupiter.api.Test;

import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

class DeviceTopicsTest {
  private final DeviceTopics topics = new DeviceTopics("dev-1", null);

  @Test
  void ridIsTakenFromTheQueryWithOrWithoutQuestionMarkAndAmongOtherParameters() {
    assertEquals(Optional.of("42"), DeviceTopics.rid("?$rid=42"));
    assertEquals(Optional.of("42"), DeviceTopics.rid("$rid=42"));
    assertEquals(Optional.of("a-b_c.d:e"), DeviceTopics.rid("?x=1&$rid=a-b_c.d:e&y=2"));
    assertEquals(Optional.of("7"), DeviceTopics.rid("?$rid=7&"));
    assertEquals(Optional.of("1"), DeviceTopics.rid("?$rid=1&$rid=2"), "the first $rid counts");
    assertEquals(Optional.of("x".repeat(128)), DeviceTopics.rid("?$rid=" + "x".repeat(128)));
  }

  @Test
  void ridThatIsMissingEmptyTooLongOrHasOtherCharactersIsRefused() {
    assertEquals(Optional.empty(), DeviceTopics.rid(""));
    assertEquals(Optional.empty(), DeviceTopics.rid("?"));
    assertEquals(Optional.empty(), DeviceTopics.rid("?rid=1"));
    assertEquals(Optional.empty(), DeviceTopics.rid("?$rid="));
    assertEquals(Optional.empty(), DeviceTopics.rid("?$rid=&x=1"));
    assertEquals(Optional.empty(), DeviceTopics.rid("?$rid=" + "x".repeat(129)));
    assertEquals(Optional.empty(), DeviceTopics.rid("?$rid=a/b"));
    assertEquals(Optional.empty(), DeviceTopics.rid("?$rid=a b"));
    assertEquals(Optional.empty(), DeviceTopics.rid("?$rid=é"));
    assertEquals(Optional.empty(), DeviceTopics.rid("?x=$rid=1"));
  }

  @Test
  void twinTopicsAreClassifiedWithTheirRid() {
    assertEquals(new DeviceTopics.TwinPatchReported("9"), topics.classify("$iothub/twin/PATCH/properties/reported/?$rid=9"));
    assertEquals(new DeviceTopics.TwinGet("abc"), topics.classify("$iothub/twin/GET/?$rid=abc"));
    assertEquals(new DeviceTopics.MethodResponse(200, "5"), topics.classify("$iothub/methods/res/200/?$rid=5"));
    assertInstanceOf(DeviceTopics.Refused.class, topics.classify("$iothub/twin/PATCH/properties/reported/?$rid=a+b"));
    assertInstanceOf(DeviceTopics.Refused.class, topics.classify("$iothub/twin/GET/"));
  }
}
