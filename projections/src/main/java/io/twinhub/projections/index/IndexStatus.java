package io.twinhub.projections.index;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.time.Instant;
import java.util.List;

/**
 * How far the query index is behind the journal, for the status endpoint and metrics.
 *
 * @param state          {@code live} (streams running), {@code rebuilding} (a reindex is
 *                       building a new index), {@code stopped}
 * @param twins          live twins (devices and modules) queries can see
 * @param indexBytes     size of the index directory
 * @param lagMillis      now − timestamp of the last applied event, over the tags that have events
 *                       behind (0 when every tag is caught up)
 * @param eventsBehind   events the journal holds that the index has not applied, summed over tags
 *                       (a tag's count stops at the cap; -1 while not yet counted)
 * @param visibleLagP50Millis event written → visible to queries, median over the last interval
 * @param visibleLagP99Millis the same, 99th percentile
 * @param documentsWritten Lucene documents written (each replacing its twin's last): fewer than the
 *                     events applied when a twin's events between two refreshes coalesce into one
 * @param liveApplied  events applied from the entities' live feed, ahead of their tag read
 * @param liveDropped  live events left to the tag read (writer busy or closed)
 * @param liveGaps     gaps in the live feed's numbering: messages lost on the way from a node
 *                     ({@code TwinEventFeed}), each a loss
 * @param liveLosses   times the tag reads had to run again since start (a dropped live event, a
 *                     cluster membership change; {@link LivePosition})
 * @param tagReadsRunning tag reads running now (0 once caught up: the live path alone brings events)
 * @param layout       the searcher's segments, documents (deleted ones included) and reopens
 *                     (all, and those a query ran), to compare how indexes fed differently are laid out
 * @param stages       where the lag of live events went since the last status, stage by stage, and what
 *                     refreshes, commits and merges took ({@link LagStages}); null: not measured
 * @param startedFrom    {@code offsets} (resumed from the offsets stored in the index) or
 *                       {@code rebuild: <why>} (index missing, unreadable or of another schema: rebuilt from the journal)
 */
public record IndexStatus(
    String state,
    long twins,
    long indexBytes,
    long lagMillis,
    long eventsBehind,
    long visibleLagP50Millis,
    long visibleLagP99Millis,
    long eventsApplied,
    long duplicatesSkipped,
    long gapsFilled,
    long failedEvents,
    long documentsWritten,
    long liveApplied,
    long liveDropped,
    long liveGaps,
    long liveLosses,
    int tagReadsRunning,
    Instant lastCommit,
    io.twinhub.query.index.TwinIndex.Layout layout,
    String startedFrom,
    String lastError,
    List<Tag> tags,
    ObjectNode stages) {

  /**
   * @param offset            the last applied offset (a Cassandra time-based UUID), null before any
   * @param lastEventAt       timestamp of the last applied event, null before any
   * @param lastEventAgeMillis now − lastEventAt (grows while the tag is idle)
   * @param lagMillis         lastEventAgeMillis when events are behind, else 0
   * @param reading           whether the tag's read runs now (catching up)
   * @param reads             how often it was started (at start and after each loss)
   */
  public record Tag(String tag, String offset, Instant lastEventAt, long lastEventAgeMillis, long lagMillis,
                    long eventsBehind, long restarts, boolean reading, long reads) {}

  public ObjectNode toJson() {
    JsonNodeFactory f = JsonNodeFactory.instance;
    ObjectNode o = f.objectNode();
    o.put("state", state);
    o.put("twins", twins);
    o.put("indexBytes", indexBytes);
    o.put("lagMillis", lagMillis);
    o.put("eventsBehind", eventsBehind);
    o.put("visibleLagP50Millis", visibleLagP50Millis);
    o.put("visibleLagP99Millis", visibleLagP99Millis);
    o.put("eventsApplied", eventsApplied);
    o.put("duplicatesSkipped", duplicatesSkipped);
    o.put("gapsFilled", gapsFilled);
    o.put("failedEvents", failedEvents);
    o.put("documentsWritten", documentsWritten);
    o.put("liveApplied", liveApplied);
    o.put("liveDropped", liveDropped);
    o.put("liveGaps", liveGaps);
    o.put("liveLosses", liveLosses);
    o.put("tagReadsRunning", tagReadsRunning);
    o.put("lastCommit", lastCommit == null ? null : lastCommit.toString());
    ObjectNode l = o.putObject("segments");
    l.put("count", layout.segments());
    l.put("maxDoc", layout.maxDoc());
    l.put("deletedDocs", layout.deletedDocs());
    l.put("refreshes", layout.refreshes());
    l.put("refreshesOnQuery", layout.refreshesOnQuery());
    o.put("startedFrom", startedFrom);
    o.put("lastError", lastError);
    if (stages != null) o.set("stages", stages);
    var arr = o.putArray("tags");
    for (Tag t : tags) {
      ObjectNode n = arr.addObject();
      n.put("tag", t.tag());
      n.put("offset", t.offset());
      n.put("lastEventAt", t.lastEventAt() == null ? null : t.lastEventAt().toString());
      n.put("lastEventAgeMillis", t.lastEventAgeMillis());
      n.put("lagMillis", t.lagMillis());
      n.put("eventsBehind", t.eventsBehind());
      n.put("restarts", t.restarts());
      n.put("reading", t.reading());
      n.put("reads", t.reads());
    }
    return o;
  }
}
