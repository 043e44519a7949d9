package io.twinhub.mqtt.session;

import io.twinhub.twin.entity.KeptSession;

import java.util.Map;
import java.util.Optional;

/**
 * Where a connecting session's persistent state comes from. The session store is the durable
 * truth, but reading it recovers its entity (it passivates 30 s after use, to keep idle sessions
 * small); the twin, warm across a reconnect, holds what the last connection knew of the store
 * when it closed ({@link KeptSession}), so a reconnect of a known device reads nothing.
 */
final class SessionRestore {
  private SessionRestore() {}

  /**
   * The stored session as the twin kept it, or empty when the store must be read (CleanSession=0)
   * or cleared (CleanSession=1): nothing kept, or a session to forget is stored.
   */
  static Optional<SessionStore.Stored> fromKept(boolean cleanSession, KeptSession kept) {
    if (kept == null) return Optional.empty();
    if (!cleanSession) return Optional.of(new SessionStore.Stored(kept.present(), kept.subscriptions()));
    return kept.present() ? Optional.empty() : Optional.of(new SessionStore.Stored(false, Map.of()));
  }

  /**
   * What a closing connection leaves with the twin: the store as it knows it (a persistent session
   * stores exactly its subscriptions; a clean one stores nothing), null when a write's outcome is unknown.
   */
  static KeptSession toKeep(boolean persistent, boolean present, Map<String, Integer> subscriptions, boolean writeUnsure) {
    if (writeUnsure) return null;
    return persistent ? new KeptSession(present, subscriptions, attachFor(subscriptions))
        : new KeptSession(false, Map.of(), KeptSession.Attach.NONE);
  }

  /** What a connection restoring {@code filters} attaches to the twin for (as {@link DeviceTopics#subscription} reads them). */
  static KeptSession.Attach attachFor(Map<String, Integer> filters) {
    return new KeptSession.Attach(filters.containsKey(DeviceTopics.TWIN_DESIRED_FILTER),
        filters.containsKey(DeviceTopics.METHODS_FILTER));
  }
}
