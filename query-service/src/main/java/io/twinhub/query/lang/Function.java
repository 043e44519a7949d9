package io.twinhub.query.lang;

import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The built-in scalar functions (PROTOCOL.md, and IoT Hub's routing-condition functions). Names
 * are case-insensitive; {@code STARTS_WITH}/{@code ENDS_WITH} are accepted as IoT Hub's routing
 * spelling of {@code STARTSWITH}/{@code ENDSWITH}.
 *
 * <p>A function given an argument of the wrong JSON type returns undefined; a <em>literal</em>
 * argument of the wrong type is a type error at parse time.
 */
public enum Function {
  IS_DEFINED(1, 1, Arg.ANY),
  IS_NULL(1, 1, Arg.ANY),
  IS_BOOL(1, 1, Arg.ANY),
  IS_NUMBER(1, 1, Arg.ANY),
  IS_STRING(1, 1, Arg.ANY),
  IS_OBJECT(1, 1, Arg.ANY),
  IS_ARRAY(1, 1, Arg.ANY),
  IS_PRIMITIVE(1, 1, Arg.ANY),
  STARTSWITH(2, 2, Arg.STRING, "STARTS_WITH"),
  ENDSWITH(2, 2, Arg.STRING, "ENDS_WITH"),
  CONTAINS(2, 2, Arg.STRING),
  INDEX_OF(2, 2, Arg.STRING),
  LENGTH(1, 1, Arg.STRING),
  LOWER(1, 1, Arg.STRING),
  UPPER(1, 1, Arg.STRING),
  LTRIM(1, 1, Arg.STRING),
  RTRIM(1, 1, Arg.STRING),
  TRIM(1, 1, Arg.STRING),
  CONCAT(2, Integer.MAX_VALUE, Arg.STRING),
  /** SUBSTRING(string, start [, length]), zero-based, in characters (code points). */
  SUBSTRING(2, 3, Arg.STRING_THEN_NUMBERS),
  ABS(1, 1, Arg.NUMBER),
  CEILING(1, 1, Arg.NUMBER),
  FLOOR(1, 1, Arg.NUMBER),
  ROUND(1, 1, Arg.NUMBER),
  SIGN(1, 1, Arg.NUMBER),
  SQUARE(1, 1, Arg.NUMBER),
  SQRT(1, 1, Arg.NUMBER),
  EXP(1, 1, Arg.NUMBER),
  POWER(2, 2, Arg.NUMBER),
  /** A number as is, a string holding a JSON number as that number, anything else undefined. */
  AS_NUMBER(1, 1, Arg.ANY);

  /** What a function expects of its arguments (checked for literals at parse time). */
  public enum Arg {
    ANY, STRING, NUMBER, STRING_THEN_NUMBERS;

    /** The expected JSON type of argument {@code index}, or null for any. */
    String expected(int index) {
      return switch (this) {
        case ANY -> null;
        case STRING -> "string";
        case NUMBER -> "number";
        case STRING_THEN_NUMBERS -> index == 0 ? "string" : "number";
      };
    }
  }

  private static final Map<String, Function> BY_NAME = new HashMap<>();

  static {
    for (Function f : values()) {
      BY_NAME.put(f.name(), f);
      for (String alias : f.aliases) BY_NAME.put(alias, f);
    }
  }

  public final int minArgs;
  public final int maxArgs;
  public final Arg args;
  private final List<String> aliases;

  Function(int minArgs, int maxArgs, Arg args, String... aliases) {
    this.minArgs = minArgs;
    this.maxArgs = maxArgs;
    this.args = args;
    this.aliases = List.of(aliases);
  }

  public static Optional<Function> byName(String name) {
    return Optional.ofNullable(BY_NAME.get(name.toUpperCase(Locale.ROOT)));
  }

  /** IS_* functions answer for any argument, undefined included; all others are undefined when an argument is. */
  public boolean isTypeCheck() {
    return name().startsWith("IS_");
  }

  /** Whether an undefined argument makes the result undefined. */
  public boolean strict() {
    return !isTypeCheck();
  }

  public static List<String> names() {
    return BY_NAME.keySet().stream().sorted().toList();
  }
}
