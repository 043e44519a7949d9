package io.twinhub.ops.bench;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class BulkSeederTest {

  static final List<String> SENT = List.of("bench-100", "bench-101", "bench-102");

  @Test
  void bodyCreatesEachDeviceAndDisablesEveryHundredth() {
    assertEquals("[{\"id\":\"bench-100\",\"importMode\":\"create\",\"status\":\"disabled\"},"
        + "{\"id\":\"bench-101\",\"importMode\":\"create\"}]", BulkSeeder.body(List.of("bench-100", "bench-101")));
  }

  @Test
  void allCreatedLeavesNothing() {
    assertEquals(BulkSeeder.Verdict.done(), BulkSeeder.judge(200, "{\"isSuccessful\":true,\"errors\":[],\"warnings\":[]}", SENT));
  }

  @Test
  void perDeviceErrorsSayWhatToSendAgainAndWhatFailed() {
    String body = """
        {"isSuccessful":false,"errors":[
          {"deviceId":"bench-100","errorCode":"DeviceAlreadyExists","errorStatus":"exists"},
          {"deviceId":"bench-101","errorCode":"ServiceUnavailable","errorStatus":"no answer in 5 s"},
          {"deviceId":"bench-102","errorCode":"ArgumentInvalid","errorStatus":"bad"}],"warnings":[]}""";
    BulkSeeder.Verdict v = BulkSeeder.judge(400, body, SENT);
    assertEquals(List.of("bench-101"), v.retry());
    assertEquals(List.of("bench-102"), v.failed());
  }

  @Test
  void unavailableOrThrottledCallIsSentAgainWholeAndARefusedOneFails() {
    assertEquals(SENT, BulkSeeder.judge(503, "", SENT).retry());
    assertEquals(SENT, BulkSeeder.judge(429, "", SENT).retry());
    BulkSeeder.Verdict refused = BulkSeeder.judge(400, "{\"Message\":\"{\\\"errorCode\\\":400004}\",\"ExceptionMessage\":\"\"}", SENT);
    assertEquals(List.of(), refused.retry());
    assertEquals(SENT, refused.failed());
    assertEquals(SENT, BulkSeeder.judge(401, "", SENT).failed());
  }
}
