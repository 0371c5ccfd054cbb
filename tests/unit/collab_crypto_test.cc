// Sealing and opening co-editing updates, snapshots and presence (crypto/collab.h;
// docs/collab.md "Cryptography"): round trips, determinism, and one test per way a frame
// is refused, named after the attack it stands for. The last tests play a whole session
// through a server that misbehaves.
#include "crypto/collab_format.h"
#include "crypto/primitives.h"
#include "strongroom/collab/wire.h"
#include "strongroom/crypto/collab.h"

#include <gtest/gtest.h>

#include <set>

namespace strongroom::crypto {
namespace {

using Buffer = std::vector<std::uint8_t>;
using collab_detail::Kind;

Identity NewIdentity(const std::string& user) {
  auto id = Identity::Generate(user);
  EXPECT_TRUE(id);
  return std::move(*id);
}

Secret<32> KeyOf(std::uint8_t first) {
  Secret<32> k;
  for (int i = 0; i < 32; ++i) k.data()[i] = static_cast<std::uint8_t>(first + i);
  return k;
}

collab::FileId FileIdOf(std::uint8_t b) {
  collab::FileId id{};
  id.fill(b);
  return id;
}

CollabKey MakeKey(const Secret<32>& file_key, const collab::FileId& file_id, std::uint64_t epoch) {
  auto k = CollabKey::Make(file_key, file_id, epoch);
  EXPECT_TRUE(k);
  return std::move(*k);
}

Buffer Text(std::string_view s) {
  return Buffer(s.begin(), s.end());
}

errc Code(const boost::system::error_code& ec) {
  return static_cast<errc>(ec.value());
}

template <class T>
errc Code(const result<T>& r) {
  EXPECT_FALSE(r.has_value());
  return r ? errc::internal : Code(r.error());
}

class CollabCrypto : public ::testing::Test {
 protected:
  Identity alice_ = NewIdentity("alice@example.com");
  Identity bob_ = NewIdentity("bob@example.com");
  Identity mallory_ = NewIdentity("mallory@example.com");
  Secret<32> file_key_ = KeyOf(0x40);
  collab::FileId file_id_ = FileIdOf(0x11);
  CollabKey key_ = MakeKey(file_key_, file_id_, 7);

