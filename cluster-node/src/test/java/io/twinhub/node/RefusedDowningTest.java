package io.twinhub.node;

import akka.actor.Address;
import akka.cluster.MemberStatus;
import com.typesafe.config.ConfigFactory;
import io.twinhub.node.RefusedDowning.MemberView;
import io.twinhub.node.RefusedDowning.Probe;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/** The decisions of {@link RefusedMemberDowner}, on a clock the test sets (no timing, no sockets). */
class RefusedDowningTest {
  static final Address A = new Address("akka", "twinhub", "10.0.0.1", 25520);
  static final Address B = new Address("akka", "twinhub", "10.0.0.2", 25520);
  static final Address C = new Address("akka", "twinhub", "10.0.0.3", 25520);
  static final Address D = new Address("akka", "twinhub", "10.0.0.4", 25520);
  static final Address E = new Address("akka", "twinhub", "10.0.0.5", 25520);
  static final long MS = 1_000_000L;
  static final Duration CONFIRM_FOR = Duration.ofSeconds(1);

  static MemberView up(Address a) {
    return new MemberView(a, MemberStatus.up(), true);
  }

  static MemberView unreachable(Address a) {
    return new MemberView(a, MemberStatus.up(), false);
  }

  /** Every 250 ms from 0 to {@code untilMs} inclusive, the same outcome for each member. */
  static void probe(RefusedDowning d, Probe outcome, long fromMs, long untilMs, Address... members) {
    for (long t = fromMs; t <= untilMs; t += 250) for (Address m : members) d.probed(m, outcome, t * MS);
  }

  @Test
  void aMemberIsConfirmedDeadOnlyAfterEveryConnectWasRefusedForConfirmForAndThreeTimes() {
    RefusedDowning d = new RefusedDowning(CONFIRM_FOR);
    assertFalse(d.confirmed(C, 0));
    probe(d, Probe.REFUSED, 0, 750, C); // 4 refusals over 750 ms
    assertFalse(d.confirmed(C, 750 * MS), "refused, but not for confirmFor yet");
    probe(d, Probe.REFUSED, 1000, 1000, C);
    assertTrue(d.confirmed(C, 1000 * MS));

    RefusedDowning slow = new RefusedDowning(CONFIRM_FOR);
    slow.probed(C, Probe.REFUSED, 0);
    slow.probed(C, Probe.REFUSED, 5000 * MS);
    assertFalse(slow.confirmed(C, 5000 * MS), "two refusals are not enough however far apart");
    slow.probed(C, Probe.REFUSED, 5250 * MS);
    assertTrue(slow.confirmed(C, 5250 * MS));

    RefusedDowning none = new RefusedDowning(Duration.ZERO);
    probe(none, Probe.REFUSED, 0, 250, C);
    assertFalse(none.confirmed(C, 250 * MS), "confirmFor 0 still takes three refusals");
    probe(none, Probe.REFUSED, 500, 500, C);
    assertTrue(none.confirmed(C, 500 * MS));
  }

  @Test
  void anyInconclusiveOutcomeStartsTheCountAgain() {
    for (Probe other : List.of(Probe.LISTENING, Probe.INCONCLUSIVE)) {
      RefusedDowning d = new RefusedDowning(CONFIRM_FOR);
      probe(d, Probe.REFUSED, 0, 750, C);
      d.probed(C, other, 1000 * MS); // e.g. a new incarnation bound the port, or a timeout
      assertFalse(d.confirmed(C, 1000 * MS), other.toString());
      probe(d, Probe.REFUSED, 1250, 2000, C);
      assertFalse(d.confirmed(C, 2000 * MS), other + ": 750 ms since the count restarted");
      probe(d, Probe.REFUSED, 2250, 2250, C);
      assertTrue(d.confirmed(C, 2250 * MS), other.toString());
      assertEquals("5 refused connects over 1000 ms", d.evidence(C, 2250 * MS));
    }
  }

  @Test
  void theLeaderOfTheMajorityDownsAConfirmedDeadMember() {
    RefusedDowning d = new RefusedDowning(CONFIRM_FOR);
    List<MemberView> view = List.of(up(A), up(B), unreachable(C));
    probe(d, Probe.REFUSED, 0, 750, C);
    assertEquals(List.of(), d.toDown(A, A, view, 750 * MS), "not confirmed yet");
    probe(d, Probe.REFUSED, 1000, 1000, C);
    assertEquals(List.of(C), d.toDown(A, A, view, 1000 * MS));
  }

