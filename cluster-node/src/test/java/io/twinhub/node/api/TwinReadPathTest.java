package io.twinhub.node.api;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** Which requests the twin read path takes; everything it leaves goes through the route tree. */
class TwinReadPathTest {

  @Test
  void takesDeviceAndModuleTwinPathsWithValidIdsWrittenWithoutEscapes() {
    assertEquals(new TwinReadPath.Ids("thermostat-1", null), TwinReadPath.ids("/twins/thermostat-1"));
    assertEquals(new TwinReadPath.Ids("d", "m.1"), TwinReadPath.ids("/twins/d/modules/m.1"));
    // IoT Hub's special characters that a path carries as they are.
    assertEquals(new TwinReadPath.Ids("a-._*!(),:=@$'+b", null), TwinReadPath.ids("/twins/a-._*!(),:=@$'+b"));
  }

  @Test
  void leavesEveryOtherPathToTheRouteTree() {
    assertNull(TwinReadPath.ids("/twins/"));                       // no id: the route's 404
    assertNull(TwinReadPath.ids("/twins/d/"));                     // trailing slash
    assertNull(TwinReadPath.ids("/twins/d/methods"));              // another resource
    assertNull(TwinReadPath.ids("/twins/d/modules/"));
    assertNull(TwinReadPath.ids("/twins/d/modules/m/methods"));
    assertNull(TwinReadPath.ids("/twins/vic%20tim"));              // escapes: the route decodes and judges
    assertNull(TwinReadPath.ids("/twins/a%25b"));
    assertNull(TwinReadPath.ids("/twins/" + "d".repeat(129)));     // invalid id: the route's 400
    assertNull(TwinReadPath.ids("/devices/d"));
    assertNull(TwinReadPath.ids("/twinsd"));
    assertNull(TwinReadPath.ids("//twins/d"));
  }

  @Test
  void takesOnlyAQueryThatIsExactlyOneApiVersion() {
    assertEquals("2021-04-12", TwinReadPath.apiVersion("api-version=2021-04-12"));
    assertNull(TwinReadPath.apiVersion(null));
    assertNull(TwinReadPath.apiVersion(""));
    assertNull(TwinReadPath.apiVersion("api-version=2021-04-12&api-version=2020-09-30"));
    assertNull(TwinReadPath.apiVersion("api-version=2021-04-12&top=1"));
    assertNull(TwinReadPath.apiVersion("top=1&api-version=2021-04-12"));
    assertNull(TwinReadPath.apiVersion("api-version=2021%2D04-12"));
    assertNull(TwinReadPath.apiVersion("api-version=2021+04"));
    assertNull(TwinReadPath.apiVersion("api-versions=2021-04-12"));
  }
}
