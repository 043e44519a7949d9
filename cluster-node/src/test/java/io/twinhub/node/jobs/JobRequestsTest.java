package io.twinhub.node.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.twin.domain.JsonDoc;
import io.twinhub.twin.domain.TwinLimits;
import io.twinhub.twin.error.IotHubErrorCode;
import io.twinhub.twin.job.JobSpec;
import io.twinhub.twin.job.JobType;
import org.junit.jupiter.api.Test;

import java.time.Instant;

import static org.junit.jupiter.api.Assertions.*;

class JobRequestsTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static final Instant NOW = Instant.parse("2026-12-06T10:00:00Z");

  static JobRequests.Parsed parse(String id, String body) throws Exception {
    return JobRequests.parse(id, JsonDoc.of((ObjectNode) JSON.readTree(body)), NOW, TwinLimits.DEFAULT);
  }

  static JobSpec valid(String id, String body) throws Exception {
    return assertInstanceOf(JobRequests.Valid.class, parse(id, body)).spec();
  }

  static String invalid(String id, String body) throws Exception {
    var e = assertInstanceOf(JobRequests.Invalid.class, parse(id, body)).error();
    assertEquals(IotHubErrorCode.ArgumentInvalid, e.code());
    return e.message();
  }

  @Test
  void theJavaSdksTwinJobBody() throws Exception {
    JobSpec s = valid("j1", """
        {"jobId":"j1","type":"scheduleUpdateTwin","cloudToDeviceMethod":null,
         "updateTwin":{"deviceId":null,"etag":"*","tags":{"fw":"2"},"properties":{"desired":{"rate":5},"reported":{}}},
         "queryCondition":"tags.site = 'x'","startTime":"2026-12-06T11:00:00.000Z","maxExecutionTimeInSeconds":600}""");
    assertEquals(JobType.scheduleUpdateTwin, s.type());
    assertEquals("tags.site = 'x'", s.queryCondition());
    assertEquals(Instant.parse("2026-12-06T11:00:00Z"), s.startTime());
    assertEquals(600, s.maxExecutionTimeInSeconds());
    assertEquals("2", s.tagsPatch().get("fw").asText());
    assertEquals(5, s.desiredPatch().get("rate").asInt());
  }

  @Test
  void theJavaSdksMethodJobBodyWithDefaults() throws Exception {
    JobSpec s = valid("j2", """
        {"jobId":"j2","type":"scheduleDeviceMethod","cloudToDeviceMethod":{"methodName":"reboot","payload":{"d":1}},
         "updateTwin":null,"queryCondition":null}""");
    assertEquals("reboot", s.method().methodName());
    assertEquals(30, s.method().responseTimeoutInSeconds());
    assertEquals(0, s.method().connectTimeoutInSeconds());
    assertEquals(NOW, s.startTime(), "no start time: now");
    assertEquals("", s.queryCondition(), "no condition: every device");
  }

  @Test
  void badJobsSayWhatIsWrong() throws Exception {
    assertTrue(invalid("j", "{\"jobId\":\"other\",\"type\":\"scheduleUpdateTwin\",\"updateTwin\":{\"tags\":{\"a\":1}}}").contains("jobId"));
    assertTrue(invalid("j", "{\"type\":\"scheduleUpdateTwin\",\"queryCondition\":\"tags.a = \",\"updateTwin\":{\"tags\":{\"a\":1}}}")
        .contains("queryCondition"));
    assertTrue(invalid("j", "{\"type\":\"scheduleUpdateTwin\",\"updateTwin\":{}}").contains("tags and/or"));
    assertTrue(invalid("j", "{\"type\":\"scheduleUpdateTwin\",\"updateTwin\":{\"tags\":{\"$x\":1}}}").startsWith("updateTwin"));
    assertTrue(invalid("j", "{\"type\":\"scheduleUpdateTwin\",\"maxExecutionTimeInSeconds\":-1,\"updateTwin\":{\"tags\":{\"a\":1}}}")
        .contains("maxExecutionTimeInSeconds"));
    assertTrue(invalid("j", "{\"type\":\"scheduleDeviceMethod\",\"cloudToDeviceMethod\":{\"methodName\":\"\"}}").contains("methodName"));
    assertTrue(invalid("j", "{\"type\":\"scheduleDeviceMethod\",\"cloudToDeviceMethod\":{\"methodName\":\"m\",\"connectTimeoutInSeconds\":301}}")
        .contains("connectTimeoutInSeconds"));
    assertTrue(invalid("a#b", "{\"type\":\"scheduleUpdateTwin\",\"updateTwin\":{\"tags\":{\"a\":1}}}").contains("job id"));
  }

  @Test
  void selectionPagesAfterTheLastDeviceId() {
    assertEquals("SELECT deviceId FROM devices", IndexDeviceSelector.query("", null));
    assertEquals("SELECT deviceId FROM devices WHERE tags.a = 1", IndexDeviceSelector.query("tags.a = 1", null));
    assertEquals("SELECT deviceId FROM devices WHERE deviceId > 'it''s' AND (tags.a = 1 OR tags.b = 2)",
        IndexDeviceSelector.query("tags.a = 1 OR tags.b = 2", "it's"));
  }
}
