// The co-editing client library (client/collab.h) against the real relay, end to end: users
// registered with the real `strongroom` CLI, a document uploaded and shared with it, keys
// opened and records verified by the client library (Room::OpenForCollab, as an editor would),
// CollabClient sessions through strongroomd on loopback, and `strongroom collab log` reading
// the history back. The relay's own rules are tests/integration/collab_test.cc; the client's
// checks against a hostile relay are tests/unit/collab_client_test.cc. This file is what joins
// the two: that the honest server and the verifying client agree.
//
// Covered: two members editing at once (one order for both, exactly once, acks for their own);
// `strongroom collab log` printing that history verified, then from a snapshot after
// compaction; a late joiner reconstructing the document from snapshot and tail; deny access
// cutting the removed member off at once (and 404 when they come back), the owner moving the
// live session to the new epoch after the rekey (MoveToEpoch), writing the snapshot the new key
// needs, and a newcomer joining under the new key only; and a canary in every update that is
// never in the server's memory, while a ciphertext of the same updates is.
#include "support/cli_machine.h"
#include "support/database.h"
#include "support/json_util.h"
#include "support/portal.h"
#include "support/process.h"
#include "support/process_memory.h"
#include "support/text_util.h"

#include "strongroom/client/api_client.h"
#include "strongroom/client/collab.h"
#include "strongroom/client/http_transport.h"
#include "strongroom/client/profile.h"
#include "strongroom/client/room.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace strongroom::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;
using Bytes = std::vector<std::uint8_t>;

// In every update's plaintext: it must never be in the server's memory.
constexpr std::string_view kCanary = "CANARY-e2e-collab-4f19c2d8a7b3-plaintext";

Bytes ToBytes(std::string_view s) {
  return Bytes(s.begin(), s.end());
}
std::string ToString(const Bytes& b) {
  return std::string(b.begin(), b.end());
}

// A member and their machine: the CLI's home, and the client library opened on it.
struct Member : CliMachine {
  std::string email;
  std::string password;
  std::string user_id;

  // The library side, opened by Open() after the CLI signed in.
  std::optional<client::ProfileStore> store;
  std::optional<client::ApiClient> api;
  std::optional<crypto::Identity> identity;
  std::string server;
  std::string ca_file;  // The portal's certificate when it serves TLS.

  RunResult Room(std::vector<std::string> args) const {
    args.push_back("--password-stdin");
    return Cli(args, password + "\n");
  }

  // Opens the profile the CLI wrote, with its session and keys, as an editor application
  // would. The profile is found through STRONGROOM_HOME, set for this call only.
  void Open() {
    const char* before = std::getenv("STRONGROOM_HOME");
    const std::string saved = before != nullptr ? before : "";
    ::setenv("STRONGROOM_HOME", home().c_str(), 1);
    auto s = client::ProfileStore::Open(client::kDefaultProfile);
    if (before != nullptr) {
      ::setenv("STRONGROOM_HOME", saved.c_str(), 1);
    } else {
      ::unsetenv("STRONGROOM_HOME");
    }
    ASSERT_TRUE(s) << s.error().message;
    store.emplace(std::move(*s));
    auto profile = store->LoadProfile();
    ASSERT_TRUE(profile && *profile) << "no profile in " << home();
    server = (*profile)->server;
    auto url = client::ServerUrl::Parse(server);
    ASSERT_TRUE(url);
    client::TransportOptions t;
    t.user_agent = "collab-session-test";
    t.ca_file = ca_file;
    auto transport = client::HttpTransport::Create(*url, t);
    ASSERT_TRUE(transport) << transport.error().message;
    api.emplace(std::move(*transport));
    auto token = store->LoadSession();
    ASSERT_TRUE(token && *token) << "not signed in";
    api->set_token(std::move(**token));
    auto id = client::UnlockIdentity(*api, *store, user_id, password);
    ASSERT_TRUE(id) << id.error().message;
    identity.emplace(std::move(*id));
  }

