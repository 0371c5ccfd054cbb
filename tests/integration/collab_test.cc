// The co-editing relay end to end (docs/collab.md, issue 7): the real strongroomd on loopback,
// users registered over HTTP with keys made by the crypto core, a real container uploaded to
// the Private Room, and WebSocket clients (support/collab_client.h) whose frames are sealed
// and opened by the real client cryptography (crypto/collab.h). The server sees only what the
// codec exposes without a key.
//
// Covered: five editors of one document each sending 200 updates (every editor gets every
// update exactly once, all in one order, acks in place of its own); a late joiner (snapshot and
// tail) and resumes; refused upgrades (no session, non-member, unknown file, plain GET);
// a member whose access is denied is disconnected and cannot come back; oversize and over-rate
// frames; a slow reader dropped with slow_consumer that resumes from its last seq; protocol
// refusals (frames before join, wrong file, wrong author, text); the drain on SIGTERM; and that
// no plaintext reaches the server's disk or log.
#include "support/bytes_util.h"
#include "support/collab_client.h"
#include "support/http_client.h"
#include "support/json_util.h"
#include "support/portal.h"
#include "support/registration.h"
#include "support/text_util.h"

#include "strongroom/collab/wire.h"
#include "strongroom/crypto/collab.h"
#include "strongroom/crypto/container.h"
#include "strongroom/crypto/encoding.h"
#include "strongroom/crypto/identity.h"
#include "strongroom/io.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <thread>
#include <tuple>

namespace strongroom::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

constexpr const char* kDocx =
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
// In every update plaintext: it must appear nowhere on the server's disk or in its log.
constexpr std::string_view kCanary = "CANARY-collab-7b1e5f0c9d2a-plaintext";

struct User {
  std::string email;
  std::string user_id;
  std::string token;
  std::optional<crypto::Identity> identity;
  const crypto::Identity& id() const { return *identity; }
  const crypto::PublicBundle& bundle() const { return identity->public_bundle(); }
};

// A document in the Private Room and the key of its current epoch.
struct Document {
  std::string file_id;  // Hex.
  collab::FileId raw_id{};
  std::uint64_t epoch = 1;
  Bytes container;
  std::optional<crypto::CollabKey> key;
};

// One editor: a connection, a session under the document's key, and a receiver's checker.
struct Editor {
  const User* user = nullptr;
  std::unique_ptr<CollabClient> client;
  std::optional<crypto::CollabSession> session;
  crypto::UpdateOrderChecker checker;
};

const collab::Error* AsError(const std::optional<collab::Message>& m) {
  return m ? std::get_if<collab::Error>(&*m) : nullptr;
}

std::string Describe(const std::optional<collab::Message>& m) {
  if (!m) return "nothing (closed or timed out)";
  if (const auto* e = std::get_if<collab::Error>(&*m)) {
    return "error " + std::to_string(static_cast<int>(e->code)) + " (" + e->message + ")";
  }
  return "message type " + std::to_string(static_cast<int>(collab::TypeOf(*m)));
}

class CollabTest : public ::testing::Test {
 protected:
  virtual std::vector<std::string> ExtraEnv() const { return {}; }
  virtual int UserCount() const { return 3; }

  void SetUp() override {
    PortalOptions options;
    options.rate_limits = false;
    options.env = ExtraEnv();
    ASSERT_NO_FATAL_FAILURE(portal_.Start(options));
    users_.push_back(Register(portal_.setup_token(), "u0@example.com"));
    ASSERT_FALSE(users_[0].token.empty());
    for (int i = 1; i < UserCount(); ++i) {
      const std::string email = "u" + std::to_string(i) + "@example.com";
      users_.push_back(Register(Invite(email), email));
      ASSERT_FALSE(users_.back().token.empty());
    }
    root_ = NewId();
    const HttpReply r = Post(users_[0], "/api/v1/room/folders",
                             json::object{{"id", root_},
                                          {"sealed_key", B64(RandomBytes(80))},
                                          {"record", B64(RandomBytes(120))},
                                          {"signature", B64(RandomBytes(64))}});
    ASSERT_EQ(r.status, 201) << r.body;
  }

  void TearDown() override { portal_.FinishTest(8000); }

  static std::string NewId() { return RandomHexId(16); }

  User Register(const std::string& invitation, const std::string& email) {
    HttpRegistration r = RegisterOverHttp(portal_, invitation, email,
                                          SharedPasswordKeysFor("a collab test password"));
    return {r.email, r.user_id, r.token, std::move(r.identity)};
  }

  std::string Invite(const std::string& email) {
    const HttpReply r =
        Post(users_[0], "/api/v1/admin/invitations", json::object{{"email", email}});
    EXPECT_EQ(r.status, 201) << r.body;
    return r.status == 201 ? JStr(ParseJson(r.body), "/token") : std::string();
  }

  HttpReply Post(const User& u, const std::string& target, const json::value& body) {
    return portal_.Request("POST", target, json::serialize(body), u.token);
  }

