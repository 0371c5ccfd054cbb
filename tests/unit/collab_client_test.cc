// CollabClient (client/collab.h) against an in-test relay (tests/support/collab_relay.h) on
// loopback, with real crypto: identities from crypto::Identity, frames sealed by the real
// CollabSession. First the honest server (order, exactly once, resume, resend byte for byte,
// presence, snapshots), then one test per way a hostile server misbehaves, named after it.
#include "strongroom/client/collab.h"
#include "strongroom/crypto/collab.h"
#include "support/collab_relay.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <string>

namespace strongroom::client {
namespace {

using namespace std::chrono_literals;
using testing::Bytes;
using testing::CollabRelay;
using Events = std::vector<CollabEvent>;

constexpr std::string_view kAlice = "alice@example.com";
constexpr std::string_view kBob = "bob@example.com";
constexpr std::string_view kCarol = "carol@example.com";

crypto::Identity NewIdentity(std::string_view user) {
  auto id = crypto::Identity::Generate(user);
  EXPECT_TRUE(id);
  return std::move(*id);
}

Bytes Text(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

// "a1", "b2", ...: built by append, as GCC 12 warns (-Wrestrict, a false positive) on
// "a" + std::to_string(i).
std::string Numbered(char prefix, int i) {
  std::string s(1, prefix);
  s += std::to_string(i);
  return s;
}

std::string Str(const Bytes& b) {
  return std::string(b.begin(), b.end());
}

template <class T>
std::vector<T> All(const Events& events) {
  std::vector<T> out;
  for (const auto& e : events) {
    if (const auto* t = std::get_if<T>(&e)) out.push_back(*t);
  }
  return out;
}

template <class T>
bool Has(const Events& events) {
  return !All<T>(events).empty();
}

// What one client saw: events until a condition held, or the fault that ended it.
struct Seen {
  Events events;
  std::optional<CollabError> error;
};

// Calls Next() on every client in turn until `done` holds for each, one fails, or `timeout`.
std::vector<Seen> DrainAll(const std::vector<CollabClient*>& clients,
                           const std::function<bool(std::size_t, const Events&)>& done,
                           std::chrono::milliseconds timeout = 10s) {
  std::vector<Seen> seen(clients.size());
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    bool all = true;
    for (std::size_t i = 0; i < clients.size(); ++i) {
      if (seen[i].error || done(i, seen[i].events)) continue;
      all = false;
      auto e = clients[i]->Next(5ms);
      if (!e) {
        seen[i].error = e.error();
      } else if (*e) {
        seen[i].events.push_back(std::move(**e));
      }
    }
    if (all) break;
  }
  return seen;
}

Seen Drain(CollabClient& client, const std::function<bool(const Events&)>& done,
           std::chrono::milliseconds timeout = 10s) {
  return DrainAll({&client}, [&](std::size_t, const Events& e) { return done(e); }, timeout)[0];
}

// Events until the first fault (or nothing more within `quiet`).
Seen DrainUntilFault(CollabClient& client, std::chrono::milliseconds quiet = 1500ms) {
  return Drain(client, [](const Events&) { return false; }, quiet);
}

auto Updates(std::size_t n) {
  return [n](const Events& e) { return All<CollabUpdate>(e).size() >= n; };
}

auto Acks(std::size_t n) {
  return [n](const Events& e) { return All<CollabAcked>(e).size() >= n; };
}

bool IsLive(const Events& e) {
  return Has<CollabLive>(e);
}

class CollabClientTest : public ::testing::Test {
 protected:
  crypto::Identity alice_ = NewIdentity(kAlice);
  crypto::Identity bob_ = NewIdentity(kBob);
  crypto::Identity carol_ = NewIdentity(kCarol);
  crypto::Identity mallory_ = NewIdentity("mallory@example.com");  // Not a member.
  crypto::Secret<32> file_key_ = KeyOf(0x40);
  collab::FileId file_id_ = FileIdOf(0x11);
  std::unique_ptr<CollabRelay> relay_ = NewRelay(1);

  static crypto::Secret<32> KeyOf(std::uint8_t first) {
    crypto::Secret<32> k;
    for (int i = 0; i < 32; ++i) k.data()[i] = static_cast<std::uint8_t>(first + i);
    return k;
  }
  static collab::FileId FileIdOf(std::uint8_t b) {
    collab::FileId id{};
    id.fill(b);
    return id;
  }

