package io.twinhub.node.api;

import java.util.List;

/**
 * Which devices exist, for {@code GET /devices?top=N}: ids only; the route reads each identity
 * from its entity, so what it returns is current even when the listing lags. Implemented by
 * {@link JournalRegistryView} today, replaceable by the query index.
 */
public interface DeviceListing {

  /** Up to {@code max} existing device ids in ascending order. */
  List<String> firstDeviceIds(int max);
}