  // Uploads `container` (a new file, or version base_version + 1) as `u`; the answer's status.
  int Upload(const User& u, const Bytes& container, const std::string& file_id,
             std::optional<std::int64_t> base_version, const std::string& name_hmac) {
    json::object start{{"file_id", file_id}, {"size", static_cast<std::int64_t>(container.size())}};
    if (base_version) start["base_version"] = *base_version;
    const HttpReply s = Post(u, "/api/v1/room/uploads", start);
    EXPECT_EQ(s.status, 201) << s.body;
    if (s.status != 201) return s.status;
    const std::string upload = JStr(ParseJson(s.body), "/upload_id");
    const HttpReply p =
        portal_.Request("PUT", "/api/v1/room/uploads/" + upload + "?offset=0", AsString(container),
                        u.token, {{"Content-Type", "application/octet-stream"}});
    EXPECT_EQ(p.status, 200) << p.body;
    const HttpReply c = Post(u, "/api/v1/room/uploads/" + upload + "/complete",
                             json::object{{"parent_id", root_},
                                          {"name_hmac", name_hmac},
                                          {"record", B64(RandomBytes(300))},
                                          {"signature", B64(RandomBytes(64))}});
    EXPECT_TRUE(c.status == 200 || c.status == 201) << c.body;
    return c.status;
  }

  // A new document of users_[0] shared with `members` (indexes into users_), at epoch 1.
  Document CreateDocument(const std::vector<int>& members) {
    std::vector<crypto::PublicBundle> recipients{users_[0].bundle()};
    for (int m : members) {
      if (m != 0) recipients.push_back(users_[m].bundle());
    }
    Document d;
    const std::vector<std::uint8_t> plaintext = RandomBytes(4096);
    io::MemorySource in(plaintext);
    io::MemorySink out;
    crypto::EncryptOptions options;
    options.content_type = kDocx;
    crypto::Secret<32> file_key;
    auto info = crypto::EncryptContainer(in, out, users_[0].id(), recipients, options, &file_key);
    EXPECT_TRUE(info.has_value());
    if (!info) return d;
    d.container = std::move(out.data());
    d.raw_id = info->file_id;
    d.file_id = crypto::HexEncode(info->file_id);
    name_hmac_ = RandomHexId(32);
    EXPECT_EQ(Upload(users_[0], d.container, d.file_id, std::nullopt, name_hmac_), 201);
    auto key = crypto::CollabKey::Make(file_key, d.raw_id, 1);
    EXPECT_TRUE(key.has_value());
    if (key) d.key.emplace(std::move(*key));
    return d;
  }

  // Connects `user` to the document, joins and reads the welcome.
  Editor Join(const Document& d, int user, std::optional<std::uint64_t> resume_after = std::nullopt,
              collab::Welcome* welcome_out = nullptr) {
    Editor e;
    e.user = &users_[user];
    e.client = std::make_unique<CollabClient>(portal_.port(), d.file_id, e.user->token);
    EXPECT_TRUE(e.client->connected()) << e.client->http_status() << " " << e.client->http_body();
    auto session = crypto::CollabSession::Start(*d.key, e.user->id());
    EXPECT_TRUE(session.has_value());
    if (session) e.session.emplace(std::move(*session));
    EXPECT_TRUE(e.client->Send(collab::Join{d.raw_id, d.epoch, resume_after}));
    const auto m = e.client->Receive();
    const auto* welcome = m ? std::get_if<collab::Welcome>(&*m) : nullptr;
    EXPECT_NE(welcome, nullptr) << Describe(m);
    if (welcome) {
      EXPECT_EQ(welcome->file_id, d.raw_id);
      EXPECT_EQ(welcome->epoch, d.epoch);
      if (welcome_out) *welcome_out = *welcome;
    }
    return e;
  }

  const User* UserById(const std::string& id) const {
    for (const auto& u : users_) {
      if (u.user_id == id) return &u;
    }
    return nullptr;
  }

  // Seals and sends an update; returns the frame's head.
  collab::SealedHead SendUpdate(Editor& e, const std::string& text) {
    auto sealed = e.session->SealUpdate(e.user->id(), AsBytes(text));
    EXPECT_TRUE(sealed.has_value());
    if (!sealed) return {};
    EXPECT_TRUE(e.client->Send(collab::Update{*sealed}));
    return sealed->head;
  }

  static Bytes AsBytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

  // Opens a relayed update as a receiver would, checks its order, and returns its text.
  std::optional<std::string> OpenRelay(Editor& e, const collab::UpdateRelay& relay,
                                       const Document& d) {
    const User* author = UserById(relay.sealed.head.author);
    EXPECT_NE(author, nullptr) << relay.sealed.head.author;
    if (author == nullptr) return std::nullopt;
    auto opened = crypto::OpenUpdate(relay.sealed, *d.key, author->bundle());
    EXPECT_TRUE(opened.has_value()) << opened.error().message();
    if (!opened) return std::nullopt;
    auto accepted = e.checker.AcceptUpdate(relay.seq, opened->head);
    EXPECT_TRUE(accepted.has_value()) << "seq " << relay.seq << ": " << accepted.error().message();
    return std::string(opened->payload.begin(), opened->payload.end());
  }