  std::unique_ptr<CollabRelay> NewRelay(std::uint64_t epoch) {
    CollabRelay::Options o;
    o.file_id = file_id_;
    o.epoch = epoch;
    o.users = {{"tok-alice", std::string(kAlice)},
               {"tok-bob", std::string(kBob)},
               {"tok-carol", std::string(kCarol)},
               {"tok-mallory", "mallory@example.com"}};
    return std::make_unique<CollabRelay>(o);
  }

  std::map<std::string, crypto::PublicBundle> Members() const {
    return {{alice_.user_id(), alice_.public_bundle()},
            {bob_.user_id(), bob_.public_bundle()},
            {carol_.user_id(), carol_.public_bundle()}};
  }

  CollabClient Make(const crypto::Identity* me, std::string token, std::uint64_t epoch = 1,
                    std::optional<std::uint64_t> resume_after = std::nullopt) {
    CollabOptions o;
    o.server = *ServerUrl::Parse(relay_->url());
    o.token = SecretString(std::move(token));
    o.user_agent = "collab_client_test";
    o.file_id = file_id_;
    o.epoch = epoch;
    o.file_key = file_key_.Clone();
    o.members = Members();
    o.identity = me;
    o.resume_after = resume_after;
    o.connect_timeout = 5s;
    o.write_timeout = 5s;
    auto c = CollabClient::Create(std::move(o));
    EXPECT_TRUE(c) << (c ? "" : c.error().message);
    return std::move(*c);
  }

  // Connected and caught up.
  void Join(CollabClient& c) {
    auto w = c.Connect();
    ASSERT_TRUE(w) << w.error().message;
    auto seen = Drain(c, IsLive);
    ASSERT_FALSE(seen.error) << seen.error->message;
    ASSERT_TRUE(IsLive(seen.events));
  }

  void Send(CollabClient& c, std::string_view text) {
    auto r = c.SendUpdate(Text(text));
    ASSERT_TRUE(r) << r.error().message;
  }

