package io.twinhub.projections.streams;

import java.util.function.Predicate;

/**
 * A configured route (IoT Hub's "routes"): a message source and a condition over the
 * message, consumed as its own stream.
 *
 * @param conditionText the condition as configured ("true" when none)
 */
public record NamedRoute(String name, MessageSource source, String conditionText, Predicate<HubMessage> condition) {}
