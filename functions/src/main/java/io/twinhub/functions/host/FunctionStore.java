package io.twinhub.functions.host;

import akka.Done;
import akka.actor.typed.ActorSystem;
import akka.stream.alpakka.cassandra.javadsl.CassandraSession;
import akka.stream.alpakka.cassandra.javadsl.CassandraSessionRegistry;
import com.datastax.oss.driver.api.core.cql.Row;
import com.datastax.oss.driver.api.core.uuid.Uuids;
import io.twinhub.functions.runtime.InvocationResult;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

/**
 * Function apps in Cassandra, beside the journal (keyspace {@code <journal keyspace>_functions}):
 * every published version of an app with its JAR ({@code apps}), the app's function key and
 * disabled functions ({@code app_state}), recent invocations with their logs ({@code invocations},
 * kept {@code invocation-ttl}), and the trigger offsets of the workers ({@code offsets}).
 */
public final class FunctionStore {
  private final CassandraSession session;
  private final String ks;
  private final int invocationTtlSeconds;

  public record AppVersion(String app, int version, Instant published, String sha256, String functionsJson) {}

  /**
   * @param settings     the app settings (name to value)
   * @param functionKeys per function, its own keys (key name to value), beside the app's {@code key}
   */
  public record AppState(String key, Set<String> disabled, Map<String, String> settings,
                         Map<String, Map<String, String>> functionKeys) {
    public AppState(String key, Set<String> disabled) {
      this(key, disabled, Map.of(), Map.of());
    }

    public static final AppState NONE = new AppState(null, Set.of());

    AppState with(Map<String, String> s, Map<String, Map<String, String>> k) {
      return new AppState(key, disabled, Map.copyOf(s), Map.copyOf(k));
    }
  }

  /** Rows of {@code app_config}: an app setting ({@code kind} "setting") or a function key ({@code kind} "key:<function>"). */
  static final String SETTING = "setting";
  static final String KEY_PREFIX = "key:";

  public record Invocation(String app, UUID id, String function, String trigger, String status, long durationMicros,
                           String error, List<String> logs) {
    public Instant startedAt() {
      return Instant.ofEpochMilli(Uuids.unixTimestamp(id));
    }
  }

  public FunctionStore(ActorSystem<?> system, String keyspace, Duration invocationTtl) {
    this.session = CassandraSessionRegistry.get(system).sessionFor("akka.persistence.cassandra");
    this.ks = keyspace;
    this.invocationTtlSeconds = (int) Math.max(1, invocationTtl.toSeconds());
  }

