package io.twinhub.projections.streams;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Join;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import io.twinhub.ops.cassandra.SharedEmbeddedCassandra;
import io.twinhub.twin.domain.Authentication;
import io.twinhub.twin.domain.DeviceStatus;
import io.twinhub.twin.domain.IdentitySpec;
import io.twinhub.twin.domain.JsonDoc;
import io.twinhub.twin.domain.TwinUpdate;
import io.twinhub.twin.entity.DeviceEntity;
import io.twinhub.twin.entity.EntitySettings;
import io.twinhub.twin.entity.ModuleEntity;
import io.twinhub.twin.entity.TwinReply;
import io.twinhub.twin.service.TwinService;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * What the journal-reading ITs write through: a one-member cluster on the JVM's shared embedded
 * Cassandra ({@code streams-it.conf}, journal tag prefix {@code it.twinhub}) with the device and
 * module entities, and their {@link TwinService}.
 */
public final class JournalTestSystem implements AutoCloseable {
  static final ObjectMapper JSON = new ObjectMapper();

  public final ActorSystem<Void> system;
  public final TwinService twins;

  private JournalTestSystem(ActorSystem<Void> system) {
    this.system = system;
    this.twins = new TwinService(system, Duration.ofSeconds(20));
  }

  public static JournalTestSystem start(String name) {
    Config config = ConfigFactory.parseResources("streams-it.conf")
        .withValue("datastax-java-driver.basic.contact-points",
            ConfigValueFactory.fromIterable(List.of(SharedEmbeddedCassandra.contactPoint())))
        .withFallback(ConfigFactory.load())
        .resolve();
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), name, config);
    Cluster.get(system).manager().tell(Join.create(Cluster.get(system).selfMember().address()));
    DeviceEntity.init(system, EntitySettings.DEFAULT);
    ModuleEntity.init(system, EntitySettings.DEFAULT);
    return new JournalTestSystem(system);
  }

  /** Creates the devices (SAS, keys generated), {@code parallelism} at a time. */
  public void createDevices(List<String> ids, int parallelism) throws Exception {
    Source.from(ids).mapAsyncUnordered(parallelism, id -> twins.createDevice(id,
            new IdentitySpec(DeviceStatus.ENABLED, null, Authentication.sas(null, null), false)))
        .runWith(Sink.ignore(), system).toCompletableFuture().get(120, TimeUnit.SECONDS);
  }

  /**
   * Rounds {@code fromRound}..{@code fromRound + rounds - 1} of desired patches {@code {"n": round}}
   * to every device, a round at a time, {@code parallelism} in flight; how many were accepted.
   */
  public long patchDesired(List<String> ids, int fromRound, int rounds, int parallelism, Duration timeout) throws Exception {
    List<String[]> writes = new ArrayList<>();
    for (int i = fromRound; i < fromRound + rounds; i++) for (String id : ids) writes.add(new String[] {id, String.valueOf(i)});
    return Source.from(writes).mapAsync(parallelism, w -> twins.updateTwin(w[0], null,
            new TwinUpdate.PatchDesired(JsonDoc.of((ObjectNode) JSON.readTree("{\"n\":" + w[1] + "}"))), null))
        .filter(r -> r instanceof TwinReply.Accepted)
        .runWith(Sink.fold(0L, (n, r) -> n + 1), system).toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  @Override
  public void close() throws Exception {
    system.terminate();
    system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }
}
