// The MetadataStore conformance suite: the contract in strongroom/storage/metadata_store.h, as
// tests. Every MetadataStore implementation runs all of it, written against `MetadataStore&`
// only (what needs to look below the interface, such as the append-only triggers, belongs in
// the implementation's own test file).
//
// To run it against an implementation, define a harness type and instantiate the suite in
// that implementation's test file:
//
//   struct MyHarness {
//     MyHarness();   // Fresh, empty backing storage (a new file, database, schema, ...).
//     ~MyHarness();  // Removes it.
//     // A store over that storage. Called once per test, in SetUp().
//     strongroom::result<std::unique_ptr<strongroom::storage::MetadataStore>> Open();
//   };
//   INSTANTIATE_TYPED_TEST_SUITE_P(My, MetadataStoreConformance, ::testing::Types<MyHarness>);
//
// Where the contract leaves a boundary open, the suite pins one so that implementations
// agree: a session or invitation with expires_at = E is usable strictly before E (FindSession
// at E is not_found, DeleteExpiredSessions(E) removes it, and an invitation is expired for a
// user created at E); a consumed invitation records used_at = user.created_at and
// used_by = user.id.
//
// Type-parameterized (TYPED_TEST_SUITE_P), so several test files of one binary may include
// it, one instantiation each. Helpers live in their own namespace so they cannot collide with
// the blob store suite's.
#pragma once

#include "strongroom/storage/metadata_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace strongroom::storage::metadata_testing {

using Bytes = std::vector<std::uint8_t>;

// A fixed "now" far from 0, so that off-by-one and zero-default mistakes show.
inline constexpr TimeMs kT0 = 1'700'000'000'000;
inline constexpr TimeMs kHour = 3'600'000;

inline KdfRecord MakeKdf(std::uint8_t salt_byte) {
  return KdfRecord{"argon2id13", 3, std::int64_t{64} << 20, Bytes(16, salt_byte)};
}

// A user whose every field differs from every other user's (so swapped columns show), with
// bytes that are not valid text (0x00, 0xff) in every blob.
inline UserRecord MakeUser(const std::string& id, const std::string& email,
                           TimeMs created_at = kT0) {
  UserRecord u;
  u.id = id;
  u.email = email;
  u.display_name = "Name of " + id;
  u.role = Role::user;
  u.active = true;
  u.auth_verifier = "$argon2id$v=19$m=65536,t=3,p=1$auth-" + id;
  u.kdf = MakeKdf(0xa5);
  u.public_bundle = {0x00, 0x01, 0xff, static_cast<std::uint8_t>(id.size())};
  u.private_bundle = {0xff, 0x00, 0x02};
  u.recovery_bundle = {0x03, 0x00, 0xfe, 0x00};
  u.recovery_verifier = "$argon2id$v=19$m=65536,t=3,p=1$recovery-" + id;
  u.created_at = created_at;
  u.updated_at = created_at;
  return u;
}

inline InvitationRecord MakeInvitation(const std::string& digest, const std::string& email,
                                       TimeMs expires_at = kT0 + 24 * kHour) {
  InvitationRecord i;
  i.token_digest = digest;
  i.email = email;
  i.role = Role::user;
  i.created_by = "";
  i.created_at = kT0 - kHour;
  i.expires_at = expires_at;
  return i;
}

inline AuditEvent MakeAudit(TimeMs time, const std::string& actor, const std::string& action,
                            const std::string& target = "", const std::string& result = "success") {
  AuditEvent e;
  e.time = time;
  e.actor = actor;
  e.action = action;
  e.target = target;
  e.ip = "192.0.2.7";
  e.result = result;
  e.detail = R"({"note":"test"})";
  return e;
}

inline Registration MakeRegistration(const UserRecord& user, const std::string& digest) {
  return Registration{user, digest, MakeAudit(user.created_at, user.id, "user.register", user.id)};
}

inline SessionRecord MakeSession(const std::string& id, const std::string& user_id,
                                 TimeMs created_at = kT0, TimeMs expires_at = kT0 + kHour) {
  SessionRecord s;
  s.id = id;
  s.token_digest = "digest-of-" + id;
  s.user_id = user_id;
  s.created_at = created_at;
  s.last_seen_at = created_at;
  s.expires_at = expires_at;
  s.ip = "198.51.100.1";
  s.user_agent = "agent/" + id;
  return s;
}

inline LoginAttempt MakeAttempt(TimeMs time, std::optional<std::string> user_id,
                                const std::string& ip, const std::string& result) {
  LoginAttempt a;
  a.time = time;
  a.email = user_id ? *user_id + "@example.com" : "nobody@example.com";
  a.user_id = std::move(user_id);
  a.ip = ip;
  a.user_agent = "curl/8";
  a.result = result;
  a.reason = result == "success" ? "ok" : result == "failure" ? "wrong_credentials" : "locked";
  return a;
}

// A pending TOTP enrolment with a secret unique to the user (so swapped rows show).
inline TotpRecord MakeTotp(const std::string& user_id, TimeMs created_at = kT0) {
  TotpRecord t;
  t.user_id = user_id;
  t.secret = Bytes(20, static_cast<std::uint8_t>(user_id.size()));
  t.secret[0] = 0x00;
  t.secret[19] = 0xff;
  t.created_at = created_at;
  return t;
}

inline TotpConfirmation MakeTotpConfirmation(const std::string& user_id, std::int64_t step,
                                             std::vector<std::string> digests,
                                             TimeMs now = kT0 + 1000) {
  TotpConfirmation c;
  c.user_id = user_id;
  c.step = step;
  c.recovery_code_digests = std::move(digests);
  c.now = now;
  c.audit = MakeAudit(now, user_id, "2fa.enable", user_id);
  return c;
}

// Private Room rows. Ids and HMACs are readable labels: the store treats them as opaque text.
inline RoomFolder MakeFolder(const std::string& id, const std::string& owner,
                             std::optional<std::string> parent = std::nullopt,
                             std::optional<std::string> name_hmac = std::nullopt) {
  RoomFolder f;
  f.id = id;
  f.owner_id = owner;
  if (parent && !name_hmac) name_hmac = "hmac-of-" + id;
  f.parent_id = std::move(parent);
  f.name_hmac = std::move(name_hmac);
  f.sealed_key = {0x5e, 0x00, 0x01};
  f.record = {0x52, 0x00, static_cast<std::uint8_t>(id.size())};
  f.signature = std::vector<std::uint8_t>(64, 0x51);
  f.created_at = kT0;
  f.updated_at = kT0;
  return f;
}

inline RoomFile MakeFile(const std::string& id, const std::string& owner,
                         const std::string& parent,
                         std::vector<std::string> others = {}) {
  RoomFile f;
  f.id = id;
  f.owner_id = owner;
  f.parent_id = parent;
  f.name_hmac = "hmac-of-" + id;
  f.size = 1234;
  f.blob_id = "blob-" + id + "-v1";
  f.content_type = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
  f.author_id = owner;
  others.push_back(owner);
  std::sort(others.begin(), others.end());
  for (const auto& user : others) f.recipients.push_back({user, "fp-" + user});
  f.record = {0x46, 0x00};
  f.signature = std::vector<std::uint8_t>(64, 0x53);
  f.created_at = kT0;
  f.updated_at = kT0;
  return f;
}

// The store assigns ids; tests compare everything else.
template <class Entry>
Entry WithId(Entry e, std::int64_t id) {
  e.id = id;
  return e;
}

// Lets `parties` threads start together. Arrive() waits until all have arrived or `timeout`
// passes, so a store that serializes callers cannot deadlock a test (it then races less).
class Gate {
 public:
  explicit Gate(int parties) : waiting_for_(parties) {}
  void Arrive(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (--waiting_for_ <= 0) {
      open_.notify_all();
      return;
    }
    open_.wait_for(lock, timeout, [&] { return waiting_for_ <= 0; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable open_;
  int waiting_for_;  // Guarded by mutex_.
};

template <class Harness>
class MetadataStoreConformance : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = harness_.Open();
    ASSERT_TRUE(store) << store.error().message();
    store_ = std::move(*store);
  }

  MetadataStore& store() { return *store_; }

  // Registers `user` through a fresh invitation for its email.
  void Register(const UserRecord& user) {
    const std::string digest = "invitation-for-" + user.id;
    ASSERT_TRUE(store().CreateInvitation(MakeInvitation(digest, user.email)));
    auto r = store().RegisterUser(MakeRegistration(user, digest));
    ASSERT_TRUE(r) << r.error().message();
  }

  void CreateSession(const SessionRecord& session) {
    auto r = store().CreateSession(session);
    ASSERT_TRUE(r) << session.id << ": " << r.error().message();
  }

  std::vector<AuditEvent> Audit(AuditQuery query = {}) {
    if (query.limit == AuditQuery{}.limit) query.limit = 1000;
    auto events = store().QueryAudit(query);
    EXPECT_TRUE(events) << events.error().message();
    return events ? *events : std::vector<AuditEvent>{};
  }

  std::vector<LoginAttempt> Attempts(LoginQuery query = {}) {
    if (query.limit == LoginQuery{}.limit) query.limit = 1000;
    auto attempts = store().QueryLoginAttempts(query);
    EXPECT_TRUE(attempts) << attempts.error().message();
    return attempts ? *attempts : std::vector<LoginAttempt>{};
  }

  std::int64_t Users() {
    auto n = store().CountUsers();
    EXPECT_TRUE(n) << n.error().message();
    return n ? *n : -1;
  }

  std::vector<std::string> SessionIds(std::string_view user_id, TimeMs now = kT0) {
    auto sessions = store().ListSessions(user_id, now);
    EXPECT_TRUE(sessions) << sessions.error().message();
    std::vector<std::string> ids;
    if (sessions) {
      for (const auto& s : *sessions) ids.push_back(s.id);
    }
    return ids;
  }

  void RecordAttempt(const LoginAttempt& attempt) {
    auto r = store().RecordLoginAttempt(attempt);
    ASSERT_TRUE(r) << r.error().message();
  }

  void AppendAudit(const AuditEvent& event) {
    auto r = store().AppendAudit(event);
    ASSERT_TRUE(r) << r.error().message();
  }

  // A failed RegisterUser must leave no trace: the invitation is as it was (still usable),
  // no user was added, no audit entry written.
  void ExpectRegistrationLeftNoTrace(const InvitationRecord& invitation, std::int64_t users_before,
                                     std::size_t audit_before) {
    auto found = store().FindInvitation(invitation.token_digest);
    if (found) {
      EXPECT_EQ(*found, invitation);
    } else {
      EXPECT_EQ(found.error(), errc::not_found);
    }
    EXPECT_EQ(Users(), users_before);
    EXPECT_EQ(Audit().size(), audit_before);
  }

  static std::vector<std::int64_t> Ids(const auto& entries) {
    std::vector<std::int64_t> ids;
    for (const auto& e : entries) ids.push_back(e.id);
    return ids;
  }

  // Declared in this order so the store is destroyed before its backing storage.
  Harness harness_;
  std::unique_ptr<MetadataStore> store_;
};

TYPED_TEST_SUITE_P(MetadataStoreConformance);

// --- settings ----------------------------------------------------------------------------------

TYPED_TEST_P(MetadataStoreConformance, SettingsAreAbsentUntilPutAndPutOverwrites) {
  auto missing = this->store().GetSetting("portal.name");
  ASSERT_TRUE(missing);
  EXPECT_EQ(*missing, std::nullopt);
  ASSERT_TRUE(this->store().PutSetting("portal.name", "Acme"));
  ASSERT_TRUE(this->store().PutSetting("portal.empty", ""));
  EXPECT_EQ(*this->store().GetSetting("portal.name"), std::optional<std::string>("Acme"));
  // An empty value is a value, not absence.
  EXPECT_EQ(*this->store().GetSetting("portal.empty"), std::optional<std::string>(""));
  ASSERT_TRUE(this->store().PutSetting("portal.name", "Acme Ltd"));
  EXPECT_EQ(*this->store().GetSetting("portal.name"), std::optional<std::string>("Acme Ltd"));
  // Keys are exact.
  EXPECT_EQ(*this->store().GetSetting("Portal.Name"), std::nullopt);
}

TYPED_TEST_P(MetadataStoreConformance, PutSettingIfAbsentSetsOnlyTheFirstTime) {
  auto first = this->store().PutSettingIfAbsent("portal.id", "one");
  ASSERT_TRUE(first);
  EXPECT_TRUE(*first);
  auto second = this->store().PutSettingIfAbsent("portal.id", "two");
  ASSERT_TRUE(second);
  EXPECT_FALSE(*second);
  EXPECT_EQ(*this->store().GetSetting("portal.id"), std::optional<std::string>("one"));
  // Nor after a PutSetting: present is present.
  ASSERT_TRUE(this->store().PutSetting("portal.id", "three"));
  EXPECT_FALSE(*this->store().PutSettingIfAbsent("portal.id", "four"));
  EXPECT_EQ(*this->store().GetSetting("portal.id"), std::optional<std::string>("three"));
}

TYPED_TEST_P(MetadataStoreConformance, PutSettingIfAbsentHasExactlyOneWinnerUnderRace) {
  constexpr int kThreads = 8;
  for (int round = 0; round < 5; ++round) {
    const std::string key = "race." + std::to_string(round);
    Gate gate(kThreads);
    std::vector<int> won(kThreads, -1);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        gate.Arrive();
        auto r = this->store().PutSettingIfAbsent(key, "value-" + std::to_string(t));
        won[static_cast<std::size_t>(t)] = r ? (*r ? 1 : 0) : -1;
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(std::count(won.begin(), won.end(), -1), 0) << "a call failed";
    ASSERT_EQ(std::count(won.begin(), won.end(), 1), 1) << key;
    const auto winner = std::find(won.begin(), won.end(), 1) - won.begin();
    EXPECT_EQ(*this->store().GetSetting(key),
              std::optional<std::string>("value-" + std::to_string(winner)));
  }
}

// --- invitations -------------------------------------------------------------------------------

TYPED_TEST_P(MetadataStoreConformance, InvitationsRoundTripAndUnknownIsNotFound) {
  InvitationRecord by_admin = MakeInvitation("d1", "alice@example.com");
  by_admin.role = Role::admin;
  by_admin.created_by = "owner-id";
  InvitationRecord by_system = MakeInvitation("d2", "bob@example.com");
  by_system.role = Role::owner;
  ASSERT_TRUE(this->store().CreateInvitation(by_admin));
  ASSERT_TRUE(this->store().CreateInvitation(by_system));
  auto got = this->store().FindInvitation("d1");
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(*got, by_admin);
  EXPECT_EQ(got->used_at, std::nullopt);
  EXPECT_EQ(got->used_by, std::nullopt);
  EXPECT_EQ(*this->store().FindInvitation("d2"), by_system);
  EXPECT_EQ(this->store().FindInvitation("d3").error(), errc::not_found);
  EXPECT_EQ(this->store().FindInvitation("D1").error(), errc::not_found);
}

TYPED_TEST_P(MetadataStoreConformance, DuplicateInvitationDigestIsRefusedAndKeepsTheOriginal) {
  const InvitationRecord original = MakeInvitation("dup", "alice@example.com");
  ASSERT_TRUE(this->store().CreateInvitation(original));
  InvitationRecord other = MakeInvitation("dup", "mallory@example.com");
  other.role = Role::owner;
  EXPECT_EQ(this->store().CreateInvitation(other).error(), errc::already_exists);
  EXPECT_EQ(*this->store().FindInvitation("dup"), original);
}

TYPED_TEST_P(MetadataStoreConformance, RolesOutsideTheEnumAreInvalidArguments) {
  InvitationRecord invitation = MakeInvitation("d", "alice@example.com");
  invitation.role = static_cast<Role>(7);
  EXPECT_EQ(this->store().CreateInvitation(invitation).error(), errc::invalid_argument);
  EXPECT_EQ(this->store().FindInvitation("d").error(), errc::not_found);

  const InvitationRecord good = MakeInvitation("d", "alice@example.com");
  ASSERT_TRUE(this->store().CreateInvitation(good));
  UserRecord user = MakeUser("u1", "alice@example.com");
  user.role = static_cast<Role>(-1);
  EXPECT_EQ(this->store().RegisterUser(MakeRegistration(user, "d")).error(),
            errc::invalid_argument);
  this->ExpectRegistrationLeftNoTrace(good, 0, 0);
}

// --- users -------------------------------------------------------------------------------------

TYPED_TEST_P(MetadataStoreConformance, RegisterUserStoresTheUserConsumesTheInvitationAndAudits) {
  EXPECT_EQ(this->Users(), 0);
  const InvitationRecord invitation = MakeInvitation("inv", "alice@example.com");
  ASSERT_TRUE(this->store().CreateInvitation(invitation));
  const UserRecord alice = MakeUser("alice-id", "alice@example.com", kT0 + 5);
  const Registration registration = MakeRegistration(alice, "inv");
  auto r = this->store().RegisterUser(registration);
  ASSERT_TRUE(r) << r.error().message();

  EXPECT_EQ(this->Users(), 1);
  auto by_id = this->store().FindUserById("alice-id");
  ASSERT_TRUE(by_id) << by_id.error().message();
  EXPECT_EQ(*by_id, alice);
  auto by_email = this->store().FindUserByEmail("alice@example.com");
  ASSERT_TRUE(by_email) << by_email.error().message();
  EXPECT_EQ(*by_email, alice);

  InvitationRecord consumed = invitation;
  consumed.used_at = alice.created_at;
  consumed.used_by = alice.id;
  EXPECT_EQ(*this->store().FindInvitation("inv"), consumed);

  const auto audit = this->Audit();
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_GT(audit[0].id, 0);
  EXPECT_EQ(audit[0], WithId(registration.audit, audit[0].id));
}

TYPED_TEST_P(MetadataStoreConformance, UserFieldsRoundTripExactly) {
  UserRecord u = MakeUser("0f3c-ID", "owner@example.com");
  u.display_name = "Zoë \"Admin\" O'Brien — 北京";
  u.role = Role::owner;
  u.active = false;
  u.kdf = KdfRecord{"argon2id13", std::int64_t{1} << 40, std::int64_t{1} << 50, Bytes(16, 0)};
  u.public_bundle.assign(4096, 0x00);
  u.public_bundle.back() = 0xff;
  u.private_bundle = {};  // Empty is kept as empty (the contract's types have no NULL).
  u.recovery_bundle = {0x00};
  u.created_at = -1;  // Times are plain integers: before 1970 is still a time.
  u.updated_at = std::numeric_limits<TimeMs>::max();
  const InvitationRecord invitation = MakeInvitation("inv", u.email);
  ASSERT_TRUE(this->store().CreateInvitation(invitation));
  ASSERT_TRUE(this->store().RegisterUser(MakeRegistration(u, "inv")));
  EXPECT_EQ(*this->store().FindUserById(u.id), u);

  UserRecord admin = MakeUser("admin-id", "admin@example.com");
  admin.role = Role::admin;
  ASSERT_NO_FATAL_FAILURE(this->Register(admin));
  EXPECT_EQ(this->store().FindUserById("admin-id")->role, Role::admin);
  EXPECT_EQ(this->store().FindUserById("admin-id")->active, true);
}

TYPED_TEST_P(MetadataStoreConformance, FindUserIsExactAndUnknownIsNotFound) {
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("alice-id", "alice@example.com")));
  EXPECT_EQ(this->store().FindUserById("nobody").error(), errc::not_found);
  EXPECT_EQ(this->store().FindUserById("ALICE-ID").error(), errc::not_found);
  EXPECT_EQ(this->store().FindUserByEmail("bob@example.com").error(), errc::not_found);
  // Callers normalise emails; the store compares them exactly.
  EXPECT_EQ(this->store().FindUserByEmail("Alice@example.com").error(), errc::not_found);
  EXPECT_EQ(this->store().FindUserByEmail("alice@example.com ").error(), errc::not_found);
  EXPECT_EQ(this->store().FindUserByEmail("alice-id").error(), errc::not_found);
}