  // An update relay sealed by `author` under another file (or epoch), as the relay would send.
  Bytes ForeignRelay(const crypto::Identity& author, const collab::FileId& file,
                     std::uint64_t epoch, std::uint64_t seq, std::string_view text) {
    auto key = crypto::CollabKey::Make(file_key_, file, epoch);
    EXPECT_TRUE(key);
    auto session = crypto::CollabSession::Start(*key, author);
    EXPECT_TRUE(session);
    auto sealed = session->SealUpdate(author, Text(text));
    EXPECT_TRUE(sealed);
    return *collab::EncodeFrame(collab::UpdateRelay{seq, 0, *sealed});
  }
};

bool IsRelayTo(const CollabRelay::Peer& to, std::string_view user, const collab::Message& m,
               std::uint64_t seq) {
  const auto* r = std::get_if<collab::UpdateRelay>(&m);
  return to.user_id == user && r != nullptr && r->seq == seq;
}

// --- an honest server -----------------------------------------------------------------------

TEST_F(CollabClientTest, EveryUpdateFromEveryClientArrivesOnceInOrderAtEachClient) {
  auto a = Make(&alice_, "tok-alice");
  auto b = Make(&bob_, "tok-bob");
  auto c = Make(&carol_, "tok-carol");
  Join(a);
  Join(b);
  Join(c);
  constexpr int kEach = 6;
  for (int i = 1; i <= kEach; ++i) {
    Send(a, Numbered('a', i));
    Send(b, Numbered('b', i));
    Send(c, Numbered('c', i));
  }
  auto seen = DrainAll({&a, &b, &c}, [](std::size_t, const Events& e) {
    return All<CollabUpdate>(e).size() == 2 * kEach && All<CollabAcked>(e).size() == kEach;
  });
  std::map<std::uint64_t, std::string> global;  // seq -> payload, as every client saw it.
  for (std::size_t i = 0; i < seen.size(); ++i) {
    ASSERT_FALSE(seen[i].error) << seen[i].error->message;
    std::uint64_t last = 0;
    std::map<std::string, std::uint64_t> next;  // Per author: the next counter.
    std::set<std::string> payloads;
    for (const auto& e : seen[i].events) {
      if (const auto* u = std::get_if<CollabUpdate>(&e)) {
        EXPECT_GT(u->seq, last) << "client " << i;
        last = u->seq;
        EXPECT_EQ(u->counter, ++next[u->author]) << "in counter order, no holes";
        EXPECT_TRUE(payloads.insert(Str(u->payload)).second) << "exactly once";
        EXPECT_EQ(Str(u->payload).substr(1), std::to_string(u->counter));
        EXPECT_EQ(Str(u->payload)[0], u->author[0]);
        const auto [it, added] = global.emplace(u->seq, Str(u->payload));
        EXPECT_EQ(it->second, Str(u->payload)) << "every client sees the same order";
      } else if (const auto* k = std::get_if<CollabAcked>(&e)) {
        EXPECT_GT(k->seq, last) << "acks are in the same order as updates";
        last = k->seq;
        EXPECT_FALSE(k->resumed);
      }
    }
    EXPECT_EQ(payloads.size(), 2u * kEach);
  }
  EXPECT_EQ(global.size(), 3u * kEach);
  EXPECT_EQ(a.unacked(), 0u);
}

TEST_F(CollabClientTest, ResumeAfterACutConnectionDeliversTheMissedUpdatesWithoutDuplicates) {
  auto a = Make(&alice_, "tok-alice");
  auto b = Make(&bob_, "tok-bob");
  Join(a);
  Join(b);
  for (const char* t : {"1", "2", "3"}) Send(a, t);
  auto before = Drain(b, Updates(3));
  ASSERT_EQ(All<CollabUpdate>(before.events).size(), 3u);
  relay_->CutAll();
  EXPECT_EQ(DrainUntilFault(b, 2s).error->fault, CollabFault::closed);
  EXPECT_EQ(DrainUntilFault(a, 2s).error->fault, CollabFault::closed);
  // Alice comes back first and writes while Bob is away.
  Join(a);
  for (const char* t : {"4", "5"}) Send(a, t);
  ASSERT_EQ(All<CollabAcked>(Drain(a, Acks(2)).events).size(), 2u);
  EXPECT_EQ(b.last_accepted_seq(), 3u);
  auto w = b.Connect();
  ASSERT_TRUE(w) << w.error().message;
  EXPECT_EQ(w->head_seq, 5u);
  auto after = Drain(b, IsLive);
  ASSERT_FALSE(after.error) << after.error->message;
  const auto got = All<CollabUpdate>(after.events);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(Str(got[0].payload), "4");
  EXPECT_EQ(got[0].seq, 4u);
  EXPECT_EQ(Str(got[1].payload), "5");
  // Nothing more comes: no duplicates of 1..3.
  EXPECT_TRUE(DrainUntilFault(b, 300ms).events.empty());
  EXPECT_EQ(relay_->connections_accepted(), 4);  // Two joins, two resumed joins.
}

TEST_F(CollabClientTest, UnacknowledgedUpdatesAreResentByteForByteAfterReconnecting) {
  auto a = Make(&alice_, "tok-alice");
  auto b = Make(&bob_, "tok-bob");
  Join(a);
  Join(b);
  // The second update never reaches the server: the connection breaks as it is sent.
  int updates = 0;
  relay_->SetIncoming([&](const CollabRelay::Peer&, const collab::Message& m) {
    if (std::holds_alternative<collab::Update>(m) && ++updates == 2) {
      return CollabRelay::Incoming::swallow_and_cut;
    }
    return CollabRelay::Incoming::process;
  });
  Send(a, "one");
  ASSERT_EQ(All<CollabAcked>(Drain(a, Acks(1)).events).size(), 1u);
  Send(a, "two");
  EXPECT_EQ(DrainUntilFault(a, 2s).error->fault, CollabFault::closed);
  Send(a, "three");  // While disconnected: kept, sent after the resend.
  EXPECT_EQ(a.unacked(), 2u);
  Join(a);
  const auto acks = All<CollabAcked>(Drain(a, Acks(2)).events);
  ASSERT_EQ(acks.size(), 2u);
  EXPECT_EQ(acks[0].counter, 2u);
  EXPECT_EQ(acks[1].counter, 3u);
  EXPECT_EQ(a.unacked(), 0u);
  const auto received = relay_->ReceivedUpdates();
  ASSERT_EQ(received.size(), 4u);  // one, two (swallowed), two again, three.
  EXPECT_EQ(received[2], received[1]) << "the same bytes, not sealed again";
  auto seen = Drain(b, Updates(3));
  const auto got = All<CollabUpdate>(seen.events);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(Str(got[0].payload), "one");
  EXPECT_EQ(Str(got[1].payload), "two");
  EXPECT_EQ(Str(got[2].payload), "three");
}

TEST_F(CollabClientTest, AnUpdateStoredBeforeTheCutCountsAsAcknowledgedAndIsNotResent) {
  auto a = Make(&alice_, "tok-alice");
  Join(a);
  relay_->SetIncoming([](const CollabRelay::Peer&, const collab::Message& m) {
    return std::holds_alternative<collab::Update>(m) ? CollabRelay::Incoming::store_and_cut
                                                     : CollabRelay::Incoming::process;
  });
  Send(a, "stored, never acknowledged");
  EXPECT_EQ(DrainUntilFault(a, 2s).error->fault, CollabFault::closed);
  relay_->SetIncoming({});
  auto w = a.Connect();
  ASSERT_TRUE(w);
  auto seen = Drain(a, IsLive);
  ASSERT_FALSE(seen.error) << seen.error->message;
  const auto acks = All<CollabAcked>(seen.events);
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_TRUE(acks[0].resumed);
  EXPECT_EQ(acks[0].seq, 1u);
  EXPECT_FALSE(Has<CollabUpdate>(seen.events)) << "our own update is not applied twice";
  EXPECT_EQ(a.unacked(), 0u);
  EXPECT_EQ(relay_->ReceivedUpdates().size(), 1u) << "not resent";
}

TEST_F(CollabClientTest, PresenceRoundTripsAndIsNeverAppliedAsAnUpdate) {
  auto a = Make(&alice_, "tok-alice");
  auto b = Make(&bob_, "tok-bob");
  Join(a);
  Join(b);
  auto sent = a.SendPresence(Text("cursor at 42"));
  ASSERT_TRUE(sent && *sent);
  auto seen = Drain(b, [](const Events& e) { return Has<CollabPresence>(e); });
  const auto presence = All<CollabPresence>(seen.events);
  ASSERT_EQ(presence.size(), 1u);
  EXPECT_EQ(presence[0].author, kAlice);
  EXPECT_EQ(Str(presence[0].payload), "cursor at 42");
  EXPECT_EQ(presence[0].session_id, a.session_id());
  EXPECT_FALSE(Has<CollabUpdate>(seen.events));
  EXPECT_EQ(b.last_accepted_seq(), 0u) << "presence takes no place in the document's order";
}

TEST_F(CollabClientTest, ASnapshotAndItsTailBringALateJoinerToTheSameState) {
  auto a = Make(&alice_, "tok-alice");
  auto b = Make(&bob_, "tok-bob");
  Join(a);
  Join(b);
  std::string alice_state;
  for (const char* t : {"a", "b", "c"}) {
    Send(a, t);
    alice_state += t;
  }
  Send(b, "B");
  ASSERT_EQ(All<CollabAcked>(Drain(a, [&](const Events& e) {
                               return All<CollabAcked>(e).size() == 3 &&
                                      All<CollabUpdate>(e).size() == 1;
                             }).events)
                .size(),
            3u);
  alice_state += "B";
  // A snapshot of exactly the updates up to last_accepted_seq().
  ASSERT_EQ(a.last_accepted_seq(), 4u);
  ASSERT_TRUE(a.SendSnapshot(Text(alice_state)));
  auto acked = Drain(a, [](const Events& e) {
    for (const auto& k : All<CollabAcked>(e)) {
      if (k.of == collab::MessageType::snapshot) return true;
    }
    return false;
  });
  ASSERT_FALSE(acked.error);
  for (const char* t : {"d", "e"}) {
    Send(a, t);
    alice_state += t;
  }
  ASSERT_EQ(All<CollabAcked>(Drain(a, Acks(2)).events).size(), 2u);

  auto c = Make(&carol_, "tok-carol");  // A late joiner: no resume, starts from the snapshot.
  auto w = c.Connect();
  ASSERT_TRUE(w);
  EXPECT_EQ(w->snapshot_seq, 4u);
  auto seen = Drain(c, IsLive);
  ASSERT_FALSE(seen.error) << seen.error->message;
  ASSERT_TRUE(std::holds_alternative<CollabSnapshot>(seen.events.front()));
  std::string carol_state;
  for (const auto& e : seen.events) {
    if (const auto* s = std::get_if<CollabSnapshot>(&e)) {
      carol_state = Str(s->state);  // Replaces the state.
      EXPECT_EQ(s->through_seq, 4u);
      EXPECT_EQ(s->author, kAlice);
    } else if (const auto* u = std::get_if<CollabUpdate>(&e)) {
      EXPECT_GT(u->seq, 4u);
      carol_state += Str(u->payload);
    }
  }
  EXPECT_EQ(carol_state, alice_state);
  EXPECT_EQ(c.last_accepted_seq(), 6u);
}

TEST_F(CollabClientTest, ASnapshotWaitsForOurUpdatesToBeAcknowledged) {
  auto a = Make(&alice_, "tok-alice");
  Join(a);
  relay_->SetIncoming([](const CollabRelay::Peer&, const collab::Message&) {
    return CollabRelay::Incoming::swallow;
  });
  Send(a, "not acknowledged");
  auto r = a.SendSnapshot(Text("state"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().fault, CollabFault::unacked_pending);
}

TEST_F(CollabClientTest, AReadOnlyClientCannotSend) {
  auto r = Make(nullptr, "tok-carol", 1, 0);
  Join(r);
  EXPECT_EQ(r.SendUpdate(Text("x")).error().fault, CollabFault::read_only);
  EXPECT_EQ(r.SendPresence(Text("x")).error().fault, CollabFault::read_only);
}

TEST_F(CollabClientTest, AnUnknownTokenIsRefusedWithItsHttpStatus) {
  auto c = Make(&alice_, "tok-nobody");
  auto w = c.Connect();
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().fault, CollabFault::server_refused);
  EXPECT_EQ(w.error().http_status, 401);
  EXPECT_EQ(w.error().message.find("tok-nobody"), std::string::npos) << "no token in errors";
}

// --- a hostile server -----------------------------------------------------------------------

// Alice writes `n` updates; Bob, connected, is the receiver the server lies to.
class HostileRelay : public CollabClientTest {
 protected:
  CollabClient a_ = Make(&alice_, "tok-alice");
  CollabClient b_ = Make(&bob_, "tok-bob");

