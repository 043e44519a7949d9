package io.twinhub.node;

/** A start-up failure with one clear line for the operator; never a half-started node. */
public final class NodeStartException extends RuntimeException {
  public NodeStartException(String message) {
    super(message);
  }

  public NodeStartException(String message, Throwable cause) {
    super(message, cause);
  }
}
