package io.twinhub.edge.hub;

import io.twinhub.edge.mqtt.HubClient;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.*;

class TwinRelayTest {
  /** Short, so that the tests run fast; nothing here depends on how long a step takes. */
  static final Duration TIMEOUT = Duration.ofMillis(200);

  /** The upstream connection as the relay sees it: each attempt a future, answered (or not) by the test. */
  static class Hub implements Supplier<CompletableFuture<HubClient.TwinResponse>> {
    final List<CompletableFuture<HubClient.TwinResponse>> attempts = new ArrayList<>();
    final List<HubClient.TwinResponse> answers;

    /** {@code answers.get(i)}: the answer to attempt i, null for none ever. */
    Hub(HubClient.TwinResponse... answers) {
      this.answers = java.util.Arrays.asList(answers);
    }

    @Override
    public synchronized CompletableFuture<HubClient.TwinResponse> get() {
      CompletableFuture<HubClient.TwinResponse> f = new CompletableFuture<>();
      if (attempts.size() < answers.size() && answers.get(attempts.size()) != null) f.complete(answers.get(attempts.size()));
      attempts.add(f);
      return f;
    }
  }

  static HubClient.TwinResponse await(CompletableFuture<HubClient.TwinResponse> f) throws Exception {
    return f.get(30, TimeUnit.SECONDS);
  }

  @Test
  void theHubsAnswerIsPassedOn() throws Exception {
    Hub hub = new Hub(new HubClient.TwinResponse(204, null, 7));
    HubClient.TwinResponse r = await(TwinRelay.relay("PATCH/properties/reported", hub, TIMEOUT, "test"));
    assertEquals(204, r.status());
    assertEquals(7, r.version());
    assertEquals(1, hub.attempts.size());
  }

  @Test
  void anUnansweredReportedPatchIsAnswered500AndNotSentAgain() throws Exception {
    Hub hub = new Hub((HubClient.TwinResponse) null);
    HubClient.TwinResponse r = await(TwinRelay.relay("PATCH/properties/reported", hub, TIMEOUT, "test"));
    assertEquals(TwinRelay.TIMED_OUT, r.status());
    assertEquals(500_000, r.body().path("errorCode").asInt(), r.body().toString());
    assertTrue(r.body().path("message").asText().contains("may or may not have been applied"), r.body().toString());
    assertEquals(1, hub.attempts.size(), "a reported patch is never sent twice");
    // The attempt ended: the upstream client stops waiting for its rid.
    assertTrue(hub.attempts.get(0).isCompletedExceptionally());
  }

  @Test
  void anUnansweredGetIsSentOnceMore() throws Exception {
    HubClient.TwinResponse twin = new HubClient.TwinResponse(200, new com.fasterxml.jackson.databind.ObjectMapper()
        .readTree("{\"desired\":{\"$version\":3},\"reported\":{\"$version\":1}}"), -1);
    Hub hub = new Hub(null, twin);
    HubClient.TwinResponse r = await(TwinRelay.relay("GET", hub, TIMEOUT, "test"));
    assertSame(twin, r);
    assertEquals(2, hub.attempts.size());
  }

  @Test
  void aGetUnansweredTwiceIsAnswered500() throws Exception {
    Hub hub = new Hub(null, null);
    HubClient.TwinResponse r = await(TwinRelay.relay("GET", hub, TIMEOUT, "test"));
    assertEquals(TwinRelay.TIMED_OUT, r.status());
    assertEquals(2, hub.attempts.size());
  }

  @Test
  void aClosedConnectionFailsAtOnceForTheOfflinePath() {
    Hub hub = new Hub() {
      @Override
      public synchronized CompletableFuture<HubClient.TwinResponse> get() {
        attempts.add(null);
        return CompletableFuture.failedFuture(new IOException("connection to the hub is closed"));
      }
    };
    ExecutionException e = assertThrows(ExecutionException.class,
        () -> await(TwinRelay.relay("GET", hub, Duration.ofMinutes(10), "test")));
    assertInstanceOf(IOException.class, e.getCause());
    assertEquals(1, hub.attempts.size(), "not sent again: the connection is gone, the caller answers from its copy");
  }
}