  @Test
  void onlyTheLeaderActs() {
    RefusedDowning d = new RefusedDowning(CONFIRM_FOR);
    List<MemberView> view = List.of(up(A), up(B), unreachable(C));
    probe(d, Probe.REFUSED, 0, 1000, C);
    assertEquals(List.of(), d.toDown(B, A, view, 1000 * MS));
    assertEquals(List.of(), d.toDown(B, null, view, 1000 * MS));
    assertEquals(List.of(C), d.toDown(B, B, view, 1000 * MS));
  }

  @Test
  void theMinoritySideOfAPartitionThatRejectsConnectionsDownsNobody() {
    // C cut off by a firewall that answers with resets: C sees A and B refused, A and B see C refused.
    RefusedDowning onC = new RefusedDowning(CONFIRM_FOR);
    probe(onC, Probe.REFUSED, 0, 5000, A, B);
    assertTrue(onC.confirmed(A, 5000 * MS) && onC.confirmed(B, 5000 * MS));
    assertEquals(List.of(), onC.toDown(C, C, List.of(unreachable(A), unreachable(B), up(C)), 5000 * MS));
    RefusedDowning onA = new RefusedDowning(CONFIRM_FOR);
    probe(onA, Probe.REFUSED, 0, 1000, C);
    assertEquals(List.of(C), onA.toDown(A, A, List.of(up(A), up(B), unreachable(C)), 1000 * MS),
        "the majority side downs C (what the resolver would do, sooner)");
  }

  @Test
  void severalUnreachableMembersAreDownedOnlyIfEveryOneIsConfirmed() {
    List<MemberView> view = List.of(up(A), up(B), up(C), unreachable(D), unreachable(E));
    RefusedDowning d = new RefusedDowning(CONFIRM_FOR);
    probe(d, Probe.REFUSED, 0, 1000, D);
    probe(d, Probe.LISTENING, 0, 1000, E); // E is alive but cut off (or stalled)
    assertEquals(List.of(), d.toDown(A, A, view, 1000 * MS));
    probe(d, Probe.REFUSED, 1250, 2250, E);
    assertEquals(List.of(D, E), d.toDown(A, A, view, 2250 * MS));

    RefusedDowning timeout = new RefusedDowning(CONFIRM_FOR); // E's host powered off: the connect times out
    probe(timeout, Probe.REFUSED, 0, 1000, D);
    probe(timeout, Probe.INCONCLUSIVE, 0, 1000, E);
    assertEquals(List.of(), timeout.toDown(A, A, view, 1000 * MS));
  }

  @Test
  void keepMajorityRulesWithTiesAndConservativeCounting() {
    // 3 of 5 reachable: majority.
    assertTrue(RefusedDowning.keptByMajority(A, List.of(up(A), up(B), up(C), unreachable(D), unreachable(E))));
    // 2 of 5: minority.
    assertFalse(RefusedDowning.keptByMajority(A, List.of(up(A), up(B), unreachable(C), unreachable(D), unreachable(E))));
    // 2 of 4: a tie, kept by the side with the lowest address.
    assertTrue(RefusedDowning.keptByMajority(A, List.of(up(A), up(B), unreachable(C), unreachable(D))));
    assertFalse(RefusedDowning.keptByMajority(C, List.of(unreachable(A), unreachable(B), up(C), up(D))));
    // 1 of 2: the survivor with the lowest address keeps it, the other does not.
    assertTrue(RefusedDowning.keptByMajority(A, List.of(up(A), unreachable(B))));
    assertFalse(RefusedDowning.keptByMajority(B, List.of(unreachable(A), up(B))));
    // An unreachable joining member counts against this side; a reachable one does not count for it.
    assertFalse(RefusedDowning.keptByMajority(A, List.of(up(A), up(B),
        new MemberView(C, MemberStatus.joining(), false), unreachable(D), unreachable(E))));
    assertFalse(RefusedDowning.keptByMajority(A, List.of(up(A), new MemberView(B, MemberStatus.weaklyUp(), true),
        unreachable(C))));
    // Down and exiting members count for nobody.
    assertTrue(RefusedDowning.keptByMajority(A, List.of(up(A), up(B), unreachable(C),
        new MemberView(D, MemberStatus.down(), false), new MemberView(E, MemberStatus.exiting(), false))));
  }

  @Test
  void aMemberAlreadyDownNeedsNoConfirmationAndIsNotDownedAgain() {
    RefusedDowning d = new RefusedDowning(CONFIRM_FOR);
    probe(d, Probe.REFUSED, 0, 1000, C);
    List<MemberView> view = List.of(up(A), up(B), unreachable(C), new MemberView(D, MemberStatus.down(), false), up(E));
    assertEquals(List.of(C), d.toDown(A, A, view, 1000 * MS));
    assertEquals(List.of(), d.toDown(A, A, List.of(up(A), up(B), new MemberView(C, MemberStatus.down(), false)), 1000 * MS));
  }