  collab::Sealed AliceUpdate(std::string_view text = "insert 'hello' at 0") {
    auto s = CollabSession::Start(key_, alice_);
    EXPECT_TRUE(s);
    auto u = s->SealUpdate(alice_, Text(text));
    EXPECT_TRUE(u);
    return *u;
  }
};

// --- keys -----------------------------------------------------------------------------------

TEST_F(CollabCrypto, EpochZeroOrTooLargeIsRefused) {
  EXPECT_EQ(Code(CollabKey::Make(file_key_, file_id_, 0)), errc::invalid_argument);
  EXPECT_EQ(Code(CollabKey::Make(file_key_, file_id_, collab::kMaxU64Field + 1)),
            errc::invalid_argument);
  EXPECT_TRUE(CollabKey::Make(file_key_, file_id_, collab::kMaxU64Field));
}

TEST_F(CollabCrypto, EveryKindSessionEpochAndFileHasItsOwnKey) {
  std::set<Buffer> keys;
  const collab::SessionId s1{}, s2 = [] {
    collab::SessionId s{};
    s[15] = 1;
    return s;
  }();
  const CollabKey other_epoch = MakeKey(file_key_, file_id_, 8);
  const CollabKey other_file = MakeKey(file_key_, FileIdOf(0x12), 7);
  const CollabKey other_key = MakeKey(KeyOf(0x41), file_id_, 7);
  for (const CollabKey* key :
       std::initializer_list<const CollabKey*>{&key_, &other_epoch, &other_file, &other_key}) {
    for (Kind kind : {Kind::update, Kind::snapshot, Kind::presence}) {
      for (const auto* session : {&s1, &s2}) {
        Secret<32> out;
        ASSERT_TRUE(collab_detail::DeriveSessionKey(*key, kind, *session, out));
        keys.insert(Buffer(out.bytes().begin(), out.bytes().end()));
      }
    }
  }
  EXPECT_EQ(keys.size(), 4u * 3u * 2u);
}

TEST_F(CollabCrypto, NonceIsTheCounter) {
  const auto n = collab_detail::Nonce(0x0102030405060708ull);
  const std::array<std::uint8_t, 12> expected = {0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8};
  EXPECT_EQ(n, expected);
}

// --- updates --------------------------------------------------------------------------------

TEST_F(CollabCrypto, UpdateRoundTripsThroughTheWire) {
  auto session = CollabSession::Start(key_, alice_);
  ASSERT_TRUE(session);
  EXPECT_EQ(session->file_id(), file_id_);
  EXPECT_EQ(session->epoch(), 7u);
  EXPECT_EQ(session->author(), "alice@example.com");
  auto sealed = session->SealUpdate(alice_, Text("insert 'hello' at 0"));
  ASSERT_TRUE(sealed);
  EXPECT_EQ(sealed->head.counter, 1u);
  EXPECT_EQ(sealed->head.session_id, session->session_id());
  auto frame = collab::EncodeFrame(collab::Update{*sealed});
  ASSERT_TRUE(frame);
  auto decoded = collab::DecodeFrame(*frame, collab::Direction::to_server);
  ASSERT_TRUE(decoded);
  auto opened = OpenUpdate(std::get<collab::Update>(*decoded).sealed, key_, alice_.public_bundle());
  ASSERT_TRUE(opened) << opened.error().message();
  EXPECT_EQ(opened->payload, Text("insert 'hello' at 0"));
  EXPECT_EQ(opened->head, sealed->head);
  // A key made independently from the same file key opens it too (another member).
  const CollabKey bobs = MakeKey(KeyOf(0x40), file_id_, 7);
  EXPECT_TRUE(OpenUpdate(*sealed, bobs, alice_.public_bundle()));
}

TEST_F(CollabCrypto, EmptyAndLargestUpdatesOpen) {
  auto session = CollabSession::Start(key_, alice_);
  ASSERT_TRUE(session);
  for (std::size_t n : {std::size_t{0}, collab::kMaxUpdatePayload}) {
    const Buffer payload(n, 0x42);
    auto sealed = session->SealUpdate(alice_, payload);
    ASSERT_TRUE(sealed);
    auto opened = OpenUpdate(*sealed, key_, alice_.public_bundle());
    ASSERT_TRUE(opened);
    EXPECT_EQ(opened->payload, payload);
  }
  EXPECT_EQ(session->next_update_counter(), 3u);
  EXPECT_EQ(Code(session->SealUpdate(alice_, Buffer(collab::kMaxUpdatePayload + 1))),
            errc::too_large);
  EXPECT_EQ(session->next_update_counter(), 3u) << "a refused seal must not use a counter";
}

TEST_F(CollabCrypto, CountersAdvanceAndSessionsDiffer) {
  auto a = CollabSession::Start(key_, alice_);
  auto b = CollabSession::Start(key_, alice_);
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->session_id(), b->session_id());
  auto u1 = a->SealUpdate(alice_, Text("x"));
  auto u2 = a->SealUpdate(alice_, Text("x"));
  auto u3 = b->SealUpdate(alice_, Text("x"));
  ASSERT_TRUE(u1 && u2 && u3);
  EXPECT_EQ(u1->head.counter, 1u);
  EXPECT_EQ(u2->head.counter, 2u);
  EXPECT_EQ(u3->head.counter, 1u);
  EXPECT_NE(u1->ciphertext, u2->ciphertext);
  EXPECT_NE(u1->ciphertext, u3->ciphertext);
}

TEST_F(CollabCrypto, SealingIsDeterministicAtASessionAndCounter) {
  auto session = CollabSession::Start(key_, alice_);
  ASSERT_TRUE(session);
  auto first = session->SealUpdate(alice_, Text("abc"));
  ASSERT_TRUE(first);
  auto again = collab_detail::SealUpdateAt(key_, alice_, session->session_id(), 1, Text("abc"));
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *first);
  EXPECT_EQ(Code(collab_detail::SealUpdateAt(key_, alice_, session->session_id(), 0, Text("a"))),
            errc::invalid_argument);
}

