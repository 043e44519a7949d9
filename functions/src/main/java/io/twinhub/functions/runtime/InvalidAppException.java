package io.twinhub.functions.runtime;

import java.util.List;

/** A JAR that is not a function app twinhub can run; the message says why, for the publisher. */
public final class InvalidAppException extends Exception {
  private final List<String> problems;

  public InvalidAppException(List<String> problems) {
    super(String.join("; ", problems));
    this.problems = List.copyOf(problems);
  }

  public List<String> problems() {
    return problems;
  }
}
