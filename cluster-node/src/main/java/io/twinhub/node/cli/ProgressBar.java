package io.twinhub.node.cli;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.util.function.LongSupplier;

/**
 * The one progress style of long commands (export, reindex, seeding, jobs): a single line redrawn
 * in place, at most five times a second:
 * {@code [#########---------------------]  30%  120,000 events  6,100/s  ETA 0:12  <detail>}.
 * A fraction below 0 means "unknown" (no bar position, no ETA).
 */
public final class ProgressBar {
  static final int WIDTH = 30;
  private static final long REDRAW_NANOS = 200_000_000L;

  private final PrintWriter out;
  private final String unit;
  private final LongSupplier clock;
  private final long start;
  private long lastDraw = Long.MIN_VALUE;

  public ProgressBar(PrintWriter out, String unit) {
    this(out, unit, System::nanoTime);
  }

  public ProgressBar(PrintStream out, String unit) {
    this(new PrintWriter(out, true), unit);
  }

  ProgressBar(PrintWriter out, String unit, LongSupplier clock) {
    this.out = out;
    this.unit = unit;
    this.clock = clock;
    this.start = clock.getAsLong();
  }

  /** Redraws the line unless it was drawn less than 200 ms ago. */
  public void update(long count, double fraction, String detail) {
    long now = clock.getAsLong();
    if (lastDraw != Long.MIN_VALUE && now - lastDraw < REDRAW_NANOS) return;
    lastDraw = now;
    out.print("\r" + line(count, fraction, (now - start) / 1e9, detail) + "   ");
    out.flush();
  }

  /** The final line, ending the redrawn one. */
  public void done(long count, String summary) {
    double seconds = (clock.getAsLong() - start) / 1e9;
    out.println("\r" + line(count, 1, seconds, null).replaceFirst("ETA \\S+", "done in " + clock(seconds))
        + (summary == null || summary.isEmpty() ? "" : "  " + summary));
    out.flush();
  }

  /** The line for a state (pure, for tests): bar, percent, count, rate, ETA, detail. */
  String line(long count, double fraction, double seconds, String detail) {
    boolean known = fraction >= 0;
    double f = Math.min(1, Math.max(0, fraction));
    int filled = known ? (int) Math.round(f * WIDTH) : 0;
    String bar = known ? "#".repeat(filled) + "-".repeat(WIDTH - filled) : "?".repeat(WIDTH);
    String percent = known ? String.format("%3d%%", Math.round(f * 100)) : "  ?%";
    double rate = count / Math.max(0.001, seconds);
    String eta = !known || f < 0.01 ? "ETA --:--" : "ETA " + clock(seconds * (1 - f) / f);
    return String.format("[%s] %s  %,d %s  %,.0f/s  %s%s", bar, percent, count, unit, rate, eta,
        detail == null || detail.isEmpty() ? "" : "  " + detail);
  }

  static String clock(double secondsD) {
    long seconds = Math.round(secondsD);
    return seconds >= 3600 ? String.format("%d:%02d:%02d", seconds / 3600, seconds / 60 % 60, seconds % 60)
        : String.format("%d:%02d", seconds / 60, seconds % 60);
  }
}