TYPED_TEST_P(MetadataStoreConformance, RegisterUserRefusesAnUnknownInvitation) {
  const InvitationRecord other = MakeInvitation("real", "alice@example.com");
  ASSERT_TRUE(this->store().CreateInvitation(other));
  const UserRecord alice = MakeUser("alice-id", "alice@example.com");
  EXPECT_EQ(this->store().RegisterUser(MakeRegistration(alice, "forged")).error(), errc::not_found);
  EXPECT_EQ(this->store().RegisterUser(MakeRegistration(alice, "")).error(), errc::not_found);
  this->ExpectRegistrationLeftNoTrace(other, 0, 0);
  EXPECT_EQ(this->store().FindUserById("alice-id").error(), errc::not_found);
}

// Self-registration (a trusted mail domain): no invitation, and only as a user.
TYPED_TEST_P(MetadataStoreConformance, RegisterUserWithoutInvitationOnlyAsAUser) {
  UserRecord admin = MakeUser("admin-id", "admin@example.com");
  admin.role = Role::admin;
  Registration r = MakeRegistration(admin, "");
  r.without_invitation = true;
  EXPECT_EQ(this->store().RegisterUser(r).error(), errc::invalid_argument);
  Registration with_digest = MakeRegistration(MakeUser("bob-id", "bob@example.com"), "some");
  with_digest.without_invitation = true;
  EXPECT_EQ(this->store().RegisterUser(with_digest).error(), errc::invalid_argument);
  Registration ok = MakeRegistration(MakeUser("carol-id", "carol@example.com"), "");
  ok.without_invitation = true;
  ASSERT_TRUE(this->store().RegisterUser(ok));
  EXPECT_EQ(this->store().FindUserById("carol-id")->role, Role::user);
  EXPECT_EQ(this->store().FindUserById("admin-id").error(), errc::not_found);
}

TYPED_TEST_P(MetadataStoreConformance, RegisterUserRefusesAUsedInvitation) {
  const InvitationRecord invitation = MakeInvitation("inv", "alice@example.com");
  ASSERT_TRUE(this->store().CreateInvitation(invitation));
  ASSERT_TRUE(
      this->store().RegisterUser(MakeRegistration(MakeUser("first", "alice@example.com"), "inv")));
  const auto after_first = *this->store().FindInvitation("inv");
  // Same email, new id: only the spent invitation stands in the way.
  const UserRecord again = MakeUser("second", "alice@example.com", kT0 + 1);
  EXPECT_EQ(this->store().RegisterUser(MakeRegistration(again, "inv")).error(), errc::not_found);
  this->ExpectRegistrationLeftNoTrace(after_first, 1, 1);
  EXPECT_EQ(this->store().FindUserById("second").error(), errc::not_found);

  // An invitation created already used (e.g. restored from elsewhere) is no better.
  InvitationRecord spent = MakeInvitation("spent", "bob@example.com");
  spent.used_at = kT0 - 1;
  spent.used_by = "someone";
  ASSERT_TRUE(this->store().CreateInvitation(spent));
  EXPECT_EQ(this->store()
                .RegisterUser(MakeRegistration(MakeUser("bob", "bob@example.com"), "spent"))
                .error(),
            errc::not_found);
  this->ExpectRegistrationLeftNoTrace(spent, 1, 1);
}

TYPED_TEST_P(MetadataStoreConformance, RegisterUserRefusesAnInvitationExpiredAtCreatedAt) {
  const TimeMs expires = kT0 + 10 * kHour;
  const InvitationRecord invitation = MakeInvitation("inv", "alice@example.com", expires);
  ASSERT_TRUE(this->store().CreateInvitation(invitation));
  // Expiry is judged at user.created_at, the time the caller says the registration happens.
  for (TimeMs at : {expires + kHour, expires}) {
    const UserRecord late = MakeUser("alice-id", "alice@example.com", at);
    EXPECT_EQ(this->store().RegisterUser(MakeRegistration(late, "inv")).error(), errc::not_found)
        << at - expires;
    this->ExpectRegistrationLeftNoTrace(invitation, 0, 0);
  }
  // A millisecond earlier it is still good: nothing above had consumed it.
  const UserRecord in_time = MakeUser("alice-id", "alice@example.com", expires - 1);
  auto r = this->store().RegisterUser(MakeRegistration(in_time, "inv"));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(this->Users(), 1);
}

TYPED_TEST_P(MetadataStoreConformance, RegisterUserRefusesAnInvitationForAnotherEmail) {
  const InvitationRecord invitation = MakeInvitation("inv", "alice@example.com");
  ASSERT_TRUE(this->store().CreateInvitation(invitation));
  for (const char* email : {"mallory@example.com", "Alice@example.com", "alice@example.co"}) {
    EXPECT_EQ(this->store().RegisterUser(MakeRegistration(MakeUser("m", email), "inv")).error(),
              errc::not_found)
        << email;
    this->ExpectRegistrationLeftNoTrace(invitation, 0, 0);
  }
  EXPECT_TRUE(
      this->store().RegisterUser(MakeRegistration(MakeUser("a", "alice@example.com"), "inv")));
}

TYPED_TEST_P(MetadataStoreConformance, AnInvitationForNoEmailAdmitsAnyEmailOnce) {
  // The owner setup token, made at portal creation, names no email.
  const TimeMs expires = kT0 + kHour;
  const InvitationRecord setup = MakeInvitation("setup", "", expires);
  ASSERT_TRUE(this->store().CreateInvitation(setup));
  UserRecord late = MakeUser("owner-id", "owner@example.com", expires);
  late.role = Role::owner;
  EXPECT_EQ(this->store().RegisterUser(MakeRegistration(late, "setup")).error(), errc::not_found)
      << "expiry still applies";
  this->ExpectRegistrationLeftNoTrace(setup, 0, 0);

  UserRecord owner = late;
  owner.created_at = owner.updated_at = expires - 1;
  auto r = this->store().RegisterUser(MakeRegistration(owner, "setup"));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*this->store().FindUserByEmail("owner@example.com"), owner);
  EXPECT_EQ(this->store().FindInvitation("setup")->used_by, std::optional<std::string>("owner-id"));
  EXPECT_EQ(this->store()
                .RegisterUser(MakeRegistration(MakeUser("x", "x@example.com", kT0), "setup"))
                .error(),
            errc::not_found);
  EXPECT_EQ(this->Users(), 1);
}

TYPED_TEST_P(MetadataStoreConformance, RegisterUserRefusesATakenEmailAndChangesNothing) {
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("alice-id", "alice@example.com")));
  // A second, valid invitation for the same email (an admin's mistake): the email is taken.
  const InvitationRecord second = MakeInvitation("second", "alice@example.com");
  ASSERT_TRUE(this->store().CreateInvitation(second));
  const UserRecord twin = MakeUser("twin-id", "alice@example.com");
  EXPECT_EQ(this->store().RegisterUser(MakeRegistration(twin, "second")).error(),
            errc::already_exists);
  this->ExpectRegistrationLeftNoTrace(second, 1, 1);
  EXPECT_EQ(this->store().FindUserById("twin-id").error(), errc::not_found);
  EXPECT_EQ(this->store().FindUserByEmail("alice@example.com")->id, "alice-id");
}

TYPED_TEST_P(MetadataStoreConformance, RegisterUserRefusesATakenIdAndChangesNothing) {
  const UserRecord alice = MakeUser("same-id", "alice@example.com");
  ASSERT_NO_FATAL_FAILURE(this->Register(alice));
  const InvitationRecord bobs = MakeInvitation("bobs", "bob@example.com");
  ASSERT_TRUE(this->store().CreateInvitation(bobs));
  EXPECT_EQ(this->store()
                .RegisterUser(MakeRegistration(MakeUser("same-id", "bob@example.com"), "bobs"))
                .error(),
            errc::already_exists);
  this->ExpectRegistrationLeftNoTrace(bobs, 1, 1);
  EXPECT_EQ(*this->store().FindUserById("same-id"), alice);
  EXPECT_EQ(this->store().FindUserByEmail("bob@example.com").error(), errc::not_found);
  // The invitation survived the failed attempt intact and still works.
  const UserRecord bob = MakeUser("bob-id", "bob@example.com");
  auto r = this->store().RegisterUser(MakeRegistration(bob, "bobs"));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*this->store().FindUserByEmail("bob@example.com"), bob);
  EXPECT_EQ(this->Audit().size(), 2u);
}

TYPED_TEST_P(MetadataStoreConformance, RegisterUserWithAnInvalidAuditEventChangesNothing) {
  // The audit entry is part of the transaction: if it cannot be written, neither is the user.
  const InvitationRecord invitation = MakeInvitation("inv", "alice@example.com");
  ASSERT_TRUE(this->store().CreateInvitation(invitation));
  Registration registration = MakeRegistration(MakeUser("a", "alice@example.com"), "inv");
  registration.audit.result = "maybe";
  EXPECT_EQ(this->store().RegisterUser(registration).error(), errc::invalid_argument);
  this->ExpectRegistrationLeftNoTrace(invitation, 0, 0);
}

TYPED_TEST_P(MetadataStoreConformance, ConcurrentRegistrationsWithOneInvitationHaveOneWinner) {
  constexpr int kThreads = 6;
  ASSERT_TRUE(this->store().CreateInvitation(MakeInvitation("inv", "alice@example.com")));
  Gate gate(kThreads);
  std::vector<std::thread> threads;
  std::vector<int> outcome(kThreads, 0);  // 1 success, 2 refused as the contract says, 3 other.
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const UserRecord u = MakeUser("racer-" + std::to_string(t), "alice@example.com");
      gate.Arrive();
      auto r = this->store().RegisterUser(MakeRegistration(u, "inv"));
      outcome[static_cast<std::size_t>(t)] =
          r                                                                     ? 1
          : (r.error() == errc::not_found || r.error() == errc::already_exists) ? 2
                                                                                : 3;
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(std::count(outcome.begin(), outcome.end(), 1), 1);
  EXPECT_EQ(std::count(outcome.begin(), outcome.end(), 2), kThreads - 1);
  const auto winner = std::find(outcome.begin(), outcome.end(), 1) - outcome.begin();
  EXPECT_EQ(this->store().FindInvitation("inv")->used_by,
            std::optional<std::string>("racer-" + std::to_string(winner)));
  EXPECT_EQ(this->Users(), 1);
  EXPECT_EQ(this->Audit().size(), 1u);
}

// --- credentials -------------------------------------------------------------------------------

TYPED_TEST_P(MetadataStoreConformance, ChangeCredentialsReplacesPasswordFieldsAndKeepsRecovery) {
  const UserRecord before = MakeUser("alice-id", "alice@example.com");
  ASSERT_NO_FATAL_FAILURE(this->Register(before));
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("bob-id", "bob@example.com")));
  const UserRecord bob = *this->store().FindUserById("bob-id");

  CredentialChange change;
  change.user_id = "alice-id";
  change.auth_verifier = "$argon2id$new-auth";
  change.kdf = KdfRecord{"argon2id13", 4, std::int64_t{256} << 20, Bytes(16, 0x5a)};
  change.private_bundle = {0x10, 0x00, 0x20};
  change.now = kT0 + 7 * kHour;
  change.audit = MakeAudit(change.now, "alice-id", "user.password_change", "alice-id");
  auto r = this->store().ChangeCredentials(change);
  ASSERT_TRUE(r) << r.error().message();

  UserRecord expected = before;
  expected.auth_verifier = change.auth_verifier;
  expected.kdf = change.kdf;
  expected.private_bundle = change.private_bundle;
  expected.updated_at = change.now;
  EXPECT_EQ(*this->store().FindUserById("alice-id"), expected);
  EXPECT_EQ(*this->store().FindUserById("bob-id"), bob) << "another user changed";
  const auto audit = this->Audit();
  ASSERT_EQ(audit.size(), 3u);
  EXPECT_EQ(audit[0], WithId(change.audit, audit[0].id));
}

TYPED_TEST_P(MetadataStoreConformance, ChangeCredentialsOnRecoveryReplacesRecoveryFields) {
  const UserRecord before = MakeUser("alice-id", "alice@example.com");
  ASSERT_NO_FATAL_FAILURE(this->Register(before));
  CredentialChange change;
  change.user_id = "alice-id";
  change.auth_verifier = "$argon2id$new-auth";
  change.kdf = MakeKdf(0x11);
  change.private_bundle = {0x01};
  change.recovery_bundle = Bytes{0x02, 0x00};
  change.recovery_verifier = "$argon2id$new-recovery";
  change.now = kT0 + kHour;
  change.audit = MakeAudit(change.now, "alice-id", "user.recover", "alice-id");
  ASSERT_TRUE(this->store().ChangeCredentials(change));
  UserRecord expected = before;
  expected.auth_verifier = change.auth_verifier;
  expected.kdf = change.kdf;
  expected.private_bundle = change.private_bundle;
  expected.recovery_bundle = *change.recovery_bundle;
  expected.recovery_verifier = *change.recovery_verifier;
  expected.updated_at = change.now;
  EXPECT_EQ(*this->store().FindUserById("alice-id"), expected);

  // Setting only one recovery field replaces that one only; an empty bundle is a value.
  CredentialChange only_bundle = change;
  only_bundle.recovery_bundle = Bytes{};
  only_bundle.recovery_verifier.reset();
  only_bundle.now = kT0 + 2 * kHour;
  ASSERT_TRUE(this->store().ChangeCredentials(only_bundle));
  expected.recovery_bundle = {};
  expected.updated_at = only_bundle.now;
  EXPECT_EQ(*this->store().FindUserById("alice-id"), expected);
}

TYPED_TEST_P(MetadataStoreConformance, ChangeCredentialsRevokesEverySessionButTheKeptOne) {
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("alice-id", "alice@example.com")));
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("bob-id", "bob@example.com")));
  for (const char* id : {"a1", "a2", "a3"}) {
    ASSERT_NO_FATAL_FAILURE(this->CreateSession(MakeSession(id, "alice-id")));
  }
  ASSERT_NO_FATAL_FAILURE(this->CreateSession(MakeSession("b1", "bob-id")));
  CredentialChange change;
  change.user_id = "alice-id";
  change.auth_verifier = "v2";
  change.kdf = MakeKdf(1);
  change.private_bundle = {1};
  change.keep_session_id = "a2";
  change.now = kT0 + 1;
  change.audit = MakeAudit(change.now, "alice-id", "user.password_change", "alice-id");
  ASSERT_TRUE(this->store().ChangeCredentials(change));
  EXPECT_EQ(this->SessionIds("alice-id"), std::vector<std::string>{"a2"});
  EXPECT_EQ(this->store().FindSession("digest-of-a1", kT0).error(), errc::not_found);
  EXPECT_TRUE(this->store().FindSession("digest-of-a2", kT0));
  EXPECT_EQ(this->SessionIds("bob-id"), std::vector<std::string>{"b1"});

  // Keeping "" keeps nothing; keeping another user's session id keeps nothing of this one's.
  change.keep_session_id = "";
  change.now = kT0 + 2;
  ASSERT_TRUE(this->store().ChangeCredentials(change));
  EXPECT_TRUE(this->SessionIds("alice-id").empty());
  ASSERT_NO_FATAL_FAILURE(this->CreateSession(MakeSession("a4", "alice-id")));
  change.keep_session_id = "b1";
  change.now = kT0 + 3;
  ASSERT_TRUE(this->store().ChangeCredentials(change));
  EXPECT_TRUE(this->SessionIds("alice-id").empty());
  EXPECT_EQ(this->SessionIds("bob-id"), std::vector<std::string>{"b1"});
}

TYPED_TEST_P(MetadataStoreConformance,
             ChangeCredentialsForAnUnknownUserIsNotFoundAndWritesNothing) {
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("alice-id", "alice@example.com")));
  const UserRecord alice = *this->store().FindUserById("alice-id");
  CredentialChange change;
  change.user_id = "ghost";
  change.auth_verifier = "v";
  change.kdf = MakeKdf(2);
  change.private_bundle = {2};
  change.now = kT0 + 1;
  change.audit = MakeAudit(change.now, "ghost", "user.password_change", "ghost");
  EXPECT_EQ(this->store().ChangeCredentials(change).error(), errc::not_found);
  EXPECT_EQ(this->Audit().size(), 1u) << "an audit entry for a change that did not happen";
  EXPECT_EQ(*this->store().FindUserById("alice-id"), alice);

  // Nor does a change whose audit event cannot be written touch the user or its sessions.
  ASSERT_NO_FATAL_FAILURE(this->CreateSession(MakeSession("s", "alice-id")));
  change.user_id = "alice-id";
  change.audit.result = "bogus";
  EXPECT_EQ(this->store().ChangeCredentials(change).error(), errc::invalid_argument);
  EXPECT_EQ(*this->store().FindUserById("alice-id"), alice);
  EXPECT_EQ(this->SessionIds("alice-id"), std::vector<std::string>{"s"});
  EXPECT_EQ(this->Audit().size(), 1u);
}

// --- sessions ----------------------------------------------------------------------------------

