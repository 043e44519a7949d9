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
  record Accepted(Twin twin, List<String> moduleIds) implements TwinReply {
    public Accepted {
      moduleIds = moduleIds == null ? List.of() : List.copyOf(moduleIds);
    }
  }

  record Rejected(IotHubError error) implements TwinReply {}
}
