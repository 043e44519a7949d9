package io.twinhub.edge.agent;

import org.junit.jupiter.api.Test;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** The workload API leaves no thread behind when the runtime closes (a suite's JVM once held them 870 s later). */
class WorkloadApiTest {
  @Test
  void closeEndsItsHandlerThreads() throws Exception {
    ModuleIdentities identities = new ModuleIdentities("127.0.0.1", 1, javax.net.ssl.SSLContext.getDefault(), "gw", "a2V5");
    WorkloadApi api = new WorkloadApi(identities, Path.of("ca.pem"));
    api.start();
    // A request starts a handler thread (the answer does not matter here).
    HttpClient.newHttpClient().send(HttpRequest.newBuilder(api.uri().resolve("/modules/none/genid/1/sign")).GET().build(),
        HttpResponse.BodyHandlers.discarding());
    assertTrue(handlerThreads() > 0, "a handler thread ran the request");
    api.close();
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (handlerThreads() > 0 && System.nanoTime() < deadline) Thread.sleep(20);
    assertEquals(0, handlerThreads(), "handler threads left after close");
  }

  private static long handlerThreads() {
    return Thread.getAllStackTraces().keySet().stream().filter(t -> t.isAlive() && t.getName().equals("workload-api")).count();
  }
}