  void SetUp() override {
    Join(a_);
    Join(b_);
  }

  void AliceWrites(int n) {
    for (int i = 1; i <= n; ++i) Send(a_, Numbered('a', i));
    ASSERT_EQ(All<CollabAcked>(Drain(a_, Acks(n)).events).size(), static_cast<std::size_t>(n));
  }

  // What Bob got before the fault: the payloads delivered, and the fault.
  std::pair<std::vector<std::string>, std::optional<CollabError>> BobReads() {
    auto seen = DrainUntilFault(b_);
    std::vector<std::string> payloads;
    for (const auto& u : All<CollabUpdate>(seen.events)) payloads.push_back(Str(u.payload));
    return {payloads, seen.error};
  }
};

TEST_F(HostileRelay, ADroppedUpdateIsDetected) {
  relay_->SetOutgoing([](const CollabRelay::Peer& to, const collab::Message& m, const Bytes& f) {
    return IsRelayTo(to, kBob, m, 2) ? std::vector<Bytes>{} : std::vector<Bytes>{f};
  });
  AliceWrites(3);
  auto [payloads, error] = BobReads();
  EXPECT_EQ(payloads, std::vector<std::string>{"a1"}) << "a3 is not delivered over the hole";
  ASSERT_TRUE(error);
  EXPECT_EQ(error->fault, CollabFault::dropped);
  EXPECT_EQ(error->seq, 3u);
  EXPECT_EQ(error->author, kAlice);
  EXPECT_TRUE(error->IsServerMisbehaviour());
  EXPECT_FALSE(b_.connected());
  // docs/collab.md 7.2: resuming on a new connection gets the missing update from an honest
  // server, exactly once.
  relay_->SetOutgoing({});
  ASSERT_TRUE(b_.Connect());
  auto seen = Drain(b_, IsLive);
  ASSERT_FALSE(seen.error);
  const auto got = All<CollabUpdate>(seen.events);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(Str(got[0].payload), "a2");
  EXPECT_EQ(Str(got[1].payload), "a3");
}

TEST_F(HostileRelay, AReorderedPairOfDifferentAuthorsIsDetected) {
  // Alice's update (seq 1) is held back and sent to Carol after Bob's (seq 2).
  auto c = Make(&carol_, "tok-carol");
  Join(c);
  std::optional<Bytes> held;
  relay_->SetOutgoing([&](const CollabRelay::Peer& to, const collab::Message& m, const Bytes& f) {
    if (IsRelayTo(to, kCarol, m, 1)) {
      held = f;
      return std::vector<Bytes>{};
    }
    if (IsRelayTo(to, kCarol, m, 2)) return std::vector<Bytes>{f, *held};
    return std::vector<Bytes>{f};
  });
  AliceWrites(1);
  Send(b_, "b1");
  ASSERT_EQ(All<CollabAcked>(Drain(b_, Acks(1)).events).size(), 1u);
  auto seen = DrainUntilFault(c);
  const auto got = All<CollabUpdate>(seen.events);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(Str(got[0].payload), "b1");
  ASSERT_TRUE(seen.error);
  EXPECT_EQ(seen.error->fault, CollabFault::reordered);
  EXPECT_EQ(seen.error->seq, 1u);
}

TEST_F(HostileRelay, AReorderedPairOfOneAuthorIsDetectedAsAHole) {
  std::optional<Bytes> held;
  relay_->SetOutgoing([&](const CollabRelay::Peer& to, const collab::Message& m, const Bytes& f) {
    if (IsRelayTo(to, kBob, m, 1)) {
      held = f;
      return std::vector<Bytes>{};
    }
    if (IsRelayTo(to, kBob, m, 2)) return std::vector<Bytes>{f, *held};
    return std::vector<Bytes>{f};
  });
  AliceWrites(2);
  auto [payloads, error] = BobReads();
  EXPECT_TRUE(payloads.empty());
  ASSERT_TRUE(error);
  EXPECT_EQ(error->fault, CollabFault::dropped);  // docs/collab.md 11: update_gap first.
}

TEST_F(HostileRelay, AReplayedUpdateIsDetected) {
  relay_->SetOutgoing([](const CollabRelay::Peer& to, const collab::Message& m, const Bytes& f) {
    return IsRelayTo(to, kBob, m, 2) ? std::vector<Bytes>{f, f} : std::vector<Bytes>{f};
  });
  AliceWrites(2);
  auto [payloads, error] = BobReads();
  EXPECT_EQ(payloads, (std::vector<std::string>{"a1", "a2"}));
  ASSERT_TRUE(error);
  EXPECT_EQ(error->fault, CollabFault::replayed);
}

TEST_F(HostileRelay, AnUpdateReplayedUnderANewSequenceNumberIsDetected) {
  relay_->SetOutgoing([](const CollabRelay::Peer& to, const collab::Message& m, const Bytes& f) {
    if (!IsRelayTo(to, kBob, m, 2)) return std::vector<Bytes>{f};
    auto again = std::get<collab::UpdateRelay>(m);
    again.seq = 3;  // The same frame again, under a sequence number never used.
    return std::vector<Bytes>{f, *collab::EncodeFrame(again)};
  });
  AliceWrites(2);
  auto [payloads, error] = BobReads();
  EXPECT_EQ(payloads, (std::vector<std::string>{"a1", "a2"}));
  ASSERT_TRUE(error);
  EXPECT_EQ(error->fault, CollabFault::replayed);
  EXPECT_EQ(error->seq, 3u);
}

TEST_F(HostileRelay, AnUpdateCopiedFromAnotherFileIsDetected) {
  const Bytes foreign = ForeignRelay(alice_, FileIdOf(0x22), 1, 2, "from another document");
  relay_->SetOutgoing([&](const CollabRelay::Peer& to, const collab::Message& m, const Bytes& f) {
    return IsRelayTo(to, kBob, m, 2) ? std::vector<Bytes>{foreign} : std::vector<Bytes>{f};
  });
  AliceWrites(2);
  auto [payloads, error] = BobReads();
  EXPECT_EQ(payloads, std::vector<std::string>{"a1"});
  ASSERT_TRUE(error);
  EXPECT_EQ(error->fault, CollabFault::wrong_file);
  EXPECT_EQ(error->seq, 2u);
}

TEST_F(HostileRelay, AForgedAuthorIsDetected) {
  // Alice's update relabelled as Carol's (a member with a pinned key).
  relay_->SetOutgoing([](const CollabRelay::Peer& to, const collab::Message& m, const Bytes& f) {
    if (!IsRelayTo(to, kBob, m, 1)) return std::vector<Bytes>{f};
    auto forged = std::get<collab::UpdateRelay>(m);
    forged.sealed.head.author = std::string(kCarol);
    return std::vector<Bytes>{*collab::EncodeFrame(forged)};
  });
  AliceWrites(1);
  auto [payloads, error] = BobReads();
  EXPECT_TRUE(payloads.empty());
  ASSERT_TRUE(error);
  EXPECT_EQ(error->fault, CollabFault::forged_author);
  EXPECT_EQ(error->author, kCarol);
}

TEST_F(HostileRelay, AnUpdateBySomeoneWhoIsNotAMemberIsRefused) {
  // Mallory has the file key (say, a leaked copy) but no pinned key with Bob.
  const Bytes injected = ForeignRelay(mallory_, file_id_, 1, 2, "injected");
  relay_->SetOutgoing([&](const CollabRelay::Peer& to, const collab::Message& m, const Bytes& f) {
    return IsRelayTo(to, kBob, m, 1) ? std::vector<Bytes>{f, injected} : std::vector<Bytes>{f};
  });
  AliceWrites(1);
  auto [payloads, error] = BobReads();
  EXPECT_EQ(payloads, std::vector<std::string>{"a1"});
  ASSERT_TRUE(error);
  EXPECT_EQ(error->fault, CollabFault::untrusted_author);
}

TEST_F(HostileRelay, PresenceRelabelledAsAnUpdateIsRefused) {
  relay_->SetOutgoing([](const CollabRelay::Peer& to, const collab::Message& m, const Bytes& f) {
    const auto* p = std::get_if<collab::PresenceRelay>(&m);
    if (to.user_id != kBob || p == nullptr) return std::vector<Bytes>{f};
    return std::vector<Bytes>{*collab::EncodeFrame(collab::UpdateRelay{1, 0, p->sealed})};
  });
  ASSERT_TRUE(a_.SendPresence(Text("cursor")));
  auto [payloads, error] = BobReads();
  EXPECT_TRUE(payloads.empty());
  ASSERT_TRUE(error);
  EXPECT_EQ(error->fault, CollabFault::forged_author);  // Separate labels: bad_signature.
}

TEST_F(HostileRelay, AReplayedPresenceIsDroppedSilently) {
  relay_->SetOutgoing([](const CollabRelay::Peer& to, const collab::Message& m, const Bytes& f) {
    const bool presence = std::holds_alternative<collab::PresenceRelay>(m);
    return presence && to.user_id == kBob ? std::vector<Bytes>{f, f} : std::vector<Bytes>{f};
  });
  ASSERT_TRUE(a_.SendPresence(Text("cursor")));
  auto seen = DrainUntilFault(b_, 500ms);
  EXPECT_FALSE(seen.error) << "presence is lossy: a bad one is dropped, not a fault";
  EXPECT_EQ(All<CollabPresence>(seen.events).size(), 1u);
}

TEST_F(HostileRelay, AWelcomeThatForgetsAcceptedUpdatesIsARollback) {
  AliceWrites(2);
  ASSERT_EQ(All<CollabUpdate>(Drain(b_, Updates(2)).events).size(), 2u);
  relay_->SetOutgoing([](const CollabRelay::Peer& to, const collab::Message& m, const Bytes& f) {
    const auto* w = std::get_if<collab::Welcome>(&m);
    if (to.user_id != kBob || w == nullptr) return std::vector<Bytes>{f};
    auto older = *w;
    older.head_seq = 1;
    return std::vector<Bytes>{*collab::EncodeFrame(older)};
  });
  auto w = b_.Connect();
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().fault, CollabFault::rolled_back);
}

TEST_F(HostileRelay, AStalledServerDeliversNothingAndFakesNothing) {
  relay_->Stall(true);
  Send(a_, "a1");
  auto seen = Drain(b_, Updates(1), 500ms);
  EXPECT_FALSE(seen.error);
  EXPECT_TRUE(seen.events.empty());
  relay_->Stall(false);
  EXPECT_EQ(All<CollabUpdate>(Drain(b_, Updates(1)).events).size(), 1u);
}

TEST_F(CollabClientTest, AFrameOfAnOlderKeyEpochIsDetected) {
  relay_ = NewRelay(2);
  auto a = Make(&alice_, "tok-alice", 2);
  auto b = Make(&bob_, "tok-bob", 2);
  Join(a);
  Join(b);
  // Carol's frame sealed under epoch 1, slipped in after Bob accepted an epoch-2 update.
  const Bytes stale = ForeignRelay(carol_, file_id_, 1, 2, "old epoch");
  relay_->SetOutgoing([&](const CollabRelay::Peer& to, const collab::Message& m, const Bytes& f) {
    return IsRelayTo(to, kBob, m, 1) ? std::vector<Bytes>{f, stale} : std::vector<Bytes>{f};
  });
  Send(a, "a1");
  auto seen = DrainUntilFault(b);
  ASSERT_EQ(All<CollabUpdate>(seen.events).size(), 1u);
  ASSERT_TRUE(seen.error);
  EXPECT_EQ(seen.error->fault, CollabFault::stale_epoch);
}

// --- reading the history (strongroom collab log) ---------------------------------------------

TEST_F(CollabClientTest, ReadHistoryDeliversEveryUpdateAndStopsAtTheLiveEdge) {
  auto a = Make(&alice_, "tok-alice");
  Join(a);
  for (const char* t : {"x", "yy", "zzz"}) Send(a, t);
  ASSERT_EQ(All<CollabAcked>(Drain(a, Acks(3)).events).size(), 3u);
  auto reader = Make(nullptr, "tok-bob", 1, 0);
  std::vector<CollabUpdate> got;
  auto end = ReadHistory(reader, 5s, [&](const CollabUpdate& u) { got.push_back(u); });
  ASSERT_TRUE(end) << end.error().message;
  EXPECT_EQ(end->head_seq, 3u);
  EXPECT_EQ(end->updates, 3u);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[2].payload.size(), 3u);
  EXPECT_EQ(got[2].author, kAlice);
  EXPECT_FALSE(reader.connected());
}