TEST_F(CollabCrypto, SessionRefusesAnotherAuthor) {
  auto session = CollabSession::Start(key_, alice_);
  ASSERT_TRUE(session);
  EXPECT_EQ(Code(session->SealUpdate(bob_, Text("x"))), errc::invalid_argument);
  EXPECT_EQ(Code(session->SealPresence(bob_, Text("x"))), errc::invalid_argument);
  EXPECT_EQ(Code(session->SealSnapshot(bob_, 0, {})), errc::invalid_argument);
  // Same user id, other keys: still someone else.
  const Identity other_alice = NewIdentity("alice@example.com");
  EXPECT_EQ(Code(session->SealUpdate(other_alice, Text("x"))), errc::invalid_argument);
}

// --- refusals: each names the attack ----------------------------------------------------------

TEST_F(CollabCrypto, TamperedCiphertextIsABadSignature) {
  collab::Sealed u = AliceUpdate();
  u.ciphertext[3] ^= 0x01;
  EXPECT_EQ(Code(OpenUpdate(u, key_, alice_.public_bundle())), errc::bad_signature);
  u = AliceUpdate();
  u.ciphertext.back() ^= 0x80;  // The GCM tag.
  EXPECT_EQ(Code(OpenUpdate(u, key_, alice_.public_bundle())), errc::bad_signature);
  u = AliceUpdate();
  u.ciphertext.pop_back();
  EXPECT_EQ(Code(OpenUpdate(u, key_, alice_.public_bundle())), errc::bad_signature);
}

TEST_F(CollabCrypto, TamperedSignatureIsABadSignature) {
  collab::Sealed u = AliceUpdate();
  u.signature[0] ^= 0x01;
  EXPECT_EQ(Code(OpenUpdate(u, key_, alice_.public_bundle())), errc::bad_signature);
}

TEST_F(CollabCrypto, RelabelledHeadIsABadSignature) {
  // Every bound field changed by the server, opened with a key that matches the new head.
  collab::Sealed u = AliceUpdate();
  u.head.session_id[0] ^= 0x01;
  EXPECT_EQ(Code(OpenUpdate(u, key_, alice_.public_bundle())), errc::bad_signature);
  u = AliceUpdate();
  u.head.counter += 1;
  EXPECT_EQ(Code(OpenUpdate(u, key_, alice_.public_bundle())), errc::bad_signature);
  u = AliceUpdate();
  u.head.epoch = 8;
  EXPECT_EQ(Code(OpenUpdate(u, MakeKey(file_key_, file_id_, 8), alice_.public_bundle())),
            errc::bad_signature);
  u = AliceUpdate();
  u.head.file_id = FileIdOf(0x12);
  EXPECT_EQ(Code(OpenUpdate(u, MakeKey(file_key_, FileIdOf(0x12), 7), alice_.public_bundle())),
            errc::bad_signature);
  u = AliceUpdate();
  u.head.author = bob_.user_id();
  EXPECT_EQ(Code(OpenUpdate(u, key_, bob_.public_bundle())), errc::bad_signature);
}

TEST_F(CollabCrypto, UpdateCopiedFromAnotherFileIsAMismatch) {
  // Same file key on purpose: only the file id tells the two documents apart here.
  const CollabKey other_file = MakeKey(file_key_, FileIdOf(0x12), 7);
  EXPECT_EQ(Code(OpenUpdate(AliceUpdate(), other_file, alice_.public_bundle())),
            errc::record_mismatch);
}

TEST_F(CollabCrypto, KeyOfAnotherEpochIsAMismatch) {
  EXPECT_EQ(
      Code(OpenUpdate(AliceUpdate(), MakeKey(file_key_, file_id_, 6), alice_.public_bundle())),
      errc::record_mismatch);
}

TEST_F(CollabCrypto, AuthorNotThePinnedBundleIsUntrusted) {
  EXPECT_EQ(Code(OpenUpdate(AliceUpdate(), key_, bob_.public_bundle())), errc::untrusted_signer);
  EXPECT_EQ(Code(OpenUpdate(AliceUpdate(), key_, PublicBundle())), errc::untrusted_signer);
}