  // The verified record, epoch, file key and members of `path` (Room::OpenForCollab).
  client::CollabDocument Document(const std::string& path) {
    client::Room room(*api, *store, *identity);
    auto doc = room.OpenForCollab(path);
    EXPECT_TRUE(doc) << doc.error().message;
    return doc ? std::move(*doc) : client::CollabDocument{};
  }

  // A collaboration client for `doc`: as an editor (with our identity) or read-only.
  client::CollabClient Client(const client::CollabDocument& doc, bool editor = true) {
    client::CollabOptions o;
    o.server = *client::ServerUrl::Parse(server);
    auto token = store->LoadSession();
    EXPECT_TRUE(token && *token);
    if (token && *token) o.token = std::move(**token);
    o.user_agent = "collab-session-test";
    o.ca_file = ca_file;
    o.file_id = doc.file_id;
    o.epoch = doc.epoch;
    o.file_key = doc.file_key.Clone();
    o.members = doc.members;
    o.identity = editor ? &*identity : nullptr;
    o.connect_timeout = 20s;
    auto c = client::CollabClient::Create(std::move(o));
    EXPECT_TRUE(c) << c.error().message;
    return std::move(*c);
  }
};

// What one client has seen, in the order Next() delivered it.
struct Timeline {
  std::vector<client::CollabUpdate> updates;  // Others' updates.
  std::vector<client::CollabAcked> acks;      // Of our updates.
  std::vector<client::CollabSnapshot> snapshots;
  std::vector<client::CollabNotice> notices;
  std::optional<client::CollabError> fault;
  bool live = false;

  // Every seq delivered (others' updates and our acks), in delivery order.
  std::vector<std::uint64_t> Seqs() const {
    std::map<std::uint64_t, int> by_seq;
    for (const auto& u : updates) by_seq[u.seq]++;
    for (const auto& a : acks) {
      if (a.of == collab::MessageType::update) by_seq[a.seq]++;
    }
    std::vector<std::uint64_t> out;
    for (const auto& [seq, n] : by_seq) out.insert(out.end(), static_cast<std::size_t>(n), seq);
    return out;
  }
};

// Takes every event that comes within `wait` (and records a fault) into `t`.
void Pump(client::CollabClient& c, Timeline& t, std::chrono::milliseconds wait) {
  while (!t.fault) {
    auto e = c.Next(wait);
    if (!e) {
      t.fault = e.error();
      return;
    }
    if (!*e) return;
    std::visit(
        [&](auto& ev) {
          using T = std::decay_t<decltype(ev)>;
          if constexpr (std::is_same_v<T, client::CollabUpdate>) t.updates.push_back(ev);
          if constexpr (std::is_same_v<T, client::CollabAcked>) t.acks.push_back(ev);
          if constexpr (std::is_same_v<T, client::CollabSnapshot>) t.snapshots.push_back(ev);
          if constexpr (std::is_same_v<T, client::CollabNotice>) t.notices.push_back(ev);
          if constexpr (std::is_same_v<T, client::CollabLive>) t.live = true;
        },
        **e);
  }
}

// Pumps `clients` in turn until `done` holds for all (or one fails, or 60 s pass).
bool PumpUntil(const std::vector<std::pair<client::CollabClient*, Timeline*>>& clients,
               const std::function<bool(const Timeline&)>& done) {
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline) {
    bool all = true;
    for (auto& [c, t] : clients) {
      if (t->fault) return false;
      if (done(*t)) continue;
      all = false;
      Pump(*c, *t, 20ms);
    }
    if (all) return true;
  }
  return false;
}

std::string Describe(const Timeline& t) {
  std::string s = std::to_string(t.updates.size()) + " updates, " +
                  std::to_string(t.acks.size()) + " acks, " +
                  std::to_string(t.snapshots.size()) + " snapshots, live " +
                  (t.live ? "yes" : "no");
  if (t.fault) s += ", fault: " + t.fault->message;
  for (const auto& n : t.notices) s += ", notice: " + n.message;
  return s;
}

