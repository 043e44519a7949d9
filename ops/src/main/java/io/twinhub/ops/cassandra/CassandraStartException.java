package io.twinhub.ops.cassandra;

/**
 * The embedded Cassandra node could not be started (or was refused before launching).
 * The message names the problem in one sentence, plus the tail of the node's log when the
 * node itself failed; it is meant to be shown to a user as is.
 */
public class CassandraStartException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public CassandraStartException(String message) {
        super(message);
    }

    public CassandraStartException(String message, Throwable cause) {
        super(message, cause);
    }
}