  Portal portal_;
  std::vector<User> users_;
  std::string root_;
  std::string name_hmac_;
};

// --- fan-out -----------------------------------------------------------------------------------

class CollabFiveEditorsTest : public CollabTest {
 protected:
  int UserCount() const override { return 5; }
};

TEST_F(CollabFiveEditorsTest, EveryEditorGetsEveryUpdateExactlyOnceInOneOrder) {
  constexpr int kEditors = 5;
  constexpr int kUpdates = 200;
  Document doc = CreateDocument({1, 2, 3, 4});
  ASSERT_TRUE(doc.key.has_value());
  std::vector<Editor> editors;
  for (int i = 0; i < kEditors; ++i) editors.push_back(Join(doc, i));

  // Per editor: the whole sequence it saw, as (seq, author, counter, text); its own updates
  // come back as acks (its text known from what it sent).
  using Entry = std::tuple<std::uint64_t, std::string, std::uint64_t, std::string>;
  std::vector<std::vector<Entry>> seen(kEditors);
  std::vector<std::thread> threads;
  for (int i = 0; i < kEditors; ++i) {
    threads.emplace_back([&, i] {
      Editor& e = editors[i];
      std::map<std::uint64_t, std::pair<collab::SealedHead, std::string>> sent;  // By counter.
      for (int n = 0; n < kUpdates; ++n) {
        const std::string text =
            std::string(kCanary) + " from " + e.user->email + " #" + std::to_string(n);
        const collab::SealedHead head = SendUpdate(e, text);
        sent[head.counter] = {head, text};
      }
      const std::size_t total = static_cast<std::size_t>(kEditors * kUpdates);
      while (seen[i].size() < total) {
        const auto m = e.client->Receive();
        if (const auto* relay = m ? std::get_if<collab::UpdateRelay>(&*m) : nullptr) {
          const auto text = OpenRelay(e, *relay, doc);
          EXPECT_NE(relay->sealed.head.author, e.user->user_id) << "own update relayed back";
          seen[i].emplace_back(relay->seq, relay->sealed.head.author, relay->sealed.head.counter,
                               text.value_or("?"));
        } else if (const auto* ack = m ? std::get_if<collab::Ack>(&*m) : nullptr) {
          EXPECT_EQ(ack->of, collab::MessageType::update);
          EXPECT_EQ(ack->session_id, e.session->session_id());
          const auto it = sent.find(ack->counter);
          EXPECT_NE(it, sent.end()) << "ack for a counter never sent";
          if (it == sent.end()) break;
          EXPECT_TRUE(e.checker.AcceptUpdate(ack->seq, it->second.first));
          seen[i].emplace_back(ack->seq, e.user->user_id, ack->counter, it->second.second);
        } else {
          ADD_FAILURE() << e.user->email << " got " << Describe(m) << " after " << seen[i].size();
          break;
        }
      }
    });
  }
  for (auto& t : threads) t.join();

  // Sequence numbers 1..1000, each once, increasing; the same order for everyone.
  for (int i = 0; i < kEditors; ++i) {
    ASSERT_EQ(seen[i].size(), static_cast<std::size_t>(kEditors * kUpdates)) << i;
    for (std::size_t k = 0; k < seen[i].size(); ++k) {
      ASSERT_EQ(std::get<0>(seen[i][k]), k + 1) << "editor " << i;
    }
    EXPECT_EQ(seen[i], seen[0]) << "editor " << i << " saw another order";
  }
  // Every stream complete, in counter order.
  std::map<std::string, std::uint64_t> next;
  for (const auto& [seq, author, counter, text] : seen[0]) {
    EXPECT_EQ(counter, ++next[author]) << author;
    EXPECT_TRUE(text.starts_with(kCanary));
  }
  EXPECT_EQ(next.size(), static_cast<std::size_t>(kEditors));

  // A late joiner gets the same history from the log.
  Editor late = Join(doc, 1);
  for (std::size_t k = 0; k < seen[0].size(); ++k) {
    const auto m = late.client->Receive();
    const auto* relay = m ? std::get_if<collab::UpdateRelay>(&*m) : nullptr;
    ASSERT_NE(relay, nullptr) << Describe(m);
    EXPECT_EQ(relay->seq, k + 1);
    EXPECT_EQ(OpenRelay(late, *relay, doc), std::get<3>(seen[0][k]));
  }
  for (auto& e : editors) e.client->Close();
  late.client->Close();

  // Zero knowledge: the plaintexts are nowhere on the server's disk or in its log.
  for (const auto& entry : fs::recursive_directory_iterator(portal_.data_dir())) {
    if (!entry.is_regular_file()) continue;
    EXPECT_EQ(ReadFile(entry.path()).find(kCanary), std::string::npos) << entry.path();
  }
  EXPECT_EQ(portal_.Log().find(kCanary), std::string::npos) << "the log has a plaintext";
}

// --- late joiners, snapshots, resume -------------------------------------------------------------

