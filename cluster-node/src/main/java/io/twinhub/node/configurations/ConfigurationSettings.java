package io.twinhub.node.configurations;

import com.typesafe.config.Config;

import java.time.Duration;

/**
 * {@code twinhub.configurations}: how often the applier reads the store and recounts metrics, how
 * many devices it works on at once, the store's size bound, and the journal windows.
 *
 * @param followOverlap how far before its start the applier reads the journal
 * @param recentWindow  how long a device the journal showed is included in reconciliations
 */
public record ConfigurationSettings(Duration pollInterval, Duration metricsInterval, int parallelism,
                                    int maxConfigurations, Duration followOverlap, Duration recentWindow,
                                    Duration askTimeout) {
  public static ConfigurationSettings from(Config config) {
    Config c = config.getConfig("twinhub.configurations");
    return new ConfigurationSettings(c.getDuration("poll-interval"), c.getDuration("metrics-interval"),
        c.getInt("parallelism"), c.getInt("max-configurations"), c.getDuration("follow-overlap"),
        c.getDuration("recent-window"), c.getDuration("ask-timeout"));
  }
}
