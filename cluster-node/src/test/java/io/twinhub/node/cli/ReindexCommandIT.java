package io.twinhub.node.cli;

import io.twinhub.node.NodeSettings;
import io.twinhub.node.TestNodes;
import io.twinhub.node.TwinhubNode;
import io.twinhub.projections.index.IndexStatus;
import io.twinhub.projections.index.QueryIndex;
import io.twinhub.twin.domain.Authentication;
import io.twinhub.twin.domain.DeviceStatus;
import io.twinhub.twin.domain.IdentitySpec;
import io.twinhub.twin.entity.TwinReply;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code ./twinhub reindex} both ways on a real node and Cassandra: on a running node it asks the
 * node and follows the live rebuild until it is swapped in; on a stopped node it rebuilds the
 * index directory itself, and the next start resumes from the rebuilt index's offsets.
 */
class ReindexCommandIT {
  @TempDir
  Path dataDir;

  @Test
  void reindexesARunningNodeThenAStoppedOne() throws Exception {
    Map<String, Object> o = new HashMap<>(TestNodes.ownKeyspace("reindex_it"));
    NodeSettings settings = TestNodes.settings(dataDir, o);
    TwinhubNode node = TwinhubNode.start(settings);
    try {
      IdentitySpec spec = new IdentitySpec(DeviceStatus.ENABLED, null, Authentication.sas(null, null), false);
      for (int i = 0; i < 30; i++) {
        assertInstanceOf(TwinReply.Accepted.class,
            node.twins().createDevice("rx-" + i, spec).toCompletableFuture().get(30, TimeUnit.SECONDS));
      }
      QueryIndex index = node.queryIndex().orElseThrow();
      awaitTwins(index, 30);

      java.io.StringWriter online = new java.io.StringWriter();
      assertEquals(0, ReindexCommand.run(node.settings(), new java.io.PrintWriter(online, true)));
      String text = online.toString();
      assertTrue(text.contains("asking it to reindex"), text);
      assertTrue(text.contains("100%") && text.contains("30 twins: query index rebuilt and swapped in"), text);
      assertEquals(30, count(index), "the swapped-in index answers queries");
    } finally {
      node.stop().toCompletableFuture().get(90, TimeUnit.SECONDS);
    }

    // Stopped: the command works on the data dir; a lost index directory is rebuilt.
    deleteRecursively(settings.queryIndexDir());
    java.io.StringWriter offline = new java.io.StringWriter();
    assertEquals(0, ReindexCommand.run(settings, new java.io.PrintWriter(offline, true)));
    String text = offline.toString();
    assertTrue(text.contains("rebuilding the query index") && text.contains("done in"), text);
    assertTrue(text.contains("30 twins"), text);

    TwinhubNode again = TwinhubNode.start(TestNodes.settings(dataDir, o));
    try {
      IndexStatus status = again.queryIndex().orElseThrow().status();
      assertEquals("offsets", status.startedFrom(), "the node resumes from the rebuilt index's offsets");
      assertEquals(30, status.twins());
      assertEquals(30, count(again.queryIndex().orElseThrow()));
    } finally {
      again.stop().toCompletableFuture().get(90, TimeUnit.SECONDS);
    }
  }

  private static long count(QueryIndex index) throws Exception {
    return index.query("SELECT COUNT() AS n FROM devices", 1, null, Optional.empty())
        .toCompletableFuture().get(30, TimeUnit.SECONDS).json().get(0).get("n").asLong();
  }

  private static void awaitTwins(QueryIndex index, long n) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (count(index) < n) {
      assertTrue(System.nanoTime() < deadline, "indexed in time: " + index.status().toJson());
      Thread.sleep(200);
    }
  }

  private static void deleteRecursively(Path p) throws Exception {
    if (!Files.exists(p)) return;
    try (var all = Files.walk(p)) {
      for (Path f : all.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(f);
    }
  }
}
