package io.twinhub.node.api;

/**
 * What the REST API knows about the whole registry (counts and the device list), from the query
 * index on nodes with the query role ({@link IndexRegistryView}), else from the journal
 * ({@link JournalRegistryView}).
 */
public interface RegistryView extends RegistryStatistics, DeviceListing, AutoCloseable {

  @Override
  void close();
}