TYPED_TEST_P(MetadataStoreConformance, SessionsRoundTripByTokenDigest) {
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("alice-id", "alice@example.com")));
  const SessionRecord session = MakeSession("s1", "alice-id", kT0, kT0 + kHour);
  ASSERT_NO_FATAL_FAILURE(this->CreateSession(session));
  auto found = this->store().FindSession(session.token_digest, kT0 + 1);
  ASSERT_TRUE(found) << found.error().message();
  EXPECT_EQ(*found, session);
  // Looked up by the digest only: the public id is not a credential.
  EXPECT_EQ(this->store().FindSession("s1", kT0).error(), errc::not_found);
  EXPECT_EQ(this->store().FindSession("", kT0).error(), errc::not_found);
}

TYPED_TEST_P(MetadataStoreConformance, FindSessionWithUserIsFindSessionPlusItsUser) {
  const UserRecord alice = MakeUser("alice-id", "alice@example.com");
  ASSERT_NO_FATAL_FAILURE(this->Register(alice));
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("bob-id", "bob@example.com")));
  const TimeMs expires = kT0 + kHour;
  const SessionRecord session = MakeSession("s1", "alice-id", kT0, expires);
  ASSERT_NO_FATAL_FAILURE(this->CreateSession(session));
  ASSERT_NO_FATAL_FAILURE(this->CreateSession(MakeSession("b1", "bob-id", kT0, expires)));
  auto found = this->store().FindSessionWithUser(session.token_digest, kT0 + 1);
  ASSERT_TRUE(found) << found.error().message();
  EXPECT_EQ(found->session, session);
  EXPECT_EQ(found->user, *this->store().FindUserById("alice-id"));
  EXPECT_EQ(found->user, alice);
  EXPECT_EQ(this->store().FindSessionWithUser("digest-of-b1", kT0)->user.id, "bob-id");
  // The same boundaries and the same credential as FindSession.
  EXPECT_TRUE(this->store().FindSessionWithUser(session.token_digest, expires - 1));
  EXPECT_EQ(this->store().FindSessionWithUser(session.token_digest, expires).error(),
            errc::not_found);
  EXPECT_EQ(this->store().FindSessionWithUser("s1", kT0).error(), errc::not_found);
  EXPECT_EQ(this->store().FindSessionWithUser("", kT0).error(), errc::not_found);
}

// Written for implementations (and decorators) that keep answers around: every write that
// ends a session or changes its user is visible to the very next read, and so is a touch.
TYPED_TEST_P(MetadataStoreConformance, FindSessionWithUserSeesEveryWriteAtOnce) {
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("alice-id", "alice@example.com")));
  for (const char* id : {"a1", "a2", "a3", "a4"}) {
    ASSERT_NO_FATAL_FAILURE(this->CreateSession(MakeSession(id, "alice-id")));
  }
  const auto read = [&](const char* digest) {
    return this->store().FindSessionWithUser(digest, kT0);
  };
  for (const char* d : {"digest-of-a1", "digest-of-a2", "digest-of-a3", "digest-of-a4"}) {
    ASSERT_TRUE(read(d)) << d;  // Read once, so a cache would hold all four.
  }

  ASSERT_TRUE(this->store().TouchSession("a1", kT0 + 5000));
  ASSERT_TRUE(read("digest-of-a1"));
  EXPECT_EQ(read("digest-of-a1")->session.last_seen_at, kT0 + 5000);

  ASSERT_TRUE(*this->store().RevokeSession("alice-id", "a4"));
  EXPECT_EQ(read("digest-of-a4").error(), errc::not_found);

  CredentialChange change;
  change.user_id = "alice-id";
  change.auth_verifier = "v2";
  change.kdf = MakeKdf(3);
  change.private_bundle = {3};
  change.keep_session_id = "a1";
  change.now = kT0 + 1;
  change.audit = MakeAudit(change.now, "alice-id", "user.password_change", "alice-id");
  ASSERT_TRUE(this->store().ChangeCredentials(change));
  EXPECT_EQ(read("digest-of-a2").error(), errc::not_found);
  ASSERT_TRUE(read("digest-of-a1"));
  EXPECT_EQ(read("digest-of-a1")->user.auth_verifier, "v2");
  EXPECT_EQ(read("digest-of-a1")->user.private_bundle, Bytes{3});

  ASSERT_NO_FATAL_FAILURE(this->CreateSession(MakeSession("a5", "alice-id")));
  ASSERT_TRUE(read("digest-of-a5"));
  ASSERT_TRUE(this->store().RevokeOtherSessions("alice-id", "a5"));
  EXPECT_EQ(read("digest-of-a1").error(), errc::not_found);
  EXPECT_EQ(read("digest-of-a3").error(), errc::not_found);
  ASSERT_TRUE(read("digest-of-a5"));
  ASSERT_TRUE(this->store().DeleteExpiredSessions(kT0 + 2 * kHour));
  EXPECT_EQ(read("digest-of-a5").error(), errc::not_found);
}

TYPED_TEST_P(MetadataStoreConformance, CreateSessionRefusesDuplicatesAndUnknownUsers) {
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("alice-id", "alice@example.com")));
  const SessionRecord original = MakeSession("s1", "alice-id");
  ASSERT_NO_FATAL_FAILURE(this->CreateSession(original));
  SessionRecord same_id = MakeSession("s1", "alice-id");
  same_id.token_digest = "another-digest";
  EXPECT_EQ(this->store().CreateSession(same_id).error(), errc::already_exists);
  SessionRecord same_digest = MakeSession("s2", "alice-id");
  same_digest.token_digest = original.token_digest;
  EXPECT_EQ(this->store().CreateSession(same_digest).error(), errc::already_exists);
  EXPECT_EQ(this->store().CreateSession(MakeSession("s3", "ghost")).error(), errc::not_found);
  EXPECT_EQ(this->SessionIds("alice-id"), std::vector<std::string>{"s1"});
  EXPECT_EQ(*this->store().FindSession(original.token_digest, kT0), original);
  EXPECT_EQ(this->store().FindSession("digest-of-s3", kT0).error(), errc::not_found);
}

TYPED_TEST_P(MetadataStoreConformance, ExpiredSessionsAreNotFound) {
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("alice-id", "alice@example.com")));
  const TimeMs expires = kT0 + kHour;
  ASSERT_NO_FATAL_FAILURE(this->CreateSession(MakeSession("s1", "alice-id", kT0, expires)));
  EXPECT_TRUE(this->store().FindSession("digest-of-s1", expires - 1));
  EXPECT_EQ(this->store().FindSession("digest-of-s1", expires).error(), errc::not_found);
  EXPECT_EQ(this->store().FindSession("digest-of-s1", expires + kHour).error(), errc::not_found);
  EXPECT_EQ(this->SessionIds("alice-id", expires - 1), std::vector<std::string>{"s1"});
  EXPECT_TRUE(this->SessionIds("alice-id", expires).empty());
}

TYPED_TEST_P(MetadataStoreConformance, ListSessionsIsNewestFirstUnexpiredAndOwnOnly) {
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("alice-id", "alice@example.com")));
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("bob-id", "bob@example.com")));
  // Created out of order, so insertion order and age differ.
  ASSERT_NO_FATAL_FAILURE(this->CreateSession(MakeSession("mid", "alice-id", kT0 - 20)));
  ASSERT_NO_FATAL_FAILURE(this->CreateSession(MakeSession("new", "alice-id", kT0 - 10)));
  ASSERT_NO_FATAL_FAILURE(this->CreateSession(MakeSession("old", "alice-id", kT0 - 30)));
  ASSERT_NO_FATAL_FAILURE(
      this->CreateSession(MakeSession("expired", "alice-id", kT0 - 5, kT0 - 1)));
  ASSERT_NO_FATAL_FAILURE(this->CreateSession(MakeSession("bobs", "bob-id", kT0 - 1)));
  EXPECT_EQ(this->SessionIds("alice-id"), (std::vector<std::string>{"new", "mid", "old"}));
  auto listed = this->store().ListSessions("alice-id", kT0);
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_EQ((*listed)[0], MakeSession("new", "alice-id", kT0 - 10));
  EXPECT_EQ(this->SessionIds("bob-id"), std::vector<std::string>{"bobs"});
  EXPECT_TRUE(this->SessionIds("ghost").empty());
}

TYPED_TEST_P(MetadataStoreConformance, TouchSessionUpdatesLastSeenOnly) {
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("alice-id", "alice@example.com")));
  const SessionRecord session = MakeSession("s1", "alice-id");
  const SessionRecord other = MakeSession("s2", "alice-id");
  ASSERT_NO_FATAL_FAILURE(this->CreateSession(session));
  ASSERT_NO_FATAL_FAILURE(this->CreateSession(other));
  ASSERT_TRUE(this->store().TouchSession("s1", kT0 + 5000));
  SessionRecord expected = session;
  expected.last_seen_at = kT0 + 5000;
  EXPECT_EQ(*this->store().FindSession(session.token_digest, kT0), expected);
  EXPECT_EQ(*this->store().FindSession(other.token_digest, kT0), other);
  // A session that is gone (revoked meanwhile) is not an error.
  EXPECT_TRUE(this->store().TouchSession("no-such-session", kT0 + 5000));
}

TYPED_TEST_P(MetadataStoreConformance, RevokeSessionOnlyRevokesTheCallersOwn) {
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("alice-id", "alice@example.com")));
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("bob-id", "bob@example.com")));
  ASSERT_NO_FATAL_FAILURE(this->CreateSession(MakeSession("a1", "alice-id")));
  ASSERT_NO_FATAL_FAILURE(this->CreateSession(MakeSession("b1", "bob-id")));
  // Alice names Bob's session: "no such session", and it survives.
  auto foreign = this->store().RevokeSession("alice-id", "b1");
  ASSERT_TRUE(foreign);
  EXPECT_FALSE(*foreign);
  EXPECT_TRUE(this->store().FindSession("digest-of-b1", kT0));
  auto unknown = this->store().RevokeSession("alice-id", "zzz");
  ASSERT_TRUE(unknown);
  EXPECT_FALSE(*unknown);
  auto own = this->store().RevokeSession("alice-id", "a1");
  ASSERT_TRUE(own);
  EXPECT_TRUE(*own);
  EXPECT_EQ(this->store().FindSession("digest-of-a1", kT0).error(), errc::not_found);
  auto again = this->store().RevokeSession("alice-id", "a1");
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);
}

TYPED_TEST_P(MetadataStoreConformance, RevokeOtherSessionsKeepsOneOrNone) {
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("alice-id", "alice@example.com")));
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("bob-id", "bob@example.com")));
  for (const char* id : {"a1", "a2", "a3", "a4"}) {
    ASSERT_NO_FATAL_FAILURE(this->CreateSession(MakeSession(id, "alice-id")));
  }
  ASSERT_NO_FATAL_FAILURE(this->CreateSession(MakeSession("b1", "bob-id")));
  auto removed = this->store().RevokeOtherSessions("alice-id", "a3");
  ASSERT_TRUE(removed);
  EXPECT_EQ(*removed, 3);
  EXPECT_EQ(this->SessionIds("alice-id"), std::vector<std::string>{"a3"});
  // Another user's session id as `keep` protects nothing and touches nothing of theirs.
  auto foreign_keep = this->store().RevokeOtherSessions("bob-id", "a3");
  ASSERT_TRUE(foreign_keep);
  EXPECT_EQ(*foreign_keep, 1);
  EXPECT_EQ(this->SessionIds("alice-id"), std::vector<std::string>{"a3"});
  auto all = this->store().RevokeOtherSessions("alice-id", "");
  ASSERT_TRUE(all);
  EXPECT_EQ(*all, 1);
  EXPECT_TRUE(this->SessionIds("alice-id").empty());
  auto none = this->store().RevokeOtherSessions("alice-id", "");
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, 0);
}

TYPED_TEST_P(MetadataStoreConformance, DeleteExpiredSessionsRemovesOnlyExpired) {
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("alice-id", "alice@example.com")));
  ASSERT_NO_FATAL_FAILURE(this->CreateSession(MakeSession("long-gone", "alice-id", 0, kT0 - 10)));
  ASSERT_NO_FATAL_FAILURE(this->CreateSession(MakeSession("just-now", "alice-id", 0, kT0)));
  ASSERT_NO_FATAL_FAILURE(this->CreateSession(MakeSession("alive", "alice-id", 0, kT0 + 1)));
  auto removed = this->store().DeleteExpiredSessions(kT0);
  ASSERT_TRUE(removed);
  EXPECT_EQ(*removed, 2);
  // Even when asked about a past time, the removed sessions are gone, the live one is not.
  EXPECT_EQ(this->SessionIds("alice-id", 0), std::vector<std::string>{"alive"});
  EXPECT_EQ(*this->store().DeleteExpiredSessions(kT0), 0);
}

// --- login history -----------------------------------------------------------------------------

TYPED_TEST_P(MetadataStoreConformance, LoginAttemptsRoundTripNewestFirstWithIncreasingIds) {
  const LoginAttempt unknown = MakeAttempt(kT0, std::nullopt, "203.0.113.9", "failure");
  LoginAttempt known = MakeAttempt(kT0 + 1, "alice-id", "203.0.113.9", "success");
  known.user_agent = "";
  const LoginAttempt refused = MakeAttempt(kT0 + 1, "alice-id", "2001:db8::1", "refused");
  for (const auto& a : {unknown, known, refused}) ASSERT_NO_FATAL_FAILURE(this->RecordAttempt(a));
  const auto got = this->Attempts();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_GT(got[0].id, got[1].id);
  EXPECT_GT(got[1].id, got[2].id);
  EXPECT_GT(got[2].id, 0);
  EXPECT_EQ(got[0], WithId(refused, got[0].id));
  EXPECT_EQ(got[1], WithId(known, got[1].id));
  EXPECT_EQ(got[2], WithId(unknown, got[2].id));
  EXPECT_EQ(got[2].user_id, std::nullopt);
}

TYPED_TEST_P(MetadataStoreConformance, LoginAttemptResultMustBeKnown) {
  for (const char* bad : {"", "ok", "Success", "denied"}) {
    EXPECT_EQ(this->store().RecordLoginAttempt(MakeAttempt(kT0, "u", "192.0.2.1", bad)).error(),
              errc::invalid_argument)
        << bad;
  }
  EXPECT_TRUE(this->Attempts().empty());
}

TYPED_TEST_P(MetadataStoreConformance, AccountFailuresCountOnlyFailuresSinceTheLastSuccess) {
  const std::string ip = "192.0.2.1";
  const std::string alice = "alice@example.com";
  // Keyed by the email as typed: whether the attempt names a user id does not matter.
  auto record = [&](TimeMs time, const std::string& email, const char* result,
                    std::optional<std::string> user_id = std::nullopt) {
    LoginAttempt a = MakeAttempt(time, std::move(user_id), ip, result);
    a.email = email;
    this->RecordAttempt(a);
  };
  auto failures = [&](const std::string& email, TimeMs since) {
    auto f = this->store().AccountFailures(email, since);
    EXPECT_TRUE(f) << f.error().message();
    return f ? std::pair{f->count, f->last_failure} : std::pair<std::int64_t, TimeMs>{-1, -1};
  };
  using P = std::pair<std::int64_t, TimeMs>;
  EXPECT_EQ(failures(alice, 0), (P{0, 0}));
  ASSERT_NO_FATAL_FAILURE(record(kT0 + 1, alice, "failure", "alice-id"));
  ASSERT_NO_FATAL_FAILURE(record(kT0 + 2, alice, "failure"));
  EXPECT_EQ(failures(alice, 0), (P{2, kT0 + 2}));
  // `since` is inclusive.
  EXPECT_EQ(failures(alice, kT0 + 2), (P{1, kT0 + 2}));
  EXPECT_EQ(failures(alice, kT0 + 3), (P{0, 0}));

  // A success clears the email's count ...
  ASSERT_NO_FATAL_FAILURE(record(kT0 + 3, alice, "success", "alice-id"));
  EXPECT_EQ(failures(alice, 0), (P{0, 0}));
  // ... later failures count again; refused attempts never do, nor other emails' failures
  // (emails are compared exactly).
  ASSERT_NO_FATAL_FAILURE(record(kT0 + 4, alice, "failure", "alice-id"));
  ASSERT_NO_FATAL_FAILURE(record(kT0 + 5, alice, "refused", "alice-id"));
  ASSERT_NO_FATAL_FAILURE(record(kT0 + 6, "bob@example.com", "failure", "bob-id"));
  ASSERT_NO_FATAL_FAILURE(record(kT0 + 6, "Alice@example.com", "failure"));
  ASSERT_NO_FATAL_FAILURE(record(kT0 + 7, alice, "failure", "alice-id"));
  EXPECT_EQ(failures(alice, 0), (P{2, kT0 + 7}));
  EXPECT_EQ(failures(alice, kT0 + 5), (P{1, kT0 + 7}));
  // Another email's success does not clear Alice's count.
  ASSERT_NO_FATAL_FAILURE(record(kT0 + 8, "bob@example.com", "success", "bob-id"));
  EXPECT_EQ(failures(alice, 0), (P{2, kT0 + 7}));
  EXPECT_EQ(failures("bob@example.com", 0), (P{0, 0}));
  EXPECT_EQ(failures("Alice@example.com", 0), (P{1, kT0 + 6}));

  // An email with no account backs off exactly like one with an account.
  ASSERT_NO_FATAL_FAILURE(record(kT0 + 9, "ghost@example.com", "failure"));
  ASSERT_NO_FATAL_FAILURE(record(kT0 + 10, "ghost@example.com", "failure"));
  EXPECT_EQ(failures("ghost@example.com", 0), (P{2, kT0 + 10}));
  EXPECT_EQ(failures("never-seen@example.com", 0), (P{0, 0}));
}

