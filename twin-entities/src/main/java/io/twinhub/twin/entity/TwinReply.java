package io.twinhub.twin.entity;

import io.twinhub.twin.TwinhubSerializable;
import io.twinhub.twin.domain.Twin;
import io.twinhub.twin.error.IotHubError;

import java.util.List;

/** The answer to a {@link TwinCommand.WithReply}. */
public sealed interface TwinReply extends TwinhubSerializable {

  /**
   * The twin after the command ({@code null} only for an idempotent delete of an absent
   * identity) and, for a device, the ids of its modules.
   */
  record Accepted(Twin twin, List<String> moduleIds,
                  @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_DEFAULT)
                  long journalMicros) implements TwinReply {
    /**
     * {@code journalMicros}: for the answer to a write the entity journaled, the time from the
     * entity taking the command to the journal's acknowledgement (µs, at least 1); 0 when the answer
     * journaled nothing or came from a node older than this field (absent on the wire: Jackson
     * leaves it 0, and a node without the field ignores it). The admission limit adapts to it
     * ({@code AdmissionLimit}), so a node slow in its own CPU queue does not read as a slow journal.
     */
    @com.fasterxml.jackson.annotation.JsonCreator
    public Accepted {
      moduleIds = moduleIds == null ? List.of() : List.copyOf(moduleIds);
      if (journalMicros < 0) journalMicros = 0;
    }

    public Accepted(Twin twin, List<String> moduleIds) {
      this(twin, moduleIds, 0);
    }

    /** This answer with the journal time of the write it answers. */
    public Accepted withJournalNanos(long nanos) {
      return new Accepted(twin, moduleIds, Math.max(1, nanos / 1000));
    }
  }

  record Rejected(IotHubError error) implements TwinReply {}
}
