package io.twinhub.node.api;

import org.junit.jupiter.api.BeforeAll;

import java.util.Map;
import java.util.concurrent.Executors;

/**
 * {@link OverloadIT}'s writes through a real node at a fixed limit of 1 with
 * {@code overload-mode = refuse} and {@code refused-hold} (session 15): a device refused by the
 * stream stage is held with its socket unread until the admission grants its connection a slot
 * (its next patch then goes in with it) or the hold (200 ms here) runs out. With 8 devices against
 * a limit of 1 grants, holds that run out, and fresh refusals all happen; the checks are
 * OverloadIT's: only 204 or 429 (429001), answers in order, and each twin's reported
 * {@code $version} = 1 + its 204s (a refused patch is never applied, a granted slot is never lost).
 */
class OverloadHoldIT extends OverloadIT {

  @BeforeAll
  static void start() throws Exception {
    hub = ApiTestNode.start(dataDir, Map.of(
        "twinhub.twin.admission.initial-limit", 1,
        "twinhub.twin.admission.min-limit", 1,
        "twinhub.twin.admission.max-limit", 1,
        "twinhub.mqtt.throttle-pause", "100ms",
        "twinhub.mqtt.throttle-pause-max", "0s",
        "twinhub.mqtt.overload-mode", "refuse",
        "twinhub.mqtt.refused-hold", "200ms"));
    pool = Executors.newFixedThreadPool(REST_CLIENTS + DEVICES);
  }
}
