package io.twinhub.twin;

/**
 * Marker for every command, event, reply and state that crosses the wire or enters the
 * journal. Bound to Jackson JSON in application.conf so the journal stays readable for
 * analytics; Java serialization is off.
 */
public interface TwinhubSerializable {}
