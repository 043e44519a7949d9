package io.twinhub.ops.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** The JDK's own tools (jcmd, jfr) run against the measured JVMs: output, or null when they fail. */
public final class JdkTools {
  private JdkTools() {}

  /** {@code bin/<name>} of the JDK running the harness. */
  public static String tool(String name) {
    return Path.of(System.getProperty("java.home"), "bin", name).toString();
  }

  public static String run(Duration timeout, String... cmd) {
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes());
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS) || p.exitValue() != 0) {
        System.out.println("bench: " + String.join(" ", cmd) + " failed: " + out.strip());
        return null;
      }
      return out;
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }
}
