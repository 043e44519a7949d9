package io.twinhub.node;

import io.twinhub.node.cli.TwinhubCli;

import java.util.stream.Stream;

/**
 * The node process's entry point (container images, cluster and bench launchers):
 * {@code Main <run options>} is {@code ./twinhub run <run options>}.
 */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    TwinhubCli.main(Stream.concat(Stream.of("run"), Stream.of(args)).toArray(String[]::new));
  }
}
