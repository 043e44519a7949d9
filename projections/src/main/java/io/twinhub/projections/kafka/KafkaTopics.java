package io.twinhub.projections.kafka;

import io.twinhub.projections.streams.HubMessage;
import io.twinhub.projections.streams.MessageSource;
import io.twinhub.projections.streams.NamedRoute;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * Which Kafka topics a feed message goes to (docs/KAFKA.md, "Topics"): per source
 * ({@code <prefix><source>}, e.g. {@code twinhub.twinChangeEvents}) and/or per named route
 * ({@code <prefix>route.<name>}, every route whose source and condition the message matches,
 * as IoT Hub delivers a message to each matching route's endpoint). Pure: the publisher puts a
 * message's records on all its topics in one transaction.
 */
public final class KafkaTopics {
  /** Kafka's own rule for topic names. */
  private static final Pattern LEGAL = Pattern.compile("[a-zA-Z0-9._-]{1,249}");

  private KafkaTopics() {}

  /**
   * @param selection entries of {@code twinhub.kafka.topics}: {@code sources} (all four),
   *                  a source's name ({@code twinChangeEvents}, ...), {@code routes} (every route
   *                  in {@code routes}), {@code route:<name>} (one route)
   * @throws IllegalArgumentException an unknown entry, an unknown route, or a topic name Kafka refuses
   */
  public static Function<HubMessage, List<String>> of(String prefix, List<String> selection, List<NamedRoute> routes) {
    Set<MessageSource> sources = EnumSet.noneOf(MessageSource.class);
    Map<String, NamedRoute> published = new LinkedHashMap<>();
    for (String entry : selection) {
      String e = entry.strip();
      if (e.equals("sources")) {
        sources.addAll(EnumSet.allOf(MessageSource.class));
      } else if (e.equals("routes")) {
        routes.forEach(r -> published.put(r.name(), r));
      } else if (e.startsWith("route:")) {
        String name = e.substring("route:".length());
        NamedRoute r = routes.stream().filter(x -> x.name().equals(name)).findFirst().orElseThrow(() ->
            new IllegalArgumentException("twinhub.kafka.topics '" + e + "': no route '" + name + "' in twinhub.routes"));
        published.put(name, r);
      } else {
        sources.add(MessageSource.fromWire(e).orElseThrow(() -> new IllegalArgumentException("twinhub.kafka.topics '" + e
            + "': expected sources, routes, route:<name> or a source (twinChangeEvents, deviceLifecycleEvents, "
            + "deviceConnectionStateEvents, deviceMessages)")));
      }
    }
    for (MessageSource s : sources) checkName(prefix + s.wire());
    List<NamedRoute> byRoute = List.copyOf(published.values());
    List<String> routeTopics = byRoute.stream().map(r -> checkName(routeTopic(prefix, r.name()))).toList();
    return m -> {
      List<String> topics = new ArrayList<>(1);
      if (sources.contains(m.source()) && !io.twinhub.projections.streams.HubMessages.isFunctionOutput(m)) {
        topics.add(prefix + m.source().wire());
      }
      for (int i = 0; i < byRoute.size(); i++) {
        if (byRoute.get(i).condition().test(m)) topics.add(routeTopics.get(i));
      }
      return topics;
    };
  }

  /** Every message to the topic of its source: {@code <prefix><source>}. */
  public static Function<HubMessage, List<String>> perSource(String prefix) {
    return of(prefix, List.of("sources"), List.of());
  }

  public static String routeTopic(String prefix, String route) {
    return prefix + "route." + route;
  }

  private static String checkName(String topic) {
    if (!LEGAL.matcher(topic).matches() || topic.equals(".") || topic.equals("..")) {
      throw new IllegalArgumentException("Kafka topic name '" + topic + "' is not legal (letters, digits, '.', '_', '-'; at most 249)");
    }
    return topic;
  }
}
