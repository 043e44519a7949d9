package io.twinhub.edge.agent;

import java.util.ArrayList;
import java.util.List;

/**
 * A {@code process} module's {@code settings.command} split into arguments as a POSIX shell would
 * split it without expanding anything: whitespace separates, single quotes keep everything,
 * double quotes keep everything but {@code \"} and {@code \\}, a backslash outside quotes escapes
 * the next character. No shell runs: what is written is what the process gets.
 */
public final class CommandLine {
  private CommandLine() {}

  /** @throws IllegalArgumentException on an unterminated quote, a trailing backslash or an empty command */
  public static List<String> split(String command) {
    List<String> args = new ArrayList<>();
    StringBuilder cur = new StringBuilder();
    boolean inArg = false;
    int i = 0;
    int n = command.length();
    while (i < n) {
      char c = command.charAt(i);
      if (Character.isWhitespace(c)) {
        if (inArg) {
          args.add(cur.toString());
          cur.setLength(0);
          inArg = false;
        }
        i++;
      } else if (c == '\'') {
        int end = command.indexOf('\'', i + 1);
        if (end < 0) throw new IllegalArgumentException("unterminated ' in command");
        cur.append(command, i + 1, end);
        inArg = true;
        i = end + 1;
      } else if (c == '"') {
        i++;
        while (true) {
          if (i >= n) throw new IllegalArgumentException("unterminated \" in command");
          char d = command.charAt(i);
          if (d == '"') break;
          if (d == '\\' && i + 1 < n && (command.charAt(i + 1) == '"' || command.charAt(i + 1) == '\\')) {
            cur.append(command.charAt(i + 1));
            i += 2;
          } else {
            cur.append(d);
            i++;
          }
        }
        inArg = true;
        i++;
      } else if (c == '\\') {
        if (i + 1 >= n) throw new IllegalArgumentException("trailing \\ in command");
        cur.append(command.charAt(i + 1));
        inArg = true;
        i += 2;
      } else {
        cur.append(c);
        inArg = true;
        i++;
      }
    }
    if (inArg) args.add(cur.toString());
    if (args.isEmpty()) throw new IllegalArgumentException("empty command");
    return args;
  }
}
