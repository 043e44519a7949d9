package io.twinhub.node.configurations;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.http.javadsl.server.Route;
import com.typesafe.config.Config;
import io.twinhub.node.api.ApiServer;
import io.twinhub.projections.index.QueryIndexModule;
import io.twinhub.projections.streams.ChangeFeed;
import io.twinhub.query.TwinQueries;
import io.twinhub.twin.domain.TwinLimits;
import io.twinhub.twin.service.TwinService;


/**
 * Configurations and IoT Edge deployments on a node: the store (sharded entity, initialised with
 * the twins), the applier singleton on members with a query index, and the REST routes.
 */
public final class Configurations {
  private final ActorSystem<?> system;
  private final TwinService twins;
  private final ConfigurationService store;
  private final ActorRef<ConfigurationManager.Command> manager;
  private final ConfigurationSettings settings;

  private Configurations(ActorSystem<?> system, TwinService twins, ConfigurationService store,
                         ActorRef<ConfigurationManager.Command> manager, ConfigurationSettings settings) {
    this.system = system;
    this.twins = twins;
    this.store = store;
    this.manager = manager;
    this.settings = settings;
  }

  /** @param index this node's query index, null on members without the query role (they never host the applier) */
  public static Configurations start(ActorSystem<?> system, TwinService twins, TwinQueries index, Config config) {
    ConfigurationSettings settings = ConfigurationSettings.from(config);
    ConfigurationService store = new ConfigurationService(system, settings.askTimeout());
    String readJournal = config.getString("twinhub.streams.read-journal");
    String hubName = config.getString("twinhub.host-name");
    ActorRef<ConfigurationManager.Command> manager = ConfigurationManager.init(system, QueryIndexModule.QUERY_ROLE, settings,
        () -> new ConfigurationApplier(system, twins, store, index, new ChangeFeed(system, hubName, readJournal), settings));
    return new Configurations(system, twins, store, manager, settings);
  }

  /** The REST routes behind the API's gate. */
  public Route routes(ApiServer server, TwinLimits limits) {
    return new ConfigurationRoutes(store,
        id -> ConfigurationManager.metrics(system, manager, id, settings.askTimeout()),
        twins, limits, server.responses(), server::authorized).route();
  }
}