TYPED_TEST_P(MetadataStoreConformance, IpFailuresAreNotClearedBySuccess) {
  const std::string ip = "203.0.113.50";
  ASSERT_NO_FATAL_FAILURE(this->RecordAttempt(MakeAttempt(kT0 + 1, "alice-id", ip, "failure")));
  ASSERT_NO_FATAL_FAILURE(this->RecordAttempt(MakeAttempt(kT0 + 2, std::nullopt, ip, "failure")));
  ASSERT_NO_FATAL_FAILURE(this->RecordAttempt(MakeAttempt(kT0 + 3, "mallory", ip, "success")));
  ASSERT_NO_FATAL_FAILURE(this->RecordAttempt(MakeAttempt(kT0 + 4, "bob-id", ip, "refused")));
  ASSERT_NO_FATAL_FAILURE(
      this->RecordAttempt(MakeAttempt(kT0 + 5, "alice-id", "203.0.113.51", "failure")));
  auto all = this->store().IpFailures(ip, 0);
  ASSERT_TRUE(all) << all.error().message();
  EXPECT_EQ(all->count, 2);
  EXPECT_EQ(all->last_failure, kT0 + 2);
  auto recent = this->store().IpFailures(ip, kT0 + 2);
  ASSERT_TRUE(recent);
  EXPECT_EQ(recent->count, 1);
  auto none = this->store().IpFailures(ip, kT0 + 3);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->count, 0);
  EXPECT_EQ(none->last_failure, 0);
  auto other = this->store().IpFailures("203.0.113.51", 0);
  ASSERT_TRUE(other);
  EXPECT_EQ(other->count, 1);
  EXPECT_EQ(other->last_failure, kT0 + 5);
}

TYPED_TEST_P(MetadataStoreConformance, QueryLoginAttemptsFilters) {
  // time = kT0 + i; user alternates alice/bob (and none every 5th); ip alternates by 3.
  for (int i = 0; i < 30; ++i) {
    std::optional<std::string> user;
    if (i % 5 != 0) user = i % 2 == 0 ? "alice-id" : "bob-id";
    ASSERT_NO_FATAL_FAILURE(this->RecordAttempt(
        MakeAttempt(kT0 + i, user, "192.0.2." + std::to_string(i % 3), "failure")));
  }
  auto times = [](const std::vector<LoginAttempt>& v) {
    std::vector<TimeMs> out;
    for (const auto& a : v) out.push_back(a.time - kT0);
    return out;
  };
  LoginQuery q;
  q.from = kT0 + 10;
  q.to = kT0 + 14;
  EXPECT_EQ(times(this->Attempts(q)), (std::vector<TimeMs>{13, 12, 11, 10}));
  q = {};
  q.user_id = "alice-id";
  q.to = kT0 + 10;
  EXPECT_EQ(times(this->Attempts(q)), (std::vector<TimeMs>{8, 6, 4, 2}));
  q = {};
  q.ip = "192.0.2.1";
  q.from = kT0 + 20;
  EXPECT_EQ(times(this->Attempts(q)), (std::vector<TimeMs>{28, 25, 22}));
  q = {};
  q.user_id = "bob-id";
  q.ip = "192.0.2.0";
  EXPECT_EQ(times(this->Attempts(q)), (std::vector<TimeMs>{27, 21, 9, 3}));
  q = {};
  q.user_id = "nobody";
  EXPECT_TRUE(this->Attempts(q).empty());
}

TYPED_TEST_P(MetadataStoreConformance, QueryLoginAttemptsPagesWithBeforeId) {
  for (int i = 0; i < 25; ++i) {
    ASSERT_NO_FATAL_FAILURE(this->RecordAttempt(MakeAttempt(
        kT0 + i, i % 2 == 0 ? "alice-id" : "bob-id", "192.0.2.1", i % 3 ? "failure" : "success")));
  }
  const auto all = this->Attempts();
  ASSERT_EQ(all.size(), 25u);
  std::vector<LoginAttempt> paged;
  LoginQuery q;
  q.limit = 10;
  for (int page = 0; page < 5; ++page) {
    const auto got = this->Attempts(q);
    ASSERT_LE(got.size(), 10u);
    if (got.empty()) break;
    paged.insert(paged.end(), got.begin(), got.end());
    q.before_id = got.back().id;
  }
  EXPECT_EQ(paged, all);
  // Paging composes with filters.
  LoginQuery alice;
  alice.user_id = "alice-id";
  alice.before_id = all[10].id;  // time kT0 + 14
  alice.limit = 2;
  const auto got = this->Attempts(alice);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].time, kT0 + 12);
  EXPECT_EQ(got[1].time, kT0 + 10);
}

// --- audit trail -------------------------------------------------------------------------------

TYPED_TEST_P(MetadataStoreConformance, AuditEventsRoundTripWithStrictlyIncreasingIds) {
  const AuditEvent a = MakeAudit(kT0, "system", "portal.create");
  AuditEvent b = MakeAudit(kT0 - 5, "anonymous", "session.create", "", "denied");  // Clock skew.
  b.detail = "";
  b.ip = "";
  const AuditEvent c = MakeAudit(kT0 + 1, "alice-id", "session.revoke", "s1", "failure");
  for (const auto& e : {a, b, c}) ASSERT_NO_FATAL_FAILURE(this->AppendAudit(e));
  const auto got = this->Audit();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_GT(got[0].id, got[1].id);  // Newest (last appended) first, whatever its time.
  EXPECT_GT(got[1].id, got[2].id);
  EXPECT_EQ(got[0], WithId(c, got[0].id));
  EXPECT_EQ(got[1], WithId(b, got[1].id));
  EXPECT_EQ(got[2], WithId(a, got[2].id));
  // Ids given by the caller are ignored.
  AuditEvent forged = MakeAudit(kT0 + 2, "alice-id", "x.y");
  forged.id = got[2].id;
  ASSERT_NO_FATAL_FAILURE(this->AppendAudit(forged));
  const auto after = this->Audit();
  ASSERT_EQ(after.size(), 4u);
  EXPECT_GT(after[0].id, got[0].id);
}

TYPED_TEST_P(MetadataStoreConformance, AuditResultMustBeKnown) {
  for (const char* bad : {"", "ok", "refused", "SUCCESS"}) {
    EXPECT_EQ(this->store().AppendAudit(MakeAudit(kT0, "system", "a.b", "", bad)).error(),
              errc::invalid_argument)
        << bad;
  }
  EXPECT_TRUE(this->Audit().empty());
}

TYPED_TEST_P(MetadataStoreConformance, QueryAuditFilters) {
  const char* actors[] = {"alice-id", "bob-id", "system"};
  const char* actions[] = {"session.create", "session.revoke", "user.register", "portal.create"};
  for (int i = 0; i < 24; ++i) {
    ASSERT_NO_FATAL_FAILURE(
        this->AppendAudit(MakeAudit(kT0 + i, actors[i % 3], actions[i % 4], std::to_string(i))));
  }
  auto targets = [](const std::vector<AuditEvent>& v) {
    std::vector<std::string> out;
    for (const auto& e : v) out.push_back(e.target);
    return out;
  };
  using V = std::vector<std::string>;
  AuditQuery q;
  q.from = kT0 + 20;  // Inclusive ...
  EXPECT_EQ(targets(this->Audit(q)), (V{"23", "22", "21", "20"}));
  q = {};
  q.to = kT0 + 2;  // ... and exclusive.
  EXPECT_EQ(targets(this->Audit(q)), (V{"1", "0"}));
  q = {};
  q.actor = "bob-id";
  q.from = kT0 + 10;
  q.to = kT0 + 20;
  EXPECT_EQ(targets(this->Audit(q)), (V{"19", "16", "13", "10"}));
  q = {};
  q.action = "user.register";
  EXPECT_EQ(targets(this->Audit(q)), (V{"22", "18", "14", "10", "6", "2"}));
  q.actor = "system";
  EXPECT_EQ(targets(this->Audit(q)), (V{"14", "2"}));
  q = {};
  q.actor = "nobody";
  EXPECT_TRUE(this->Audit(q).empty());
  q = {};
  q.action = "session";  // Exact, not a prefix.
  EXPECT_TRUE(this->Audit(q).empty());
}

TYPED_TEST_P(MetadataStoreConformance, QueryAuditPagesWithBeforeId) {
  for (int i = 0; i < 23; ++i) {
    ASSERT_NO_FATAL_FAILURE(this->AppendAudit(
        MakeAudit(kT0 + i, i % 2 ? "alice-id" : "system", "a.b", std::to_string(i))));
  }
  const auto all = this->Audit();
  ASSERT_EQ(all.size(), 23u);
  std::vector<AuditEvent> paged;
  AuditQuery q;
  q.limit = 7;
  for (int page = 0; page < 5; ++page) {
    const auto got = this->Audit(q);
    ASSERT_LE(got.size(), 7u);
    if (got.empty()) break;
    paged.insert(paged.end(), got.begin(), got.end());
    q.before_id = got.back().id;
  }
  EXPECT_EQ(paged, all);
  AuditQuery alice;
  alice.actor = "alice-id";
  alice.before_id = all[0].id;  // Excludes target 22 itself (not alice's anyway) ...
  alice.limit = 3;
  const auto got = this->Audit(alice);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].target, "21");
  alice.before_id = got[0].id;  // ... and here excludes 21.
  EXPECT_EQ(this->Audit(alice)[0].target, "19");
}

TYPED_TEST_P(MetadataStoreConformance, QueryLimitsAreClampedToOneThroughAThousand) {
  constexpr int kEntries = 1005;
  for (int i = 0; i < kEntries; ++i) {
    ASSERT_NO_FATAL_FAILURE(this->AppendAudit(MakeAudit(kT0 + i, "system", "a.b")));
    ASSERT_NO_FATAL_FAILURE(this->RecordAttempt(MakeAttempt(kT0 + i, "u", "192.0.2.1", "failure")));
  }
  for (std::size_t limit : {std::size_t{0}, std::size_t{1}}) {
    AuditQuery aq;
    aq.limit = limit;
    auto audit = this->store().QueryAudit(aq);
    ASSERT_TRUE(audit);
    ASSERT_EQ(audit->size(), 1u) << limit;
    EXPECT_EQ((*audit)[0].time, kT0 + kEntries - 1);
    LoginQuery lq;
    lq.limit = limit;
    auto logins = this->store().QueryLoginAttempts(lq);
    ASSERT_TRUE(logins);
    EXPECT_EQ(logins->size(), 1u) << limit;
  }
  for (std::size_t limit :
       {std::size_t{1000}, std::size_t{1001}, std::numeric_limits<std::size_t>::max()}) {
    AuditQuery aq;
    aq.limit = limit;
    auto audit = this->store().QueryAudit(aq);
    ASSERT_TRUE(audit);
    EXPECT_EQ(audit->size(), 1000u) << limit;
    LoginQuery lq;
    lq.limit = limit;
    auto logins = this->store().QueryLoginAttempts(lq);
    ASSERT_TRUE(logins);
    EXPECT_EQ(logins->size(), 1000u) << limit;
  }
  // The default is 100.
  EXPECT_EQ(this->store().QueryAudit(AuditQuery{})->size(), 100u);
  EXPECT_EQ(this->store().QueryLoginAttempts(LoginQuery{})->size(), 100u);
}

// --- blobs and health --------------------------------------------------------------------------

// --- Private Room ------------------------------------------------------------------------------

TYPED_TEST_P(MetadataStoreConformance, RoomFoldersRoundTripWithOneRootPerOwner) {
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("alice-id", "alice@example.com")));
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("bob-id", "bob@example.com")));
  EXPECT_EQ(this->store().FindRoomRoot("alice-id").error(), errc::not_found);
  const RoomFolder root = MakeFolder("a-root", "alice-id");
  const auto audit = MakeAudit(kT0, "alice-id", "room.folder.create");
  ASSERT_TRUE(this->store().CreateRoomFolder(root, audit));
  EXPECT_EQ(*this->store().FindRoomRoot("alice-id"), root);
  EXPECT_EQ(*this->store().FindRoomFolder("a-root"), root);
  EXPECT_EQ(this->store().CreateRoomFolder(MakeFolder("a-root-2", "alice-id"), audit).error(),
            errc::already_exists)
      << "a second root";
  ASSERT_TRUE(this->store().CreateRoomFolder(MakeFolder("b-root", "bob-id"), audit));
  const RoomFolder contracts = MakeFolder("contracts", "alice-id", "a-root");
  ASSERT_TRUE(this->store().CreateRoomFolder(contracts, audit));
  EXPECT_EQ(*this->store().FindRoomFolder("contracts"), contracts);
  EXPECT_EQ(this->store().FindRoomFolder("nope").error(), errc::not_found);
  EXPECT_EQ(this->Audit().size(), 2u + 3u);  // Two registrations, three folders.
}

TYPED_TEST_P(MetadataStoreConformance, RoomNamesAreUniquePerFolderAcrossFilesAndFolders) {
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("alice-id", "alice@example.com")));
  const auto audit = MakeAudit(kT0, "alice-id", "room.upload");
  ASSERT_TRUE(this->store().CreateRoomFolder(MakeFolder("root", "alice-id"), audit));
  ASSERT_TRUE(this->store().CreateRoomFolder(MakeFolder("sub", "alice-id", "root", "N1"), audit));
  // The same name hmac in the same folder, as a folder or as a file: refused.
  EXPECT_EQ(
      this->store().CreateRoomFolder(MakeFolder("sub2", "alice-id", "root", "N1"), audit).error(),
      errc::already_exists);
  RoomFile clash = MakeFile("f1", "alice-id", "root");
  clash.name_hmac = "N1";
  EXPECT_EQ(this->store().CreateRoomFile(clash, audit).error(), errc::already_exists);
  // The same name in another folder is fine.
  clash.parent_id = "sub";
  ASSERT_TRUE(this->store().CreateRoomFile(clash, audit));
  // An id taken by a folder cannot become a file.
  EXPECT_EQ(this->store().CreateRoomFile(MakeFile("sub", "alice-id", "root"), audit).error(),
            errc::already_exists);
  const auto listing = this->store().ListRoomFolder("root");
  ASSERT_TRUE(listing);
  ASSERT_EQ(listing->folders.size(), 1u);
  EXPECT_EQ(listing->folders[0].id, "sub");
  EXPECT_TRUE(listing->files.empty());
  EXPECT_EQ(this->store().ListRoomFolder("sub")->files, std::vector<RoomFile>{clash});
  EXPECT_EQ(this->store().ListRoomFolder("f1").error(), errc::not_found) << "a file";
}

TYPED_TEST_P(MetadataStoreConformance, RoomParentsMustBeFoldersOfTheSameOwner) {
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("alice-id", "alice@example.com")));
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("bob-id", "bob@example.com")));
  const auto audit = MakeAudit(kT0, "x", "room.upload");
  ASSERT_TRUE(this->store().CreateRoomFolder(MakeFolder("a-root", "alice-id"), audit));
  ASSERT_TRUE(this->store().CreateRoomFile(MakeFile("a-file", "alice-id", "a-root"), audit));
  const auto audits = this->Audit().size();
  // Bob cannot put anything into Alice's folder, nor under a file, nor under nothing.
  EXPECT_EQ(this->store().CreateRoomFolder(MakeFolder("b1", "bob-id", "a-root"), audit).error(),
            errc::not_found);
  EXPECT_EQ(this->store().CreateRoomFile(MakeFile("b2", "bob-id", "a-root"), audit).error(),
            errc::not_found);
  EXPECT_EQ(this->store().CreateRoomFile(MakeFile("a2", "alice-id", "a-file"), audit).error(),
            errc::not_found);
  EXPECT_EQ(this->store().CreateRoomFile(MakeFile("a3", "alice-id", "ghost"), audit).error(),
            errc::not_found);
  EXPECT_EQ(this->Audit().size(), audits) << "a refused write left an audit entry";
  // A root has no name and a non-root has one.
  RoomFolder nameless = MakeFolder("a-sub", "alice-id", "a-root");
  nameless.name_hmac.reset();
  EXPECT_EQ(this->store().CreateRoomFolder(nameless, audit).error(), errc::invalid_argument);
}

TYPED_TEST_P(MetadataStoreConformance, RoomFilesRoundTripWithRecipientsAndSharedWith) {
  for (const char* who : {"alice", "bob", "carol"}) {
    ASSERT_NO_FATAL_FAILURE(
        this->Register(MakeUser(std::string(who) + "-id", std::string(who) + "@example.com")));
  }
  const auto audit = MakeAudit(kT0, "alice-id", "room.upload");
  ASSERT_TRUE(this->store().CreateRoomFolder(MakeFolder("a-root", "alice-id"), audit));
  ASSERT_TRUE(this->store().CreateRoomFolder(MakeFolder("b-root", "bob-id"), audit));
  const RoomFile shared = MakeFile("f-shared", "alice-id", "a-root", {"bob-id"});
  const RoomFile own = MakeFile("f-own", "alice-id", "a-root");
  const RoomFile bobs = MakeFile("f-bobs", "bob-id", "b-root", {"alice-id"});
  for (const auto& f : {shared, own, bobs}) ASSERT_TRUE(this->store().CreateRoomFile(f, audit));
  EXPECT_EQ(*this->store().FindRoomFile("f-shared"), shared);
  EXPECT_EQ(this->store().FindRoomFile("a-root").error(), errc::not_found) << "a folder";
  EXPECT_EQ(*this->store().ListRoomSharedWith("bob-id"), std::vector<RoomFile>{shared});
  EXPECT_EQ(*this->store().ListRoomSharedWith("alice-id"), std::vector<RoomFile>{bobs});
  EXPECT_TRUE(this->store().ListRoomSharedWith("carol-id")->empty());
  EXPECT_EQ(*this->store().ReferencedBlobIds(),
            (std::vector<std::string>{"blob-f-bobs-v1", "blob-f-own-v1", "blob-f-shared-v1"}));
  // Recipients must include the owner, sorted, once each.
  RoomFile ownerless = MakeFile("f-x", "alice-id", "a-root", {"bob-id"});
  ownerless.recipients.erase(ownerless.recipients.begin());  // alice-id sorts first.
  EXPECT_EQ(this->store().CreateRoomFile(ownerless, audit).error(), errc::invalid_argument);
  RoomFile twice = MakeFile("f-y", "alice-id", "a-root");
  twice.recipients.push_back(twice.recipients.front());
  EXPECT_EQ(this->store().CreateRoomFile(twice, audit).error(), errc::invalid_argument);
  EXPECT_EQ(this->store().FindRoomFile("f-y").error(), errc::not_found);
}

