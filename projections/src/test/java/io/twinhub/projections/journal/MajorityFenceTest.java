package io.twinhub.projections.journal;

import akka.actor.Address;
import akka.cluster.Member;
import akka.cluster.MemberStatus;
import akka.cluster.UniqueAddress;
import akka.util.Version;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/** The fence follows keep-majority: the side that the Split Brain Resolver will down journals nothing. */
class MajorityFenceTest {
  static Address node(int port) {
    return new Address("akka", "twinhub", "127.0.0.1", port);
  }

  static Member member(int port, MemberStatus status) {
    return new Member(new UniqueAddress(node(port), (long) port), 1, status,
        scala.collection.immutable.Set$.MODULE$.<String>empty(), Version.Zero());
  }

  static final MemberStatus UP = MemberStatus.up();

  @Test
  void theMajoritySideWritesTheMinoritySideIsFenced() {
    List<Member> three = List.of(member(1, UP), member(2, UP), member(3, UP));
    assertFalse(MajorityFence.fenced(three, Set.of(), node(1)), "all reachable");
    assertFalse(MajorityFence.fenced(three, Set.of(node(3)), node(1)), "2 of 3: the survivors of a kill -9");
    assertTrue(MajorityFence.fenced(three, Set.of(node(1), node(2)), node(3)), "1 of 3: the partitioned node");
    // After the Split Brain Resolver downed node 3 (and once it is removed) the survivors are a majority.
    List<Member> downed = List.of(member(1, UP), member(2, UP), member(3, MemberStatus.down()));
    assertFalse(MajorityFence.fenced(downed, Set.of(node(3)), node(2)));
    assertTrue(MajorityFence.fenced(downed, Set.of(node(1), node(2)), node(3)), "a downed member journals nothing");
  }

  @Test
  void anEvenSplitKeepsTheSideWithTheLowestAddress() {
    List<Member> four = List.of(member(1, UP), member(2, UP), member(3, UP), member(4, UP));
    assertFalse(MajorityFence.fenced(four, Set.of(node(3), node(4)), node(1)));
    assertFalse(MajorityFence.fenced(four, Set.of(node(3), node(4)), node(2)));
    assertTrue(MajorityFence.fenced(four, Set.of(node(1), node(2)), node(3)));
    List<Member> two = List.of(member(1, UP), member(2, UP));
    assertFalse(MajorityFence.fenced(two, Set.of(node(2)), node(1)), "the lowest address survives a 1:1 split");
    assertTrue(MajorityFence.fenced(two, Set.of(node(1)), node(2)));
  }

  @Test
  void joiningMembersDoNotCountAndAreNeverFenced() {
    List<Member> members = List.of(member(1, UP), member(2, UP), member(3, MemberStatus.joining()), member(4, MemberStatus.weaklyUp()));
    assertFalse(MajorityFence.fenced(members, Set.of(node(3), node(4)), node(1)), "2 of 2 counted members reachable");
    assertFalse(MajorityFence.fenced(members, Set.of(node(1), node(2)), node(3)), "a joining member hosts no shards");
    assertFalse(MajorityFence.fenced(List.of(), Set.of(), node(1)), "not a member yet");
    // A leaving member still hosts shards until it has handed them over, and counts.
    List<Member> leaving = List.of(member(1, UP), member(2, MemberStatus.leaving()), member(3, UP));
    assertTrue(MajorityFence.fenced(leaving, Set.of(node(1), node(3)), node(2)));
  }
}
