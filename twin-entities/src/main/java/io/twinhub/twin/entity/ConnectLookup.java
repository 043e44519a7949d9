package io.twinhub.twin.entity;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import io.twinhub.twin.TwinhubSerializable;

/**
 * The answer to {@link TwinCommand.LookupForConnect}: the twin (or why not), the session its last
 * connection left, if known, and whether the twin attached the connection ({@code attached}: the
 * twin is as an {@link TwinCommand.AttachSession}'s answer would show it, Connected).
 */
public record ConnectLookup(
    @JsonTypeInfo(use = JsonTypeInfo.Id.NAME)
    @JsonSubTypes({@JsonSubTypes.Type(value = TwinReply.Accepted.class, name = "accepted"),
        @JsonSubTypes.Type(value = TwinReply.Rejected.class, name = "rejected")})
    TwinReply twin,
    KeptSession kept,
    boolean attached) implements TwinhubSerializable {
  public ConnectLookup(TwinReply twin, KeptSession kept) {
    this(twin, kept, false);
  }
}