  @Test
  void nothingWhenThisMemberIsItselfUnreachableOrNobodyIs() {
    RefusedDowning d = new RefusedDowning(CONFIRM_FOR);
    probe(d, Probe.REFUSED, 0, 1000, C);
    // Others see A unreachable (an asymmetric view): A's own evidence about C does not let it act.
    assertEquals(List.of(), d.toDown(A, A, List.of(unreachable(A), up(B), unreachable(C), up(D), up(E)), 1000 * MS));
    assertEquals(List.of(), d.toDown(A, A, List.of(up(A), up(B), up(C)), 1000 * MS));
  }

  @Test
  void evidenceIsForgottenOnceTheMemberIsNoLongerUnreachable() {
    RefusedDowning d = new RefusedDowning(CONFIRM_FOR);
    probe(d, Probe.REFUSED, 0, 1000, C, D);
    d.retainOnly(Set.of(D));
    assertFalse(d.confirmed(C, 1000 * MS));
    assertTrue(d.confirmed(D, 1000 * MS));
    d.probed(C, Probe.REFUSED, 1250 * MS); // unreachable again later: a new count
    assertFalse(d.confirmed(C, 1250 * MS));
  }

  @Test
  void theProbeIsTrustedOnlyWhereTheCanonicalAddressIsTheBoundOne() {
    String base = "twinhub.cluster.down-refused-members = on\n"
        + "akka.remote.artery { transport = tcp, canonical.hostname = \"10.0.0.1\", canonical.port = 25520, "
        + "bind.hostname = \"\", bind.port = \"\" }\n";
    assertNull(RefusedMemberDowner.disabledBecause(ConfigFactory.parseString(base)));
    assertNull(RefusedMemberDowner.disabledBecause(ConfigFactory.parseString(base + "akka.remote.artery.transport = tls-tcp")));
    assertNull(RefusedMemberDowner.disabledBecause(ConfigFactory.parseString(base + "akka.remote.artery.bind.hostname = \"0.0.0.0\"")));
    assertNull(RefusedMemberDowner.disabledBecause(ConfigFactory.parseString(base + "akka.remote.artery.bind.hostname = \"10.0.0.1\"")));
    assertNull(RefusedMemberDowner.disabledBecause(ConfigFactory.parseString(base + "akka.remote.artery.bind.port = 25520")));
    assertNotNull(RefusedMemberDowner.disabledBecause(ConfigFactory.parseString(base + "twinhub.cluster.down-refused-members = off")));
    assertNotNull(RefusedMemberDowner.disabledBecause(ConfigFactory.parseString(base + "akka.remote.artery.transport = aeron-udp")));
    assertNotNull(RefusedMemberDowner.disabledBecause(ConfigFactory.parseString(base + "akka.remote.artery.bind.hostname = \"172.17.0.2\"")));
    assertNotNull(RefusedMemberDowner.disabledBecause(ConfigFactory.parseString(base + "akka.remote.artery.bind.port = 2552")));
  }

  @Test
  void theShippedConfigurationHasItOn() {
    var config = ConfigFactory.load();
    assertTrue(config.getBoolean("twinhub.cluster.down-refused-members"));
    assertEquals(Duration.ofSeconds(1), config.getDuration("twinhub.cluster.down-refused-after"));
    assertNull(RefusedMemberDowner.disabledBecause(config));
    // On Kubernetes every listener binds 0.0.0.0 and the canonical address is the pod's IP: on too
    // (a container killed in its pod is restarted in the same network namespace, whose kernel refuses).
    var kubernetes = ConfigFactory.parseResources("kubernetes.conf")
        .withFallback(ConfigFactory.parseMap(java.util.Map.of("POD_IP", "10.1.2.3", "TWINHUB_CASSANDRA_CONTACT_POINTS", "c:9042")))
        .withFallback(ConfigFactory.defaultReference()).resolve();
    assertNull(RefusedMemberDowner.disabledBecause(kubernetes));
  }

  @Test
  void aRefusedConnectIsSeenAsRefusedAndAListeningPortAsListening() throws Exception {
    // A port nobody listens on (claimed by this JVM, bound by no one) and one a server socket holds, on loopback.
    int closed = io.twinhub.ops.net.FreePorts.next();
    assertEquals(Probe.REFUSED, RefusedMemberDowner.probe(new Address("akka", "twinhub", "127.0.0.1", closed)).outcome());
    try (var s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      assertEquals(Probe.LISTENING, RefusedMemberDowner.probe(new Address("akka", "twinhub", "127.0.0.1", s.getLocalPort())).outcome());
    }
  }
}