TEST_F(CollabCrypto, ForgedAuthorIsABadSignature) {
  // Bob, a member, writes an update in alice's name: he has the file key, not alice's key.
  auto bobs = CollabSession::Start(key_, bob_);
  ASSERT_TRUE(bobs);
  collab::Sealed forged;
  forged.head = collab::SealedHead{file_id_, 7, alice_.user_id(), bobs->session_id(), 1};
  const Buffer head = collab::EncodeHead(forged.head);
  Secret<32> session_key;
  ASSERT_TRUE(
      collab_detail::DeriveSessionKey(key_, Kind::update, forged.head.session_id, session_key));
  const Buffer plain = Text("delete everything");
  forged.ciphertext.resize(plain.size() + 16);
  ASSERT_TRUE(AeadSeal(session_key.bytes(), collab_detail::Nonce(1),
                       collab_detail::AssociatedData(Kind::update, head), plain,
                       forged.ciphertext));
  forged.signature = bob_.Sign(collab_detail::SignedMessage(Kind::update, head, forged.ciphertext));
  EXPECT_EQ(Code(OpenUpdate(forged, key_, alice_.public_bundle())), errc::bad_signature);
  // And alice's update re-signed by bob is no better.
  collab::Sealed resigned = AliceUpdate();
  resigned.signature = bob_.Sign(collab_detail::SignedMessage(
      Kind::update, collab::EncodeHead(resigned.head), resigned.ciphertext));
  EXPECT_EQ(Code(OpenUpdate(resigned, key_, alice_.public_bundle())), errc::bad_signature);
}

TEST_F(CollabCrypto, MemberWithAnOldFileKeyIsAMismatch) {
  // Mallory was removed: the file was rekeyed (new file key) and moved to epoch 8. She still
  // holds the old file key and seals under it with the new epoch number. Her signature is
  // hers and valid, but the update does not open under the epoch's real key.
  const CollabKey old_key = MakeKey(KeyOf(0x90), file_id_, 8);
  auto session = CollabSession::Start(old_key, mallory_);
  ASSERT_TRUE(session);
  auto u = session->SealUpdate(mallory_, Text("x"));
  ASSERT_TRUE(u);
  const CollabKey current = MakeKey(file_key_, file_id_, 8);
  EXPECT_EQ(Code(OpenUpdate(*u, current, mallory_.public_bundle())), errc::record_mismatch);
}

TEST_F(CollabCrypto, PresenceAndUpdatesDoNotOpenAsEachOther) {
  auto session = CollabSession::Start(key_, alice_);
  ASSERT_TRUE(session);
  auto p = session->SealPresence(alice_, Text("cursor 3"));
  auto u = session->SealUpdate(alice_, Text("cursor 3"));
  ASSERT_TRUE(p && u);
  EXPECT_EQ(p->head, u->head) << "same session, both counters at 1";
  EXPECT_EQ(Code(OpenUpdate(*p, key_, alice_.public_bundle())), errc::bad_signature);
  EXPECT_EQ(Code(OpenPresence(*u, key_, alice_.public_bundle())), errc::bad_signature);
  auto opened = OpenPresence(*p, key_, alice_.public_bundle());
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->payload, Text("cursor 3"));
}

TEST_F(CollabCrypto, PresenceLimits) {
  auto session = CollabSession::Start(key_, alice_);
  ASSERT_TRUE(session);
  EXPECT_TRUE(session->SealPresence(alice_, Buffer(collab::kMaxPresencePayload)));
  EXPECT_EQ(Code(session->SealPresence(alice_, Buffer(collab::kMaxPresencePayload + 1))),
            errc::too_large);
  // An update-sized ciphertext is not a presence message.
  collab::Sealed big = *session->SealUpdate(alice_, Buffer(collab::kMaxPresencePayload + 1));
  EXPECT_EQ(Code(OpenPresence(big, key_, alice_.public_bundle())), errc::malformed);
}

TEST_F(CollabCrypto, StructsBreakingWireRulesAreMalformed) {
  collab::Sealed u = AliceUpdate();
  u.head.counter = 0;
  EXPECT_EQ(Code(OpenUpdate(u, key_, alice_.public_bundle())), errc::malformed);
  u = AliceUpdate();
  u.ciphertext.resize(15);
  EXPECT_EQ(Code(OpenUpdate(u, key_, alice_.public_bundle())), errc::malformed);
  u = AliceUpdate();
  u.head.author = "alice example";
  EXPECT_EQ(Code(OpenUpdate(u, key_, alice_.public_bundle())), errc::malformed);
}

// --- snapshots ------------------------------------------------------------------------------

collab::SessionId SessionOf(std::uint8_t b) {
  collab::SessionId s{};
  s.fill(b);
  return s;
}

