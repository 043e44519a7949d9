package io.twinhub.ops.net;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.channels.FileChannel;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Loopback ports for listeners that must be told their port before they bind (a Cassandra node's
 * storage port, a cluster member's remoting port that the others name as a seed, a child JVM).
 * Where the listener can bind port 0 and report what it got, let it do that instead.
 *
 * <p>The old way, bind port 0, read the port, close, hand the number on, races twice: the kernel
 * hands a port it just gave out and got back to the very next bind(0) of any process (with
 * SO_REUSEADDR it picks odd ports in the lower half of {@code ip_local_port_range}, about 7,000
 * ports: among the dozen ports of one bench start a repeat came up often enough to kill a bench
 * run of session 18), and outgoing connections take their local ports from that same range while
 * the child JVM is still starting. So the picker
 * <ul>
 *   <li>picks outside {@code /proc/sys/net/ipv4/ip_local_port_range}, where neither bind(0) nor
 *       connect() ever lands (below it, from {@value #FLOOR}; above it when there is more room);</li>
 *   <li>never hands the same port out twice in one JVM;</li>
 *   <li>claims each port against every other JVM using this class on the machine with a one-byte
 *       lock at offset {@code port} of one shared file (held until this JVM exits: the OS drops
 *       the locks with the process);</li>
 *   <li>hands out only a port it could bind just now (so not one some other program listens on).</li>
 * </ul>
 * A listener can still lose its port to a program that binds it by number in between; who starts
 * one should start it again on a fresh port when it fails with "address already in use".
 */
public final class FreePorts {
  /** The lowest port handed out: clear of the well-known and registered services most boxes run. */
  public static final int FLOOR = 10_000;
  private static final int MIN_ROOM = 1_000;

  private static final FreePorts SHARED = new FreePorts(range(ephemeralRange()),
      Optional.of(Path.of(System.getProperty("java.io.tmpdir"), "twinhub-free-ports.lock")));

  private final int low;
  private final int high;
  private final Optional<Path> lockFile;
  private final Set<Integer> handedOut = new HashSet<>();
  private FileChannel locks;
  private boolean claimsOff;

  /** Picks from {@code low..high} (inclusive); {@code lockFile}: the file that claims ports across JVMs, if any. */
  public FreePorts(int[] lowHigh, Optional<Path> lockFile) {
    if (lowHigh[0] < 1 || lowHigh[1] > 65535 || lowHigh[0] > lowHigh[1]) {
      throw new IllegalArgumentException("bad port range " + lowHigh[0] + ".." + lowHigh[1]);
    }
    this.low = lowHigh[0];
    this.high = lowHigh[1];
    this.lockFile = lockFile;
  }

  /** A free loopback port from this JVM's picker (see the class comment). */
  public static int next() {
    return SHARED.pick();
  }

  /** This JVM's picker's range, low and high inclusive. */
  public static int[] sharedRange() {
    return new int[] {SHARED.low, SHARED.high};
  }

  /** A port not handed out before by this picker, claimed, and bindable on loopback now. */
  public synchronized int pick() {
    int size = high - low + 1;
    int start = ThreadLocalRandom.current().nextInt(size);
    for (int i = 0; i < size; i++) {
      int port = low + (start + i) % size;
      if (handedOut.contains(port)) continue;
      if (!claim(port)) continue;
      handedOut.add(port); // claimed: ours for this JVM's life whether it binds now or not
      if (bindable(port)) return port;
    }
    throw new IllegalStateException("no free port left in " + low + ".." + high + " (" + handedOut.size() + " handed out)");
  }

  private boolean claim(int port) {
    if (lockFile.isEmpty() || claimsOff) return true;
    try {
      if (locks == null) {
        Files.createDirectories(lockFile.get().toAbsolutePath().getParent());
        locks = FileChannel.open(lockFile.get(), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
      }
      return locks.tryLock(port, 1, false) != null;
    } catch (OverlappingFileLockException e) {
      return false; // claimed by this JVM already (another picker)
    } catch (IOException e) {
      // Another user's file, a read-only tmp: go on without the claims across JVMs (the rest still holds).
      claimsOff = true;
      return true;
    }
  }

  private static boolean bindable(int port) {
    // SO_REUSEADDR as the servers bind: a port in TIME_WAIT from an earlier run is fine for them.
    try (ServerSocket s = new ServerSocket()) {
      s.setReuseAddress(true);
      s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * The range to pick from, given the kernel's ephemeral range: below it (from {@value #FLOOR}),
   * or above it when there is more room there; the whole of {@value #FLOOR}..65535 when neither
   * side has {@value #MIN_ROOM} ports (then only the other guarantees hold).
   */
  static int[] range(int[] ephemeral) {
    int below = ephemeral[0] - FLOOR;
    int above = 65535 - ephemeral[1];
    if (below >= above && below >= MIN_ROOM) return new int[] {FLOOR, ephemeral[0] - 1};
    if (above >= MIN_ROOM) return new int[] {Math.max(FLOOR, ephemeral[1] + 1), 65535};
    return new int[] {FLOOR, 65535};
  }

  /** {@code /proc/sys/net/ipv4/ip_local_port_range}, or Linux's default 32768..60999 where there is none. */
  static int[] ephemeralRange() {
    try {
      List<String> f = List.of(Files.readString(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).trim().split("\\s+"));
      return new int[] {Integer.parseInt(f.get(0)), Integer.parseInt(f.get(1))};
    } catch (IOException | RuntimeException e) {
      return new int[] {32768, 60999};
    }
  }
}
