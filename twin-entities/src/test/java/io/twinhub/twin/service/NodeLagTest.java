package io.twinhub.twin.service;

import org.junit.jupiter.api.Test;

import java.util.ArrayDeque;
import java.util.concurrent.Executor;

import static org.junit.jupiter.api.Assertions.*;

class NodeLagTest {
  /** An executor that runs what it was given only when the test says so: a dispatcher that is behind. */
  static final class Held implements Executor {
    final ArrayDeque<Runnable> queued = new ArrayDeque<>();

    @Override
    public void execute(Runnable r) {
      queued.add(r);
    }

    void runAll() {
      while (!queued.isEmpty()) queued.poll().run();
    }
  }

  static final long MS = 1_000_000L;

  @Test
  void theLagIsTheLongestProbeWaitAndAProbeStillWaitingCountsAtOnce() {
    long[] now = {1_000 * MS};
    Held held = new Held();
    Held prompt = new Held();
    NodeLag lag = new NodeLag(() -> now[0], held, prompt);
    assertEquals(0, lag.lagNanos());
    lag.tick();
    prompt.runAll();
    assertEquals(1, held.queued.size());
    now[0] += 300 * MS;
    assertEquals(300 * MS, lag.lagNanos(), "the probe still waiting on the held dispatcher: its age so far");
    lag.tick();
    assertEquals(1, held.queued.size(), "no second probe while one waits");
    prompt.runAll();
    now[0] += 100 * MS;
    held.runAll();
    assertEquals(400 * MS, lag.lagNanos(), "it waited 400 ms: the lag until the next probe runs");
    lag.tick();
    now[0] += 5 * MS;
    held.runAll();
    prompt.runAll();
    assertEquals(5 * MS, lag.lagNanos(), "caught up");
  }
}