TEST_F(CollabCrypto, SnapshotRoundTripsWithSortedStreams) {
  auto session = CollabSession::Start(key_, bob_);
  ASSERT_TRUE(session);
  SnapshotContents contents;
  contents.streams = {{"bob@example.com", SessionOf(2), 9},
                      {"alice@example.com", SessionOf(7), 3},
                      {"alice@example.com", SessionOf(1), 12}};
  contents.state = Text("the whole document");
  auto sealed = session->SealSnapshot(bob_, 41, contents);
  ASSERT_TRUE(sealed);
  EXPECT_EQ(sealed->through_seq, 41u);
  auto frame = collab::EncodeFrame(collab::Snapshot{*sealed});
  ASSERT_TRUE(frame);
  auto decoded = collab::DecodeFrame(*frame, collab::Direction::to_server);
  ASSERT_TRUE(decoded);
  auto opened =
      OpenSnapshot(std::get<collab::Snapshot>(*decoded).sealed, key_, bob_.public_bundle());
  ASSERT_TRUE(opened) << opened.error().message();
  EXPECT_EQ(opened->through_seq, 41u);
  EXPECT_EQ(opened->contents.state, contents.state);
  const std::vector<StreamPosition> sorted = {{"alice@example.com", SessionOf(1), 12},
                                              {"alice@example.com", SessionOf(7), 3},
                                              {"bob@example.com", SessionOf(2), 9}};
  EXPECT_EQ(opened->contents.streams, sorted);
  // The snapshot's own counter is separate from the update counter.
  EXPECT_EQ(sealed->head.counter, 1u);
  EXPECT_EQ(session->next_update_counter(), 1u);
}

TEST_F(CollabCrypto, SnapshotThroughSeqIsBound) {
  auto session = CollabSession::Start(key_, bob_);
  ASSERT_TRUE(session);
  auto sealed = session->SealSnapshot(bob_, 41, {{}, Text("state")});
  ASSERT_TRUE(sealed);
  sealed->through_seq = 50;
  EXPECT_EQ(Code(OpenSnapshot(*sealed, key_, bob_.public_bundle())), errc::bad_signature);
}

TEST_F(CollabCrypto, SnapshotStreamsAreChecked) {
  auto session = CollabSession::Start(key_, bob_);
  ASSERT_TRUE(session);
  const StreamPosition a{"alice@example.com", SessionOf(1), 3};
  EXPECT_EQ(Code(session->SealSnapshot(bob_, 1, {{a, a}, {}})), errc::invalid_argument);
  EXPECT_EQ(Code(session->SealSnapshot(bob_, 1, {{{"a b", SessionOf(1), 1}}, {}})),
            errc::invalid_argument);
  EXPECT_EQ(Code(session->SealSnapshot(bob_, 1, {{{"a", SessionOf(1), 0}}, {}})),
            errc::invalid_argument);
  EXPECT_EQ(Code(session->SealSnapshot(bob_, collab::kMaxU64Field + 1, {})),
            errc::invalid_argument);
  SnapshotContents many;
  for (std::size_t i = 0; i <= kMaxSnapshotStreams; ++i) {
    collab::SessionId s{};
    for (int b = 0; b < 8; ++b) s[b] = static_cast<std::uint8_t>(i >> (8 * b));
    many.streams.push_back({"a", s, 1});
  }
  EXPECT_EQ(Code(session->SealSnapshot(bob_, 1, many)), errc::too_large);
  SnapshotContents big;
  big.state.resize(collab::kMaxSnapshotPlaintext - 4 + 1);
  EXPECT_EQ(Code(session->SealSnapshot(bob_, 1, big)), errc::too_large);
  big.state.resize(collab::kMaxSnapshotPlaintext - 4);
  auto largest = session->SealSnapshot(bob_, 1, big);
  ASSERT_TRUE(largest);
  EXPECT_TRUE(OpenSnapshot(*largest, key_, bob_.public_bundle()));
  EXPECT_EQ(largest->head.counter, 1u) << "refused seals did not use the counter";
}

