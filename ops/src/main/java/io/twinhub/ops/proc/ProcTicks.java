package io.twinhub.ops.proc;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;

/**
 * CPU time of processes and threads as Linux accounts it ({@code /proc}): what the benchmark
 * harness and the by-hand benches read, in one place.
 */
public final class ProcTicks {
  private ProcTicks() {}

  /** One thread of a process: its utime + stime in clock ticks and its name ({@code comm}, at most 15 characters). */
  public record Task(long ticks, String comm) {}

  /**
   * Fields 14 and 15 (utime, stime) of a {@code /proc/PID/stat} or {@code /proc/PID/task/TID/stat}
   * line. The second field (the command) is in parentheses and may contain spaces, so fields are
   * counted after the last ')'.
   */
  public static long statTicks(String stat) {
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" +");
    // f[0] is field 3 (state): utime is field 14 -> f[11], stime field 15 -> f[12]
    return Long.parseLong(f[11]) + Long.parseLong(f[12]);
  }

  /**
   * Every thread under {@code taskDir} ({@code /proc/PID/task}) by thread id; threads that end
   * while it is read are left out, and a process that is gone gives an empty map.
   */
  public static Map<String, Task> tasks(Path taskDir) {
    Map<String, Task> tasks = new HashMap<>();
    try (Stream<Path> dirs = Files.list(taskDir)) {
      for (Path t : (Iterable<Path>) dirs::iterator) {
        try {
          tasks.put(t.getFileName().toString(),
              new Task(statTicks(Files.readString(t.resolve("stat"))), Files.readString(t.resolve("comm")).strip()));
        } catch (IOException | RuntimeException e) {
          // the thread ended between list and read
        }
      }
    } catch (IOException e) {
      // the process is gone
    }
    return tasks;
  }
}