TYPED_TEST_P(MetadataStoreConformance, RoomFileUpdatesNeedTheNextVersionAndReturnTheOldBlob) {
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("alice-id", "alice@example.com")));
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("bob-id", "bob@example.com")));
  const auto audit = MakeAudit(kT0, "alice-id", "room.share");
  ASSERT_TRUE(this->store().CreateRoomFolder(MakeFolder("root", "alice-id"), audit));
  ASSERT_TRUE(this->store().CreateRoomFolder(MakeFolder("sub", "alice-id", "root"), audit));
  ASSERT_TRUE(this->store().CreateRoomFile(MakeFile("other", "alice-id", "sub"), audit));
  const RoomFile v1 = MakeFile("f", "alice-id", "root");
  ASSERT_TRUE(this->store().CreateRoomFile(v1, audit));

  RoomFile v2 = MakeFile("f", "alice-id", "root", {"bob-id"});  // Shared with Bob.
  v2.version = 2;
  v2.blob_id = "blob-f-v2";
  v2.author_id = "alice-id";
  v2.updated_at = kT0 + 5;
  auto old = this->store().UpdateRoomFile(v2, audit);
  ASSERT_TRUE(old) << old.error().message();
  EXPECT_EQ(*old, "blob-f-v1");
  EXPECT_EQ(*this->store().FindRoomFile("f"), v2);
  EXPECT_EQ(*this->store().ListRoomSharedWith("bob-id"), std::vector<RoomFile>{v2});

  EXPECT_EQ(this->store().UpdateRoomFile(v2, audit).error(), errc::conflict) << "same version";
  RoomFile skip = v2;
  skip.version = 4;
  EXPECT_EQ(this->store().UpdateRoomFile(skip, audit).error(), errc::conflict);
  // A move is an update too; onto a taken name it is refused and nothing changes.
  RoomFile move = v2;
  move.version = 3;
  move.parent_id = "sub";
  move.name_hmac = "hmac-of-other";
  EXPECT_EQ(this->store().UpdateRoomFile(move, audit).error(), errc::already_exists);
  EXPECT_EQ(*this->store().FindRoomFile("f"), v2);
  move.name_hmac = "hmac-of-f";
  ASSERT_TRUE(this->store().UpdateRoomFile(move, audit));
  EXPECT_EQ(this->store().FindRoomFile("f")->parent_id, "sub");
  // Unsharing (a rekey) drops Bob's row with the new version.
  RoomFile v4 = MakeFile("f", "alice-id", "sub");
  v4.version = 4;
  ASSERT_TRUE(this->store().UpdateRoomFile(v4, audit));
  EXPECT_TRUE(this->store().ListRoomSharedWith("bob-id")->empty());
  // Nobody else's file, no file that is not there.
  RoomFile foreign = v4;
  foreign.version = 5;
  foreign.owner_id = "bob-id";
  foreign.recipients = {{"bob-id", "fp-bob-id"}};
  EXPECT_EQ(this->store().UpdateRoomFile(foreign, audit).error(), errc::invalid_argument)
      << "the owner never changes";
  EXPECT_EQ(this->store().FindRoomFile("f")->version, 4);
  RoomFile ghost = MakeFile("ghost", "alice-id", "root");
  ghost.version = 2;
  EXPECT_EQ(this->store().UpdateRoomFile(ghost, audit).error(), errc::not_found);
}

TYPED_TEST_P(MetadataStoreConformance, RoomFolderMovesRefuseCyclesRootsAndStaleRevisions) {
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("alice-id", "alice@example.com")));
  const auto audit = MakeAudit(kT0, "alice-id", "room.move");
  ASSERT_TRUE(this->store().CreateRoomFolder(MakeFolder("root", "alice-id"), audit));
  ASSERT_TRUE(this->store().CreateRoomFolder(MakeFolder("a", "alice-id", "root"), audit));
  ASSERT_TRUE(this->store().CreateRoomFolder(MakeFolder("b", "alice-id", "a"), audit));
  ASSERT_TRUE(this->store().CreateRoomFolder(MakeFolder("c", "alice-id", "root"), audit));
  RoomFolder a = MakeFolder("a", "alice-id", "b");  // Into its own child.
  a.revision = 2;
  EXPECT_EQ(this->store().UpdateRoomFolder(a, audit).error(), errc::invalid_argument);
  a.parent_id = "a";  // Into itself.
  EXPECT_EQ(this->store().UpdateRoomFolder(a, audit).error(), errc::invalid_argument);
  a.parent_id = "c";
  a.revision = 3;
  EXPECT_EQ(this->store().UpdateRoomFolder(a, audit).error(), errc::conflict);
  a.revision = 2;
  ASSERT_TRUE(this->store().UpdateRoomFolder(a, audit));
  EXPECT_EQ(*this->store().FindRoomFolder("a"), a);
  EXPECT_EQ(this->store().ListRoomFolder("c")->folders.size(), 1u);
  RoomFolder root = MakeFolder("root", "alice-id", "c");
  root.revision = 2;
  EXPECT_EQ(this->store().UpdateRoomFolder(root, audit).error(), errc::invalid_argument);
  RoomFolder unnamed = a;
  unnamed.revision = 3;
  unnamed.parent_id.reset();
  unnamed.name_hmac.reset();
  EXPECT_EQ(this->store().UpdateRoomFolder(unnamed, audit).error(), errc::invalid_argument)
      << "moving to no parent would make a second root";
}

TYPED_TEST_P(MetadataStoreConformance, RoomDeletesArePermanentAndFoldersMustBeEmpty) {
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("alice-id", "alice@example.com")));
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("bob-id", "bob@example.com")));
  const auto audit = MakeAudit(kT0, "alice-id", "room.delete");
  ASSERT_TRUE(this->store().CreateRoomFolder(MakeFolder("root", "alice-id"), audit));
  ASSERT_TRUE(this->store().CreateRoomFolder(MakeFolder("sub", "alice-id", "root"), audit));
  ASSERT_TRUE(
      this->store().CreateRoomFile(MakeFile("f", "alice-id", "sub", {"bob-id"}), audit));
  EXPECT_EQ(this->store().DeleteRoomFolder("sub", audit).error(), errc::conflict);
  auto blob = this->store().DeleteRoomFile("f", audit);
  ASSERT_TRUE(blob);
  EXPECT_EQ(*blob, "blob-f-v1");
  EXPECT_EQ(this->store().FindRoomFile("f").error(), errc::not_found);
  EXPECT_TRUE(this->store().ListRoomSharedWith("bob-id")->empty()) << "recipients went too";
  EXPECT_TRUE(this->store().ReferencedBlobIds()->empty());
  EXPECT_EQ(this->store().DeleteRoomFile("f", audit).error(), errc::not_found);
  ASSERT_TRUE(this->store().DeleteRoomFolder("sub", audit));
  EXPECT_EQ(this->store().FindRoomFolder("sub").error(), errc::not_found);
  EXPECT_EQ(this->store().DeleteRoomFolder("sub", audit).error(), errc::not_found);
  // The name is free again.
  ASSERT_TRUE(this->store().CreateRoomFolder(MakeFolder("sub", "alice-id", "root"), audit));
  const auto events = this->Audit();
  EXPECT_EQ(std::count_if(events.begin(), events.end(),
                          [](const AuditEvent& e) { return e.action == "room.delete"; }),
            6);  // 4 creations and 2 deletes (the refused ones wrote nothing).
}

TYPED_TEST_P(MetadataStoreConformance, RoomUploadsRoundTripAndExpire) {
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("alice-id", "alice@example.com")));
  const RoomUpload first{.id = "u1", .owner_id = "alice-id", .file_id = "f1", .base_version = 0,
                         .size = 1234, .created_at = kT0, .expires_at = kT0 + 1000};
  RoomUpload second = first;
  second.id = "u2";
  second.base_version = 3;
  second.expires_at = kT0 + 500;
  ASSERT_TRUE(this->store().CreateRoomUpload(first));
  ASSERT_TRUE(this->store().CreateRoomUpload(second));
  EXPECT_EQ(this->store().CreateRoomUpload(first).error(), errc::already_exists);
  RoomUpload orphan = first;
  orphan.id = "u3";
  orphan.owner_id = "nobody";
  EXPECT_FALSE(this->store().CreateRoomUpload(orphan)) << "the owner must exist";
  EXPECT_EQ(*this->store().FindRoomUpload("u1"), first);
  EXPECT_EQ(this->store().FindRoomUpload("nope").error(), errc::not_found);
  // Expired strictly before `now`, oldest first, bounded.
  EXPECT_TRUE(this->store().ListExpiredRoomUploads(kT0 + 500, 10)->empty());
  EXPECT_EQ(*this->store().ListExpiredRoomUploads(kT0 + 501, 10), std::vector<RoomUpload>{second});
  EXPECT_EQ(*this->store().ListExpiredRoomUploads(kT0 + 5000, 10),
            (std::vector<RoomUpload>{second, first}));
  EXPECT_EQ(this->store().ListExpiredRoomUploads(kT0 + 5000, 1)->size(), 1u);
  EXPECT_EQ(this->store().ListExpiredRoomUploads(kT0, 0).error(), errc::invalid_argument);
  ASSERT_TRUE(this->store().DeleteRoomUpload("u2"));
  ASSERT_TRUE(this->store().DeleteRoomUpload("u2"));  // Silently, when already gone.
  EXPECT_EQ(this->store().FindRoomUpload("u2").error(), errc::not_found);
  EXPECT_EQ(*this->store().ListExpiredRoomUploads(kT0 + 5000, 10), std::vector<RoomUpload>{first});
}

TYPED_TEST_P(MetadataStoreConformance, ReferencedBlobIdsIsEmptyWithoutDocuments) {
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("alice-id", "alice@example.com")));
  ASSERT_NO_FATAL_FAILURE(this->CreateSession(MakeSession("s1", "alice-id")));
  auto ids = this->store().ReferencedBlobIds();
  ASSERT_TRUE(ids) << ids.error().message();
  EXPECT_TRUE(ids->empty());
}

TYPED_TEST_P(MetadataStoreConformance, PingAndCheckIntegrityReportHealthy) {
  EXPECT_TRUE(this->store().Ping());
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("alice-id", "alice@example.com")));
  ASSERT_NO_FATAL_FAILURE(this->CreateSession(MakeSession("s1", "alice-id")));
  ASSERT_NO_FATAL_FAILURE(this->AppendAudit(MakeAudit(kT0, "system", "a.b")));
  auto problems = this->store().CheckIntegrity();
  ASSERT_TRUE(problems) << problems.error().message();
  EXPECT_TRUE(problems->empty()) << problems->front();
  EXPECT_TRUE(this->store().Ping());
}

// --- two-factor authentication ------------------------------------------------------------------

TYPED_TEST_P(MetadataStoreConformance, TotpIsPendingUntilConfirmedAndUsersShowItOnlyThen) {
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("alice-id", "alice@example.com")));
  ASSERT_NO_FATAL_FAILURE(this->CreateSession(MakeSession("s1", "alice-id")));
  const auto enabled = [&] {
    const bool by_id = this->store().FindUserById("alice-id")->totp_enabled;
    EXPECT_EQ(this->store().FindUserByEmail("alice@example.com")->totp_enabled, by_id);
    EXPECT_EQ(this->store().FindSessionWithUser("digest-of-s1", kT0)->user.totp_enabled, by_id);
    return by_id;
  };
  EXPECT_EQ(this->store().FindTotp("alice-id").error(), errc::not_found);
  EXPECT_FALSE(enabled());

  const TotpRecord pending = MakeTotp("alice-id");
  ASSERT_TRUE(this->store().BeginTotp(pending, MakeAudit(kT0, "alice-id", "2fa.enrol")));
  auto found = this->store().FindTotp("alice-id");
  ASSERT_TRUE(found) << found.error().message();
  EXPECT_EQ(*found, pending);
  EXPECT_FALSE(enabled()) << "a pending enrolment does not count";

  ASSERT_TRUE(
      this->store().ConfirmTotp(MakeTotpConfirmation("alice-id", 56'666'666, {"d1", "d2", "d3"})));
  found = this->store().FindTotp("alice-id");
  ASSERT_TRUE(found);
  TotpRecord confirmed = pending;
  confirmed.confirmed = true;
  confirmed.confirmed_at = kT0 + 1000;
  confirmed.last_step = 56'666'666;
  confirmed.recovery_codes_left = 3;
  EXPECT_EQ(*found, confirmed);
  EXPECT_TRUE(enabled());

  std::vector<std::string> actions;
  for (const auto& e : this->Audit()) actions.push_back(e.action);
  EXPECT_EQ(actions[0], "2fa.enable");
  EXPECT_EQ(actions[1], "2fa.enrol");
}

TYPED_TEST_P(MetadataStoreConformance, BeginTotpReplacesAPendingEnrolmentButNeverAConfirmedOne) {
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("alice-id", "alice@example.com")));
  const AuditEvent audit = MakeAudit(kT0, "alice-id", "2fa.enrol");
  ASSERT_TRUE(this->store().BeginTotp(MakeTotp("alice-id"), audit));
  TotpRecord second = MakeTotp("alice-id", kT0 + 5);
  second.secret[1] = 0x42;
  ASSERT_TRUE(this->store().BeginTotp(second, audit));
  EXPECT_EQ(*this->store().FindTotp("alice-id"), second);

  ASSERT_TRUE(this->store().ConfirmTotp(MakeTotpConfirmation("alice-id", 7, {"d1"})));
  const TotpRecord confirmed = *this->store().FindTotp("alice-id");
  const std::size_t audit_before = this->Audit().size();
  EXPECT_EQ(this->store().BeginTotp(MakeTotp("alice-id"), audit).error(), errc::already_exists);
  EXPECT_EQ(*this->store().FindTotp("alice-id"), confirmed) << "a refused begin changes nothing";

  EXPECT_EQ(this->store().BeginTotp(MakeTotp("nobody"), audit).error(), errc::not_found);
  TotpRecord bad = MakeTotp("alice-id");
  bad.confirmed = true;
  EXPECT_EQ(this->store().BeginTotp(bad, audit).error(), errc::invalid_argument);
  bad = MakeTotp("alice-id");
  bad.last_step = 3;
  EXPECT_EQ(this->store().BeginTotp(bad, audit).error(), errc::invalid_argument);
  bad = MakeTotp("alice-id");
  bad.secret.clear();
  EXPECT_EQ(this->store().BeginTotp(bad, audit).error(), errc::invalid_argument);
  EXPECT_EQ(
      this->store().BeginTotp(MakeTotp("alice-id"), MakeAudit(kT0, "a", "b", "", "meh")).error(),
      errc::invalid_argument);
  EXPECT_EQ(this->Audit().size(), audit_before) << "refused begins write no audit entry";
}

TYPED_TEST_P(MetadataStoreConformance, ConfirmTotpNeedsAPendingEnrolmentAndChangesAllOrNothing) {
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("alice-id", "alice@example.com")));
  EXPECT_EQ(this->store().ConfirmTotp(MakeTotpConfirmation("alice-id", 7, {"d1"})).error(),
            errc::not_found);
  ASSERT_TRUE(
      this->store().BeginTotp(MakeTotp("alice-id"), MakeAudit(kT0, "alice-id", "2fa.enrol")));
  const std::size_t audit_before = this->Audit().size();
  EXPECT_EQ(this->store().ConfirmTotp(MakeTotpConfirmation("alice-id", 7, {})).error(),
            errc::invalid_argument);
  EXPECT_EQ(this->store().ConfirmTotp(MakeTotpConfirmation("alice-id", -1, {"d1"})).error(),
            errc::invalid_argument);
  EXPECT_EQ(this->store().ConfirmTotp(MakeTotpConfirmation("alice-id", 7, {"d1", ""})).error(),
            errc::invalid_argument);
  // A duplicate digest fails inside the transaction: the enrolment stays pending.
  EXPECT_FALSE(this->store().ConfirmTotp(MakeTotpConfirmation("alice-id", 7, {"d1", "d1"})));
  EXPECT_EQ(*this->store().FindTotp("alice-id"), MakeTotp("alice-id"));
  EXPECT_FALSE(this->store().FindUserById("alice-id")->totp_enabled);
  EXPECT_EQ(this->Audit().size(), audit_before);

  ASSERT_TRUE(this->store().ConfirmTotp(MakeTotpConfirmation("alice-id", 7, {"d1", "d2"})));
  EXPECT_EQ(this->store().ConfirmTotp(MakeTotpConfirmation("alice-id", 9, {"d3"})).error(),
            errc::conflict);
  const TotpRecord after = *this->store().FindTotp("alice-id");
  EXPECT_EQ(after.last_step, 7);
  EXPECT_EQ(after.recovery_codes_left, 2);
  EXPECT_EQ(this->Audit().size(), audit_before + 1);
}

TYPED_TEST_P(MetadataStoreConformance, AcceptTotpStepRefusesEveryStepAtOrBelowTheLastOne) {
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("alice-id", "alice@example.com")));
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("bob-id", "bob@example.com")));
  const AuditEvent audit = MakeAudit(kT0, "x", "2fa.enrol");
  EXPECT_EQ(this->store().AcceptTotpStep("alice-id", 5).error(), errc::not_found);
  ASSERT_TRUE(this->store().BeginTotp(MakeTotp("alice-id"), audit));
  EXPECT_EQ(this->store().AcceptTotpStep("alice-id", 5).error(), errc::not_found)
      << "a pending enrolment accepts no code";
  ASSERT_TRUE(this->store().ConfirmTotp(MakeTotpConfirmation("alice-id", 100, {"d1"})));
  ASSERT_TRUE(this->store().BeginTotp(MakeTotp("bob-id"), audit));
  ASSERT_TRUE(this->store().ConfirmTotp(MakeTotpConfirmation("bob-id", 100, {"d1"})));

  EXPECT_FALSE(*this->store().AcceptTotpStep("alice-id", 100)) << "the confirming code's step";
  EXPECT_FALSE(*this->store().AcceptTotpStep("alice-id", 99));
  EXPECT_TRUE(*this->store().AcceptTotpStep("alice-id", 101));
  EXPECT_FALSE(*this->store().AcceptTotpStep("alice-id", 101)) << "a replay";
  EXPECT_FALSE(*this->store().AcceptTotpStep("alice-id", 100));
  EXPECT_TRUE(*this->store().AcceptTotpStep("alice-id", 103));
  EXPECT_EQ(this->store().FindTotp("alice-id")->last_step, 103);
  EXPECT_TRUE(*this->store().AcceptTotpStep("bob-id", 101)) << "steps are per user";
  EXPECT_EQ(this->store().FindTotp("bob-id")->last_step, 101);
  EXPECT_EQ(this->store().AcceptTotpStep("nobody", 500).error(), errc::not_found);
}