TEST_F(CollabCrypto, NonCanonicalSnapshotPlaintextIsMalformed) {
  const collab::SessionId s = SessionOf(3);
  auto open_raw = [&](const Buffer& plaintext) {
    auto sealed = collab_detail::SealSnapshotPlaintextAt(key_, bob_, s, 1, 5, plaintext);
    EXPECT_TRUE(sealed);
    return OpenSnapshot(*sealed, key_, bob_.public_bundle());
  };
  const StreamPosition a{"alice", SessionOf(1), 3}, b{"bob", SessionOf(1), 2};
  const Buffer sorted = collab_detail::EncodeSnapshotPlaintext(std::vector{a, b}, Text("st"));
  EXPECT_TRUE(open_raw(sorted));
  EXPECT_EQ(Code(open_raw(collab_detail::EncodeSnapshotPlaintext(std::vector{b, a}, {}))),
            errc::malformed);
  EXPECT_EQ(Code(open_raw(collab_detail::EncodeSnapshotPlaintext(std::vector{a, a}, {}))),
            errc::malformed);
  Buffer count_too_big = sorted;
  count_too_big[3] = 3;
  EXPECT_EQ(Code(open_raw(count_too_big)), errc::malformed);
  Buffer huge_count = sorted;
  huge_count[0] = 0xff;
  EXPECT_EQ(Code(open_raw(huge_count)), errc::malformed);
  const StreamPosition zero{"alice", SessionOf(1), 0};
  EXPECT_EQ(Code(open_raw(collab_detail::EncodeSnapshotPlaintext(std::vector{zero}, {}))),
            errc::malformed);
  // Fewer than 4 bytes cannot hold the count: refused when sealing already.
  EXPECT_EQ(Code(collab_detail::SealSnapshotPlaintextAt(key_, bob_, s, 1, 5, Buffer(3))),
            errc::invalid_argument);
}

// --- a session through a misbehaving server ------------------------------------------------------

// The server side of the test: assigns sequence numbers and keeps the frames it stored.
struct FakeServer {
  std::uint64_t head = 0;
  std::vector<collab::UpdateRelay> log;
  collab::UpdateRelay Store(const collab::Sealed& s) {
    log.push_back(collab::UpdateRelay{++head, 1767225600000 + head, s});
    return log.back();
  }
};

// What a receiving client does with a relay frame: decode, pick the key and pinned bundle,
// open, check the order. The first failure is the outcome.
class Receiver {
 public:
  Receiver(const CollabKey& key, std::vector<const PublicBundle*> pins)
      : key_(key.Clone()), pins_(std::move(pins)) {}

  errc Receive(const collab::UpdateRelay& relay) {
    auto frame = collab::EncodeFrame(relay);
    if (!frame) return Code(frame.error());
    auto decoded = collab::DecodeFrame(*frame, collab::Direction::to_client);
    if (!decoded) return Code(decoded.error());
    const auto& r = std::get<collab::UpdateRelay>(*decoded);
    const PublicBundle* pin = nullptr;
    for (const auto* p : pins_) {
      if (p->user_id() == r.sealed.head.author) pin = p;
    }
    if (pin == nullptr) return errc::untrusted_signer;
    auto opened = OpenUpdate(r.sealed, key_, *pin);
    if (!opened) return Code(opened.error());
    if (auto ok = checker.AcceptUpdate(r.seq, opened->head); !ok) return Code(ok.error());
    applied.push_back(opened->payload);
    return errc{};
  }

  UpdateOrderChecker checker;
  std::vector<Buffer> applied;

 private:
  CollabKey key_;
  std::vector<const PublicBundle*> pins_;
};

