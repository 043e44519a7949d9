package io.twinhub.twin.job;

import java.time.Duration;

/**
 * How jobs spread their work ({@code twinhub.jobs}).
 *
 * @param sliceSize      devices per slice (one query page, one slice entity)
 * @param runningSlices  slices of one job that run at the same time (spread over the cluster by sharding)
 * @param parallelism    devices a slice has in flight at once
 * @param wakeInterval   how often the keeper wakes every unfinished job (and they their slices): what
 *                       resumes work after a node died
 * @param reportInterval how often a running slice tells its job how far it is
 * @param askTimeout     requests to job entities
 */
public record JobSettings(int sliceSize, int runningSlices, int parallelism, Duration wakeInterval,
                          Duration reportInterval, Duration askTimeout) {
  public static final JobSettings DEFAULT = new JobSettings(1000, 8, 32, Duration.ofSeconds(5),
      Duration.ofMillis(500), Duration.ofSeconds(10));
}
