package io.twinhub.node.cli;

import io.twinhub.node.NodeSettings;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A node's settings on the command line ({@code run}, {@code reindex}): each option stands for one
 * config key (its {@code descriptionKey}); its default and environment variable are application.conf's.
 * Only options given on the command line override the configuration.
 */
public final class NodeOptions {
  @Spec(Spec.Target.MIXEE)
  CommandSpec mixee;

  @Option(names = "--data-dir", paramLabel = "DIR", descriptionKey = "twinhub.data-dir",
      description = "node state: embedded Cassandra data, keys, TLS material (TWINHUB_DATA_DIR; default ${DEFAULT-VALUE})")
  String dataDir;

  @Option(names = "--host-name", paramLabel = "NAME", descriptionKey = "twinhub.host-name",
      description = "name clients use: connection strings, TLS, SAS (TWINHUB_HOST_NAME; default ${DEFAULT-VALUE})")
  String hostName;

  @Option(names = "--bind-interface", paramLabel = "ADDR", descriptionKey = "twinhub.bind-interface",
      description = "interface every listener binds to (TWINHUB_BIND_INTERFACE; default ${DEFAULT-VALUE})")
  String bindInterface;

  @Option(names = "--http-port", paramLabel = "PORT", descriptionKey = "twinhub.http.port",
      description = "REST API, HTTPS (TWINHUB_HTTP_PORT; default ${DEFAULT-VALUE})")
  Integer httpPort;

  @Option(names = "--http-plain-port", paramLabel = "PORT|off", descriptionKey = "twinhub.http.plain-port",
      description = "plain-HTTP REST API for local curl (TWINHUB_HTTP_PLAIN_PORT; default ${DEFAULT-VALUE})")
  String httpPlainPort;

  @Option(names = "--tls-keystore", paramLabel = "FILE.p12", descriptionKey = "twinhub.http.tls.keystore",
      description = "PKCS12 keystore to serve instead of the generated CA + certificate (TWINHUB_TLS_KEYSTORE, "
          + "password in TWINHUB_TLS_KEYSTORE_PASSWORD)")
  String tlsKeystore;

  @Option(names = "--mqtt-port", paramLabel = "PORT", descriptionKey = "twinhub.mqtt.port",
      description = "MQTT over TLS; the device SDKs hard-wire 8883 (TWINHUB_MQTT_PORT; default ${DEFAULT-VALUE})")
  Integer mqttPort;

  @Option(names = "--amqp-port", paramLabel = "PORT", descriptionKey = "twinhub.amqp.port",
      description = "AMQPS for cloud-to-device messages; the service SDKs hard-wire 5671 (TWINHUB_AMQP_PORT; default ${DEFAULT-VALUE})")
  Integer amqpPort;

  @Option(names = "--management-port", paramLabel = "PORT", descriptionKey = "twinhub.management.port",
      description = "/ready, /alive, /metrics, /cluster/members (TWINHUB_MANAGEMENT_PORT; default ${DEFAULT-VALUE})")
  Integer managementPort;

  @Option(names = "--remoting-port", paramLabel = "PORT", descriptionKey = "twinhub.remoting.port",
      description = "Akka cluster remoting (TWINHUB_REMOTING_PORT; default ${DEFAULT-VALUE})")
  Integer remotingPort;

  @Option(names = "--cassandra-port", paramLabel = "PORT", descriptionKey = "twinhub.cassandra.embedded.native-port",
      description = "embedded Cassandra's CQL port (TWINHUB_CASSANDRA_PORT; default ${DEFAULT-VALUE})")
  Integer cassandraPort;

  @Option(names = "--cassandra-storage-port", paramLabel = "PORT", descriptionKey = "twinhub.cassandra.embedded.storage-port",
      description = "embedded Cassandra's gossip port (TWINHUB_CASSANDRA_STORAGE_PORT; default ${DEFAULT-VALUE})")
  Integer cassandraStoragePort;

  @Option(names = "--cassandra-heap", paramLabel = "SIZE", descriptionKey = "twinhub.cassandra.embedded.heap",
      description = "embedded Cassandra's max heap (TWINHUB_CASSANDRA_HEAP; default ${DEFAULT-VALUE})")
  String cassandraHeap;

  @Option(names = "--cassandra-contact-points", paramLabel = "H:P,...", descriptionKey = "twinhub.cassandra.contact-points",
      description = "an external Cassandra; when set, nothing is embedded (TWINHUB_CASSANDRA_CONTACT_POINTS)")
  String cassandraContactPoints;

  @Option(names = "--seed-nodes", paramLabel = "akka://twinhub@H:P,...", descriptionKey = "twinhub.seed-nodes",
      description = "join a cluster; empty = a single node joining itself (TWINHUB_SEED_NODES)")
  String seedNodes;

  @Option(names = "--roles", paramLabel = "ROLE,...", descriptionKey = "twinhub.roles",
      description = "what this member does: twin, api, mqtt, query, worker (TWINHUB_ROLES; default ${DEFAULT-VALUE})")
  String roles;

  @Option(names = "--iothub-ports", descriptionKey = "iothub-ports",
      description = "listen where IoT Hub does: REST on 443, MQTT on 8883, AMQPS on 5671, so every SDK's connection "
          + "string works as is (ports below 1024 need root or CAP_NET_BIND_SERVICE); an explicit port flag wins")
  boolean iothubPorts;

  @Option(names = "--kafka", descriptionKey = "kafka",
      description = "start an embedded Kafka broker with the node and publish the change feed to it (docs/KAFKA.md)")
  boolean kafka;

  @Option(names = "--kafka-bootstrap", paramLabel = "H:P,...", descriptionKey = "twinhub.kafka.bootstrap-servers",
      description = "publish the change feed to this Kafka cluster (TWINHUB_KAFKA_BOOTSTRAP)")
  String kafkaBootstrap;

  @Option(names = "--kafka-port", paramLabel = "PORT", descriptionKey = "twinhub.kafka.embedded.port",
      description = "the embedded Kafka broker's port (TWINHUB_KAFKA_PORT; default ${DEFAULT-VALUE})")
  Integer kafkaPort;

  /** The config keys the command line set (flags given, not defaults). */
  public Map<String, Object> overrides() {
    Map<String, Object> o = new LinkedHashMap<>();
    if (iothubPorts) {
      o.put("twinhub.http.port", 443);
      o.put("twinhub.mqtt.port", 8883);
      o.put("twinhub.amqp.port", 5671);
    }
    if (kafka) o.put("twinhub.kafka.bootstrap-servers", "embedded");
    var parsed = mixee.commandLine().getParseResult();
    for (OptionSpec option : mixee.options()) {
      if (ConfigDefaults.isConfigKey(option.descriptionKey()) && parsed.hasMatchedOption(option)) {
        o.put(option.descriptionKey(), option.getValue());
      }
    }
    return o;
  }

  /** application.conf with these flags on top; a bad value is a usage error naming the key. */
  public NodeSettings settings() {
    return NodeSettings.fromConfig(overrides());
  }
}