TEST_F(CollabCrypto, HonestRelayIsAcceptedAndAttacksAreCaught) {
  FakeServer server;
  auto alice = CollabSession::Start(key_, alice_);
  auto bob = CollabSession::Start(key_, bob_);
  ASSERT_TRUE(alice && bob);
  const auto r1 = server.Store(*alice->SealUpdate(alice_, Text("a1")));
  const auto r2 = server.Store(*bob->SealUpdate(bob_, Text("b1")));
  const auto r3 = server.Store(*alice->SealUpdate(alice_, Text("a2")));
  const auto r4 = server.Store(*alice->SealUpdate(alice_, Text("a3")));

  Receiver honest(key_, {&alice_.public_bundle(), &bob_.public_bundle()});
  for (const auto& r : server.log) EXPECT_EQ(honest.Receive(r), errc{});
  EXPECT_EQ(honest.applied.size(), 4u);

  // Drop r3: r4 shows the gap.
  Receiver dropped(key_, {&alice_.public_bundle(), &bob_.public_bundle()});
  EXPECT_EQ(dropped.Receive(r1), errc{});
  EXPECT_EQ(dropped.Receive(r2), errc{});
  EXPECT_EQ(dropped.Receive(r4), errc::update_gap);

  // Reorder r3 and r4.
  Receiver reordered(key_, {&alice_.public_bundle(), &bob_.public_bundle()});
  EXPECT_EQ(reordered.Receive(r1), errc{});
  EXPECT_EQ(reordered.Receive(r2), errc{});
  EXPECT_EQ(reordered.Receive(r4), errc::update_gap);
  EXPECT_EQ(reordered.Receive(r3), errc::reordered);

  // Replay r1 under a fresh sequence number.
  Receiver replayed(key_, {&alice_.public_bundle(), &bob_.public_bundle()});
  for (const auto& r : server.log) ASSERT_EQ(replayed.Receive(r), errc{});
  collab::UpdateRelay again = r1;
  again.seq = server.head + 1;
  EXPECT_EQ(replayed.Receive(again), errc::replayed);

  // Inject: mallory is no member (no file key, not pinned as one); the server makes up an
  // update in bob's name with a key of its own.
  const CollabKey server_key = MakeKey(KeyOf(0xee), file_id_, 7);
  auto fake = CollabSession::Start(server_key, mallory_);
  ASSERT_TRUE(fake);
  collab::UpdateRelay injected{server.head + 1, 0, *fake->SealUpdate(mallory_, Text("x"))};
  EXPECT_EQ(honest.Receive(injected), errc::untrusted_signer);
  injected.sealed.head.author = bob_.user_id();
  EXPECT_EQ(honest.Receive(injected), errc::bad_signature);

  // Copy an update of another file into this one.
  const CollabKey other_file = MakeKey(file_key_, FileIdOf(0x99), 7);
  auto elsewhere = CollabSession::Start(other_file, alice_);
  ASSERT_TRUE(elsewhere);
  const collab::UpdateRelay copied{server.head + 1, 0, *elsewhere->SealUpdate(alice_, Text("y"))};
  EXPECT_EQ(honest.Receive(copied), errc::record_mismatch);
  EXPECT_EQ(honest.applied.size(), 4u);
}

TEST_F(CollabCrypto, LateJoinerGetsSnapshotAndTail) {
  FakeServer server;
  auto alice = CollabSession::Start(key_, alice_);
  ASSERT_TRUE(alice);
  UpdateOrderChecker alices;  // Alice's own view: her acks.
  for (const char* text : {"a1", "a2", "a3"}) {
    auto u = alice->SealUpdate(alice_, Text(text));
    ASSERT_TRUE(u);
    const auto relay = server.Store(*u);
    ASSERT_TRUE(alices.AcceptUpdate(relay.seq, u->head));  // The ack.
  }
  // Alice snapshots everything she has (no update of hers unacknowledged).
  auto snap =
      alice->SealSnapshot(alice_, alices.last_accepted_seq(), {alices.Positions(), Text("a1a2a3")});
  ASSERT_TRUE(snap);
  const auto tail = server.Store(*alice->SealUpdate(alice_, Text("a4")));

  // Bob joins: snapshot, then the tail.
  Receiver bob(key_, {&alice_.public_bundle()});
  auto opened = OpenSnapshot(*snap, key_, alice_.public_bundle());
  ASSERT_TRUE(opened);
  ASSERT_TRUE(bob.checker.AcceptSnapshot(*opened));
  EXPECT_EQ(opened->contents.state, Text("a1a2a3"));
  EXPECT_EQ(bob.Receive(server.log[2]), errc::replayed) << "covered by the snapshot";
  EXPECT_EQ(bob.Receive(tail), errc{});
  // A server that serves the tail without its predecessor shows a gap instead.
  Receiver carol(key_, {&alice_.public_bundle()});
  auto older = OpenSnapshot(*snap, key_, alice_.public_bundle());
  older->contents.streams[0].last_counter = 2;  // As if the snapshot had been of a2 only.
  ASSERT_TRUE(carol.checker.AcceptSnapshot(*older));
  EXPECT_EQ(carol.Receive(tail), errc::update_gap);
}

}  // namespace
}  // namespace strongroom::crypto
