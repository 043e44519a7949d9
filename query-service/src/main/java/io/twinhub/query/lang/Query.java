package io.twinhub.query.lang;

import java.util.List;
import java.util.Objects;

/**
 * A parsed and checked query.
 *
 * @param top     TOP n, or null
 * @param select  empty for {@code SELECT *}
 * @param where   null when there is no WHERE
 * @param groupBy empty when there is no GROUP BY
 * @param orderBy empty when there is no ORDER BY (results are then in twin-id order)
 */
public record Query(
    String text,
    Long top,
    List<SelectItem> select,
    Collection from,
    Expr where,
    List<Expr> groupBy,
    List<OrderItem> orderBy) {

  public Query {
    Objects.requireNonNull(text, "text");
    Objects.requireNonNull(from, "from");
    select = List.copyOf(select);
    groupBy = List.copyOf(groupBy);
    orderBy = List.copyOf(orderBy);
  }

  public boolean selectStar() {
    return select.isEmpty();
  }

  /** SELECT with aggregates (with or without GROUP BY): one row per group. */
  public boolean aggregating() {
    return !groupBy.isEmpty() || select.stream().anyMatch(s -> s.expr() instanceof Expr.Aggregate);
  }

  /** What a query iterates over. */
  public enum Collection {
    DEVICES("devices"), MODULES("devices.modules"),
    /** Per-device job records (answered by the jobs, not by the twin index). */
    JOBS("devices.jobs");

    public final String text;

    Collection(String text) {
      this.text = text;
    }
  }

  /** One SELECT element; {@code name} is the key in the result object (alias, last path segment, or $n). */
  public record SelectItem(Expr expr, String name) {}

  public record OrderItem(Expr expr, boolean descending) {}
}