TEST_F(CollabTest, LateJoinerGetsTheSnapshotAndTheTailAndResumesAfterIt) {
  Document doc = CreateDocument({1});
  ASSERT_TRUE(doc.key.has_value());
  Editor a = Join(doc, 0);
  std::vector<collab::SealedHead> heads;
  for (int n = 1; n <= 10; ++n) heads.push_back(SendUpdate(a, "update " + std::to_string(n)));
  for (int n = 1; n <= 10; ++n) {
    const auto m = a.client->Receive();
    const auto* ack = m ? std::get_if<collab::Ack>(&*m) : nullptr;
    ASSERT_NE(ack, nullptr) << Describe(m);
    EXPECT_EQ(ack->seq, static_cast<std::uint64_t>(n));
    ASSERT_TRUE(a.checker.AcceptUpdate(ack->seq, heads[n - 1]));
  }
  // A snapshot through seq 10, then five more updates.
  crypto::SnapshotContents contents{a.checker.Positions(), AsBytes("state after 10")};
  auto snapshot = a.session->SealSnapshot(a.user->id(), 10, contents);
  ASSERT_TRUE(snapshot.has_value());
  ASSERT_TRUE(a.client->Send(collab::Snapshot{*snapshot}));
  {
    const auto m = a.client->Receive();
    const auto* ack = m ? std::get_if<collab::Ack>(&*m) : nullptr;
    ASSERT_NE(ack, nullptr) << Describe(m);
    EXPECT_EQ(ack->of, collab::MessageType::snapshot);
    EXPECT_EQ(ack->seq, 10u);
  }
  for (int n = 11; n <= 15; ++n) SendUpdate(a, "update " + std::to_string(n));
  for (int n = 11; n <= 15; ++n) {
    const auto m = a.client->Receive();
    ASSERT_TRUE(m && std::holds_alternative<collab::Ack>(*m)) << Describe(m);
  }

  // B, late: welcome (head 15, snapshot 10), the snapshot, then 11..15.
  collab::Welcome welcome;
  Editor b = Join(doc, 1, std::nullopt, &welcome);
  EXPECT_EQ(welcome.head_seq, 15u);
  EXPECT_EQ(welcome.snapshot_seq, 10u);
  {
    const auto m = b.client->Receive();
    const auto* relay = m ? std::get_if<collab::SnapshotRelay>(&*m) : nullptr;
    ASSERT_NE(relay, nullptr) << Describe(m);
    EXPECT_EQ(relay->sealed, *snapshot) << "relayed byte for byte";
    auto opened = crypto::OpenSnapshot(relay->sealed, *doc.key, users_[0].bundle());
    ASSERT_TRUE(opened.has_value()) << opened.error().message();
    EXPECT_EQ(opened->contents.state, AsBytes("state after 10"));
    ASSERT_TRUE(b.checker.AcceptSnapshot(*opened));
  }
  for (int n = 11; n <= 15; ++n) {
    const auto m = b.client->Receive();
    const auto* relay = m ? std::get_if<collab::UpdateRelay>(&*m) : nullptr;
    ASSERT_NE(relay, nullptr) << Describe(m);
    EXPECT_EQ(relay->seq, static_cast<std::uint64_t>(n));
    EXPECT_EQ(OpenRelay(b, *relay, doc), "update " + std::to_string(n));
  }
  b.client->Close();

  // Resuming from before the snapshot is no longer possible; from after it is.
  {
    Editor old;
    old.client = std::make_unique<CollabClient>(portal_.port(), doc.file_id, users_[1].token);
    ASSERT_TRUE(old.client->connected());
    ASSERT_TRUE(old.client->Send(collab::Join{doc.raw_id, doc.epoch, 5}));
    const auto m = old.client->Receive();
    ASSERT_NE(AsError(m), nullptr) << Describe(m);
    EXPECT_EQ(AsError(m)->code, collab::ErrorCode::resume_unavailable);
    // Not fatal: the same connection joins again, without resume.
    ASSERT_TRUE(old.client->Send(collab::Join{doc.raw_id, doc.epoch, std::nullopt}));
    const auto w = old.client->Receive();
    ASSERT_TRUE(w && std::holds_alternative<collab::Welcome>(*w)) << Describe(w);
  }
  collab::Welcome resumed_welcome;
  Editor resumed = Join(doc, 1, 12, &resumed_welcome);
  EXPECT_EQ(resumed_welcome.snapshot_seq, 0u) << "no snapshot follows a resumed join";
  for (int n = 13; n <= 15; ++n) {
    const auto m = resumed.client->Receive();
    const auto* relay = m ? std::get_if<collab::UpdateRelay>(&*m) : nullptr;
    ASSERT_NE(relay, nullptr) << Describe(m);
    EXPECT_EQ(relay->seq, static_cast<std::uint64_t>(n));
  }
  // Live from here: A's next update reaches the resumed connection.
  SendUpdate(a, "update 16");
  const auto m = resumed.client->Receive();
  const auto* relay = m ? std::get_if<collab::UpdateRelay>(&*m) : nullptr;
  ASSERT_NE(relay, nullptr) << Describe(m);
  EXPECT_EQ(relay->seq, 16u);
}

