package io.twinhub.twin.entity;

import io.twinhub.twin.TwinhubSerializable;

import java.util.Map;

/**
 * What the device's last connection knew to be in its persistent MQTT session store when it
 * closed: {@code present} (a stored session exists) and its subscriptions (topic filter → QoS).
 * The twin keeps it in memory only (never journaled), from that connection's detach until the
 * next connection attaches, so a reconnect of a warm twin restores the session without reading
 * the store. The store stays the durable truth: a twin that restarted, moved or passivated has
 * none, and the connection reads the store.
 */
public record KeptSession(boolean present, Map<String, Integer> subscriptions) implements TwinhubSerializable {
  public KeptSession {
    subscriptions = Map.copyOf(subscriptions);
  }
}
