package io.twinhub.node.configurations;

import com.fasterxml.jackson.databind.JsonNode;
import io.twinhub.twin.configuration.Configuration;
import io.twinhub.twin.configuration.ConfigurationMerge;
import io.twinhub.twin.configuration.EdgeManifest;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * IoT Hub's system metrics of a configuration, counted over the documents of the twins it
 * targets (read from the query index). Pure.
 *
 * <ul>
 *   <li>{@code targetedCount}: twins that meet the target condition;</li>
 *   <li>{@code appliedCount}, automatic configurations: targeted twins whose desired properties
 *       hold the configuration's content on at least one path no configuration of higher
 *       precedence overrides (IoT Hub counts partial application too);</li>
 *   <li>{@code appliedCount}, IoT Edge deployments: targeted devices this deployment applies to
 *       (the winning base deployment, or a layered one above it);</li>
 *   <li>{@code reportedSuccessfulCount} / {@code reportedFailedCount}: of those, devices whose
 *       {@code $edgeAgent} reports the current desired version ({@code lastDesiredVersion} =
 *       desired {@code $version}) with {@code lastDesiredStatus.code} 200 / another code.</li>
 * </ul>
 */
public final class ConfigurationMetrics {
  private ConfigurationMetrics() {}

  /**
   * @param targeted   service-view documents of the twins {@code target} targets
   * @param all        every configuration's target (to find what else applies to a twin)
   * @param edgeAgents {@code $edgeAgent} module twin documents by device id (edge deployments only)
   */
  public static Map<String, Long> system(TargetCondition target, List<JsonNode> targeted, List<TargetCondition> all,
                                         Map<String, JsonNode> edgeAgents) {
    Configuration c = target.configuration();
    Map<String, Long> out = new LinkedHashMap<>();
    out.put("targetedCount", (long) targeted.size());
    long applied = 0;
    long succeeded = 0;
    long failed = 0;
    for (JsonNode twin : targeted) {
      List<Configuration> matching = matching(all, c.kind(), twin);
      if (c.kind() != Configuration.Kind.EDGE) {
        if (ConfigurationMerge.isApplied(c, matching, twin.path("properties").path("desired"))) applied++;
        continue;
      }
      if (ConfigurationMerge.appliedDeployments(matching).stream().noneMatch(d -> d.id().equals(c.id()))) continue;
      applied++;
      JsonNode agent = edgeAgents.get(twin.path("deviceId").asText());
      if (agent == null) continue;
      JsonNode reported = agent.path("properties").path("reported");
      JsonNode desiredVersion = agent.path("properties").path("desired").path("$version");
      JsonNode lastDesired = reported.path("lastDesiredVersion");
      if (!lastDesired.isNumber() || !desiredVersion.isNumber() || lastDesired.asLong() != desiredVersion.asLong()) continue;
      if (reported.path("lastDesiredStatus").path("code").asInt(-1) == 200) succeeded++;
      else failed++;
    }
    out.put("appliedCount", applied);
    if (c.kind() == Configuration.Kind.EDGE) {
      out.put("reportedSuccessfulCount", succeeded);
      out.put("reportedFailedCount", failed);
    }
    return out;
  }

  /** The queries behind the system metrics that the query language can express. */
  public static Map<String, String> systemQueries(TargetCondition target) {
    return target.targetsNothing() ? Map.of() : Map.of("targetedCount", target.indexQuery("deviceId"));
  }

  /** The configurations of {@code kind} targeting {@code twin}. */
  public static List<Configuration> matching(List<TargetCondition> all, Configuration.Kind kind, JsonNode twin) {
    return all.stream().filter(t -> t.configuration().kind() == kind && t.matches(twin))
        .map(TargetCondition::configuration).toList();
  }

  /** The index query that reads every {@code $edgeAgent} twin (reported status of deployments). */
  public static String edgeAgentsQuery() {
    return "SELECT * FROM devices.modules WHERE moduleId = '" + EdgeManifest.EDGE_AGENT + "'";
  }
}
