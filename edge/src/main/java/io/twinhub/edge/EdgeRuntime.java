package io.twinhub.edge;

import io.twinhub.edge.agent.EdgeAgent;
import io.twinhub.edge.agent.ModuleIdentities;
import io.twinhub.edge.agent.ProcessModuleRuntime;
import io.twinhub.edge.agent.WorkloadApi;
import io.twinhub.edge.hub.EdgeHub;
import io.twinhub.edge.hub.MessageStore;
import io.twinhub.mqtt.tls.TlsMaterial;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.util.List;

/**
 * The IoT Edge runtime of one device in one process: edgeHub (local broker, routes, store and
 * forward) and edgeAgent (deployment, modules, reported state). Its data directory holds the edge
 * CA and edgeHub's certificate ({@code tls/}, made on first start like IoT Edge's quickstart CA;
 * modules trust {@code tls/ca.pem}), the store ({@code store/}: edgeHub's queues and its last
 * desired properties), the agent's state ({@code agent/}: module identities and the processes it
 * runs) and the modules' logs ({@code logs/}).
 */
public final class EdgeRuntime implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EdgeRuntime.class);

  private final EdgeHub hub;
  private final EdgeAgent agent;
  private final MessageStore store;
  private final TlsMaterial edgeTls;
  private final WorkloadApi workload;

  private EdgeRuntime(EdgeHub hub, EdgeAgent agent, MessageStore store, TlsMaterial edgeTls, WorkloadApi workload) {
    this.workload = workload;
    this.hub = hub;
    this.agent = agent;
    this.store = store;
    this.edgeTls = edgeTls;
  }

  public static EdgeRuntime start(EdgeSettings settings) throws IOException, GeneralSecurityException {
    Clock clock = Clock.systemUTC();
    Path dir = settings.dataDir();
    SSLContext hubTls = settings.hubCa() == null ? SSLContext.getDefault() : TlsMaterial.clientSslContext(settings.hubCa());
    TlsMaterial edgeTls = TlsMaterial.loadOrCreate(dir, List.of(settings.gatewayHostName()), clock);
    ModuleIdentities identities = new ModuleIdentities(settings.hostName(), settings.hubHttpsPort(), hubTls,
        settings.deviceId(), settings.deviceKey(), dir.resolve("agent").resolve("identities.json"));
    MessageStore store = new MessageStore(dir.resolve("store"));
    EdgeHub hub = new EdgeHub(settings, edgeTls.serverSslContext(), hubTls, identities, store, clock);
    EdgeAgent agent = new EdgeAgent(settings, hubTls, identities,
        List.of(new ProcessModuleRuntime(dir.resolve("logs"))), edgeTls.caPemPath(), clock);
    WorkloadApi workload = new WorkloadApi(identities, edgeTls.caPemPath());
    workload.start();
    agent.workloadUri(workload.uri());
    hub.start();
    agent.start();
    log.info("IoT Edge runtime of {} started (hub {}, edgeHub on {})", settings.deviceId(), settings.hostName(),
        hub.localAddress());
    return new EdgeRuntime(hub, agent, store, edgeTls, workload);
  }

  public EdgeHub edgeHub() {
    return hub;
  }

  /** The edge CA modules and leaf devices trust (EdgeModuleCACertificateFile). */
  public Path edgeCaPem() {
    return edgeTls.caPemPath();
  }

  /** Messages on disk not yet acknowledged by the hub. */
  public long storedMessages() {
    return store.pending();
  }

  @Override
  public void close() {
    agent.close();
    workload.close();
    hub.close();
    try {
      store.close();
    } catch (IOException e) {
      log.warn("store did not close: {}", e.toString());
    }
  }
}
