package io.twinhub.ops.bench.mqtt;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Mosquitto (Debian package) on a free loopback port with TLS: an EC P-256 server certificate from
 * a throw-away CA, the same kind of key the node generates. Installed with apt-get when missing.
 */
final class Mosquitto implements AutoCloseable {
  private final Process process;
  private final Path dir;
  private final int port;
  private final String version;

  private Mosquitto(Process process, Path dir, int port, String version) {
    this.process = process;
    this.dir = dir;
    this.port = port;
    this.version = version;
  }

  static Mosquitto start() throws Exception {
    String binary = find();
    Path dir = Files.createTempDirectory("mqtt-bench-mosquitto-");
    sh(dir, "openssl ecparam -name prime256v1 -genkey -noout -out ca.key"
        + " && openssl req -x509 -new -key ca.key -days 2 -subj /CN=twinhub-bench-ca -out ca.pem"
        + " && openssl ecparam -name prime256v1 -genkey -noout -out server.key"
        + " && openssl req -new -key server.key -subj /CN=127.0.0.1 -out server.csr"
        + " && printf 'subjectAltName=IP:127.0.0.1\\n' > ext"
        + " && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile ext -out server.pem"
        + " && chmod 644 *");
    int port = MqttBench.freePort();
    Files.writeString(dir.resolve("mosquitto.conf"), String.join("\n",
        "listener " + port + " 127.0.0.1",
        "cafile " + dir.resolve("ca.pem"),
        "certfile " + dir.resolve("server.pem"),
        "keyfile " + dir.resolve("server.key"),
        "allow_anonymous true",
        "max_connections -1",
        "persistence false",
        "user root",
        "log_dest stderr",
        "log_type error",
        "log_type warning", ""));
    String version = sh(dir, binary + " -h 2>&1 | head -1 || true").strip();
    Process p = new ProcessBuilder(binary, "-c", dir.resolve("mosquitto.conf").toString())
        .redirectErrorStream(true).redirectOutput(dir.resolve("mosquitto.log").toFile()).start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!MqttBench.listening(port)) {
      if (!p.isAlive() || System.nanoTime() > deadline) {
        p.destroyForcibly();
        throw new IOException("mosquitto did not start: " + Files.readString(dir.resolve("mosquitto.log")));
      }
      Thread.sleep(100);
    }
    System.out.printf("mosquitto (%s) on 127.0.0.1:%d over TLS, pid %d, files in %s%n", version, port, p.pid(), dir);
    return new Mosquitto(p, dir, port, version);
  }

  /** The mosquitto binary, installing the Debian package when it is missing. */
  private static String find() throws Exception {
    for (String c : List.of("/usr/sbin/mosquitto", "/usr/bin/mosquitto")) {
      if (Files.isExecutable(Path.of(c))) return c;
    }
    System.out.println("mosquitto not found: running 'apt-get install -y mosquitto' (Debian package)");
    String out = sh(Path.of("/tmp"), "(apt-get install -y mosquitto || (apt-get update && apt-get install -y mosquitto)) 2>&1 | tail -3");
    System.out.print(out);
    for (String c : List.of("/usr/sbin/mosquitto", "/usr/bin/mosquitto")) {
      if (Files.isExecutable(Path.of(c))) return c;
    }
    throw new IOException("mosquitto could not be installed");
  }

  private static String sh(Path dir, String command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder("bash", "-c", command).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (p.waitFor() != 0) throw new IOException(command + " failed: " + out);
    return out;
  }

  int port() {
    return port;
  }

  long pid() {
    return process.pid();
  }

  Path caPem() {
    return dir.resolve("ca.pem");
  }

  String version() {
    return version;
  }

  @Override
  public void close() throws Exception {
    process.destroy();
    if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly();
  }
}
