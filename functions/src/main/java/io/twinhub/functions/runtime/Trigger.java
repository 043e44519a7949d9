package io.twinhub.functions.runtime;

import java.util.List;

/** What starts a function, read from its trigger annotation. */
public sealed interface Trigger {
  String kind();

  /**
   * {@code @HttpTrigger}: served at {@code /api/<route>}; {@code route} defaults to the function name.
   *
   * @param methods upper-case HTTP methods; empty = every method
   */
  record Http(String route, List<String> methods, String authLevel) implements Trigger {
    public String kind() {
      return "httpTrigger";
    }
  }

  /** {@code @EventHubTrigger}: {@code messages/events} is device telemetry (IoT Hub's built-in endpoint). */
  record EventHub(String eventHubName, boolean many, String connection, String consumerGroup) implements Trigger {
    public String kind() {
      return "eventHubTrigger";
    }
  }

  /** {@code @TimerTrigger} with a six-field NCRONTAB schedule. */
  record Timer(String schedule, NCrontab cron) implements Trigger {
    public String kind() {
      return "timerTrigger";
    }
  }
}