// --- access --------------------------------------------------------------------------------------

TEST_F(CollabTest, OnlyMembersMayUpgrade) {
  Document doc = CreateDocument({1});
  ASSERT_TRUE(doc.key.has_value());
  EXPECT_EQ(CollabClient(portal_.port(), doc.file_id, "").http_status(), 401);
  EXPECT_EQ(CollabClient(portal_.port(), doc.file_id, "not-a-token").http_status(), 401);
  // C is no member: exactly like a file that does not exist.
  CollabClient outsider(portal_.port(), doc.file_id, users_[2].token);
  EXPECT_FALSE(outsider.connected());
  EXPECT_EQ(outsider.http_status(), 404);
  CollabClient unknown(portal_.port(), NewId(), users_[2].token);
  EXPECT_EQ(unknown.http_status(), 404);
  EXPECT_EQ(outsider.http_body(), unknown.http_body());
  EXPECT_EQ(CollabClient(portal_.port(), "not-hex", users_[0].token).http_status(), 404);
  // Without the upgrade: 426.
  EXPECT_API_ERROR(portal_.Request("GET", "/api/v1/collab/" + doc.file_id, "", users_[0].token),
                   426, "upgrade_required");
  // Members may.
  Editor b = Join(doc, 1);
  Editor a = Join(doc, 0);
}

TEST_F(CollabTest, ADeniedMemberIsDisconnectedAtOnceAndCannotRejoin) {
  Document doc = CreateDocument({1, 2});
  ASSERT_TRUE(doc.key.has_value());
  Editor a = Join(doc, 0);
  Editor b = Join(doc, 1);
  Editor c = Join(doc, 2);
  SendUpdate(b, "from b before");
  ASSERT_TRUE(b.client->Receive().has_value());  // Its ack.

  // A denies B: a new version under a new key for A and C only.
  io::MemorySource in(doc.container);
  io::MemorySink out;
  auto rekeyed = crypto::RekeyContainer(in, out, users_[0].id(),
                                        std::vector{users_[0].bundle(), users_[2].bundle()});
  ASSERT_TRUE(rekeyed.has_value());
  ASSERT_EQ(Upload(users_[0], out.data(), doc.file_id, 1, name_hmac_), 200);

  // B: error forbidden, then the connection closes.
  {
    auto m = b.client->Receive();
    ASSERT_NE(AsError(m), nullptr) << Describe(m);
    EXPECT_EQ(AsError(m)->code, collab::ErrorCode::forbidden);
    EXPECT_FALSE(b.client->Receive(5s).has_value());
    EXPECT_TRUE(b.client->closed());
  }
  // A and C: B's update first, then stale_epoch with the new epoch.
  for (Editor* e : {&a, &c}) {
    auto m = e->client->Receive();
    ASSERT_TRUE(m && std::holds_alternative<collab::UpdateRelay>(*m)) << Describe(m);
    m = e->client->Receive();
    ASSERT_NE(AsError(m), nullptr) << Describe(m);
    EXPECT_EQ(AsError(m)->code, collab::ErrorCode::stale_epoch);
    EXPECT_EQ(AsError(m)->epoch, 2u);
  }
  // An update of the old epoch is refused (not fatal), with the current epoch.
  SendUpdate(a, "old epoch");
  {
    const auto m = a.client->Receive();
    ASSERT_NE(AsError(m), nullptr) << Describe(m);
    EXPECT_EQ(AsError(m)->code, collab::ErrorCode::stale_epoch);
    EXPECT_EQ(AsError(m)->epoch, 2u);
  }
  // B cannot come back.
  CollabClient again(portal_.port(), doc.file_id, users_[1].token);
  EXPECT_FALSE(again.connected());
  EXPECT_EQ(again.http_status(), 404);

  // Deleting the file closes everyone with not_found.
  EXPECT_EQ(
      portal_.Request("DELETE", "/api/v1/room/files/" + doc.file_id, "", users_[0].token).status,
      204);
  for (Editor* e : {&a, &c}) {
    const auto m = e->client->Receive();
    ASSERT_NE(AsError(m), nullptr) << Describe(m);
    EXPECT_EQ(AsError(m)->code, collab::ErrorCode::not_found);
  }
}

TEST_F(CollabTest, ALoggedOutSessionLosesItsConnection) {
  Document doc = CreateDocument({1});
  ASSERT_TRUE(doc.key.has_value());
  Editor b = Join(doc, 1);
  ASSERT_EQ(portal_.Request("POST", "/api/v1/logout", "", users_[1].token).status, 200);
  std::this_thread::sleep_for(1100ms);  // The session is checked at most once a second.
  auto presence = b.session->SealPresence(users_[1].id(), AsBytes("cursor"));
  ASSERT_TRUE(presence.has_value());
  ASSERT_TRUE(b.client->Send(collab::Presence{*presence}));
  const auto m = b.client->Receive();
  ASSERT_NE(AsError(m), nullptr) << Describe(m);
  EXPECT_EQ(AsError(m)->code, collab::ErrorCode::forbidden);
  EXPECT_FALSE(b.client->Receive(5s).has_value());
  EXPECT_TRUE(b.client->closed());
}