  /** Creates keyspace and tables, retrying until {@code deadline} (a busy Cassandra takes its time with schema). */
  public void ensureSchema(int replicationFactor, Duration deadline) {
    List<String> ddl = List.of(
        "CREATE KEYSPACE IF NOT EXISTS " + ks + " WITH replication = {'class': 'SimpleStrategy', 'replication_factor': "
            + replicationFactor + "}",
        "CREATE TABLE IF NOT EXISTS " + ks + ".apps (app text, version int, published timestamp, sha256 text, functions text,"
            + " jar blob, PRIMARY KEY (app, version)) WITH CLUSTERING ORDER BY (version DESC)",
        "CREATE TABLE IF NOT EXISTS " + ks + ".app_state (app text PRIMARY KEY, key text, disabled set<text>)",
        "CREATE TABLE IF NOT EXISTS " + ks + ".invocations (app text, id timeuuid, function text, trigger text, status text,"
            + " duration_us bigint, error text, logs list<text>, PRIMARY KEY (app, id)) WITH CLUSTERING ORDER BY (id DESC)",
        "CREATE TABLE IF NOT EXISTS " + ks + ".app_config (app text, kind text, name text, value text,"
            + " PRIMARY KEY (app, kind, name))",
        "CREATE TABLE IF NOT EXISTS " + ks + ".offsets (consumer text, partition text, position text,"
            + " PRIMARY KEY (consumer, partition))",
        "CREATE TABLE IF NOT EXISTS " + ks + ".deleted_apps (app text PRIMARY KEY, version int)");
    long end = System.nanoTime() + deadline.toNanos();
    for (String cql : ddl) {
      RuntimeException last = null;
      do {
        try {
          session.executeDDL(cql).toCompletableFuture().get(30, TimeUnit.SECONDS);
          last = null;
          break;
        } catch (Exception e) {
          last = new IllegalStateException("Cassandra did not accept the functions schema (" + e.getMessage() + ")", e);
          try {
            Thread.sleep(1000);
          } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
            throw last;
          }
        }
      } while (System.nanoTime() < end);
      if (last != null) throw last;
    }
  }

  /**
   * Stores {@code jar} as the app's next version (1 for a new app; after the newest version of a
   * deleted app of that name, so a node that has the deleted version loaded still sees a newer
   * one); the version is taken with a lightweight transaction.
   */
  public CompletionStage<Integer> publish(String app, byte[] jar, String sha256, String functionsJson) {
    return latest(app).thenCombine(deletedVersion(app), (v, deleted) -> Math.max(v.map(AppVersion::version).orElse(0), deleted))
        .thenCompose(newest -> {
      int next = newest + 1;
      return session.selectOne("INSERT INTO " + ks + ".apps (app, version, published, sha256, functions, jar) VALUES (?, ?, ?, ?, ?, ?) IF NOT EXISTS",
              app, next, Instant.now(), sha256, functionsJson, ByteBuffer.wrap(jar))
          .thenCompose(row -> row.map(r -> r.getBoolean("[applied]")).orElse(false)
              ? CompletableFuture.completedFuture(next)
              : publish(app, jar, sha256, functionsJson)); // another publish took this version: take the next
    });
  }

  public CompletionStage<Optional<AppVersion>> latest(String app) {
    return session.selectOne("SELECT app, version, published, sha256, functions FROM " + ks + ".apps WHERE app = ? LIMIT 1", app)
        .thenApply(r -> r.map(FunctionStore::appVersion));
  }

  /** The newest version of every app. */
  public CompletionStage<List<AppVersion>> apps() {
    return session.selectAll("SELECT app, version, published, sha256, functions FROM " + ks + ".apps PER PARTITION LIMIT 1")
        .thenApply(rows -> rows.stream().map(FunctionStore::appVersion)
            .sorted(java.util.Comparator.comparing(AppVersion::app)).toList());
  }

  /** When the first app version still stored was published; empty when no app is. */
  public CompletionStage<Optional<java.time.Instant>> firstPublished() {
    return session.selectAll("SELECT published FROM " + ks + ".apps")
        .thenApply(rows -> rows.stream().map(r -> r.getInstant("published")).min(java.util.Comparator.naturalOrder()));
  }

  public CompletionStage<List<AppVersion>> versions(String app) {
    return session.selectAll("SELECT app, version, published, sha256, functions FROM " + ks + ".apps WHERE app = ?", app)
        .thenApply(rows -> rows.stream().map(FunctionStore::appVersion).toList());
  }

  public CompletionStage<Optional<byte[]>> jar(String app, int version) {
    return session.selectOne("SELECT jar FROM " + ks + ".apps WHERE app = ? AND version = ?", app, version)
        .thenApply(r -> r.map(row -> {
          ByteBuffer b = row.getByteBuffer("jar");
          byte[] out = new byte[b.remaining()];
          b.get(out);
          return out;
        }));
  }

  /** The newest version {@code app} had when it was last deleted (0: never deleted). */
  private CompletionStage<Integer> deletedVersion(String app) {
    return session.selectOne("SELECT version FROM " + ks + ".deleted_apps WHERE app = ?", app)
        .thenApply(r -> r.map(row -> row.getInt("version")).orElse(0));
  }

  /**
   * Removes every version, the state and the invocations of {@code app}; remembers its newest
   * version number, which a later publish of the name continues after (versions never restart).
   */
  public CompletionStage<Done> delete(String app) {
    return latest(app).thenCombine(deletedVersion(app), (v, deleted) -> Math.max(v.map(AppVersion::version).orElse(0), deleted))
        .thenCompose(newest -> session.executeWrite("INSERT INTO " + ks + ".deleted_apps (app, version) VALUES (?, ?)", app, newest))
        .thenCompose(d -> session.executeWrite("DELETE FROM " + ks + ".apps WHERE app = ?", app))
        .thenCompose(d -> session.executeWrite("DELETE FROM " + ks + ".app_state WHERE app = ?", app))
        .thenCompose(d -> session.executeWrite("DELETE FROM " + ks + ".app_config WHERE app = ?", app))
        .thenCompose(d -> session.executeWrite("DELETE FROM " + ks + ".invocations WHERE app = ?", app));
  }

  private static AppVersion appVersion(Row r) {
    return new AppVersion(r.getString("app"), r.getInt("version"), r.getInstant("published"), r.getString("sha256"),
        r.getString("functions"));
  }

  /** The app's state; a new app gets its function key here (the first writer's key wins). */
  public CompletionStage<AppState> state(String app, String newKeyIfNone) {
    return session.selectOne("SELECT key, disabled FROM " + ks + ".app_state WHERE app = ?", app).thenCompose(r -> {
      if (r.isPresent() && r.get().getString("key") != null) return CompletableFuture.completedFuture(state(r.get()));
      return session.selectOne("INSERT INTO " + ks + ".app_state (app, key) VALUES (?, ?) IF NOT EXISTS", app, newKeyIfNone)
          .thenCompose(x -> session.selectOne("SELECT key, disabled FROM " + ks + ".app_state WHERE app = ?", app))
          .thenApply(row -> row.map(FunctionStore::state).orElse(new AppState(newKeyIfNone, Set.of())));
    });
  }

  /** Every app's state with its settings and function keys, for the workers' refresh. */
  public CompletionStage<Map<String, AppState>> states() {
    return session.selectAll("SELECT app, key, disabled FROM " + ks + ".app_state").thenCompose(rows -> {
      Map<String, AppState> m = new LinkedHashMap<>();
      for (Row r : rows) m.put(r.getString("app"), state(r));
      return session.selectAll("SELECT app, kind, name, value FROM " + ks + ".app_config").thenApply(config -> {
        Map<String, Map<String, String>> settings = new LinkedHashMap<>();
        Map<String, Map<String, Map<String, String>>> keys = new LinkedHashMap<>();
        for (Row c : config) {
          String app = c.getString("app");
          String kind = c.getString("kind");
          if (SETTING.equals(kind)) {
            settings.computeIfAbsent(app, a -> new java.util.TreeMap<>()).put(c.getString("name"), c.getString("value"));
          } else if (kind.startsWith(KEY_PREFIX)) {
            keys.computeIfAbsent(app, a -> new java.util.TreeMap<>())
                .computeIfAbsent(kind.substring(KEY_PREFIX.length()), f -> new java.util.TreeMap<>())
                .put(c.getString("name"), c.getString("value"));
          }
        }
        m.replaceAll((app, st) -> st.with(settings.getOrDefault(app, Map.of()), keys.getOrDefault(app, Map.of())));
        return m;
      });
    });
  }

  /** The app's settings. */
  public CompletionStage<Map<String, String>> settings(String app) {
    return session.selectAll("SELECT name, value FROM " + ks + ".app_config WHERE app = ? AND kind = ?", app, SETTING)
        .thenApply(rows -> {
          Map<String, String> m = new java.util.TreeMap<>();
          for (Row r : rows) m.put(r.getString("name"), r.getString("value"));
          return m;
        });
  }

  /** Replaces the app's settings with {@code settings}. */
  public CompletionStage<Done> replaceSettings(String app, Map<String, String> settings) {
    CompletionStage<Done> chain = session.executeWrite("DELETE FROM " + ks + ".app_config WHERE app = ? AND kind = ?", app, SETTING);
    for (Map.Entry<String, String> e : settings.entrySet()) {
      chain = chain.thenCompose(d -> session.executeWrite("INSERT INTO " + ks + ".app_config (app, kind, name, value) VALUES (?, ?, ?, ?)",
          app, SETTING, e.getKey(), e.getValue()));
    }
    return chain;
  }

  /** Sets (or replaces) the key {@code name} of {@code function}. */
  public CompletionStage<Done> putFunctionKey(String app, String function, String name, String value) {
    return session.executeWrite("INSERT INTO " + ks + ".app_config (app, kind, name, value) VALUES (?, ?, ?, ?)",
        app, KEY_PREFIX + function, name, value);
  }

  public CompletionStage<Done> deleteFunctionKey(String app, String function, String name) {
    return session.executeWrite("DELETE FROM " + ks + ".app_config WHERE app = ? AND kind = ? AND name = ?",
        app, KEY_PREFIX + function, name);
  }

  private static AppState state(Row r) {
    Set<String> d = r.getSet("disabled", String.class);
    return new AppState(r.getString("key"), d == null ? Set.of() : Set.copyOf(d));
  }

  public CompletionStage<Done> setDisabled(String app, String function, boolean disabled) {
    return session.executeWrite("UPDATE " + ks + ".app_state SET disabled = disabled " + (disabled ? "+" : "-") + " ? WHERE app = ?",
        new HashSet<>(Set.of(function)), app);
  }

  public CompletionStage<Done> record(String app, String trigger, InvocationResult r) {
    UUID id = Uuids.timeBased();
    return session.executeWrite("INSERT INTO " + ks + ".invocations (app, id, function, trigger, status, duration_us, error, logs)"
            + " VALUES (?, ?, ?, ?, ?, ?, ?, ?) USING TTL " + invocationTtlSeconds,
        app, id, r.function(), trigger, r.status(), r.durationMicros(), r.error(), new ArrayList<>(r.logs()));
  }

  /** The newest {@code limit} invocations of {@code app}, newest first. */
  public CompletionStage<List<Invocation>> invocations(String app, int limit) {
    return session.selectAll("SELECT app, id, function, trigger, status, duration_us, error, logs FROM " + ks
            + ".invocations WHERE app = ? LIMIT " + Math.max(1, limit), app)
        .thenApply(rows -> rows.stream().map(r -> new Invocation(r.getString("app"), r.getUuid("id"), r.getString("function"),
            r.getString("trigger"), r.getString("status"), r.getLong("duration_us"), r.getString("error"),
            Optional.ofNullable(r.getList("logs", String.class)).orElse(List.of()))).toList());
  }

  public CompletionStage<Optional<String>> offset(String consumer, String partition) {
    return session.selectOne("SELECT position FROM " + ks + ".offsets WHERE consumer = ? AND partition = ?", consumer, partition)
        .thenApply(r -> r.map(row -> row.getString("position")));
  }

  public CompletionStage<Done> saveOffset(String consumer, String partition, String position) {
    return session.executeWrite("INSERT INTO " + ks + ".offsets (consumer, partition, position) VALUES (?, ?, ?)",
        consumer, partition, position);
  }
}