class CollabSessionTest : public ::testing::Test {
 protected:
  // Whether the portal serves TLS (a throwaway self-signed certificate the members trust).
  virtual bool Tls() const { return false; }

  void SetUp() override {
    PortalOptions options;
    options.rate_limits = false;
    if (Tls()) {
      const std::string cert = certs_.path() + "/cert.pem";
      const std::string key = certs_.path() + "/key.pem";
      const RunResult r = RunProcess(
          {"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
           "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=localhost",
           "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert});
      ASSERT_EQ(r.exit_code, 0) << r.err;
      options.env = {"STRONGROOM_TLS_CERT_FILE=" + cert, "STRONGROOM_TLS_KEY_FILE=" + key};
      for (Member* m : {&alice_, &bob_}) {
        m->ca_file = cert;
        m->AddEnv("STRONGROOM_CA_FILE=" + cert);
      }
    }
    ASSERT_NO_FATAL_FAILURE(portal_.Start(options));
    ASSERT_EQ(portal_.scheme(), Tls() ? "https" : "http");
    ASSERT_NO_FATAL_FAILURE(Register(alice_, "alice@example.com", portal_.setup_token()));
    ASSERT_NO_FATAL_FAILURE(Register(bob_, "bob@example.com", portal_.Invite("bob@example.com")));
    // Alice's document, shared with Bob.
    const std::string local = alice_.home() + "/notes.docx";
    std::ofstream(local) << "the document's first content";
    const json::value up = CliJson(alice_.Room({"upload", local, "/", "--json"}));
    file_id_ = JStr(up, "/id");
    ASSERT_EQ(file_id_.size(), 32u);
    CliJson(alice_.Room({"share", "/notes.docx", bob_.email, "--json"}));
    ASSERT_NO_FATAL_FAILURE(alice_.Open());
    ASSERT_NO_FATAL_FAILURE(bob_.Open());
  }

  void TearDown() override { portal_.FinishTest(8000); }

  void Register(Member& m, const std::string& email, const std::string& invitation) {
    m.email = email;
    m.password = "a collab session password of " + email;
    const json::value out =
        CliJson(m.Cli({"register", "--server", portal_.url(), "--invite", invitation, "--email",
                       email, "--password-stdin", "--json"},
                      m.password + "\n"));
    m.user_id = JStr(out, "/user_id");
    ASSERT_TRUE(m.user_id.starts_with("u-")) << m.user_id;
  }

  // Connects `c` and pumps it until it is live.
  void Join(client::CollabClient& c, Timeline& t) {
    auto welcome = c.Connect();
    ASSERT_TRUE(welcome) << welcome.error().message;
    ASSERT_TRUE(PumpUntil({{&c, &t}}, [](const Timeline& x) { return x.live; })) << Describe(t);
  }

  TempDir certs_;
  Portal portal_;
  Member alice_, bob_;
  std::string file_id_;
};

// Two members type at once: both see one order, every update once, the other's verified
// payloads and acks for their own; `collab log` prints exactly that history; after a snapshot
// a late joiner reconstructs the document from it and the tail, and `collab log` falls back to
// the snapshot once the server compacted the updates behind it.
TEST_F(CollabSessionTest, TwoEditorsTheLogAndALateJoinerAgreeOnOneVerifiedHistory) {
  const client::CollabDocument a_doc = alice_.Document("/notes.docx");
  const client::CollabDocument b_doc = bob_.Document(file_id_);  // Shared with him: by id.
  ASSERT_EQ(a_doc.epoch, b_doc.epoch);
  client::CollabClient a = alice_.Client(a_doc);
  client::CollabClient b = bob_.Client(b_doc);
  Timeline at, bt;
  ASSERT_NO_FATAL_FAILURE(Join(a, at));
  ASSERT_NO_FATAL_FAILURE(Join(b, bt));

  constexpr int kEach = 60;
  for (int i = 0; i < kEach; ++i) {
    const std::string n = std::to_string(i);
    ASSERT_TRUE(a.SendUpdate(ToBytes("alice " + n + " " + std::string(kCanary))));
    ASSERT_TRUE(b.SendUpdate(ToBytes("bob " + n + " " + std::string(kCanary))));
    if (i % 10 == 9) {
      Pump(a, at, 1ms);
      Pump(b, bt, 1ms);
    }
  }
  const auto complete = [](const Timeline& t) {
    return t.updates.size() == kEach && t.acks.size() == kEach;
  };
  ASSERT_TRUE(PumpUntil({{&a, &at}, {&b, &bt}}, complete))
      << "alice: " << Describe(at) << "; bob: " << Describe(bt);

  // One order, 1..2*kEach, each seq once on each side.
  std::vector<std::uint64_t> all;
  for (std::uint64_t s = 1; s <= 2 * kEach; ++s) all.push_back(s);
  EXPECT_EQ(at.Seqs(), all);
  EXPECT_EQ(bt.Seqs(), all);
  // What Alice received is what Bob sent, in his order, at the seqs his acks name.
  std::map<std::uint64_t, std::string> bob_by_seq;
  for (std::size_t i = 0; i < at.updates.size(); ++i) {
    const auto& u = at.updates[i];
    EXPECT_EQ(u.author, bob_.user_id);
    EXPECT_EQ(ToString(u.payload), "bob " + std::to_string(i) + " " + std::string(kCanary));
    EXPECT_EQ(u.counter, i + 1);
    bob_by_seq[u.seq] = ToString(u.payload);
  }
  for (std::size_t i = 0; i < bt.acks.size(); ++i) {
    EXPECT_EQ(bt.acks[i].counter, i + 1);
    EXPECT_EQ(bob_by_seq.count(bt.acks[i].seq), 1u) << "ack seq " << bt.acks[i].seq;
  }
  for (std::size_t i = 0; i < bt.updates.size(); ++i) {
    EXPECT_EQ(bt.updates[i].author, alice_.user_id);
    EXPECT_EQ(ToString(bt.updates[i].payload),
              "alice " + std::to_string(i) + " " + std::string(kCanary));
  }

  // `strongroom collab log`: the same history, verified by a third client (the CLI's).
  {
    const json::value log = CliJson(alice_.Room({"collab", "log", "/notes.docx", "--json"}));
    EXPECT_EQ(JStr(log, "/id"), file_id_);
    EXPECT_EQ(JStr(log, "/name"), "notes.docx");
    EXPECT_EQ(JInt(log, "/head_seq"), 2 * kEach);
    const json::array& updates = JArr(log, "/updates");
    ASSERT_EQ(updates.size(), 2u * kEach);
    std::map<std::string, int> per_author;
    for (std::size_t i = 0; i < updates.size(); ++i) {
      EXPECT_EQ(JInt(updates[i], "/seq"), static_cast<std::int64_t>(i + 1));
      const std::string author = JStr(updates[i], "/author_id");
      per_author[author]++;
      const std::int64_t size = JInt(updates[i], "/size");
      const std::int64_t expected =
          author == bob_.user_id
              ? static_cast<std::int64_t>(bob_by_seq.at(i + 1).size())
              : static_cast<std::int64_t>(
                    ("alice " + std::to_string(per_author[author] - 1) + " " +
                     std::string(kCanary))
                        .size());
      EXPECT_EQ(size, expected) << "seq " << i + 1;
    }
    EXPECT_EQ(per_author[alice_.user_id], kEach);
    EXPECT_EQ(per_author[bob_.user_id], kEach);
    EXPECT_FALSE(log.as_object().contains("snapshot"));
  }

  // Alice writes the document's state as a snapshot; Bob types three more.
  const std::string state = "the whole document through seq " + std::to_string(2 * kEach);
  ASSERT_TRUE(a.SendSnapshot(ToBytes(state)));
  ASSERT_TRUE(PumpUntil({{&a, &at}}, [](const Timeline& t) {
    return !t.acks.empty() && t.acks.back().of == collab::MessageType::snapshot;
  })) << Describe(at);
  for (int i = kEach; i < kEach + 3; ++i) {
    ASSERT_TRUE(b.SendUpdate(ToBytes("bob " + std::to_string(i) + " " + std::string(kCanary))));
  }
  ASSERT_TRUE(PumpUntil({{&b, &bt}}, [](const Timeline& t) { return t.acks.size() == kEach + 3; }))
      << Describe(bt);

  // A late joiner (Bob on a second device) gets the snapshot and the tail, verified.
  client::CollabClient late = bob_.Client(b_doc);
  Timeline lt;
  ASSERT_NO_FATAL_FAILURE(Join(late, lt));
  ASSERT_EQ(lt.snapshots.size(), 1u) << Describe(lt);
  EXPECT_EQ(ToString(lt.snapshots[0].state), state);
  EXPECT_EQ(lt.snapshots[0].through_seq, 2u * kEach);
  EXPECT_EQ(lt.snapshots[0].author, alice_.user_id);
  ASSERT_EQ(lt.updates.size(), 3u) << Describe(lt);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(lt.updates[i].seq, 2u * kEach + 1 + i);
    EXPECT_EQ(ToString(lt.updates[i].payload),
              "bob " + std::to_string(kEach + i) + " " + std::string(kCanary));
  }

  // The server compacted the updates the snapshot covers: the log starts from the snapshot.
  {
    const json::value log = CliJson(alice_.Room({"collab", "log", "/notes.docx", "--json"}));
    EXPECT_EQ(JInt(log, "/snapshot/through_seq"), 2 * kEach);
    EXPECT_EQ(JStr(log, "/snapshot/author_id"), alice_.user_id);
    EXPECT_EQ(JInt(log, "/snapshot/size"), static_cast<std::int64_t>(state.size()));
    const json::array& updates = JArr(log, "/updates");
    ASSERT_EQ(updates.size(), 3u);
    EXPECT_EQ(JInt(updates[0], "/seq"), 2 * kEach + 1);
    EXPECT_EQ(JStr(updates[2], "/author_id"), bob_.user_id);
  }
  // The human form names the snapshot and prints one line per update.
  const RunResult text = alice_.Room({"collab", "log", "/notes.docx"});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("snapshot through seq " + std::to_string(2 * kEach)), std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find(std::to_string(2 * kEach + 3)), std::string::npos) << text.out;

