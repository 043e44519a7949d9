package io.twinhub.query.lang;

/**
 * A query the hub cannot run: a syntax error, a type error (e.g. {@code LOWER(5)}), or a clause
 * combination the language does not allow. Rendered as 400 with {@link #getMessage()}, which
 * names the position: {@code "line 1, column 28: ..."}.
 */
public final class QueryException extends RuntimeException {
  private final int line;
  private final int column;
  private final String detail;

  public QueryException(Expr.Pos pos, String detail) {
    this(pos.line(), pos.column(), detail);
  }

  public QueryException(int line, int column, String detail) {
    super(line > 0 ? "line " + line + ", column " + column + ": " + detail : detail, null, false, false);
    this.line = line;
    this.column = column;
    this.detail = detail;
  }

  /** 1-based; 0 when the error has no position (e.g. an empty query). */
  public int line() {
    return line;
  }

  /** 1-based column of the offending token. */
  public int column() {
    return column;
  }

  /** The message without the position. */
  public String detail() {
    return detail;
  }
}
