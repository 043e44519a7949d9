package io.twinhub.functions.runtime;

import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.BitSet;
import java.util.List;
import java.util.Locale;

/**
 * Azure Functions' timer schedules: six-field NCRONTAB {@code {second} {minute} {hour} {day}
 * {month} {day-of-week}} in UTC, each field {@code *}, a value, a range {@code a-b}, a list
 * {@code a,b}, a step {@code * /n} or {@code a-b/n}; months and days of the week also by name
 * ({@code JAN}, {@code MON}); day of week 0 (or 7) is Sunday. As in NCrontab, a time matches when
 * every field matches (day of month AND day of week).
 */
public final class NCrontab {
  private static final List<String> MONTHS = List.of("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC");
  private static final List<String> DAYS = List.of("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT");

  private final String text;
  private final BitSet seconds;
  private final BitSet minutes;
  private final BitSet hours;
  private final BitSet days;
  private final BitSet months;
  private final BitSet weekdays;

  private NCrontab(String text, BitSet[] f) {
    this.text = text;
    this.seconds = f[0];
    this.minutes = f[1];
    this.hours = f[2];
    this.days = f[3];
    this.months = f[4];
    this.weekdays = f[5];
  }

  /** @throws IllegalArgumentException naming the field that is wrong */
  public static NCrontab parse(String text) {
    String[] parts = text == null ? new String[0] : text.trim().split("\\s+");
    if (parts.length != 6) {
      throw new IllegalArgumentException("schedule '" + text + "' must have six fields: {second} {minute} {hour} {day} {month} {day-of-week}");
    }
    String[] names = {"second", "minute", "hour", "day", "month", "day-of-week"};
    int[][] bounds = {{0, 59}, {0, 59}, {0, 23}, {1, 31}, {1, 12}, {0, 7}};
    BitSet[] f = new BitSet[6];
    for (int i = 0; i < 6; i++) {
      try {
        f[i] = field(parts[i].toUpperCase(Locale.ROOT), bounds[i][0], bounds[i][1], i == 4 ? MONTHS : i == 5 ? DAYS : null, i == 4 ? 1 : 0);
      } catch (RuntimeException e) {
        throw new IllegalArgumentException("schedule '" + text + "': " + names[i] + " field '" + parts[i] + "' is not valid ("
            + e.getMessage() + "; allowed " + bounds[i][0] + "-" + bounds[i][1] + ")");
      }
    }
    if (f[5].get(7)) f[5].set(0);
    return new NCrontab(text.trim(), f);
  }

  private static BitSet field(String s, int min, int max, List<String> names, int nameBase) {
    BitSet bits = new BitSet(max + 1);
    for (String item : s.split(",")) {
      int step = 1;
      String range = item;
      int slash = item.indexOf('/');
      if (slash >= 0) {
        step = Integer.parseInt(item.substring(slash + 1));
        if (step <= 0) throw new IllegalArgumentException("step must be positive");
        range = item.substring(0, slash);
      }
      int from;
      int to;
      if (range.equals("*")) {
        from = min;
        to = max;
      } else if (range.contains("-")) {
        String[] ab = range.split("-", 2);
        from = value(ab[0], names, nameBase);
        to = value(ab[1], names, nameBase);
      } else {
        from = value(range, names, nameBase);
        to = slash >= 0 ? max : from;
      }
      if (from < min || to > max || from > to) throw new IllegalArgumentException("out of range");
      for (int v = from; v <= to; v += step) bits.set(v);
    }
    return bits;
  }

  private static int value(String s, List<String> names, int nameBase) {
    if (names != null && names.contains(s)) return names.indexOf(s) + nameBase;
    return Integer.parseInt(s);
  }

  /** The first occurrence strictly after {@code after} (null if none within five years). */
  public Instant next(Instant after) {
    LocalDateTime t = LocalDateTime.ofInstant(after, ZoneOffset.UTC).truncatedTo(ChronoUnit.SECONDS).plusSeconds(1);
    LocalDateTime end = t.plusYears(5);
    while (t.isBefore(end)) {
      if (!months.get(t.getMonthValue())) {
        t = t.withDayOfMonth(1).truncatedTo(ChronoUnit.DAYS).plusMonths(1);
      } else if (!days.get(t.getDayOfMonth()) || !weekdays.get(t.getDayOfWeek().getValue() % 7)) {
        t = t.truncatedTo(ChronoUnit.DAYS).plusDays(1);
      } else if (!hours.get(t.getHour())) {
        t = t.truncatedTo(ChronoUnit.HOURS).plusHours(1);
      } else if (!minutes.get(t.getMinute())) {
        t = t.truncatedTo(ChronoUnit.MINUTES).plusMinutes(1);
      } else if (!seconds.get(t.getSecond())) {
        t = t.plusSeconds(1);
      } else {
        return t.toInstant(ZoneOffset.UTC);
      }
    }
    return null;
  }

  @Override
  public String toString() {
    return text;
  }
}