  // Zero knowledge: the server's memory has the ciphertext of the updates it relayed (the
  // control: the scan reaches the memory that holds them) and never the plaintext.
  Database db(portal_.db_path());
  const auto rows = db.Query(
      "SELECT frame FROM collab_updates WHERE file_id = ?1 ORDER BY seq DESC LIMIT 1",
      {file_id_});
  ASSERT_EQ(rows.size(), 1u);
  const std::string frame = std::get<Database::Blob>(rows[0][0]).bytes;
  ASSERT_GT(frame.size(), 120u);
  const std::string ciphertext = frame.substr(frame.size() - 96, 32);  // Before the signature.
  const MemoryScan scan = ScanProcessMemory(portal_.pid(), {std::string(kCanary), ciphertext});
  ASSERT_TRUE(scan.readable) << scan.error;
  EXPECT_TRUE(scan.found[1]) << "control: a relayed ciphertext was not found in "
                             << scan.bytes_read << " bytes of " << scan.mappings_read
                             << " mappings";
  EXPECT_FALSE(scan.found[0]) << "the server's memory holds an update's plaintext";
  EXPECT_EQ(portal_.Log().find(kCanary), std::string::npos);
}

// Alice denies Bob while both are connected: Bob is cut off at once and cannot come back;
// Alice's live session is told the file moved on, moves to the new epoch on the same
// connection, writes the snapshot the new key needs, and goes on editing; a newcomer (Alice
// on another device) joins under the new key alone.
TEST_F(CollabSessionTest, DenyAccessCutsTheMemberOffAndTheOwnerMovesToTheNewEpoch) {
  const client::CollabDocument a_doc = alice_.Document("/notes.docx");
  const client::CollabDocument b_doc = bob_.Document(file_id_);
  client::CollabClient a = alice_.Client(a_doc);
  client::CollabClient b = bob_.Client(b_doc);
  Timeline at, bt;
  ASSERT_NO_FATAL_FAILURE(Join(a, at));
  ASSERT_NO_FATAL_FAILURE(Join(b, bt));
  ASSERT_TRUE(a.SendUpdate(ToBytes("alice before")));
  ASSERT_TRUE(b.SendUpdate(ToBytes("bob before")));
  ASSERT_TRUE(PumpUntil({{&a, &at}, {&b, &bt}}, [](const Timeline& t) {
    return t.updates.size() == 1 && t.acks.size() == 1;
  })) << Describe(at) << "; " << Describe(bt);

  // Deny access: the CLI removes Bob and rekeys (a new container, a new file key).
  const RunResult unshare = alice_.Room({"unshare", "/notes.docx", bob_.email});
  ASSERT_EQ(unshare.exit_code, 0) << unshare.err;

  // Bob's connection ends with forbidden, and the next upgrade is answered like a file that
  // does not exist.
  PumpUntil({{&b, &bt}}, [](const Timeline&) { return false; });
  ASSERT_TRUE(bt.fault) << Describe(bt);
  EXPECT_EQ(bt.fault->server_code, collab::ErrorCode::forbidden) << bt.fault->message;
  auto again = b.Connect();
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().fault, client::CollabFault::server_refused) << again.error().message;
  EXPECT_EQ(again.error().http_status, 404) << again.error().message;
  const RunResult bob_log = bob_.Room({"collab", "log", file_id_});
  EXPECT_EQ(bob_log.exit_code, 1);

  // Alice typed on while the rekey committed: the server refuses that update (an older epoch)
  // and tells her the file is at a new epoch; she verifies it and moves her session there,
  // which seals the refused edit again under the new key.
  auto typed = a.SendUpdate(ToBytes("alice typed during the rekey"));
  ASSERT_TRUE(typed) << typed.error().message;
  ASSERT_TRUE(PumpUntil({{&a, &at}}, [&](const Timeline& t) {
    return std::any_of(t.notices.begin(), t.notices.end(),
                       [&](const client::CollabNotice& n) { return n.counter == *typed; });
  })) << Describe(at);
  for (const auto& n : at.notices) EXPECT_EQ(n.code, collab::ErrorCode::stale_epoch) << n.message;
  EXPECT_EQ(a.unacked(), 1u);
  const client::CollabDocument rekeyed = alice_.Document("/notes.docx");
  EXPECT_EQ(at.notices.back().epoch, rekeyed.epoch);
  ASSERT_GT(rekeyed.epoch, a_doc.epoch);
  EXPECT_EQ(rekeyed.members.count(bob_.user_id), 0u);
  const collab::SessionId old_session = a.session_id();
  auto moved = a.MoveToEpoch(rekeyed.epoch, rekeyed.file_key);
  ASSERT_TRUE(moved) << moved.error().message;
  EXPECT_EQ(*moved, 1u) << "the refused update is sealed again";
  EXPECT_NE(a.session_id(), old_session) << "one session is one epoch";
  EXPECT_EQ(a.epoch(), rekeyed.epoch);
  EXPECT_TRUE(a.connected());
  ASSERT_TRUE(PumpUntil({{&a, &at}}, [](const Timeline& t) { return t.acks.size() == 2; }))
      << Describe(at);
  EXPECT_EQ(at.acks[1].counter, 1u) << "the new session's first update";
  EXPECT_EQ(a.MoveToEpoch(rekeyed.epoch, rekeyed.file_key).error().fault,
            client::CollabFault::invalid_argument)
      << "an epoch is moved to once";

  // The snapshot under the new key (docs/collab.md 6.1), then more edits, acknowledged.
  const std::string state = "alice before + bob before + alice typed during the rekey";
  ASSERT_TRUE(a.SendSnapshot(ToBytes(state)));
  ASSERT_TRUE(a.SendUpdate(ToBytes("alice after the rekey")));
  ASSERT_TRUE(PumpUntil({{&a, &at}}, [](const Timeline& t) { return t.acks.size() == 4; }))
      << Describe(at);
  EXPECT_EQ(at.acks[2].of, collab::MessageType::snapshot);
  EXPECT_EQ(at.acks[3].of, collab::MessageType::update);
  EXPECT_EQ(at.acks[3].counter, 2u);

  // A newcomer holding only the new key: the new snapshot and the update after it.
  client::CollabClient newcomer = alice_.Client(rekeyed, /*editor=*/false);
  Timeline nt;
  ASSERT_NO_FATAL_FAILURE(Join(newcomer, nt));
  ASSERT_EQ(nt.snapshots.size(), 1u) << Describe(nt);
  EXPECT_EQ(ToString(nt.snapshots[0].state), state);
  EXPECT_EQ(nt.snapshots[0].epoch, rekeyed.epoch);
  ASSERT_EQ(nt.updates.size(), 1u) << Describe(nt);
  EXPECT_EQ(ToString(nt.updates[0].payload), "alice after the rekey");

  // A client still at the old epoch is refused at the join, naming the new epoch.
  client::CollabClient stale = alice_.Client(a_doc);
  auto refused = stale.Connect();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().server_code, collab::ErrorCode::stale_epoch) << refused.error().message;
}