TEST_F(CollabTest, PresenceIsRelayedToOthersAndNeverStored) {
  Document doc = CreateDocument({1});
  ASSERT_TRUE(doc.key.has_value());
  Editor a = Join(doc, 0);
  Editor b = Join(doc, 1);
  auto presence = a.session->SealPresence(users_[0].id(), AsBytes("cursor at 42"));
  ASSERT_TRUE(presence.has_value());
  ASSERT_TRUE(a.client->Send(collab::Presence{*presence}));
  const auto m = b.client->Receive();
  const auto* relay = m ? std::get_if<collab::PresenceRelay>(&*m) : nullptr;
  ASSERT_NE(relay, nullptr) << Describe(m);
  EXPECT_EQ(relay->sealed, *presence);
  auto opened = crypto::OpenPresence(relay->sealed, *doc.key, users_[0].bundle());
  ASSERT_TRUE(opened.has_value()) << opened.error().message();
  EXPECT_EQ(opened->payload, AsBytes("cursor at 42"));
  // Not back to its sender, and not kept: a joiner after it gets no presence.
  SendUpdate(a, "after the cursor");
  const auto own = a.client->Receive();
  EXPECT_TRUE(own && std::holds_alternative<collab::Ack>(*own)) << Describe(own);
  collab::Welcome welcome;
  Editor c = Join(doc, 1, std::nullopt, &welcome);
  EXPECT_EQ(welcome.head_seq, 1u);
  const auto first = c.client->Receive();
  EXPECT_TRUE(first && std::holds_alternative<collab::UpdateRelay>(*first)) << Describe(first);
}

// --- protocol refusals ---------------------------------------------------------------------------

TEST_F(CollabTest, FramesBreakingTheRulesAreRefusedWithTheirCodes) {
  Document doc = CreateDocument({1});
  ASSERT_TRUE(doc.key.has_value());
  auto expect_fatal = [&](CollabClient& client, collab::ErrorCode code) {
    const auto m = client.Receive();
    ASSERT_NE(AsError(m), nullptr) << Describe(m);
    EXPECT_EQ(AsError(m)->code, code) << AsError(m)->message;
    EXPECT_FALSE(client.Receive(5s).has_value());
    EXPECT_TRUE(client.closed());
  };
  auto connect = [&](int user) {
    auto client = std::make_unique<CollabClient>(portal_.port(), doc.file_id, users_[user].token);
    EXPECT_TRUE(client->connected());
    return client;
  };
  auto session = crypto::CollabSession::Start(*doc.key, users_[0].id());
  ASSERT_TRUE(session.has_value());
  auto update = session->SealUpdate(users_[0].id(), AsBytes("x"));
  ASSERT_TRUE(update.has_value());
  {
    auto client = connect(0);
    ASSERT_TRUE(client->Send(collab::Update{*update}));
    expect_fatal(*client, collab::ErrorCode::not_joined);
  }
  {
    auto client = connect(0);
    collab::FileId other = doc.raw_id;
    other[0] ^= 1;
    ASSERT_TRUE(client->Send(collab::Join{other, 1, std::nullopt}));
    expect_fatal(*client, collab::ErrorCode::wrong_file);
  }
  {
    auto client = connect(0);
    ASSERT_TRUE(client->SendText("hello"));
    expect_fatal(*client, collab::ErrorCode::malformed);
  }
  {
    auto client = connect(0);
    ASSERT_TRUE(client->SendBytes({0x02, 0x01}));
    expect_fatal(*client, collab::ErrorCode::unsupported_version);
  }
  {
    // B sends A's update as its own connection's: the author is not the signed-in user.
    Editor b = Join(doc, 1);
    ASSERT_TRUE(b.client->Send(collab::Update{*update}));
    expect_fatal(*b.client, collab::ErrorCode::wrong_author);
  }
  {
    // A join of an older epoch: stale_epoch (not fatal) with the current one.
    auto client = connect(0);
    ASSERT_TRUE(client->Send(collab::Join{doc.raw_id, 7, std::nullopt}));
    const auto m = client->Receive();
    ASSERT_NE(AsError(m), nullptr) << Describe(m);
    EXPECT_EQ(AsError(m)->code, collab::ErrorCode::stale_epoch);
    EXPECT_EQ(AsError(m)->epoch, 1u);
    ASSERT_TRUE(client->Send(collab::Join{doc.raw_id, 1, std::nullopt}));
    const auto w = client->Receive();
    ASSERT_TRUE(w && std::holds_alternative<collab::Welcome>(*w)) << Describe(w);
    ASSERT_TRUE(client->Send(collab::Join{doc.raw_id, 1, std::nullopt}));
    expect_fatal(*client, collab::ErrorCode::not_joined);
  }
  {
    // A counter that skips is out_of_order; the same counter with other bytes a duplicate.
    Editor a = Join(doc, 0);
    auto first = a.session->SealUpdate(users_[0].id(), AsBytes("one"));
    auto second = a.session->SealUpdate(users_[0].id(), AsBytes("two"));
    auto third = a.session->SealUpdate(users_[0].id(), AsBytes("three"));
    ASSERT_TRUE(first && second && third);
    ASSERT_TRUE(a.client->Send(collab::Update{*first}));
    const auto ack = a.client->Receive();
    ASSERT_TRUE(ack && std::holds_alternative<collab::Ack>(*ack)) << Describe(ack);
    // The same frame again: the original ack.
    ASSERT_TRUE(a.client->Send(collab::Update{*first}));
    const auto again = a.client->Receive();
    ASSERT_TRUE(again && std::holds_alternative<collab::Ack>(*again)) << Describe(again);
    EXPECT_EQ(std::get<collab::Ack>(*again), std::get<collab::Ack>(*ack));
    ASSERT_TRUE(a.client->Send(collab::Update{*third}));
    expect_fatal(*a.client, collab::ErrorCode::out_of_order);
  }
}