TYPED_TEST_P(MetadataStoreConformance, AcceptTotpStepHasExactlyOneWinnerUnderRace) {
  constexpr int kThreads = 8;
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("alice-id", "alice@example.com")));
  ASSERT_TRUE(this->store().BeginTotp(MakeTotp("alice-id"), MakeAudit(kT0, "x", "2fa.enrol")));
  ASSERT_TRUE(this->store().ConfirmTotp(MakeTotpConfirmation("alice-id", 10, {"d1"})));
  for (int round = 0; round < 5; ++round) {
    const std::int64_t step = 11 + round;
    Gate gate(kThreads);
    std::atomic<int> accepted{0}, errors{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        gate.Arrive();
        auto r = this->store().AcceptTotpStep("alice-id", step);
        if (!r) {
          ++errors;
        } else if (*r) {
          ++accepted;
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(errors.load(), 0);
    EXPECT_EQ(accepted.load(), 1) << "round " << round;
  }
}

TYPED_TEST_P(MetadataStoreConformance, RecoveryCodesWorkOnceEachAndAreReplacedWhole) {
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("alice-id", "alice@example.com")));
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("bob-id", "bob@example.com")));
  const AuditEvent audit = MakeAudit(kT0, "alice-id", "2fa.recovery_codes", "alice-id");
  EXPECT_EQ(this->store().ReplaceTotpRecoveryCodes("alice-id", {"n1"}, audit).error(),
            errc::not_found);
  ASSERT_TRUE(this->store().BeginTotp(MakeTotp("alice-id"), MakeAudit(kT0, "x", "2fa.enrol")));
  EXPECT_EQ(this->store().ReplaceTotpRecoveryCodes("alice-id", {"n1"}, audit).error(),
            errc::not_found)
      << "a pending enrolment has no recovery codes";
  EXPECT_FALSE(*this->store().UseTotpRecoveryCode("alice-id", "d1", kT0));
  ASSERT_TRUE(this->store().ConfirmTotp(MakeTotpConfirmation("alice-id", 10, {"d1", "d2", "d3"})));
  ASSERT_TRUE(this->store().BeginTotp(MakeTotp("bob-id"), MakeAudit(kT0, "x", "2fa.enrol")));
  ASSERT_TRUE(this->store().ConfirmTotp(MakeTotpConfirmation("bob-id", 10, {"b1"})));

  EXPECT_TRUE(*this->store().UseTotpRecoveryCode("alice-id", "d2", kT0 + 1));
  EXPECT_FALSE(*this->store().UseTotpRecoveryCode("alice-id", "d2", kT0 + 2)) << "single use";
  EXPECT_FALSE(*this->store().UseTotpRecoveryCode("alice-id", "zz", kT0 + 2));
  EXPECT_FALSE(*this->store().UseTotpRecoveryCode("alice-id", "b1", kT0 + 2)) << "bob's code";
  EXPECT_FALSE(*this->store().UseTotpRecoveryCode("nobody", "d1", kT0 + 2));
  EXPECT_EQ(this->store().FindTotp("alice-id")->recovery_codes_left, 2);

  const std::size_t audit_before = this->Audit().size();
  EXPECT_EQ(this->store().ReplaceTotpRecoveryCodes("alice-id", {}, audit).error(),
            errc::invalid_argument);
  ASSERT_TRUE(this->store().ReplaceTotpRecoveryCodes("alice-id", {"n1", "n2"}, audit));
  EXPECT_EQ(this->Audit().size(), audit_before + 1);
  EXPECT_EQ(this->store().FindTotp("alice-id")->recovery_codes_left, 2);
  EXPECT_FALSE(*this->store().UseTotpRecoveryCode("alice-id", "d1", kT0 + 3))
      << "replaced codes no longer work";
  EXPECT_TRUE(*this->store().UseTotpRecoveryCode("alice-id", "n1", kT0 + 3));
  EXPECT_EQ(this->store().FindTotp("alice-id")->recovery_codes_left, 1);
  EXPECT_TRUE(*this->store().UseTotpRecoveryCode("bob-id", "b1", kT0 + 3));
}

TYPED_TEST_P(MetadataStoreConformance, DeleteTotpRemovesTheEnrolmentAndItsRecoveryCodes) {
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("alice-id", "alice@example.com")));
  ASSERT_NO_FATAL_FAILURE(this->CreateSession(MakeSession("s1", "alice-id")));
  const AuditEvent audit = MakeAudit(kT0, "alice-id", "2fa.disable", "alice-id");
  EXPECT_EQ(this->store().DeleteTotp("alice-id", audit).error(), errc::not_found);
  ASSERT_TRUE(this->store().BeginTotp(MakeTotp("alice-id"), MakeAudit(kT0, "x", "2fa.enrol")));
  ASSERT_TRUE(this->store().ConfirmTotp(MakeTotpConfirmation("alice-id", 10, {"d1", "d2"})));
  ASSERT_TRUE(this->store().FindSessionWithUser("digest-of-s1", kT0)->user.totp_enabled);
  const std::size_t audit_before = this->Audit().size();
  ASSERT_TRUE(this->store().DeleteTotp("alice-id", audit));
  EXPECT_EQ(this->Audit().size(), audit_before + 1);
  EXPECT_EQ(this->store().FindTotp("alice-id").error(), errc::not_found);
  EXPECT_FALSE(this->store().FindSessionWithUser("digest-of-s1", kT0)->user.totp_enabled);
  EXPECT_FALSE(*this->store().UseTotpRecoveryCode("alice-id", "d1", kT0));
  EXPECT_EQ(this->store().DeleteTotp("alice-id", audit).error(), errc::not_found);
  // A pending enrolment can be deleted too, and enrolment can start over.
  ASSERT_TRUE(this->store().BeginTotp(MakeTotp("alice-id"), MakeAudit(kT0, "x", "2fa.enrol")));
  ASSERT_TRUE(this->store().DeleteTotp("alice-id", audit));
  ASSERT_TRUE(this->store().BeginTotp(MakeTotp("alice-id"), MakeAudit(kT0, "x", "2fa.enrol")));
  auto problems = this->store().CheckIntegrity();
  ASSERT_TRUE(problems);
  EXPECT_TRUE(problems->empty());
}

// --- administration: accounts --------------------------------------------------------------------

// What an administrator's listing shows of `user`: everything but credentials and bundles.
inline UserSummary SummaryOf(const UserRecord& user, std::vector<std::string> groups = {}) {
  return UserSummary{user.id,         user.email,     user.display_name,
                     user.role,       user.active,    user.created_at,
                     user.updated_at, std::move(groups), user.totp_enabled};
}

inline AccessChange MakeAccessChange(const std::string& user_id, Role expected, TimeMs now,
                                     const std::string& action) {
  AccessChange c;
  c.user_id = user_id;
  c.expected_role = expected;
  c.now = now;
  c.audit = MakeAudit(now, "admin-id", action, user_id);
  return c;
}

TYPED_TEST_P(MetadataStoreConformance, ListUsersPagesByEmailWithoutCredentials) {
  const UserRecord carol = MakeUser("c-id", "carol@example.com", kT0 + 1);
  UserRecord alice = MakeUser("z-id", "alice@example.com", kT0 + 2);  // Ids sort otherwise.
  alice.role = Role::owner;
  const UserRecord bob = MakeUser("b-id", "bob@example.com", kT0 + 3);
  for (const auto& u : {carol, alice, bob}) ASSERT_NO_FATAL_FAILURE(this->Register(u));

  auto all = this->store().ListUsers({"", 1000});
  ASSERT_TRUE(all) << all.error().message();
  EXPECT_EQ(*all, (std::vector<UserSummary>{SummaryOf(alice), SummaryOf(bob), SummaryOf(carol)}));
  // Pages: after the last email of the previous one, `after` itself excluded.
  EXPECT_EQ(*this->store().ListUsers({"", 2}),
            (std::vector<UserSummary>{SummaryOf(alice), SummaryOf(bob)}));
  EXPECT_EQ(*this->store().ListUsers({"bob@example.com", 2}),
            (std::vector<UserSummary>{SummaryOf(carol)}));
  EXPECT_TRUE(this->store().ListUsers({"carol@example.com", 2})->empty());
  EXPECT_EQ(*this->store().ListUsers({"b", 1}), (std::vector<UserSummary>{SummaryOf(bob)}))
      << "`after` need not be an existing email";
  EXPECT_EQ(this->store().ListUsers({"", 0}).error(), errc::invalid_argument);
  EXPECT_EQ(this->store().ListUsers({"", 1001}).error(), errc::invalid_argument);
  EXPECT_TRUE(this->store().ListUserGroups("b-id")->empty());
  EXPECT_TRUE(this->store().ListUserGroups("ghost")->empty());
}

TYPED_TEST_P(MetadataStoreConformance, DeactivationRevokesEverySessionAndReactivationNone) {
  const UserRecord alice = MakeUser("alice-id", "alice@example.com");
  ASSERT_NO_FATAL_FAILURE(this->Register(alice));
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("bob-id", "bob@example.com")));
  for (const char* id : {"a1", "a2", "a3"}) {
    ASSERT_NO_FATAL_FAILURE(this->CreateSession(MakeSession(id, "alice-id")));
  }
  ASSERT_NO_FATAL_FAILURE(this->CreateSession(MakeSession("b1", "bob-id")));
  const UserRecord bob = *this->store().FindUserById("bob-id");

  AccessChange off = MakeAccessChange("alice-id", Role::user, kT0 + 10, "user.deactivate");
  off.active = false;  // revoke_sessions is false: deactivation revokes anyway.
  auto removed = this->store().ChangeUserAccess(off);
  ASSERT_TRUE(removed) << removed.error().message();
  EXPECT_EQ(*removed, 3);
  UserRecord expected = alice;
  expected.active = false;
  expected.updated_at = kT0 + 10;
  EXPECT_EQ(*this->store().FindUserById("alice-id"), expected);
  EXPECT_TRUE(this->SessionIds("alice-id").empty());
  EXPECT_EQ(this->store().FindSessionWithUser("digest-of-a1", kT0).error(), errc::not_found);
  EXPECT_EQ(this->SessionIds("bob-id"), std::vector<std::string>{"b1"});
  EXPECT_EQ(*this->store().FindUserById("bob-id"), bob);
  auto audit = this->Audit();
  ASSERT_EQ(audit.size(), 3u);
  EXPECT_EQ(audit[0], WithId(off.audit, audit[0].id));
  EXPECT_EQ(this->store().ListUsers({"", 10})->front(), SummaryOf(expected));

  // Deactivating again changes nothing (updated_at stays) but is still recorded.
  off.now = kT0 + 20;
  EXPECT_EQ(*this->store().ChangeUserAccess(off), 0);
  EXPECT_EQ(this->store().FindUserById("alice-id")->updated_at, kT0 + 10);
  EXPECT_EQ(this->Audit().size(), 4u);

  // Reactivation brings back the account, not the sessions.
  AccessChange on = MakeAccessChange("alice-id", Role::user, kT0 + 30, "user.reactivate");
  on.active = true;
  EXPECT_EQ(*this->store().ChangeUserAccess(on), 0);
  expected.active = true;
  expected.updated_at = kT0 + 30;
  EXPECT_EQ(*this->store().FindUserById("alice-id"), expected);
  EXPECT_TRUE(this->SessionIds("alice-id").empty());

  // Revoking sessions alone leaves the account as it is.
  ASSERT_NO_FATAL_FAILURE(this->CreateSession(MakeSession("a4", "alice-id")));
  ASSERT_NO_FATAL_FAILURE(this->CreateSession(MakeSession("a5", "alice-id")));
  AccessChange revoke = MakeAccessChange("alice-id", Role::user, kT0 + 40, "user.sessions_revoke");
  revoke.revoke_sessions = true;
  EXPECT_EQ(*this->store().ChangeUserAccess(revoke), 2);
  EXPECT_TRUE(this->SessionIds("alice-id").empty());
  EXPECT_EQ(*this->store().FindUserById("alice-id"), expected);
  EXPECT_EQ(this->SessionIds("bob-id"), std::vector<std::string>{"b1"});
  audit = this->Audit();
  ASSERT_EQ(audit.size(), 6u);
  EXPECT_EQ(audit[0], WithId(revoke.audit, audit[0].id));
  EXPECT_EQ(audit[1], WithId(on.audit, audit[1].id));
}

TYPED_TEST_P(MetadataStoreConformance, RolesChangeBetweenAdminAndUserButNeverTheOwners) {
  UserRecord owner = MakeUser("owner-id", "owner@example.com");
  owner.role = Role::owner;
  ASSERT_NO_FATAL_FAILURE(this->Register(owner));
  const UserRecord alice = MakeUser("alice-id", "alice@example.com");
  ASSERT_NO_FATAL_FAILURE(this->Register(alice));
  ASSERT_NO_FATAL_FAILURE(this->CreateSession(MakeSession("o1", "owner-id")));
  ASSERT_NO_FATAL_FAILURE(this->CreateSession(MakeSession("a1", "alice-id")));

  AccessChange promote = MakeAccessChange("alice-id", Role::user, kT0 + 1, "user.role");
  promote.role = Role::admin;
  EXPECT_EQ(*this->store().ChangeUserAccess(promote), 0);
  EXPECT_EQ(this->store().FindUserById("alice-id")->role, Role::admin);
  EXPECT_EQ(this->store().FindUserById("alice-id")->updated_at, kT0 + 1);
  EXPECT_EQ(this->SessionIds("alice-id"), std::vector<std::string>{"a1"})
      << "a role change keeps the sessions (they see the new role at once)";
  EXPECT_EQ(this->store().FindSessionWithUser("digest-of-a1", kT0)->user.role, Role::admin);

  const auto audit_before = this->Audit().size();
  const auto refused = [&](const AccessChange& change, errc expected, const char* what) {
    auto r = this->store().ChangeUserAccess(change);
    ASSERT_FALSE(r) << what;
    EXPECT_EQ(r.error(), expected) << what;
  };
  // The permission check saw a user, the account is an admin by now.
  refused(promote, errc::conflict, "stale expected role");
  AccessChange owner_role = MakeAccessChange("alice-id", Role::admin, kT0 + 2, "user.role");
  owner_role.role = Role::owner;
  refused(owner_role, errc::invalid_argument, "nobody becomes owner by assignment");
  owner_role.role = static_cast<Role>(7);
  refused(owner_role, errc::invalid_argument, "a role outside the enum");
  AccessChange bad_expected = MakeAccessChange("alice-id", static_cast<Role>(-1), kT0, "user.role");
  refused(bad_expected, errc::invalid_argument, "an expected role outside the enum");
  AccessChange demote_owner = MakeAccessChange("owner-id", Role::owner, kT0 + 3, "user.role");
  demote_owner.role = Role::admin;
  refused(demote_owner, errc::conflict, "the owner demoted");
  AccessChange owner_off = MakeAccessChange("owner-id", Role::owner, kT0 + 3, "user.deactivate");
  owner_off.active = false;
  refused(owner_off, errc::conflict, "the owner deactivated");
  AccessChange ghost = MakeAccessChange("ghost", Role::user, kT0 + 3, "user.role");
  ghost.role = Role::admin;
  refused(ghost, errc::not_found, "no such user");
  AccessChange bad_audit = MakeAccessChange("alice-id", Role::admin, kT0 + 3, "user.role");
  bad_audit.role = Role::user;
  bad_audit.revoke_sessions = true;
  bad_audit.audit.result = "bogus";
  refused(bad_audit, errc::invalid_argument, "an audit event that cannot be written");
  // None of the refusals changed anything or left an entry.
  EXPECT_EQ(this->store().FindUserById("alice-id")->role, Role::admin);
  EXPECT_EQ(this->SessionIds("alice-id"), std::vector<std::string>{"a1"});
  EXPECT_EQ(*this->store().FindUserById("owner-id"), owner);
  EXPECT_EQ(this->SessionIds("owner-id"), std::vector<std::string>{"o1"});
  EXPECT_EQ(this->Audit().size(), audit_before);

  // The owner's sessions may go (the owner signing out everywhere); the owner stays.
  AccessChange owner_revoke =
      MakeAccessChange("owner-id", Role::owner, kT0 + 4, "user.sessions_revoke");
  owner_revoke.revoke_sessions = true;
  EXPECT_EQ(*this->store().ChangeUserAccess(owner_revoke), 1);
  EXPECT_EQ(*this->store().FindUserById("owner-id"), owner);

  AccessChange demote = MakeAccessChange("alice-id", Role::admin, kT0 + 5, "user.role");
  demote.role = Role::user;
  EXPECT_EQ(*this->store().ChangeUserAccess(demote), 0);
  EXPECT_EQ(this->store().FindUserById("alice-id")->role, Role::user);
}

// For stores that keep answers around (a session cache): a role change, a deactivation and
// revoking a user's sessions are visible to the very next read of a session already read.
TYPED_TEST_P(MetadataStoreConformance, FindSessionWithUserSeesAccessChangesAtOnce) {
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("alice-id", "alice@example.com")));
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("bob-id", "bob@example.com")));
  for (const char* id : {"a1", "a2"}) {
    ASSERT_NO_FATAL_FAILURE(this->CreateSession(MakeSession(id, "alice-id")));
  }
  ASSERT_NO_FATAL_FAILURE(this->CreateSession(MakeSession("b1", "bob-id")));
  const auto read = [&](const char* digest) {
    return this->store().FindSessionWithUser(digest, kT0);
  };
  for (const char* d : {"digest-of-a1", "digest-of-a2", "digest-of-b1"}) ASSERT_TRUE(read(d)) << d;

  AccessChange promote = MakeAccessChange("alice-id", Role::user, kT0 + 1, "user.role");
  promote.role = Role::admin;
  ASSERT_TRUE(this->store().ChangeUserAccess(promote));
  ASSERT_TRUE(read("digest-of-a1"));
  EXPECT_EQ(read("digest-of-a1")->user.role, Role::admin);

  AccessChange revoke = MakeAccessChange("bob-id", Role::user, kT0 + 2, "user.sessions_revoke");
  revoke.revoke_sessions = true;
  ASSERT_TRUE(this->store().ChangeUserAccess(revoke));
  EXPECT_EQ(read("digest-of-b1").error(), errc::not_found);

  ASSERT_TRUE(read("digest-of-a2"));
  AccessChange off = MakeAccessChange("alice-id", Role::admin, kT0 + 3, "user.deactivate");
  off.active = false;
  ASSERT_TRUE(this->store().ChangeUserAccess(off));
  EXPECT_EQ(read("digest-of-a1").error(), errc::not_found);
  EXPECT_EQ(read("digest-of-a2").error(), errc::not_found);
}

