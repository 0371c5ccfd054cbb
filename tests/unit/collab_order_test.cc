// The receiver's order checks (UpdateOrderChecker, crypto/collab.h; docs/collab.md
// "Receiving"): what a server that drops, reorders, replays or serves stale updates runs into.
// Heads are made by hand here: the checker trusts its caller to pass only opened ones.
#include "strongroom/crypto/collab.h"

#include <gtest/gtest.h>

namespace strongroom::crypto {
namespace {

collab::SessionId Session(std::uint8_t b) {
  collab::SessionId s{};
  s.fill(b);
  return s;
}

collab::SealedHead Head(const std::string& author, std::uint8_t session, std::uint64_t counter,
                        std::uint64_t epoch = 1) {
  collab::SealedHead h;
  h.file_id.fill(0x11);
  h.epoch = epoch;
  h.author = author;
  h.session_id = Session(session);
  h.counter = counter;
  return h;
}

OpenedSnapshot Snap(std::uint64_t through_seq, std::vector<StreamPosition> streams,
                    std::uint64_t epoch = 1) {
  OpenedSnapshot s;
  s.head = Head("carol", 9, 1, epoch);
  s.through_seq = through_seq;
  s.contents.streams = std::move(streams);
  return s;
}

errc Code(const result<void>& r) {
  return r ? errc{} : static_cast<errc>(r.error().value());
}

constexpr errc kOk{};

TEST(CollabOrder, InterleavedStreamsInOrderAreAccepted) {
  UpdateOrderChecker c;
  EXPECT_EQ(Code(c.AcceptUpdate(1, Head("alice", 1, 1))), kOk);
  EXPECT_EQ(Code(c.AcceptUpdate(2, Head("bob", 2, 1))), kOk);
  EXPECT_EQ(Code(c.AcceptUpdate(3, Head("alice", 1, 2))), kOk);
  EXPECT_EQ(Code(c.AcceptUpdate(7, Head("bob", 2, 2))), kOk);  // Gaps in seq are fine.
  EXPECT_EQ(c.last_accepted_seq(), 7u);
  EXPECT_EQ(c.NextCounter("alice", Session(1)), 3u);
  EXPECT_EQ(c.NextCounter("bob", Session(2)), 3u);
  EXPECT_EQ(c.NextCounter("carol", Session(3)), 1u);
  // Two sessions of one author are separate streams; so are two authors with one session id.
  EXPECT_EQ(Code(c.AcceptUpdate(8, Head("alice", 2, 1))), kOk);
  EXPECT_EQ(Code(c.AcceptUpdate(9, Head("bob", 1, 1))), kOk);
}

TEST(CollabOrder, ReplayIsRefused) {
  UpdateOrderChecker c;
  ASSERT_EQ(Code(c.AcceptUpdate(1, Head("alice", 1, 1))), kOk);
  ASSERT_EQ(Code(c.AcceptUpdate(2, Head("alice", 1, 2))), kOk);
  // The same frame again, and the same update under a new sequence number.
  EXPECT_EQ(Code(c.AcceptUpdate(2, Head("alice", 1, 2))), errc::replayed);
  EXPECT_EQ(Code(c.AcceptUpdate(3, Head("alice", 1, 1))), errc::replayed);
  // Nothing changed: the next one still fits.
  EXPECT_EQ(Code(c.AcceptUpdate(3, Head("alice", 1, 3))), kOk);
}

TEST(CollabOrder, DroppedUpdateIsAGap) {
  UpdateOrderChecker c;
  ASSERT_EQ(Code(c.AcceptUpdate(1, Head("alice", 1, 1))), kOk);
  // The server drops alice's update 2 (seq 2); update 3 comes as seq 3.
  EXPECT_EQ(Code(c.AcceptUpdate(3, Head("alice", 1, 3))), errc::update_gap);
  EXPECT_EQ(c.NextCounter("alice", Session(1)), 2u);
  EXPECT_EQ(c.last_accepted_seq(), 1u);
  // A stream this receiver has never seen must start at 1.
  EXPECT_EQ(Code(c.AcceptUpdate(4, Head("bob", 2, 2))), errc::update_gap);
}

TEST(CollabOrder, ReorderedPairIsCaught) {
  UpdateOrderChecker c;
  ASSERT_EQ(Code(c.AcceptUpdate(1, Head("alice", 1, 1))), kOk);
  // Stored as seq 2 (counter 2) and seq 3 (counter 3); delivered 3 first, then 2.
  EXPECT_EQ(Code(c.AcceptUpdate(3, Head("alice", 1, 3))), errc::update_gap);
  EXPECT_EQ(Code(c.AcceptUpdate(2, Head("alice", 1, 2))), errc::reordered);
  // A server that renumbers to hide the swap still shows a gap first.
  UpdateOrderChecker d;
  ASSERT_EQ(Code(d.AcceptUpdate(1, Head("alice", 1, 1))), kOk);
  EXPECT_EQ(Code(d.AcceptUpdate(2, Head("alice", 1, 3))), errc::update_gap);
}

TEST(CollabOrder, SequenceNumbersMustIncreaseAcrossStreams) {
  UpdateOrderChecker c;
  ASSERT_EQ(Code(c.AcceptUpdate(5, Head("alice", 1, 1))), kOk);
  EXPECT_EQ(Code(c.AcceptUpdate(4, Head("bob", 2, 1))), errc::reordered);
  EXPECT_EQ(Code(c.AcceptUpdate(5, Head("bob", 2, 1))), errc::reordered);
  EXPECT_EQ(Code(c.AcceptUpdate(6, Head("bob", 2, 1))), kOk);
}

TEST(CollabOrder, ReconnectResumesAfterTheLastAcceptedUpdate) {
  UpdateOrderChecker c;
  ASSERT_EQ(Code(c.AcceptUpdate(1, Head("alice", 1, 1))), kOk);
  ASSERT_EQ(Code(c.AcceptUpdate(3, Head("alice", 1, 3))), errc::update_gap);
  // On a new connection the server sends everything after seq 1 again, in order.
  EXPECT_EQ(c.Reconnect(), 1u);
  EXPECT_EQ(Code(c.AcceptUpdate(2, Head("alice", 1, 2))), kOk);
  EXPECT_EQ(Code(c.AcceptUpdate(3, Head("alice", 1, 3))), kOk);
  EXPECT_EQ(c.last_accepted_seq(), 3u);
}

TEST(CollabOrder, OwnAcknowledgedUpdatesCountLikeRelays) {
  UpdateOrderChecker c;
  // Alice's client: its own update acknowledged as seq 2, bob's relayed as 1 and 3.
  ASSERT_EQ(Code(c.AcceptUpdate(1, Head("bob", 2, 1))), kOk);
  ASSERT_EQ(Code(c.AcceptUpdate(2, Head("alice", 1, 1))), kOk);
  ASSERT_EQ(Code(c.AcceptUpdate(3, Head("bob", 2, 2))), kOk);
  // An ack out of order with the relays is reordered too.
  EXPECT_EQ(Code(c.AcceptUpdate(3, Head("alice", 1, 2))), errc::reordered);
}

TEST(CollabOrder, OlderEpochAfterANewerOneIsStale) {
  UpdateOrderChecker c;
  ASSERT_EQ(Code(c.AcceptUpdate(1, Head("alice", 1, 1, 3))), kOk);
  ASSERT_EQ(Code(c.AcceptUpdate(2, Head("bob", 2, 1, 3))), kOk);
  // The file moved to epoch 4 (say, bob was removed and the file rekeyed).
  ASSERT_EQ(Code(c.AcceptUpdate(3, Head("alice", 5, 1, 4))), kOk);
  EXPECT_EQ(c.epoch_floor(), 4u);
  // Bob still holds epoch 3's key; his next update under it is refused.
  EXPECT_EQ(Code(c.AcceptUpdate(4, Head("bob", 2, 2, 3))), errc::stale_epoch);
  EXPECT_EQ(Code(c.AcceptPresence(Head("bob", 2, 1, 3))), errc::stale_epoch);
  // The floor can be raised before any frame of the new epoch arrives.
  UpdateOrderChecker d;
  d.RaiseEpochFloor(4);
  EXPECT_EQ(Code(d.AcceptUpdate(1, Head("bob", 2, 1, 3))), errc::stale_epoch);
  d.RaiseEpochFloor(2);  // Never lowers.
  EXPECT_EQ(d.epoch_floor(), 4u);
}

TEST(CollabOrder, SnapshotIsTheNewBaseline) {
  UpdateOrderChecker c;  // A late joiner.
  ASSERT_EQ(Code(c.AcceptSnapshot(Snap(10, {{"alice", Session(1), 4}, {"bob", Session(2), 2}}, 2))),
            kOk);
  EXPECT_EQ(c.last_accepted_seq(), 10u);
  EXPECT_EQ(c.epoch_floor(), 2u);
  EXPECT_EQ(c.NextCounter("alice", Session(1)), 5u);
  // The tail: alice 5 continues; alice 4 is already in the snapshot; bob 4 misses bob 3.
  EXPECT_EQ(Code(c.AcceptUpdate(11, Head("alice", 1, 5, 2))), kOk);
  EXPECT_EQ(Code(c.AcceptUpdate(12, Head("alice", 1, 4, 2))), errc::replayed);
  EXPECT_EQ(Code(c.AcceptUpdate(13, Head("bob", 2, 4, 2))), errc::update_gap);
  // Sequence numbers the snapshot covers are not delivered again.
  UpdateOrderChecker d;
  ASSERT_EQ(Code(d.AcceptSnapshot(Snap(10, {{"alice", Session(1), 4}}))), kOk);
  EXPECT_EQ(Code(d.AcceptUpdate(10, Head("carol", 3, 1))), errc::reordered);
  // Older epochs are stale after it.
  UpdateOrderChecker e;
  ASSERT_EQ(Code(e.AcceptSnapshot(Snap(10, {}, 2))), kOk);
  EXPECT_EQ(Code(e.AcceptUpdate(11, Head("alice", 1, 1, 1))), errc::stale_epoch);
}

TEST(CollabOrder, EmptyStartingSnapshot) {
  UpdateOrderChecker c;
  ASSERT_EQ(Code(c.AcceptSnapshot(Snap(0, {}))), kOk);
  EXPECT_EQ(Code(c.AcceptUpdate(1, Head("alice", 1, 1))), kOk);
}

TEST(CollabOrder, OlderOrForkedSnapshotIsRolledBack) {
  UpdateOrderChecker c;
  ASSERT_EQ(Code(c.AcceptUpdate(10, Head("alice", 1, 1))), kOk);
  ASSERT_EQ(Code(c.AcceptUpdate(20, Head("alice", 1, 2))), kOk);
  // Covers less than this receiver has accepted.
  EXPECT_EQ(Code(c.AcceptSnapshot(Snap(15, {{"alice", Session(1), 2}}))), errc::rolled_back);
  // Claims to cover seq 25 but leaves out alice's update 2 (accepted at seq 20): a fork.
  EXPECT_EQ(Code(c.AcceptSnapshot(Snap(25, {{"alice", Session(1), 1}}))), errc::rolled_back);
  EXPECT_EQ(Code(c.AcceptSnapshot(Snap(25, {{"bob", Session(2), 1}}))), errc::rolled_back);
  // Nothing changed by the refusals.
  EXPECT_EQ(c.last_accepted_seq(), 20u);
  EXPECT_EQ(c.NextCounter("alice", Session(1)), 3u);
  // A consistent one (which may include more than this receiver saw) is accepted.
  EXPECT_EQ(Code(c.AcceptSnapshot(Snap(25, {{"alice", Session(1), 3}, {"bob", Session(2), 1}}))),
            kOk);
  EXPECT_EQ(c.NextCounter("alice", Session(1)), 4u);
  EXPECT_EQ(c.last_accepted_seq(), 25u);
}

TEST(CollabOrder, SnapshotOfAnOlderEpochIsStale) {
  UpdateOrderChecker c;
  ASSERT_EQ(Code(c.AcceptUpdate(1, Head("alice", 1, 1, 3))), kOk);
  EXPECT_EQ(Code(c.AcceptSnapshot(Snap(5, {{"alice", Session(1), 1}}, 2))), errc::stale_epoch);
}

TEST(CollabOrder, PresenceMayHaveGapsButNotRepeats) {
  UpdateOrderChecker c;
  EXPECT_EQ(Code(c.AcceptPresence(Head("alice", 1, 1))), kOk);
  EXPECT_EQ(Code(c.AcceptPresence(Head("alice", 1, 5))), kOk);
  EXPECT_EQ(Code(c.AcceptPresence(Head("alice", 1, 5))), errc::replayed);
  EXPECT_EQ(Code(c.AcceptPresence(Head("alice", 1, 3))), errc::replayed);
  EXPECT_EQ(Code(c.AcceptPresence(Head("bob", 1, 1))), kOk);
  // Presence does not touch the update streams.
  EXPECT_EQ(c.NextCounter("alice", Session(1)), 1u);
}

TEST(CollabOrder, PositionsListEveryStreamInOrder) {
  UpdateOrderChecker c;
  ASSERT_EQ(Code(c.AcceptUpdate(1, Head("bob", 2, 1))), kOk);
  ASSERT_EQ(Code(c.AcceptUpdate(2, Head("alice", 7, 1))), kOk);
  ASSERT_EQ(Code(c.AcceptUpdate(3, Head("alice", 3, 1))), kOk);
  ASSERT_EQ(Code(c.AcceptUpdate(4, Head("alice", 3, 2))), kOk);
  const std::vector<StreamPosition> expected = {
      {"alice", Session(3), 2}, {"alice", Session(7), 1}, {"bob", Session(2), 1}};
  EXPECT_EQ(c.Positions(), expected);
}

TEST(CollabOrder, InvalidInputsAreRefused) {
  UpdateOrderChecker c;
  EXPECT_EQ(Code(c.AcceptUpdate(0, Head("alice", 1, 1))), errc::invalid_argument);
  EXPECT_EQ(Code(c.AcceptUpdate(1, Head("alice", 1, 0))), errc::invalid_argument);
  EXPECT_EQ(Code(c.AcceptUpdate(1, Head("", 1, 1))), errc::invalid_argument);
  EXPECT_EQ(Code(c.AcceptPresence(Head("alice", 1, 1, 0))), errc::invalid_argument);
  EXPECT_EQ(c.last_accepted_seq(), 0u);
}

}  // namespace
}  // namespace strongroom::crypto
