package io.twinhub.ops.kafka;

import io.twinhub.ops.cassandra.EmbeddedCassandra;
import io.twinhub.ops.cassandra.ParentWatchdogMain;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real Apache Kafka 4.x broker (KRaft: broker and controller in one process) as a child JVM,
 * from the Maven artifacts {@code ops/kafka-classpath} resolves, the same pattern as
 * {@link io.twinhub.ops.cassandra.EmbeddedCassandra}: loopback only, ports chosen by the caller,
 * data under {@code dataDir} (formatted once with a cluster id of its own, reused on restart),
 * the child tied to this JVM by {@link ParentWatchdogMain} (it stops when this JVM dies, even on
 * {@code kill -9}), a clean stop (SIGTERM: Kafka's controlled shutdown) with a hard kill after 30 s.
 *
 * <p>Single node: internal topics (consumer offsets, transaction state) have replication factor 1
 * and min ISR 1, which is what lets transactions run on one broker.
 */
public final class EmbeddedKafka implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EmbeddedKafka.class);
  static final String CLASSPATH_RESOURCE = "/io/twinhub/ops/kafka/kafka.classpath";
  static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);
  /**
   * JVM options added to the broker's (and the storage tool's) own, separated by white space, as
   * {@link EmbeddedCassandra#JVM_OPTIONS_PROPERTY} for Cassandra (the test suite runs both on C1 only).
   */
  public static final String JVM_OPTIONS_PROPERTY = "twinhub.embedded-kafka.jvm-options";

  private final Path dataDir;
  private final int port;
  private final int controllerPort;
  private final String heap;
  private final Duration startTimeout;
  private Process process;
  private OutputStream stdin;
  private Duration startedIn;

  /**
   * @param port           the client listener ({@code bootstrap.servers = 127.0.0.1:port})
   * @param controllerPort the KRaft controller listener
   */
  public EmbeddedKafka(Path dataDir, int port, int controllerPort, String heap, Duration startTimeout) {
    this.dataDir = dataDir.toAbsolutePath();
    this.port = port;
    this.controllerPort = controllerPort;
    this.heap = heap;
    this.startTimeout = startTimeout;
  }

  public String bootstrapServers() {
    return "127.0.0.1:" + port;
  }

  public int port() {
    return port;
  }

  /** Starts the broker (formatting {@code dataDir} on first use) and returns once it accepts connections. */
  public synchronized EmbeddedKafka start() {
    if (process != null && process.isAlive()) throw new IllegalStateException("Kafka is already running (pid " + process.pid() + ")");
    long t0 = System.nanoTime();
    try {
      Files.createDirectories(dataDir.resolve("logs"));
      if (open(port)) throw new IllegalStateException("port " + port + " is in use; Kafka needs it for its listener");
      List<String> classpath = classpath();
      Path config = writeConfig();
      if (!Files.exists(dataDir.resolve("log").resolve("meta.properties"))) format(classpath, config);
      process = launch(classpath, List.of("kafka.Kafka", config.toString()), dataDir.resolve("logs").resolve("kafka.out"));
      stdin = process.getOutputStream(); // kept open: EOF tells the watchdog that this JVM is gone
      long deadline = t0 + startTimeout.toNanos();
      while (!open(port)) {
        if (!process.isAlive()) {
          throw new IllegalStateException("Kafka exited with " + process.exitValue() + " while starting: "
              + tail(dataDir.resolve("logs/kafka.out")));
        }
        if (System.nanoTime() > deadline) throw new IllegalStateException("Kafka did not open port " + port + " within " + startTimeout.toSeconds() + " s");
        Thread.sleep(100);
      }
    } catch (IOException e) {
      killQuietly();
      throw new IllegalStateException("cannot start Kafka: " + e, e);
    } catch (InterruptedException e) {
      killQuietly();
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while starting Kafka", e);
    } catch (RuntimeException e) {
      killQuietly();
      throw e;
    }
    startedIn = Duration.ofNanos(System.nanoTime() - t0);
    log.info("Kafka up on {} in {} ms (pid {}, data {})", bootstrapServers(), startedIn.toMillis(), process.pid(), dataDir);
    return this;
  }

  /** SIGTERM (controlled shutdown), up to 30 s, then SIGKILL. Idempotent. */
  public synchronized void stop() {
    Process p = process;
    if (p == null) return;
    p.destroy();
    boolean clean;
    try {
      clean = p.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      clean = false;
    }
    if (!clean) p.destroyForcibly();
    closeStdin();
    process = null;
    log.info("Kafka pid {} stopped{}", p.pid(), clean ? "" : " (killed: no clean exit within " + STOP_TIMEOUT.toSeconds() + " s)");
  }

  /** {@code kill -9} of the broker (tests of a broker crash); {@link #start()} again recovers its logs. */
  public synchronized void kill() {
    Process p = process;
    if (p == null) return;
    p.destroyForcibly();
    try {
      p.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    closeStdin();
    process = null;
  }

  /** The broker JVM's process id (-1 when not running): for the bench's per-thread CPU. */
  public synchronized long pid() {
    Process p = process;
    return p == null || !p.isAlive() ? -1 : p.pid();
  }

  public boolean isRunning() {
    Process p = process;
    return p != null && p.isAlive();
  }

  public Duration startedIn() {
    return startedIn;
  }

  @Override
  public void close() {
    stop();
  }

  private Path writeConfig() throws IOException {
    String host = "127.0.0.1";
    String props = String.join("\n",
        "# Written by io.twinhub.ops.kafka.EmbeddedKafka on every start; edits are overwritten.",
        "process.roles=broker,controller",
        "node.id=1",
        "controller.quorum.voters=1@" + host + ":" + controllerPort,
        "listeners=PLAINTEXT://" + host + ":" + port + ",CONTROLLER://" + host + ":" + controllerPort,
        "advertised.listeners=PLAINTEXT://" + host + ":" + port,
        "controller.listener.names=CONTROLLER",
        "inter.broker.listener.name=PLAINTEXT",
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs=" + dataDir.resolve("log"),
        "num.partitions=1",
        // One broker: internal topics cannot have more replicas, and transactions need min ISR 1.
        "offsets.topic.replication.factor=1",
        "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1",
        "group.initial.rebalance.delay.ms=0",
        "auto.create.topics.enable=true",
        "");
    Path file = dataDir.resolve("server.properties");
    Files.writeString(file, props, StandardCharsets.UTF_8);
    return file;
  }

  /** {@code kafka-storage.sh format}: the log directory gets the cluster id and the node's metadata. */
  private void format(List<String> classpath, Path config) throws IOException, InterruptedException {
    String clusterId = clusterId(new SecureRandom());
    Process f = launch(classpath, List.of("kafka.tools.StorageTool", "format", "-t", clusterId, "-c", config.toString()),
        dataDir.resolve("logs").resolve("format.out"));
    // Its stdin stays open until it is done: EOF would tell the watchdog that this JVM is gone.
    boolean done = f.waitFor(startTimeout.toMillis(), TimeUnit.MILLISECONDS);
    f.getOutputStream().close();
    if (!done || f.exitValue() != 0 || !Files.exists(dataDir.resolve("log").resolve("meta.properties"))) {
      f.destroyForcibly();
      throw new IllegalStateException("formatting Kafka's log directory failed (" + (done ? "exit " + f.exitValue() : "timed out")
          + "): " + tail(dataDir.resolve("logs/format.out")));
    }
  }

  /**
   * A cluster id as Kafka's {@code Uuid.randomUuid()} makes them: 16 random bytes, URL-safe base64
   * without padding, never starting with '-' (the storage tool would read it as an option: with a
   * random first character that failed one format in 64).
   */
  static String clusterId(SecureRandom random) {
    while (true) {
      byte[] id = new byte[16];
      random.nextBytes(id);
      String s = Base64.getUrlEncoder().withoutPadding().encodeToString(id);
      if (!s.startsWith("-")) return s;
    }
  }

  private Process launch(List<String> classpath, List<String> mainAndArgs, Path output) throws IOException {
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    List<String> cmd = new ArrayList<>(List.of(java.toString(), "-Xms" + heap, "-Xmx" + heap, "-XX:+UseG1GC",
        "-XX:+ExitOnOutOfMemoryError", "-Djava.net.preferIPv4Stack=true",
        "-Dkafka.logs.dir=" + dataDir.resolve("logs"),
        "-D" + ParentWatchdogMain.PARENT_PID_PROPERTY + "=" + ProcessHandle.current().pid(),
        "-D" + ParentWatchdogMain.MAIN_CLASS_PROPERTY + "=" + mainAndArgs.get(0),
        "-Dtwinhub.embedded-kafka=" + dataDir)); // to find it with pgrep -f
    cmd.addAll(EmbeddedCassandra.extraJvmOptions(System.getProperty(JVM_OPTIONS_PROPERTY)));
    cmd.addAll(List.of("-cp", ParentWatchdogMain.installInto(dataDir.resolve(".launcher")) + File.pathSeparator + String.join(File.pathSeparator, classpath),
        ParentWatchdogMain.class.getName()));
    cmd.addAll(mainAndArgs.subList(1, mainAndArgs.size()));
    return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(output.toFile()).start();
  }

  static List<String> classpath() {
    try (InputStream in = EmbeddedKafka.class.getResourceAsStream(CLASSPATH_RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException(CLASSPATH_RESOURCE + " is not on the classpath; add the io.twinhub:twinhub-kafka-classpath dependency");
      }
      List<String> entries = Arrays.stream(new String(in.readAllBytes(), StandardCharsets.UTF_8).strip().split(File.pathSeparator))
          .filter(s -> !s.isBlank()).toList();
      if (entries.stream().noneMatch(e -> Path.of(e).getFileName().toString().startsWith("kafka_2.13-"))) {
        throw new IllegalStateException(CLASSPATH_RESOURCE + " does not list kafka_2.13; rebuild twinhub-kafka-classpath");
      }
      return entries;
    } catch (IOException e) {
      throw new IllegalStateException("cannot read " + CLASSPATH_RESOURCE + ": " + e, e);
    }
  }

  private static String tail(Path file) {
    try {
      List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
      return String.join(" | ", lines.subList(Math.max(0, lines.size() - 5), lines.size()));
    } catch (IOException e) {
      return "(no output: " + e + ")";
    }
  }

  private static boolean open(int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 500);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private void closeStdin() {
    try {
      if (stdin != null) stdin.close();
    } catch (IOException ignored) {
      // the child is gone
    }
    stdin = null;
  }

  private void killQuietly() {
    if (process != null) process.destroyForcibly();
    closeStdin();
    process = null;
  }
}