class CollabLimitsTest : public CollabTest {
 protected:
  int UserCount() const override { return 1; }
  std::vector<std::string> ExtraEnv() const override {
    return {"STRONGROOM_COLLAB_MAX_UPDATE_FRAME_BYTES=1024",
            "STRONGROOM_COLLAB_FRAMES_PER_SECOND=1", "STRONGROOM_COLLAB_FRAMES_BURST=5"};
  }
};

TEST_F(CollabLimitsTest, OversizeAndOverRateFramesAreRefused) {
  Document doc = CreateDocument({});
  ASSERT_TRUE(doc.key.has_value());
  {
    Editor a = Join(doc, 0);
    SendUpdate(a, std::string(2000, 'x'));
    const auto m = a.client->Receive();
    ASSERT_NE(AsError(m), nullptr) << Describe(m);
    EXPECT_EQ(AsError(m)->code, collab::ErrorCode::too_large);
    EXPECT_FALSE(a.client->Receive(5s).has_value());
    EXPECT_TRUE(a.client->closed());
  }
  // Burst 5 (the join took one), then one a second: of 10 quick updates some are dropped
  // with rate_limited, and the connection stays.
  Editor a = Join(doc, 0);
  for (int n = 0; n < 10; ++n) SendUpdate(a, "u" + std::to_string(n));
  int acks = 0, limited = 0;
  for (int n = 0; n < 10; ++n) {
    const auto m = a.client->Receive();
    if (m && std::holds_alternative<collab::Ack>(*m)) {
      ++acks;
    } else if (AsError(m) && AsError(m)->code == collab::ErrorCode::rate_limited) {
      ++limited;
    } else if (AsError(m) && AsError(m)->code == collab::ErrorCode::out_of_order) {
      break;  // The frame after a dropped one skips a counter: as documented, fatal.
    } else {
      ADD_FAILURE() << Describe(m);
      break;
    }
  }
  EXPECT_GE(acks, 4);
  EXPECT_GE(limited, 1);
}

// --- backpressure --------------------------------------------------------------------------------

// A (user 0) writes far more than B (user 1) reads.
class CollabBackpressureTest : public CollabTest {
 protected:
  static constexpr int kUpdates = 2000;  // 16 MB of relays for B: far more than socket buffers.

  int UserCount() const override { return 2; }

  // B joins through a 4 KiB receive buffer and reads only its welcome; then A sends kUpdates
  // updates of 8 KiB and reads every ack (acks are small: A's socket holds them all).
  void JoinBThenFlood(const Document& doc, Editor& a, Editor& b) {
    a = Join(doc, 0);
    b.user = &users_[1];
    b.client = std::make_unique<CollabClient>(portal_.port(), doc.file_id, users_[1].token, 4096);
    ASSERT_TRUE(b.client->connected());
    ASSERT_TRUE(b.client->Send(collab::Join{doc.raw_id, doc.epoch, std::nullopt}));
    const auto w = b.client->Receive();
    ASSERT_TRUE(w && std::holds_alternative<collab::Welcome>(*w)) << Describe(w);
    const std::string filler(8 * 1024, 'f');
    for (int n = 1; n <= kUpdates; ++n) SendUpdate(a, std::to_string(n) + filler);
    for (int n = 0; n < kUpdates; ++n) {
      const auto m = a.client->Receive(60s);
      ASSERT_TRUE(m && std::holds_alternative<collab::Ack>(*m)) << Describe(m) << " after " << n;
    }
  }
};

class CollabSlowReaderTest : public CollabBackpressureTest {
 protected:
  std::vector<std::string> ExtraEnv() const override {
    // The write timeout is long: B's last write must wait for B to read, not cut it off.
    return {"STRONGROOM_COLLAB_SEND_QUEUE_FRAMES=16", "STRONGROOM_COLLAB_SEND_QUEUE_BYTES=65536",
            "STRONGROOM_COLLAB_FRAMES_PER_SECOND=0", "STRONGROOM_WRITE_TIMEOUT_MS=300000"};
  }
};