// The same session over TLS: wss:// verified against the portal's certificate, with the same
// checks as HttpTransport; the CLI's `collab log` over https.
class CollabSessionTlsTest : public CollabSessionTest {
 protected:
  bool Tls() const override { return true; }
};

TEST_F(CollabSessionTlsTest, EditorsAndTheLogWorkOverTls) {
  ASSERT_TRUE(alice_.server.starts_with("https://")) << alice_.server;
  const client::CollabDocument a_doc = alice_.Document("/notes.docx");
  const client::CollabDocument b_doc = bob_.Document(file_id_);
  client::CollabClient a = alice_.Client(a_doc);
  client::CollabClient b = bob_.Client(b_doc);
  Timeline at, bt;
  ASSERT_NO_FATAL_FAILURE(Join(a, at));
  ASSERT_NO_FATAL_FAILURE(Join(b, bt));
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(a.SendUpdate(ToBytes("alice over tls " + std::to_string(i))));
    ASSERT_TRUE(b.SendUpdate(ToBytes("bob over tls " + std::to_string(i))));
  }
  ASSERT_TRUE(PumpUntil({{&a, &at}, {&b, &bt}}, [](const Timeline& t) {
    return t.updates.size() == 5 && t.acks.size() == 5;
  })) << Describe(at) << "; " << Describe(bt);
  EXPECT_EQ(ToString(at.updates[4].payload), "bob over tls 4");
  EXPECT_EQ(ToString(bt.updates[0].payload), "alice over tls 0");
  const json::value log = CliJson(alice_.Room({"collab", "log", "/notes.docx", "--json"}));
  EXPECT_EQ(JArr(log, "/updates").size(), 10u);

  // A client that does not trust the certificate never gets as far as the upgrade.
  alice_.ca_file.clear();
  client::CollabClient untrusting = alice_.Client(a_doc);
  auto refused = untrusting.Connect();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().fault, client::CollabFault::network) << refused.error().message;
}

}  // namespace
}  // namespace strongroom::testing
