package io.twinhub.node.amqp;

import com.typesafe.config.Config;

import java.time.Duration;

/** The {@code twinhub.amqp} config block (see application.conf). */
public record AmqpSettings(int port, int maxFrameSize, int maxConnections, Duration authTimeout, int feedbackBatchSize,
                           Duration feedbackBatchWait) {
  public static AmqpSettings from(Config config) {
    Config a = config.getConfig("twinhub.amqp");
    return new AmqpSettings(a.getInt("port"), a.getInt("max-frame-size"), a.getInt("max-connections"),
        a.getDuration("auth-timeout"), a.getInt("feedback-batch-size"), a.getDuration("feedback-batch-wait"));
  }
}