TEST_F(CollabSlowReaderTest, ASlowReaderIsDroppedAndResumesFromItsLastSeq) {
  Document doc = CreateDocument({1});
  ASSERT_TRUE(doc.key.has_value());
  Editor a;
  Editor b;  // Reads nothing until A is done.
  JoinBThenFlood(doc, a, b);
  if (HasFatalFailure()) return;

  // B reads what reached it before the server gave up on it, then the slow_consumer error.
  std::uint64_t last = 0;
  bool dropped = false;
  for (;;) {
    const auto m = b.client->Receive(30s);
    if (const auto* relay = m ? std::get_if<collab::UpdateRelay>(&*m) : nullptr) {
      ASSERT_EQ(relay->seq, last + 1);
      ASSERT_TRUE(OpenRelay(b, *relay, doc).has_value());
      last = relay->seq;
      continue;
    }
    if (AsError(m)) {
      EXPECT_EQ(AsError(m)->code, collab::ErrorCode::slow_consumer);
      dropped = true;
      continue;
    }
    break;  // Closed.
  }
  EXPECT_TRUE(dropped) << "the slow reader was not dropped";
  EXPECT_LT(last, static_cast<std::uint64_t>(kUpdates));
  // It resumes after what it has and gets exactly the rest, paced to its reading.
  const std::uint64_t resume_after = b.checker.Reconnect();
  EXPECT_EQ(resume_after, last);
  Editor again = Join(doc, 1, resume_after);
  again.checker = std::move(b.checker);
  for (std::uint64_t seq = last + 1; seq <= kUpdates; ++seq) {
    const auto m = again.client->Receive();
    const auto* relay = m ? std::get_if<collab::UpdateRelay>(&*m) : nullptr;
    ASSERT_NE(relay, nullptr) << Describe(m) << " at " << seq;
    ASSERT_EQ(relay->seq, seq);
    const auto text = OpenRelay(again, *relay, doc);
    ASSERT_TRUE(text.has_value());
    EXPECT_TRUE(text->starts_with(std::to_string(seq) + "f"));
  }
}

// A member that stops reading altogether, with room left in its queue: the write that cannot
// finish closes the socket after [limits] write_timeout_ms, so it cannot hold the writer and
// its queue forever.
class CollabStalledReaderTest : public CollabBackpressureTest {
 protected:
  std::vector<std::string> ExtraEnv() const override {
    return {"STRONGROOM_COLLAB_SEND_QUEUE_FRAMES=100000",
            "STRONGROOM_COLLAB_SEND_QUEUE_BYTES=1073741824",
            "STRONGROOM_COLLAB_FRAMES_PER_SECOND=0", "STRONGROOM_WRITE_TIMEOUT_MS=1000"};
  }
};

TEST_F(CollabStalledReaderTest, AWriteThatCannotFinishClosesTheConnection) {
  Document doc = CreateDocument({1});
  ASSERT_TRUE(doc.key.has_value());
  Editor a;
  Editor b;  // Never reads again.
  JoinBThenFlood(doc, a, b);
  if (HasFatalFailure()) return;
  // Long past the write timeout: B's connection is gone. What reached B before is intact and
  // in order, and no slow_consumer came (the queue had room: the timeout closed it).
  std::this_thread::sleep_for(3s);
  std::uint64_t last = 0;
  for (;;) {
    const auto m = b.client->Receive(30s);
    if (const auto* relay = m ? std::get_if<collab::UpdateRelay>(&*m) : nullptr) {
      ASSERT_EQ(relay->seq, last + 1);
      last = relay->seq;
      continue;
    }
    EXPECT_FALSE(m.has_value()) << "expected the end of the connection, got " << Describe(m);
    break;
  }
  EXPECT_TRUE(b.client->closed());
  EXPECT_LT(last, static_cast<std::uint64_t>(kUpdates)) << "B was sent everything after all";
  // A, who reads, is unaffected.
  SendUpdate(a, "still here");
  const auto m = a.client->Receive();
  EXPECT_TRUE(m && std::holds_alternative<collab::Ack>(*m)) << Describe(m);
}

// --- shutdown ------------------------------------------------------------------------------------

TEST_F(CollabTest, ShutdownClosesEditorsWithShuttingDownAndExitsCleanly) {
  Document doc = CreateDocument({1});
  ASSERT_TRUE(doc.key.has_value());
  Editor a = Join(doc, 0);
  Editor b = Join(doc, 1);
  std::thread stopper([&] { EXPECT_EQ(portal_.Stop(), 0); });
  for (Editor* e : {&a, &b}) {
    const auto m = e->client->Receive();
    ASSERT_NE(AsError(m), nullptr) << Describe(m);
    EXPECT_EQ(AsError(m)->code, collab::ErrorCode::shutting_down);
    EXPECT_FALSE(e->client->Receive(10s).has_value()) << "then a WebSocket close";
    EXPECT_TRUE(e->client->closed());
  }
  stopper.join();
}

}  // namespace
}  // namespace strongroom::testing
