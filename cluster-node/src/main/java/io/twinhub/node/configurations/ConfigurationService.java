package io.twinhub.node.configurations;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.sharding.typed.javadsl.EntityRef;
import akka.japi.function.Function;
import io.twinhub.twin.configuration.Configuration;
import io.twinhub.twin.configuration.ConfigurationJson;
import io.twinhub.twin.configuration.ConfigurationStoreEntity;
import io.twinhub.twin.configuration.ConfigurationStoreEntity.Reply;
import io.twinhub.twin.error.IotHubErrorCode;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * The configuration store as the routes and the applier use it: one ask per operation to the
 * sharded {@link ConfigurationStoreEntity}, a store that does not answer in time becoming a
 * 503 Rejected (clients retry), never an exception.
 */
public final class ConfigurationService {
  private final EntityRef<ConfigurationStoreEntity.Command> store;
  private final Duration askTimeout;

  public ConfigurationService(ActorSystem<?> system, Duration askTimeout) {
    this.store = ClusterSharding.get(system).entityRefFor(ConfigurationStoreEntity.TYPE_KEY, ConfigurationStoreEntity.ENTITY_ID);
    this.askTimeout = askTimeout;
  }

  public CompletionStage<Reply> create(ConfigurationJson.Spec spec) {
    return ask(r -> new ConfigurationStoreEntity.Create(spec, r));
  }

  public CompletionStage<Reply> update(ConfigurationJson.Spec spec, String ifMatch) {
    return ask(r -> new ConfigurationStoreEntity.Update(spec, ifMatch, r));
  }

  public CompletionStage<Reply> delete(String id, String ifMatch) {
    return ask(r -> new ConfigurationStoreEntity.Delete(id, ifMatch, r));
  }

  public CompletionStage<Reply> get(String id) {
    return ask(r -> new ConfigurationStoreEntity.Get(id, r));
  }

  /** Every configuration, or a failed stage when the store does not answer. */
  public CompletionStage<List<Configuration>> list() {
    return store.<Reply>ask(ConfigurationStoreEntity.ListAll::new, askTimeout)
        .thenApply(r -> ((ConfigurationStoreEntity.Listed) r).configurations());
  }

  private CompletionStage<Reply> ask(Function<ActorRef<Reply>, ConfigurationStoreEntity.Command> command) {
    return store.<Reply>ask(command::apply, askTimeout)
        .exceptionally(e -> new ConfigurationStoreEntity.Rejected(IotHubErrorCode.ServiceUnavailable.error(
            "the configuration store did not answer within " + askTimeout.toMillis() + " ms; retry")));
  }
}