TEST_F(CollabClientTest, ReadHistoryOfAnEmptyDocumentEndsAtOnce) {
  auto reader = Make(nullptr, "tok-bob", 1, 0);
  auto end = ReadHistory(reader, 5s, [](const CollabUpdate&) {});
  ASSERT_TRUE(end) << end.error().message;
  EXPECT_EQ(end->updates, 0u);
}

TEST_F(CollabClientTest, ReadHistoryFailsWhenTheServerMisbehavesTwice) {
  auto a = Make(&alice_, "tok-alice");
  Join(a);
  for (const char* t : {"1", "2", "3"}) Send(a, t);
  ASSERT_EQ(All<CollabAcked>(Drain(a, Acks(3)).events).size(), 3u);
  relay_->SetOutgoing([](const CollabRelay::Peer& to, const collab::Message& m, const Bytes& f) {
    return IsRelayTo(to, kBob, m, 2) ? std::vector<Bytes>{} : std::vector<Bytes>{f};
  });
  auto reader = Make(nullptr, "tok-bob", 1, 0);
  std::vector<std::uint64_t> seqs;
  auto end = ReadHistory(reader, 5s, [&](const CollabUpdate& u) { seqs.push_back(u.seq); });
  ASSERT_FALSE(end);
  EXPECT_EQ(end.error().fault, CollabFault::dropped);
  EXPECT_EQ(seqs, std::vector<std::uint64_t>{1}) << "printed once, not again after the retry";
  EXPECT_EQ(relay_->connections_accepted(), 3) << "one resumed retry";
}

TEST_F(CollabClientTest, ReadHistoryGivesUpOnAStalledServer) {
  auto a = Make(&alice_, "tok-alice");
  Join(a);
  Send(a, "1");
  ASSERT_EQ(All<CollabAcked>(Drain(a, Acks(1)).events).size(), 1u);
  relay_->SetOutgoing([](const CollabRelay::Peer& to, const collab::Message& m, const Bytes& f) {
    return IsRelayTo(to, kBob, m, 1) ? std::vector<Bytes>{} : std::vector<Bytes>{f};
  });
  auto reader = Make(nullptr, "tok-bob", 1, 0);
  auto end = ReadHistory(reader, 700ms, [](const CollabUpdate&) {});
  ASSERT_FALSE(end);
  EXPECT_EQ(end.error().fault, CollabFault::timeout);
}

}  // namespace
}  // namespace strongroom::client