TYPED_TEST_P(MetadataStoreConformance, ConcurrentAccessChangesOnOneExpectedRoleHaveOneWinner) {
  for (int round = 0; round < 5; ++round) {
    const std::string id = "u" + std::to_string(round);
    ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser(id, id + "@example.com")));
    constexpr int kThreads = 4;
    Gate gate(kThreads);
    std::atomic<int> won{0}, conflicts{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        AccessChange c = MakeAccessChange(id, Role::user, kT0 + t, "user.role");
        c.role = Role::admin;
        gate.Arrive();
        auto r = this->store().ChangeUserAccess(c);
        if (r)
          ++won;
        else if (r.error() == errc::conflict)
          ++conflicts;
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(won.load(), 1) << round;
    EXPECT_EQ(conflicts.load(), kThreads - 1) << round;
  }
}

// --- administration: groups ----------------------------------------------------------------------

TYPED_TEST_P(MetadataStoreConformance, GroupNamesAreUniqueRegardlessOfCaseAndListedInOrder) {
  const GroupRecord sales{"Sales", "admin-id", kT0, 0};
  const auto audit = MakeAudit(kT0, "admin-id", "group.create");
  ASSERT_TRUE(this->store().CreateGroup(sales, audit));
  EXPECT_EQ(this->store().CreateGroup({"sales", "x", kT0 + 1, 0}, audit).error(),
            errc::already_exists);
  EXPECT_EQ(this->store().CreateGroup({"SALES", "x", kT0 + 1, 0}, audit).error(),
            errc::already_exists);
  ASSERT_TRUE(this->store().CreateGroup({"engineering", "owner-id", kT0 + 2, 0}, audit));
  ASSERT_TRUE(this->store().CreateGroup({"Zoë's team", "owner-id", kT0 + 3, 0}, audit));
  ASSERT_TRUE(this->store().CreateGroup({"legal", "owner-id", kT0 + 4, 0}, audit));
  EXPECT_EQ(this->store().CreateGroup({"", "x", kT0, 0}, audit).error(), errc::invalid_argument);
  EXPECT_EQ(this->store().CreateGroup({std::string(257, 'g'), "x", kT0, 0}, audit).error(),
            errc::invalid_argument);
  ASSERT_TRUE(this->store().CreateGroup({std::string(256, 'g'), "x", kT0, 0}, audit));
  auto bad_audit = audit;
  bad_audit.result = "bogus";
  EXPECT_EQ(this->store().CreateGroup({"other", "x", kT0, 0}, bad_audit).error(),
            errc::invalid_argument);
  EXPECT_EQ(this->store().FindGroup("other").error(), errc::not_found);
  EXPECT_EQ(this->Audit().size(), 5u) << "one entry per group made, none for the refusals";

  EXPECT_EQ(*this->store().FindGroup("sales"), sales) << "found regardless of case";
  EXPECT_EQ(*this->store().FindGroup("Sales"), sales);
  EXPECT_EQ(this->store().FindGroup("Sale").error(), errc::not_found);
  std::vector<std::string> names;
  for (const auto& g : *this->store().ListGroups({"", 1000})) names.push_back(g.name);
  EXPECT_EQ(names, (std::vector<std::string>{"engineering", std::string(256, 'g'), "legal", "Sales",
                                             "Zoë's team"}))
      << "sorted regardless of ASCII case";
  auto page = this->store().ListGroups({"LEGAL", 2});
  ASSERT_TRUE(page);
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0], sales);
  EXPECT_EQ((*page)[1].name, "Zoë's team");
  EXPECT_EQ(this->store().ListGroups({"", 0}).error(), errc::invalid_argument);
  EXPECT_EQ(this->store().ListGroups({"", 1001}).error(), errc::invalid_argument);
}

TYPED_TEST_P(MetadataStoreConformance, UserSummariesShowTwoFactorOnlyOnceConfirmed) {
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("alice-id", "alice@example.com")));
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("bob-id", "bob@example.com")));
  ASSERT_TRUE(this->store().CreateGroup({"Sales", "admin-id", kT0, 0},
                                        MakeAudit(kT0, "admin-id", "group.create")));
  for (const char* id : {"alice-id", "bob-id"}) {
    ASSERT_TRUE(this->store().AddGroupMember("Sales", id, MakeAudit(kT0, "admin-id", "group.add")));
  }
  // Alice's state as every listing shows it; Bob never enrols.
  const auto alice_two_factor = [&] {
    const auto users = this->store().ListUsers({});
    const auto members = this->store().ListGroupMembers("Sales", {});
    EXPECT_TRUE(users && users->size() == 2 && members && members->size() == 2);
    if (!users || users->size() != 2 || !members || members->size() != 2) return false;
    EXPECT_FALSE((*users)[1].two_factor) << "bob";
    EXPECT_FALSE((*members)[1].two_factor) << "bob";
    EXPECT_EQ((*members)[0].two_factor, (*users)[0].two_factor);
    return (*users)[0].two_factor;
  };
  EXPECT_FALSE(alice_two_factor());
  ASSERT_TRUE(
      this->store().BeginTotp(MakeTotp("alice-id"), MakeAudit(kT0, "alice-id", "2fa.enrol")));
  EXPECT_FALSE(alice_two_factor()) << "a pending enrolment is not two-factor sign-in";
  ASSERT_TRUE(this->store().ConfirmTotp(MakeTotpConfirmation("alice-id", 9, {"d1"})));
  EXPECT_TRUE(alice_two_factor());
  ASSERT_TRUE(this->store().DeleteTotp("alice-id", MakeAudit(kT0, "alice-id", "2fa.disable")));
  EXPECT_FALSE(alice_two_factor());
}

TYPED_TEST_P(MetadataStoreConformance, GroupMembersAreAddedRemovedCountedAndGoWithTheGroup) {
  const UserRecord alice = MakeUser("alice-id", "alice@example.com");
  const UserRecord bob = MakeUser("bob-id", "bob@example.com");
  const UserRecord carol = MakeUser("carol-id", "carol@example.com");
  for (const auto& u : {carol, bob, alice}) ASSERT_NO_FATAL_FAILURE(this->Register(u));
  const auto audit = MakeAudit(kT0, "admin-id", "group.add");
  ASSERT_TRUE(this->store().CreateGroup({"Sales", "admin-id", kT0, 0}, audit));
  ASSERT_TRUE(this->store().CreateGroup({"legal", "admin-id", kT0, 0}, audit));
  const std::size_t audit_before = this->Audit().size();

  ASSERT_TRUE(this->store().AddGroupMember("Sales", "carol-id", audit));
  ASSERT_TRUE(this->store().AddGroupMember("sales", "alice-id", audit));
  ASSERT_TRUE(this->store().AddGroupMember("legal", "alice-id", audit));
  EXPECT_EQ(this->store().AddGroupMember("SALES", "alice-id", audit).error(), errc::already_exists);
  EXPECT_EQ(this->store().AddGroupMember("Sales", "ghost", audit).error(), errc::not_found);
  EXPECT_EQ(this->store().AddGroupMember("nope", "bob-id", audit).error(), errc::not_found);
  auto bad_audit = audit;
  bad_audit.result = "bogus";
  EXPECT_EQ(this->store().AddGroupMember("Sales", "bob-id", bad_audit).error(),
            errc::invalid_argument);
  EXPECT_EQ(this->Audit().size(), audit_before + 3);

  EXPECT_EQ(this->store().FindGroup("Sales")->members, 2);
  EXPECT_EQ(this->store().FindGroup("legal")->members, 1);
  EXPECT_EQ(*this->store().ListUserGroups("alice-id"),
            (std::vector<std::string>{"legal", "Sales"}));
  EXPECT_TRUE(this->store().ListUserGroups("bob-id")->empty());
  auto members = this->store().ListGroupMembers("SALES", {"", 1000});
  ASSERT_TRUE(members) << members.error().message();
  EXPECT_EQ(*members, (std::vector<UserSummary>{SummaryOf(alice, {"legal", "Sales"}),
                                                SummaryOf(carol, {"Sales"})}))
      << "sorted by email, each with all of its groups";
  EXPECT_EQ(*this->store().ListGroupMembers("Sales", {"alice@example.com", 1}),
            std::vector<UserSummary>{SummaryOf(carol, {"Sales"})});
  EXPECT_EQ(this->store().ListGroupMembers("nope", {"", 10}).error(), errc::not_found);
  EXPECT_EQ(this->store().ListGroupMembers("Sales", {"", 0}).error(), errc::invalid_argument);
  EXPECT_EQ(*this->store().ListUsers({"", 10}),
            (std::vector<UserSummary>{SummaryOf(alice, {"legal", "Sales"}), SummaryOf(bob),
                                      SummaryOf(carol, {"Sales"})}));

  EXPECT_EQ(this->store().RemoveGroupMember("Sales", "bob-id", audit).error(), errc::not_found)
      << "not a member";
  EXPECT_EQ(this->store().RemoveGroupMember("nope", "alice-id", audit).error(), errc::not_found);
  ASSERT_TRUE(this->store().RemoveGroupMember("sales", "carol-id", audit));
  EXPECT_EQ(this->store().FindGroup("Sales")->members, 1);
  EXPECT_TRUE(this->store().ListUserGroups("carol-id")->empty());
  EXPECT_EQ(this->Audit().size(), audit_before + 4);

  ASSERT_TRUE(this->store().DeleteGroup("SALES", audit));
  EXPECT_EQ(this->store().FindGroup("Sales").error(), errc::not_found);
  EXPECT_EQ(*this->store().ListUserGroups("alice-id"), std::vector<std::string>{"legal"})
      << "the memberships went with the group";
  EXPECT_EQ(this->store().DeleteGroup("Sales", audit).error(), errc::not_found);
  EXPECT_EQ(this->store().DeleteGroup("legal", bad_audit).error(), errc::invalid_argument);
  EXPECT_EQ(this->store().FindGroup("legal")->members, 1);
  EXPECT_EQ(this->Audit().size(), audit_before + 5);
  EXPECT_EQ(this->Users(), 3) << "deleting a group never deletes users";
  // A new group of the old name starts empty.
  ASSERT_TRUE(this->store().CreateGroup({"Sales", "admin-id", kT0 + 9, 0}, audit));
  EXPECT_EQ(this->store().FindGroup("Sales")->members, 0);
  EXPECT_TRUE(this->store().ListGroupMembers("Sales", {"", 10})->empty());
  auto problems = this->store().CheckIntegrity();
  ASSERT_TRUE(problems);
  EXPECT_TRUE(problems->empty());
}

// --- concurrency -------------------------------------------------------------------------------

TYPED_TEST_P(MetadataStoreConformance, ConcurrentSessionsAndAuditAllSucceed) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 200;
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("alice-id", "alice@example.com")));
  const std::size_t audit_before = this->Audit().size();
  Gate gate(kThreads);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      gate.Arrive();
      for (int i = 0; i < kPerThread; ++i) {
        const std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
        const SessionRecord s = MakeSession(id, "alice-id", kT0 + i, kT0 + kHour);
        if (!this->store().CreateSession(s)) ++failures;
        auto found = this->store().FindSession(s.token_digest, kT0 + i);
        if (!found || !(*found == s)) ++failures;
        if (!this->store().TouchSession(id, kT0 + i + 1)) ++failures;
        if (!this->store().AppendAudit(
                MakeAudit(kT0 + i, "t" + std::to_string(t), "session.create", std::to_string(i)))) {
          ++failures;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(this->SessionIds("alice-id").size(), std::size_t{kThreads * kPerThread});
  AuditQuery q;
  q.action = "session.create";
  const auto events = this->Audit(q);
  ASSERT_EQ(events.size(), std::size_t{kThreads * kPerThread});
  ASSERT_EQ(this->Audit().size(), audit_before + kThreads * kPerThread);
  // Newest first with strictly decreasing ids; and each thread's events, read oldest first,
  // come in the order that thread appended them.
  std::vector<int> next(kThreads, 0);
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (i > 0) {
      ASSERT_GT(events[i - 1].id, events[i].id);
    }
    const auto& e = events[events.size() - 1 - i];
    const int t = std::stoi(e.actor.substr(1));
    ASSERT_EQ(e.target, std::to_string(next[static_cast<std::size_t>(t)]++)) << e.actor;
  }
}

// --- co-editing relay log ----------------------------------------------------------------------

inline CollabUpdate MakeCollabUpdate(const std::string& file_id, std::int64_t epoch,
                                     const std::string& author, std::uint8_t session,
                                     std::int64_t counter, TimeMs time = kT0) {
  CollabUpdate u;
  u.file_id = file_id;
  u.epoch = epoch;
  u.author = author;
  u.session_id = Bytes(16, session);
  u.counter = counter;
  // Not text, and different for every (session, counter).
  u.frame = {0x01, 0x02, 0x00, 0xff, session, static_cast<std::uint8_t>(counter)};
  u.time = time;
  return u;
}

inline CollabSnapshotWrite MakeCollabSnapshot(const std::string& file_id, std::int64_t epoch,
                                              std::int64_t through_seq, TimeMs time = kT0) {
  return CollabSnapshotWrite{file_id, epoch, through_seq,
                             Bytes{0x01, 0x03, 0x00, static_cast<std::uint8_t>(through_seq)}, time};
}

TYPED_TEST_P(MetadataStoreConformance, CollabUpdatesGetIncreasingSeqsAndReadBackInOrder) {
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("alice-id", "alice@example.com")));
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("bob-id", "bob@example.com")));
  const auto audit = MakeAudit(kT0, "alice-id", "room.upload");
  ASSERT_TRUE(this->store().CreateRoomFolder(MakeFolder("root", "alice-id"), audit));
  ASSERT_TRUE(this->store().CreateRoomFile(MakeFile("f", "alice-id", "root", {"bob-id"}), audit));
  ASSERT_TRUE(this->store().CreateRoomFile(MakeFile("g", "alice-id", "root"), audit));

  EXPECT_EQ(*this->store().FindCollabLog("f"), (CollabLogState{1, 0, 0, false, 0, 0}));
  EXPECT_TRUE(this->store().ReadCollabUpdates("f", 0, 10)->empty());
  std::vector<CollabStoredFrame> expected;
  for (std::int64_t i = 1; i <= 3; ++i) {
    for (const auto& [author, session] : {std::pair{"alice-id", 0xa1}, std::pair{"bob-id", 0xb1}}) {
      const auto u = MakeCollabUpdate("f", 1, author, session, i, kT0 + i);
      auto r = this->store().AppendCollabUpdate(u);
      ASSERT_TRUE(r) << r.error().message();
      EXPECT_EQ(r->status, CollabWriteStatus::appended);
      EXPECT_EQ(r->seq, static_cast<std::int64_t>(expected.size()) + 1);
      EXPECT_EQ(r->time, kT0 + i);
      EXPECT_EQ(r->epoch, 1);
      expected.push_back({r->seq, u.time, u.frame});
    }
  }
  // Another file has a sequence of its own.
  EXPECT_EQ(this->store().AppendCollabUpdate(MakeCollabUpdate("g", 1, "alice-id", 0xa1, 1))->seq,
            1);
  EXPECT_EQ(*this->store().ReadCollabUpdates("f", 0, 1000), expected);
  EXPECT_EQ(*this->store().ReadCollabUpdates("f", 2, 3),
            std::vector<CollabStoredFrame>(expected.begin() + 2, expected.begin() + 5));
  EXPECT_TRUE(this->store().ReadCollabUpdates("f", 6, 10)->empty());
  EXPECT_EQ(*this->store().FindCollabLog("f"), (CollabLogState{1, 6, 0, false, 0, 6}));
  EXPECT_EQ(this->store().ReadCollabUpdates("f", 0, 0).error(), errc::invalid_argument);
  EXPECT_EQ(this->store().ReadCollabUpdates("f", 0, 1001).error(), errc::invalid_argument);
  EXPECT_EQ(this->store().ReadCollabUpdates("ghost", 0, 10).error(), errc::not_found);
  EXPECT_EQ(this->store().FindCollabLog("ghost").error(), errc::not_found);
  EXPECT_EQ(
      this->store().AppendCollabUpdate(MakeCollabUpdate("ghost", 1, "alice-id", 1, 1)).error(),
      errc::not_found);
  auto bad = MakeCollabUpdate("f", 1, "alice-id", 0xa1, 4);
  bad.session_id.pop_back();
  EXPECT_EQ(this->store().AppendCollabUpdate(bad).error(), errc::invalid_argument);
}

TYPED_TEST_P(MetadataStoreConformance, CollabAppendFindsResendsDuplicatesGapsAndStaleEpochs) {
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("alice-id", "alice@example.com")));
  const auto audit = MakeAudit(kT0, "alice-id", "room.upload");
  ASSERT_TRUE(this->store().CreateRoomFolder(MakeFolder("root", "alice-id"), audit));
  RoomFile file = MakeFile("f", "alice-id", "root");
  ASSERT_TRUE(this->store().CreateRoomFile(file, audit));
  auto append = [&](const CollabUpdate& u) {
    auto r = this->store().AppendCollabUpdate(u);
    EXPECT_TRUE(r) << r.error().message();
    return r ? *r : CollabWriteResult{};
  };
  const auto first = MakeCollabUpdate("f", 1, "alice-id", 0xa1, 1, kT0);
  EXPECT_EQ(append(first).seq, 1);
  // The same bytes again: the original's seq and time, nothing stored.
  EXPECT_EQ(append(MakeCollabUpdate("f", 1, "alice-id", 0xa1, 1, kT0 + 9)).status,
            CollabWriteStatus::resent);
  auto resend = first;
  resend.time = kT0 + 9;
  EXPECT_EQ(append(resend), (CollabWriteResult{CollabWriteStatus::resent, 1, kT0, 1}));
  auto other_bytes = first;
  other_bytes.frame.push_back(0);
  EXPECT_EQ(append(other_bytes).status, CollabWriteStatus::duplicate);
  EXPECT_EQ(append(MakeCollabUpdate("f", 1, "alice-id", 0xa1, 3)).status,
            CollabWriteStatus::out_of_order);
  EXPECT_EQ(append(MakeCollabUpdate("f", 1, "alice-id", 0xa2, 2)).status,
            CollabWriteStatus::out_of_order)
      << "a new stream starts at 1";
  EXPECT_EQ(append(MakeCollabUpdate("f", 2, "alice-id", 0xa1, 2)),
            (CollabWriteResult{CollabWriteStatus::stale_epoch, 0, 0, 1}));
  EXPECT_EQ(this->store().FindCollabLog("f")->head_seq, 1) << "refusals store nothing";
  // A new version of the file: frames of the old epoch are refused from then on.
  file.version = 2;
  ASSERT_TRUE(this->store().UpdateRoomFile(file, audit));
  EXPECT_EQ(append(MakeCollabUpdate("f", 1, "alice-id", 0xa1, 2)),
            (CollabWriteResult{CollabWriteStatus::stale_epoch, 0, 0, 2}));
  EXPECT_EQ(append(MakeCollabUpdate("f", 2, "alice-id", 0xa3, 1)).seq, 2);
  // The tail cap counts the updates after the snapshot.
  auto capped = MakeCollabUpdate("f", 2, "alice-id", 0xa3, 2);
  capped.max_tail = 2;
  EXPECT_EQ(append(capped).status, CollabWriteStatus::tail_full);
  capped.max_tail = 3;
  EXPECT_EQ(append(capped).seq, 3);
}

