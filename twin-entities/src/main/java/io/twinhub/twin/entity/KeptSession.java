package io.twinhub.twin.entity;

import io.twinhub.twin.TwinhubSerializable;

import java.util.Map;
import java.util.Optional;

/**
 * What the device's last connection knew to be in its persistent MQTT session store when it
 * closed: {@code present} (a stored session exists) and its subscriptions (topic filter → QoS).
 * The twin keeps it in memory only (never journaled), from that connection's detach until the
 * next connection attaches, so a reconnect of a warm twin restores the session without reading
 * the store. The store stays the durable truth: a twin that restarted, moved or passivated has
 * none, and the connection reads the store.
 *
 * @param attach what a connection restoring these subscriptions attaches to the twin for (null: not
 *               known, e.g. left by a node without it): lets the twin attach a reconnect at its lookup
 */
public record KeptSession(boolean present, Map<String, Integer> subscriptions, Attach attach) implements TwinhubSerializable {
  /** The twin's pushes a session subscribes to: desired changes, direct methods. */
  public record Attach(boolean desired, boolean methods) implements TwinhubSerializable {
    public static final Attach NONE = new Attach(false, false);
  }

  public KeptSession {
    subscriptions = Map.copyOf(subscriptions);
  }

  public KeptSession(boolean present, Map<String, Integer> subscriptions) {
    this(present, subscriptions, null);
  }

  /**
   * What a connecting session with {@code cleanSession} attaches for if the twin attaches it at its
   * lookup, or empty when the connection must first read its store (CleanSession=0 with the
   * subscriptions' pushes unknown) or clear it (CleanSession=1 and a session stored): as
   * the connection would restore it from this (MqttSession's {@code SessionRestore.fromKept}).
   */
  public Optional<Attach> attachAtConnect(boolean cleanSession) {
    if (cleanSession) return present ? Optional.empty() : Optional.of(Attach.NONE);
    return Optional.ofNullable(attach);
  }
}
