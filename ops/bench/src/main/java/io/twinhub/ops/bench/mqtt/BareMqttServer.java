package io.twinhub.ops.bench.mqtt;

import akka.NotUsed;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.stream.javadsl.Flow;
import akka.stream.javadsl.Tcp;
import akka.util.ByteString;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.twinhub.mqtt.MqttGateway;
import io.twinhub.mqtt.MqttSettings;
import io.twinhub.mqtt.codec.MqttCodec;
import io.twinhub.mqtt.codec.MqttPacket;
import io.twinhub.mqtt.session.DeviceTopics;
import io.twinhub.mqtt.tls.TlsMaterial;
import io.twinhub.twin.auth.SasOutcome;
import io.twinhub.twin.auth.SasVerifier;
import io.twinhub.twin.auth.SymmetricKeyPair;

import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code mqtt-storm}'s floor ({@code ./twinhub bench mqtt-bare}): the node's device-facing transport
 * with nothing of the hub behind it, in a JVM of its own like a node. It binds with
 * {@link MqttGateway#bind} — the gateway's own code: Akka Streams TCP, the configured TLS stage and
 * provider ({@code twinhub.mqtt.tls-stage}, {@code tls-provider}: with {@code auto} BoringSSL when it
 * loads, as on the node), the engines of {@link TlsMaterial#serverEngines} (an ECDSA P-256 server
 * certificate under the hub's CA, the same session cache, lifetime and TLS 1.3 ticket keys) and
 * {@code MqttFraming} — and answers each CONNECT whose SAS token verifies (parse + HMAC-SHA256 with
 * the bench devices' key: the only part of a hub's CONNECT kept) with CONNACK 0, a PINGREQ with
 * PINGRESP, and ends the connection at DISCONNECT. No session actor, no twin, no sharding, no journal.
 * It is also {@code mqtt-reported}'s floor ({@code ./twinhub bench mqtt-reported-bare}): a SUBSCRIBE
 * gets its SUBACK and every reported patch PUBACK + {@code res/204} at once ({@link #twinAnswer}).
 *
 * <pre>java -cp ... io.twinhub.ops.bench.mqtt.BareMqttServer DATA_DIR PORT HOST_NAME</pre>
 * DATA_DIR must hold {@code tls/ca.pem} and {@code tls/ca.key} (copied from the node); HOST_NAME is
 * the hub's (the devices' tokens name it).
 */
public final class BareMqttServer {
  /** Printed once bound, with the TLS stage and provider. */
  public static final String READY = "bare mqtt ready";

  private BareMqttServer() {}

  public static void main(String[] args) throws Exception {
    // The node's configuration (twinhub.mqtt.* with the same environment overrides), Akka local.
    Config config = ConfigFactory.parseString("akka.actor.provider = local\nakka.loglevel = WARNING")
        .withFallback(ConfigFactory.load());
    Running running = start(Path.of(args[0]), Integer.parseInt(args[1]), args[2], config);
    System.out.println(READY + " on " + running.binding().localAddress() + " (" + running.describe() + ")");
    Runtime.getRuntime().addShutdownHook(new Thread(running::close));
  }

  /** A bound bare endpoint; closing terminates its actor system. */
  record Running(ActorSystem<Void> system, Tcp.ServerBinding binding, MqttSettings settings, String serverKey)
      implements AutoCloseable {
    String describe() {
      return "TLS " + settings.tlsDescription() + ", " + serverKey + " server key; CONNACK after the SAS HMAC only";
    }

    @Override
    public void close() {
      system.terminate();
    }
  }

  /**
   * Binds the bare endpoint on {@code twinhub.bind-interface:port} of {@code config} (0: a free port)
   * with a server certificate for {@code hostName} under the CA in {@code dir/tls} (made if absent).
   */
  static Running start(Path dir, int port, String hostName, Config config) throws Exception {
    MqttSettings settings = MqttSettings.from(config).withPort(port);
    TlsMaterial tls = TlsMaterial.loadOrCreate(dir, List.of(hostName, "127.0.0.1"),
        TlsMaterial.ServerKey.parse(config.getString("twinhub.http.tls.server-key")), Clock.systemUTC());
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "bare-mqtt", config);
    try {
      SasVerifier sas = new SasVerifier(List.of(hostName), Clock.systemUTC());
      SymmetricKeyPair keys = new SymmetricKeyPair(MqttBench.DEVICE_KEY, MqttBench.DEVICE_KEY);
      Tcp.ServerBinding binding = MqttGateway.bind(system, settings, tls.serverEngines(settings.openSsl()), session(sas, keys),
          new AtomicLong()).toCompletableFuture().get(30, TimeUnit.SECONDS);
      return new Running(system, binding, settings, keyName(tls.serverCertificateChain().get(0).getPublicKey()));
    } catch (Exception e) {
      system.terminate();
      throw e;
    }
  }

  /** "EC 256-bit" (P-256, the generated default) or "RSA 2048-bit". */
  static String keyName(java.security.PublicKey key) {
    if (key instanceof java.security.interfaces.ECPublicKey ec) return "EC " + ec.getParams().getCurve().getField().getFieldSize() + "-bit";
    if (key instanceof java.security.interfaces.RSAPublicKey rsa) return "RSA " + rsa.getModulus().bitLength() + "-bit";
    return key.getAlgorithm();
  }

  /**
   * A connection's packets to its answers: until DISCONNECT, each packet's {@link #answer}, and
   * {@link #twinAnswer} for subscriptions and reported patches (the connection's reported
   * {@code $version} counts its patches, as its twin's would).
   */
  static Flow<MqttPacket, ByteString, NotUsed> session(SasVerifier sas, SymmetricKeyPair keys) {
    return Flow.<MqttPacket>create()
        .takeWhile(p -> p.type() != MqttPacket.DISCONNECT)
        .statefulMapConcat(() -> {
          long[] reportedVersion = {1}; // a new twin's
          return p -> {
            List<MqttPacket> twin = twinAnswer(p, reportedVersion);
            if (!twin.isEmpty()) return List.of(encode(twin));
            return answer(p, sas, keys).map(a -> List.of(MqttCodec.encode(a))).orElse(List.of());
          };
        });
  }

  /** Packets written together (one socket write, as the node writes PUBACK and a twin answer). */
  static ByteString encode(List<MqttPacket> packets) {
    ByteString out = ByteString.emptyByteString();
    for (MqttPacket p : packets) out = out.concat(MqttCodec.encode(p));
    return out;
  }

  /**
   * {@code mqtt-reported}'s floor: what a hub that accepts every reported patch at once would answer,
   * with no parse, admission, entity or journal. SUBSCRIBE: SUBACK granting each filter at most QoS 1
   * (as the hub does); a reported patch (QoS 0 or 1, valid {@code $rid}): PUBACK (QoS 1) and
   * {@code $iothub/twin/res/204/?$rid=…&$version=…} with the connection's next reported version.
   * Anything else: nothing here.
   */
  static List<MqttPacket> twinAnswer(MqttPacket p, long[] reportedVersion) {
    if (p instanceof MqttPacket.Subscribe s) {
      return List.of(new MqttPacket.SubAck(s.packetId(), s.filters().stream().map(f -> Math.min(f.qos(), 1)).toList()));
    }
    if (!(p instanceof MqttPacket.Publish pub) || pub.qos() > 1) return List.of();
    Optional<String> rid = DeviceTopics.reportedPatchRid(pub.topic());
    if (rid.isEmpty()) return List.of();
    MqttPacket.Publish response = MqttPacket.Publish.qos0(DeviceTopics.twinPatchResponse(204, rid.get(), ++reportedVersion[0]),
        ByteString.emptyByteString());
    return pub.qos() == 1 ? List.of(MqttPacket.PacketIdOnly.pubAck(pub.packetId()), response) : List.of(response);
  }

  /**
   * What the bare endpoint answers: a CONNECT of a device whose token verifies with {@code keys}
   * CONNACK 0, any other CONNECT CONNACK 5; PINGREQ PINGRESP; anything else nothing.
   */
  static Optional<MqttPacket> answer(MqttPacket p, SasVerifier sas, SymmetricKeyPair keys) {
    if (p instanceof MqttPacket.Connect c) {
      String token = c.passwordText();
      boolean valid = token != null
          && sas.verifyDevice(token, c.clientId(), null, (device, module) -> Optional.of(keys)) instanceof SasOutcome.Valid;
      return Optional.of(new MqttPacket.ConnAck(false,
          valid ? MqttPacket.ConnectReturnCode.ACCEPTED : MqttPacket.ConnectReturnCode.NOT_AUTHORIZED));
    }
    if (p.type() == MqttPacket.PINGREQ) return Optional.of(MqttPacket.Empty.PINGRESP_PACKET);
    return Optional.empty();
  }
}