TYPED_TEST_P(MetadataStoreConformance, CollabSnapshotsReplaceCompactAndKeepTheSeqCounting) {
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("alice-id", "alice@example.com")));
  const auto audit = MakeAudit(kT0, "alice-id", "room.upload");
  ASSERT_TRUE(this->store().CreateRoomFolder(MakeFolder("root", "alice-id"), audit));
  RoomFile file = MakeFile("f", "alice-id", "root");
  ASSERT_TRUE(this->store().CreateRoomFile(file, audit));
  EXPECT_EQ(this->store().FindCollabSnapshot("f").error(), errc::not_found);
  for (std::int64_t i = 1; i <= 4; ++i) {
    ASSERT_EQ(this->store().AppendCollabUpdate(MakeCollabUpdate("f", 1, "alice-id", 1, i))->seq, i);
  }
  auto store_snapshot = [&](const CollabSnapshotWrite& w) {
    auto r = this->store().StoreCollabSnapshot(w);
    EXPECT_TRUE(r) << r.error().message();
    return r ? r->status : CollabWriteStatus::rejected;
  };
  EXPECT_EQ(store_snapshot(MakeCollabSnapshot("f", 1, 5)), CollabWriteStatus::rejected)
      << "beyond the head";
  EXPECT_EQ(store_snapshot(MakeCollabSnapshot("f", 2, 2)), CollabWriteStatus::stale_epoch);
  const auto at2 = MakeCollabSnapshot("f", 1, 2, kT0 + 2);
  EXPECT_EQ(store_snapshot(at2), CollabWriteStatus::stored);
  EXPECT_EQ(*this->store().FindCollabSnapshot("f"), (CollabStoredFrame{2, kT0 + 2, at2.frame}));
  EXPECT_EQ(*this->store().FindCollabLog("f"), (CollabLogState{1, 4, 2, true, 2, 2}));
  EXPECT_EQ(this->store().ReadCollabUpdates("f", 1, 10).error(), errc::conflict)
      << "update 2 is gone";
  ASSERT_EQ(this->store().ReadCollabUpdates("f", 2, 10)->size(), 2u);
  EXPECT_EQ(this->store().ReadCollabUpdates("f", 2, 10)->front().seq, 3);
  EXPECT_EQ(store_snapshot(MakeCollabSnapshot("f", 1, 1)), CollabWriteStatus::rejected)
      << "older than the kept one";
  // A resend of a compacted update: its seq is no longer known.
  EXPECT_EQ(this->store().AppendCollabUpdate(MakeCollabUpdate("f", 1, "alice-id", 1, 2))->status,
            CollabWriteStatus::covered);
  // Compacting everything keeps the head: a seq is never reused.
  EXPECT_EQ(store_snapshot(MakeCollabSnapshot("f", 1, 4)), CollabWriteStatus::stored);
  EXPECT_EQ(*this->store().FindCollabLog("f"), (CollabLogState{1, 4, 4, true, 4, 0}));
  EXPECT_EQ(this->store().AppendCollabUpdate(MakeCollabUpdate("f", 1, "alice-id", 1, 5))->seq, 5);
  // A snapshot of a new epoch must cover every update of the older ones.
  file.version = 2;
  ASSERT_TRUE(this->store().UpdateRoomFile(file, audit));
  EXPECT_EQ(this->store().AppendCollabUpdate(MakeCollabUpdate("f", 2, "alice-id", 2, 1))->seq, 6);
  EXPECT_EQ(store_snapshot(MakeCollabSnapshot("f", 2, 4)), CollabWriteStatus::rejected);
  EXPECT_EQ(store_snapshot(MakeCollabSnapshot("f", 2, 5)), CollabWriteStatus::stored);
  EXPECT_EQ(this->store().StoreCollabSnapshot(MakeCollabSnapshot("ghost", 1, 0)).error(),
            errc::not_found);
}

// The relay's group commit: one call, one transaction, each update judged as if it came alone
// after the ones before it, whatever the others' outcomes.
TYPED_TEST_P(MetadataStoreConformance, CollabBatchAppendsGiveEachUpdateItsOwnResult) {
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("alice-id", "alice@example.com")));
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("bob-id", "bob@example.com")));
  const auto audit = MakeAudit(kT0, "alice-id", "room.upload");
  ASSERT_TRUE(this->store().CreateRoomFolder(MakeFolder("root", "alice-id"), audit));
  ASSERT_TRUE(this->store().CreateRoomFile(MakeFile("f", "alice-id", "root", {"bob-id"}), audit));
  ASSERT_TRUE(this->store().CreateRoomFile(MakeFile("g", "alice-id", "root"), audit));

  const std::vector<CollabUpdate> batch = {
      MakeCollabUpdate("f", 1, "alice-id", 0xa1, 1, kT0 + 1),
      MakeCollabUpdate("f", 1, "bob-id", 0xb1, 1, kT0 + 2),
      MakeCollabUpdate("f", 1, "alice-id", 0xa1, 3, kT0 + 3),  // Counter 2 is missing.
      MakeCollabUpdate("f", 2, "alice-id", 0xa2, 1, kT0 + 4),  // Not the file's epoch.
      MakeCollabUpdate("ghost", 1, "alice-id", 0xa3, 1, kT0 + 5),
      MakeCollabUpdate("g", 1, "alice-id", 0xa4, 1, kT0 + 6),  // Its own sequence.
      MakeCollabUpdate("f", 1, "alice-id", 0xa1, 2, kT0 + 7),  // The missing one, now next.
      MakeCollabUpdate("f", 1, "alice-id", 0xa1, 1, kT0 + 8),  // A resend of the first.
  };
  auto r = this->store().AppendCollabUpdates(batch);
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->size(), batch.size());
  using S = CollabWriteStatus;
  const std::vector<std::pair<S, std::int64_t>> expected = {
      {S::appended, 1},    {S::appended, 2}, {S::out_of_order, 0}, {S::stale_epoch, 0},
      {S::no_file, 0},     {S::appended, 1}, {S::appended, 3},     {S::resent, 1}};
  for (std::size_t i = 0; i < batch.size(); ++i) {
    EXPECT_EQ((*r)[i].status, expected[i].first) << "update " << i;
    EXPECT_EQ((*r)[i].seq, expected[i].second) << "update " << i;
  }
  EXPECT_EQ((*r)[0].time, kT0 + 1);
  EXPECT_EQ((*r)[7].time, kT0 + 1) << "a resend answers with the original's time";
  EXPECT_EQ((*r)[3].epoch, 1) << "the file's current epoch";
  // Exactly the appended ones are in the log, in order.
  const auto stored = *this->store().ReadCollabUpdates("f", 0, 100);
  ASSERT_EQ(stored.size(), 3u);
  EXPECT_EQ(stored[0].frame, batch[0].frame);
  EXPECT_EQ(stored[1].frame, batch[1].frame);
  EXPECT_EQ(stored[2].frame, batch[6].frame);
  EXPECT_EQ(this->store().FindCollabLog("g")->head_seq, 1);

  // Refused whole, with nothing stored: empty, too many, or one update out of its domain.
  EXPECT_EQ(this->store().AppendCollabUpdates({}).error(), errc::invalid_argument);
  std::vector<CollabUpdate> too_many(kMaxCollabBatch + 1,
                                     MakeCollabUpdate("f", 1, "bob-id", 0xb1, 2, kT0));
  EXPECT_EQ(this->store().AppendCollabUpdates(too_many).error(), errc::invalid_argument);
  std::vector<CollabUpdate> one_bad = {MakeCollabUpdate("f", 1, "bob-id", 0xb1, 2, kT0),
                                       MakeCollabUpdate("f", 0, "bob-id", 0xb1, 3, kT0)};
  EXPECT_EQ(this->store().AppendCollabUpdates(one_bad).error(), errc::invalid_argument);
  EXPECT_EQ(this->store().FindCollabLog("f")->head_seq, 3);

  // The next batch goes on from the head the last one left; the tail cap counts the updates
  // appended earlier in the same batch; a stored counter with other bytes is a duplicate.
  auto other_bytes = batch[1];
  other_bytes.frame.push_back(0x7f);
  auto capped = MakeCollabUpdate("f", 1, "alice-id", 0xa1, 3, kT0 + 10);
  capped.max_tail = 4;
  auto roomier = capped;
  roomier.max_tail = 5;
  const std::vector<CollabUpdate> second = {
      MakeCollabUpdate("f", 1, "bob-id", 0xb1, 2, kT0 + 9), other_bytes, capped, roomier,
      MakeCollabUpdate("g", 1, "alice-id", 0xa4, 2, kT0 + 11)};
  r = this->store().AppendCollabUpdates(second);
  ASSERT_TRUE(r) << r.error().message();
  const std::vector<std::pair<S, std::int64_t>> expected_second = {
      {S::appended, 4}, {S::duplicate, 0}, {S::tail_full, 0}, {S::appended, 5}, {S::appended, 2}};
  ASSERT_EQ(r->size(), second.size());
  for (std::size_t i = 0; i < second.size(); ++i) {
    EXPECT_EQ((*r)[i].status, expected_second[i].first) << "update " << i;
    EXPECT_EQ((*r)[i].seq, expected_second[i].second) << "update " << i;
  }
  EXPECT_EQ(this->store().FindCollabLog("f")->head_seq, 5);
  EXPECT_EQ(this->store().FindCollabLog("g")->head_seq, 2);
  const auto all = *this->store().ReadCollabUpdates("f", 0, 100);
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all[3].frame, second[0].frame);
  EXPECT_EQ(all[4].frame, roomier.frame);
  // A single append after a batch takes the next seq too.
  EXPECT_EQ(this->store().AppendCollabUpdate(MakeCollabUpdate("f", 1, "bob-id", 0xb1, 3))->seq, 6);
}

TYPED_TEST_P(MetadataStoreConformance, CollabLogGoesWithItsFile) {
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("alice-id", "alice@example.com")));
  const auto audit = MakeAudit(kT0, "alice-id", "room.delete");
  ASSERT_TRUE(this->store().CreateRoomFolder(MakeFolder("root", "alice-id"), audit));
  ASSERT_TRUE(this->store().CreateRoomFile(MakeFile("f", "alice-id", "root"), audit));
  ASSERT_TRUE(this->store().AppendCollabUpdate(MakeCollabUpdate("f", 1, "alice-id", 1, 1)));
  ASSERT_TRUE(this->store().AppendCollabUpdate(MakeCollabUpdate("f", 1, "alice-id", 1, 2)));
  ASSERT_TRUE(this->store().StoreCollabSnapshot(MakeCollabSnapshot("f", 1, 1)));
  ASSERT_TRUE(this->store().DeleteRoomFile("f", audit));
  EXPECT_EQ(this->store().FindCollabLog("f").error(), errc::not_found);
  EXPECT_EQ(this->store().FindCollabSnapshot("f").error(), errc::not_found);
  // A new file under the same id starts a new log, from seq 1.
  ASSERT_TRUE(this->store().CreateRoomFile(MakeFile("f", "alice-id", "root"), audit));
  EXPECT_EQ(*this->store().FindCollabLog("f"), (CollabLogState{1, 0, 0, false, 0, 0}));
  EXPECT_EQ(this->store().AppendCollabUpdate(MakeCollabUpdate("f", 1, "alice-id", 1, 1))->seq, 1);
  EXPECT_TRUE(*this->store().CheckIntegrity() == std::vector<std::string>{});
}

TYPED_TEST_P(MetadataStoreConformance, ConcurrentCollabAppendsGetDistinctContiguousSeqs) {
  ASSERT_NO_FATAL_FAILURE(this->Register(MakeUser("alice-id", "alice@example.com")));
  const auto audit = MakeAudit(kT0, "alice-id", "room.upload");
  ASSERT_TRUE(this->store().CreateRoomFolder(MakeFolder("root", "alice-id"), audit));
  ASSERT_TRUE(this->store().CreateRoomFile(MakeFile("f", "alice-id", "root"), audit));
  constexpr int kThreads = 4;
  constexpr int kEach = 25;
  std::vector<std::vector<std::int64_t>> seqs(kThreads);
  std::vector<std::thread> threads;
  Gate gate(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      gate.Arrive();
      for (int i = 1; i <= kEach; ++i) {
        auto r = this->store().AppendCollabUpdate(
            MakeCollabUpdate("f", 1, "alice-id", static_cast<std::uint8_t>(t), i));
        if (r && r->status == CollabWriteStatus::appended) seqs[t].push_back(r->seq);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::int64_t> all;
  for (const auto& v : seqs) {
    EXPECT_EQ(v.size(), static_cast<std::size_t>(kEach));
    EXPECT_TRUE(std::is_sorted(v.begin(), v.end())) << "one caller's seqs increase";
    all.insert(v.begin(), v.end());
  }
  ASSERT_EQ(all.size(), static_cast<std::size_t>(kThreads * kEach));
  EXPECT_EQ(*all.begin(), 1);
  EXPECT_EQ(*all.rbegin(), kThreads * kEach);
}

REGISTER_TYPED_TEST_SUITE_P(
    MetadataStoreConformance, SettingsAreAbsentUntilPutAndPutOverwrites,
    PutSettingIfAbsentSetsOnlyTheFirstTime, PutSettingIfAbsentHasExactlyOneWinnerUnderRace,
    InvitationsRoundTripAndUnknownIsNotFound, DuplicateInvitationDigestIsRefusedAndKeepsTheOriginal,
    RolesOutsideTheEnumAreInvalidArguments, RegisterUserStoresTheUserConsumesTheInvitationAndAudits,
    UserFieldsRoundTripExactly, FindUserIsExactAndUnknownIsNotFound,
    RegisterUserRefusesAnUnknownInvitation, RegisterUserWithoutInvitationOnlyAsAUser,
    RegisterUserRefusesAUsedInvitation,
    RegisterUserRefusesAnInvitationExpiredAtCreatedAt,
    RegisterUserRefusesAnInvitationForAnotherEmail, AnInvitationForNoEmailAdmitsAnyEmailOnce,
    RegisterUserRefusesATakenEmailAndChangesNothing, RegisterUserRefusesATakenIdAndChangesNothing,
    RegisterUserWithAnInvalidAuditEventChangesNothing,
    ConcurrentRegistrationsWithOneInvitationHaveOneWinner,
    ChangeCredentialsReplacesPasswordFieldsAndKeepsRecovery,
    ChangeCredentialsOnRecoveryReplacesRecoveryFields,
    ChangeCredentialsRevokesEverySessionButTheKeptOne,
    ChangeCredentialsForAnUnknownUserIsNotFoundAndWritesNothing, SessionsRoundTripByTokenDigest,
    FindSessionWithUserIsFindSessionPlusItsUser, FindSessionWithUserSeesEveryWriteAtOnce,
    CreateSessionRefusesDuplicatesAndUnknownUsers, ExpiredSessionsAreNotFound,
    ListSessionsIsNewestFirstUnexpiredAndOwnOnly, TouchSessionUpdatesLastSeenOnly,
    RevokeSessionOnlyRevokesTheCallersOwn, RevokeOtherSessionsKeepsOneOrNone,
    DeleteExpiredSessionsRemovesOnlyExpired, LoginAttemptsRoundTripNewestFirstWithIncreasingIds,
    LoginAttemptResultMustBeKnown, AccountFailuresCountOnlyFailuresSinceTheLastSuccess,
    IpFailuresAreNotClearedBySuccess, QueryLoginAttemptsFilters,
    QueryLoginAttemptsPagesWithBeforeId, AuditEventsRoundTripWithStrictlyIncreasingIds,
    AuditResultMustBeKnown, QueryAuditFilters, QueryAuditPagesWithBeforeId,
    QueryLimitsAreClampedToOneThroughAThousand, RoomFoldersRoundTripWithOneRootPerOwner,
    RoomNamesAreUniquePerFolderAcrossFilesAndFolders, RoomParentsMustBeFoldersOfTheSameOwner,
    RoomFilesRoundTripWithRecipientsAndSharedWith,
    RoomFileUpdatesNeedTheNextVersionAndReturnTheOldBlob,
    RoomFolderMovesRefuseCyclesRootsAndStaleRevisions, RoomDeletesArePermanentAndFoldersMustBeEmpty,
    RoomUploadsRoundTripAndExpire, ReferencedBlobIdsIsEmptyWithoutDocuments,
    PingAndCheckIntegrityReportHealthy, TotpIsPendingUntilConfirmedAndUsersShowItOnlyThen,
    BeginTotpReplacesAPendingEnrolmentButNeverAConfirmedOne,
    ConfirmTotpNeedsAPendingEnrolmentAndChangesAllOrNothing,
    AcceptTotpStepRefusesEveryStepAtOrBelowTheLastOne, AcceptTotpStepHasExactlyOneWinnerUnderRace,
    RecoveryCodesWorkOnceEachAndAreReplacedWhole, DeleteTotpRemovesTheEnrolmentAndItsRecoveryCodes,
    ListUsersPagesByEmailWithoutCredentials, DeactivationRevokesEverySessionAndReactivationNone,
    RolesChangeBetweenAdminAndUserButNeverTheOwners, FindSessionWithUserSeesAccessChangesAtOnce,
    ConcurrentAccessChangesOnOneExpectedRoleHaveOneWinner,
    GroupNamesAreUniqueRegardlessOfCaseAndListedInOrder,
    GroupMembersAreAddedRemovedCountedAndGoWithTheGroup,
    UserSummariesShowTwoFactorOnlyOnceConfirmed, ConcurrentSessionsAndAuditAllSucceed,
    CollabUpdatesGetIncreasingSeqsAndReadBackInOrder,
    CollabAppendFindsResendsDuplicatesGapsAndStaleEpochs,
    CollabSnapshotsReplaceCompactAndKeepTheSeqCounting, CollabBatchAppendsGiveEachUpdateItsOwnResult,
    CollabLogGoesWithItsFile,
    ConcurrentCollabAppendsGetDistinctContiguousSeqs);

}  // namespace strongroom::storage::metadata_testing
