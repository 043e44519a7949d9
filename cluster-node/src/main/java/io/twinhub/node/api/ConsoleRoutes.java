package io.twinhub.node.api;

import akka.actor.typed.ActorSystem;
import akka.cluster.Member;
import akka.cluster.typed.Cluster;
import akka.http.javadsl.model.ContentTypes;
import akka.http.javadsl.model.HttpEntities;
import akka.http.javadsl.model.HttpHeader;
import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.model.headers.RawHeader;
import akka.http.javadsl.server.AllDirectives;
import akka.http.javadsl.server.Route;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.node.metrics.NodeMetrics;
import io.twinhub.twin.auth.AccessRight;

import akka.actor.typed.javadsl.AskPattern;
import akka.cluster.sharding.ShardRegion;
import akka.cluster.sharding.typed.ClusterShardingQuery;
import akka.cluster.sharding.typed.GetClusterShardingStats;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.sharding.typed.javadsl.EntityTypeKey;
import io.twinhub.twin.entity.DeviceEntity;
import io.twinhub.twin.entity.ModuleEntity;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The web console and the API's description, served by every node with the {@code api} role:
 * <ul>
 *   <li>{@code GET /console/...}: static ES modules, CSS and HTML from the classpath
 *       ({@code console/}); no build step, no server-side state. The page signs its own SAS tokens
 *       in the browser and calls the public REST API like any other client.</li>
 *   <li>{@code GET /openapi.json}: the OpenAPI 3.1 document of the REST API.</li>
 *   <li>{@code GET /cluster/members} and {@code GET /cluster/metrics} (ServiceConnect): the
 *       cluster's members with each one's shards and active entities (the shard regions'
 *       cluster-wide stats) and the node's Prometheus text, so the console (on the API's HTTPS
 *       origin) can show what the plain-HTTP management port shows.</li>
 * </ul>
 */
public final class ConsoleRoutes extends AllDirectives {

  /** Only this origin's scripts and calls; no inline scripts, no framing. */
  private static final List<HttpHeader> STATIC_HEADERS = List.of(
      RawHeader.create("Content-Security-Policy",
          "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'"),
      RawHeader.create("X-Content-Type-Options", "nosniff"),
      RawHeader.create("Referrer-Policy", "no-referrer"),
      RawHeader.create("Cache-Control", "no-cache"));

  private final ActorSystem<?> system;
  private final ApiServer server;

  public ConsoleRoutes(ActorSystem<?> system, ApiServer server) {
    this.system = system;
    this.server = server;
  }

  public Route route() {
    return concat(
        path("openapi.json", () -> get(() -> respondWithHeaders(STATIC_HEADERS, () ->
            getFromResource("openapi/openapi.json", ContentTypes.APPLICATION_JSON)))),
        pathPrefix("console", () -> get(() -> concat(
            // "/console" → "/console/" so that the page's relative module paths resolve under it.
            pathEnd(() -> redirect(akka.http.javadsl.model.Uri.create("/console/"), StatusCodes.MOVED_PERMANENTLY)),
            pathSingleSlash(() -> respondWithHeaders(STATIC_HEADERS, () ->
                getFromResource("console/index.html", ContentTypes.TEXT_HTML_UTF8))),
            respondWithHeaders(STATIC_HEADERS, () -> getFromResourceDirectory("console"))))),
        pathPrefix("cluster", () -> concat(
            path("members", () -> get(() -> server.authorized(AccessRight.ServiceConnect, () ->
                onSuccess(shardsPerMember(), shards -> complete(server.responses().ok(members(shards))))))),
            path("metrics", () -> get(() -> server.authorized(AccessRight.ServiceConnect, () ->
                complete(HttpEntities.create(ContentTypes.parse("text/plain; version=0.0.4; charset=utf-8"),
                    NodeMetrics.registry().scrape().getBytes(StandardCharsets.UTF_8)))))))));
  }

  /** Entity types whose shards the console shows per member. */
  private static final List<EntityTypeKey<?>> SHARDED = List.of(DeviceEntity.TYPE_KEY, ModuleEntity.TYPE_KEY);
  private static final Duration STATS_TIMEOUT = Duration.ofSeconds(3);

  /** Shards and active entities per member address and entity type, as the shard regions of the whole cluster report them. */
  CompletionStage<Map<String, Map<String, int[]>>> shardsPerMember() {
    Map<String, Map<String, int[]>> out = new ConcurrentHashMap<>();
    CompletableFuture<?>[] asks = SHARDED.stream().map(key ->
        AskPattern.<ClusterShardingQuery, ShardRegion.ClusterShardingStats>ask(ClusterSharding.get(system).shardState(),
                replyTo -> new GetClusterShardingStats(key, STATS_TIMEOUT, replyTo), STATS_TIMEOUT.plusSeconds(1), system.scheduler())
            .thenAccept(stats -> stats.getRegions().forEach((address, region) -> out
                .computeIfAbsent(address.toString(), a -> new ConcurrentHashMap<>())
                .put(key.name(), new int[] {region.getStats().size(), region.getStats().values().stream().mapToInt(n -> ((Number) n).intValue()).sum()})))
            // A member whose region did not answer in time shows no shard counts rather than failing the page.
            .exceptionally(e -> null)
            .toCompletableFuture()).toArray(CompletableFuture[]::new);
    return CompletableFuture.allOf(asks).thenApply(v -> out);
  }

  /** The members as this node sees them: address, status, roles, reachability, the leader, this node, and each one's shards. */
  ObjectNode members(Map<String, Map<String, int[]>> shards) {
    Cluster cluster = Cluster.get(system);
    akka.cluster.ClusterEvent.CurrentClusterState state = cluster.state();
    JsonNodeFactory f = JsonNodeFactory.instance;
    ObjectNode out = f.objectNode();
    out.put("self", cluster.selfMember().address().toString());
    out.put("leader", state.getLeader() == null ? null : state.getLeader().toString());
    java.util.Set<Member> unreachable = state.getUnreachable();
    ArrayNode list = out.putArray("members");
    for (Member m : state.getMembers()) {
      ObjectNode o = list.addObject();
      o.put("address", m.address().toString());
      o.put("status", m.status().toString());
      o.put("dataCenter", m.dataCenter());
      o.put("reachable", !unreachable.contains(m));
      ArrayNode roles = o.putArray("roles");
      m.getRoles().stream().filter(r -> !r.startsWith("dc-")).sorted().forEach(roles::add);
      Map<String, int[]> mine = shards.get(m.address().toString());
      if (mine != null) {
        ObjectNode sh = o.putObject("shards");
        ObjectNode en = o.putObject("entities");
        new java.util.TreeMap<>(mine).forEach((type, counts) -> {
          sh.put(type, counts[0]);
          en.put(type, counts[1]);
        });
      }
    }
    return out;
  }
}
