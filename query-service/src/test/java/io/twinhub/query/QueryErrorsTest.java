package io.twinhub.query;

import io.twinhub.query.lang.QueryException;
import io.twinhub.query.lang.QueryParser;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Syntax and type errors: the position of the offending token and a message a person understands. */
class QueryErrorsTest {

  private static void error(String sql, int line, int column, String message) {
    QueryException e = assertThrows(QueryException.class, () -> QueryParser.parse(sql), sql);
    assertEquals(message, e.detail(), sql);
    assertEquals(line, e.line(), "line of: " + e.getMessage());
    assertEquals(column, e.column(), "column of: " + e.getMessage());
    if (line > 0) assertEquals("line " + line + ", column " + column + ": " + message, e.getMessage());
  }

  @Test
  void misspelledKeyword() {
    error("SELECT * FORM devices", 1, 10, "unexpected 'FORM', expected FROM");
  }

  @Test
  void conditionMissing() {
    error("SELECT * FROM devices WHERE", 1, 28, "unexpected end of query");
  }

  @Test
  void errorOnALaterLine() {
    error("SELECT *\nFROM devices\nWHERE tags.x = = 1", 3, 16, "unexpected '='");
  }

  @Test
  void unterminatedString() {
    error("SELECT * FROM devices WHERE tags.x = 'abc", 1, 38,
        "unterminated string (a quote inside a string is written twice: 'it''s')");
  }

  @Test
  void strayCharacter() {
    error("SELECT * FROM devices WHERE tags.x = 1 # 2", 1, 40, "unexpected character '#'");
  }

  @Test
  void trailingGarbage() {
    error("SELECT * FROM devices WHERE tags.x = 1 tags.y = 2", 1, 40, "unexpected 'tags', expected GROUP or ORDER or end of query");
  }

  @Test
  void emptyQuery() {
    error("   ", 0, 0, "the query is empty");
  }

  @Test
  void literalOfTheWrongTypeForAFunction() {
    error("SELECT * FROM devices WHERE LOWER(5) = 'a'", 1, 35, "LOWER needs a string as argument 1, got a number");
    error("SELECT * FROM devices WHERE STARTSWITH(deviceId, 5)", 1, 50, "STARTSWITH needs a string as argument 2, got a number");
  }

  @Test
  void unknownFunctionAndWrongArity() {
    error("SELECT * FROM devices WHERE FOO(tags.x)", 1, 29, "unknown function 'FOO'");
    error("SELECT * FROM devices WHERE STARTSWITH(deviceId)", 1, 29, "STARTSWITH takes 2 arguments, got 1");
    error("SELECT * FROM devices WHERE CONCAT(deviceId) = 'a'", 1, 29, "CONCAT takes 2 or more arguments, got 1");
  }

  @Test
  void arithmeticOnAString() {
    error("SELECT * FROM devices WHERE tags.x = 1 + 'a'", 1, 42, "'+' needs a number, got a string 'a'");
  }

  @Test
  void comparingConstantsOfDifferentTypes() {
    error("SELECT * FROM devices WHERE 'a' < 1", 1, 33, "'<' compares a string with a number, which is never true");
    error("SELECT * FROM devices WHERE LENGTH(tags.x) = 'three'", 1, 44,
        "'=' compares a number with a string, which is never true");
  }

  @Test
  void logicOnANumber() {
    error("SELECT * FROM devices WHERE tags.x AND 5", 1, 40, "AND needs a boolean, got a number 5");
    error("SELECT * FROM devices WHERE LOWER(tags.x)", 1, 29, "WHERE needs a condition, got a string");
  }

  @Test
  void arraysOnlyAfterIn() {
    error("SELECT * FROM devices WHERE tags.x = [1, 2]", 1, 38, "an array constant can only follow IN or NIN");
    error("SELECT * FROM devices WHERE tags.x IN [tags.y]", 1, 40,
        "IN and NIN take a list of constants (strings, numbers, true, false, null)");
  }

  @Test
  void aggregatesOnlyInSelect() {
    error("SELECT * FROM devices WHERE COUNT() > 1", 1, 29, "COUNT() is an aggregate; it can only be a SELECT element");
    error("SELECT deviceId, COUNT() FROM devices", 1, 8,
        "deviceId is not an aggregate; without GROUP BY every SELECT element must be one (COUNT(), SUM(x), AVG(x), MIN(x), MAX(x))");
    error("SELECT tags.y, COUNT() FROM devices GROUP BY tags.x", 1, 8, "tags.y is neither in GROUP BY nor an aggregate such as COUNT()");
    error("SELECT * FROM devices GROUP BY tags.x", 1, 1,
        "SELECT * cannot be grouped; select the GROUP BY values and aggregates such as COUNT()");
    error("SELECT SUM('a') FROM devices", 1, 12, "SUM needs numbers, got a string");
    error("SELECT COUNT(deviceId) FROM devices", 1, 8, "COUNT() takes no argument");
  }

  @Test
  void collections() {
    error("SELECT * FROM things", 1, 15, "unknown collection 'things', expected devices, devices.modules or devices.jobs");
  }

  @Test
  void deviceJobsParseWithTheirPrefixStripped() {
    var q = io.twinhub.query.lang.QueryParser.parse(
        "SELECT * FROM devices.jobs WHERE devices.jobs.jobId = 'j1' AND status = 'failed'");
    assertEquals(io.twinhub.query.lang.Query.Collection.JOBS, q.from());
    var row = new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode().put("jobId", "j1").put("status", "failed");
    assertTrue(io.twinhub.query.eval.Evaluator.isTrue(q.where(), row));
    assertFalse(io.twinhub.query.eval.Evaluator.isTrue(q.where(), row.put("jobId", "j2")));
  }

  @Test
  void topAndNames() {
    error("SELECT TOP 1.5 * FROM devices", 1, 12, "TOP needs a whole number of at least 0, got 1.5");
    error("SELECT deviceId, tags.deviceId FROM devices", 1, 18,
        "'deviceId' appears twice in SELECT; give one of them another name with AS");
    error("SELECT COUNT() AS n FROM devices ORDER BY n", 1, 43, "ORDER BY cannot be combined with GROUP BY or aggregates");
  }

  @Test
  void keywordsAreCaseInsensitiveAndUsableAsPropertyNames() {
    QueryParser.parse("select top 3 tags.order, tags.select as s from DEVICES where tags.in = 'x' and not tags.top");
  }
}
