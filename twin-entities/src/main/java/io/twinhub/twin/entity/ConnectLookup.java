package io.twinhub.twin.entity;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import io.twinhub.twin.TwinhubSerializable;

/** The answer to {@link TwinCommand.LookupForConnect}: the twin (or why not) and the session its last connection left, if known. */
public record ConnectLookup(
    @JsonTypeInfo(use = JsonTypeInfo.Id.NAME)
    @JsonSubTypes({@JsonSubTypes.Type(value = TwinReply.Accepted.class, name = "accepted"),
        @JsonSubTypes.Type(value = TwinReply.Rejected.class, name = "rejected")})
    TwinReply twin,
    KeptSession kept) implements TwinhubSerializable {}
