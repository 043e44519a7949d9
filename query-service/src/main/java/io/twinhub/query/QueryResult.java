package io.twinhub.query;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * One page of a query's result.
 *
 * @param items        the page's JSON objects (UTF-8), in result order
 * @param continuation the {@code x-ms-continuation} token for the next page; null on the last page
 * @param itemType     the {@code x-ms-item-type} response header: {@code twin} for SELECT * (twin
 *                     documents), {@code raw} for projections and aggregates
 */
public record QueryResult(List<byte[]> items, String continuation, String itemType) {
  private static final ObjectMapper JSON = new ObjectMapper();

  public QueryResult {
    items = List.copyOf(items);
  }

  public Optional<String> continuationToken() {
    return Optional.ofNullable(continuation);
  }

  /** The response body: a JSON array of the items. */
  public byte[] body() {
    int size = 2 + items.size();
    for (byte[] i : items) size += i.length;
    ByteArrayOutputStream out = new ByteArrayOutputStream(size);
    out.write('[');
    for (int i = 0; i < items.size(); i++) {
      if (i > 0) out.write(',');
      out.writeBytes(items.get(i));
    }
    out.write(']');
    return out.toByteArray();
  }

  /** The items parsed (for Java callers and tests). */
  public List<ObjectNode> json() {
    List<ObjectNode> out = new ArrayList<>(items.size());
    try {
      for (byte[] i : items) out.add((ObjectNode) JSON.readTree(i));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }
}
