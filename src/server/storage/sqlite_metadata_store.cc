#include "server/storage/sqlite_metadata_store.h"

#include "server/storage/sqlite_database.h"

#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>

namespace strongroom::storage {
namespace {

// The schema. Every column is NOT NULL unless absence means something (an unused
// invitation, a login attempt for an unknown email). Migrations are append-only: a released
// migration is never edited, changes go in a new one (SqliteDatabase::Migrate).
constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE settings (
  key   TEXT PRIMARY KEY NOT NULL,
  value TEXT NOT NULL
) STRICT;

CREATE TABLE users (
  id                TEXT PRIMARY KEY NOT NULL,
  email             TEXT NOT NULL UNIQUE,
  display_name      TEXT NOT NULL,
  role              INTEGER NOT NULL CHECK (role IN (0, 1, 2)),
  active            INTEGER NOT NULL CHECK (active IN (0, 1)),
  auth_verifier     TEXT NOT NULL,
  kdf_algorithm     TEXT NOT NULL,
  kdf_opslimit      INTEGER NOT NULL,
  kdf_memlimit      INTEGER NOT NULL,
  kdf_salt          BLOB NOT NULL,
  public_bundle     BLOB NOT NULL,
  private_bundle    BLOB NOT NULL,
  recovery_bundle   BLOB NOT NULL,
  recovery_verifier TEXT NOT NULL,
  created_at        INTEGER NOT NULL,
  updated_at        INTEGER NOT NULL
) STRICT;

-- created_by and used_by name users but carry no foreign key: an invitation is a record of
-- who let whom in, and that history must outlive the accounts it names.
CREATE TABLE invitations (
  token_digest TEXT PRIMARY KEY NOT NULL,
  email        TEXT NOT NULL,
  role         INTEGER NOT NULL CHECK (role IN (0, 1, 2)),
  created_by   TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL,
  used_at      INTEGER,
  used_by      TEXT
) STRICT;

CREATE TABLE sessions (
  id           TEXT PRIMARY KEY NOT NULL,
  token_digest TEXT NOT NULL UNIQUE,
  user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at   INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL,
  ip           TEXT NOT NULL,
  user_agent   TEXT NOT NULL
) STRICT;
CREATE INDEX sessions_user_id ON sessions(user_id);
CREATE INDEX sessions_expires_at ON sessions(expires_at);

-- user_id has no foreign key: the login history outlives accounts (and records attempts on
-- emails that never had one, with user_id NULL).
CREATE TABLE login_attempts (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  time       INTEGER NOT NULL,
  email      TEXT NOT NULL,
  user_id    TEXT,
  ip         TEXT NOT NULL,
  user_agent TEXT NOT NULL,
  result     TEXT NOT NULL CHECK (result IN ('success', 'failure', 'refused')),
  reason     TEXT NOT NULL
) STRICT;
CREATE INDEX login_attempts_email_time ON login_attempts(email, time);
CREATE INDEX login_attempts_user_time ON login_attempts(user_id, time);
CREATE INDEX login_attempts_ip_time ON login_attempts(ip, time);
CREATE INDEX login_attempts_time ON login_attempts(time);

-- AUTOINCREMENT: ids strictly increase and are never reused, even after the newest row
-- were somehow removed, so an id names one event forever.
CREATE TABLE audit_events (
  id     INTEGER PRIMARY KEY AUTOINCREMENT,
  time   INTEGER NOT NULL,
  actor  TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  ip     TEXT NOT NULL,
  result TEXT NOT NULL CHECK (result IN ('success', 'failure', 'denied')),
  detail TEXT NOT NULL
) STRICT;
CREATE INDEX audit_events_time ON audit_events(time);
CREATE INDEX audit_events_actor ON audit_events(actor);
CREATE INDEX audit_events_action ON audit_events(action);

-- Append-only, enforced by the database rather than by the absence of an API, so no code
-- path in any version of this process can rewrite history. (GDPR erasure will need a
-- documented, audited way around this; it does not exist yet.)
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
  BEGIN SELECT RAISE(ABORT, 'append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
  BEGIN SELECT RAISE(ABORT, 'append-only'); END;
CREATE TRIGGER login_attempts_no_update BEFORE UPDATE ON login_attempts
  BEGIN SELECT RAISE(ABORT, 'append-only'); END;
CREATE TRIGGER login_attempts_no_delete BEFORE DELETE ON login_attempts
  BEGIN SELECT RAISE(ABORT, 'append-only'); END;
-- REPLACE (and INSERT OR REPLACE) deletes the row it conflicts with without firing DELETE
-- triggers unless the connection enabled recursive_triggers, so the triggers above alone
-- would let `REPLACE INTO audit_events (id, ...)` overwrite an entry. These refuse any
-- insert that names an existing id, whatever the connection's settings.
CREATE TRIGGER audit_events_no_replace BEFORE INSERT ON audit_events
  WHEN EXISTS (SELECT 1 FROM audit_events WHERE id = NEW.id)
  BEGIN SELECT RAISE(ABORT, 'append-only'); END;
CREATE TRIGGER login_attempts_no_replace BEFORE INSERT ON login_attempts
  WHEN EXISTS (SELECT 1 FROM login_attempts WHERE id = NEW.id)
  BEGIN SELECT RAISE(ABORT, 'append-only'); END;
)sql";


// Private Room (docs/private-room.md). Folders and files share one table, so "no two items
// with one name in a folder" is a UNIQUE constraint rather than a check that could race.
// Kind-specific columns are NULL for the other kind, which the CHECKs pin down.
constexpr std::string_view kSchemaV2 = R"sql(
CREATE TABLE room_items (
  id           TEXT PRIMARY KEY NOT NULL,
  kind         TEXT NOT NULL CHECK (kind IN ('folder', 'file')),
  owner_id     TEXT NOT NULL REFERENCES users(id),
  parent_id    TEXT REFERENCES room_items(id),
  name_hmac    TEXT,
  revision     INTEGER NOT NULL CHECK (revision >= 1),
  record       BLOB NOT NULL,
  signature    BLOB NOT NULL,
  sealed_key   BLOB,
  size         INTEGER CHECK (size >= 0),
  blob_id      TEXT,
  content_type TEXT,
  author_id    TEXT REFERENCES users(id),
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  UNIQUE (parent_id, name_hmac),
  CHECK ((parent_id IS NULL) = (name_hmac IS NULL)),
  CHECK (kind = 'folder' OR parent_id IS NOT NULL),
  CHECK ((kind = 'folder') = (sealed_key IS NOT NULL)),
  CHECK ((kind = 'file') = (size IS NOT NULL AND blob_id IS NOT NULL
                            AND content_type IS NOT NULL AND author_id IS NOT NULL))
) STRICT;
CREATE UNIQUE INDEX room_items_one_root ON room_items(owner_id) WHERE parent_id IS NULL;
CREATE INDEX room_items_owner ON room_items(owner_id);

CREATE TABLE room_recipients (
  file_id     TEXT NOT NULL REFERENCES room_items(id) ON DELETE CASCADE,
  user_id     TEXT NOT NULL REFERENCES users(id),
  fingerprint TEXT NOT NULL,
  PRIMARY KEY (file_id, user_id)
) STRICT;
CREATE INDEX room_recipients_user ON room_recipients(user_id);
)sql";

// Uploads in progress: the container arrives into a staged blob named by the upload id.
constexpr std::string_view kSchemaV3 = R"sql(
CREATE TABLE room_uploads (
  id           TEXT PRIMARY KEY NOT NULL,
  owner_id     TEXT NOT NULL REFERENCES users(id),
  file_id      TEXT NOT NULL,
  base_version INTEGER NOT NULL CHECK (base_version >= 0),
  size         INTEGER NOT NULL CHECK (size >= 0),
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX room_uploads_expires_at ON room_uploads(expires_at);
)sql";

// Two-factor authentication (TOTP). One row per user who began enrolling; confirmed_at is
// NULL until a first code proved the authenticator. The secret is stored as it is: the server
// computes codes to check them (docs/threat-model.md). Recovery codes are SHA-256 digests;
// a spent one keeps its row with used_at set, so "codes left" is a count.
constexpr std::string_view kSchemaV4 = R"sql(
CREATE TABLE totp_enrolments (
  user_id      TEXT PRIMARY KEY NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  secret       BLOB NOT NULL,
  last_step    INTEGER NOT NULL CHECK (last_step >= 0),
  created_at   INTEGER NOT NULL,
  confirmed_at INTEGER
) STRICT;

CREATE TABLE totp_recovery_codes (
  user_id TEXT NOT NULL REFERENCES totp_enrolments(user_id) ON DELETE CASCADE,
  digest  TEXT NOT NULL,
  used_at INTEGER,
  PRIMARY KEY (user_id, digest)
) STRICT;
)sql";

// Administration (issue 6): groups of users. A group name is unique regardless of ASCII case
// (NOCASE), which also orders listings and finds a group by name. Memberships go with their
// group and with their user; created_by names a user but carries no foreign key (a record of
// who made the group outlives the account). AUTOINCREMENT: a deleted group's id is never
// reused, so nothing can ever point at a later group by mistake.
constexpr std::string_view kSchemaV5 = R"sql(
CREATE TABLE user_groups (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  name       TEXT NOT NULL COLLATE NOCASE UNIQUE CHECK (length(name) BETWEEN 1 AND 256),
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE user_group_members (
  group_id INTEGER NOT NULL REFERENCES user_groups(id) ON DELETE CASCADE,
  user_id  TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  PRIMARY KEY (group_id, user_id)
) STRICT;
CREATE INDEX user_group_members_user ON user_group_members(user_id);
)sql";

// The co-editing relay (issue 7, docs/collab.md section 9). Per file: where its log stands
// (collab_logs: the head seq, which survives compaction so a seq is never reused, and the kept
// snapshot), the updates after the snapshot (collab_updates), and each stream's position
// (collab_streams: the next counter of an (author, session) must survive the compaction of its
// updates). Everything goes with the file (ON DELETE CASCADE). Frames are opaque blobs.
constexpr std::string_view kSchemaV6 = R"sql(
CREATE TABLE collab_logs (
  file_id           TEXT PRIMARY KEY NOT NULL REFERENCES room_items(id) ON DELETE CASCADE,
  head_seq          INTEGER NOT NULL CHECK (head_seq >= 0),
  compacted_through INTEGER NOT NULL CHECK (compacted_through >= 0),
  snapshot_seq      INTEGER,
  snapshot_time     INTEGER,
  snapshot_frame    BLOB,
  CHECK ((snapshot_seq IS NULL) = (snapshot_frame IS NULL)),
  CHECK (compacted_through <= head_seq)
) STRICT;

CREATE TABLE collab_updates (
  file_id    TEXT NOT NULL REFERENCES collab_logs(file_id) ON DELETE CASCADE,
  seq        INTEGER NOT NULL CHECK (seq >= 1),
  epoch      INTEGER NOT NULL CHECK (epoch >= 1),
  author     TEXT NOT NULL,
  session_id BLOB NOT NULL CHECK (length(session_id) = 16),
  counter    INTEGER NOT NULL CHECK (counter >= 1),
  time       INTEGER NOT NULL,
  frame      BLOB NOT NULL,
  PRIMARY KEY (file_id, seq),
  UNIQUE (file_id, author, session_id, counter)
) STRICT;

CREATE TABLE collab_streams (
  file_id      TEXT NOT NULL REFERENCES collab_logs(file_id) ON DELETE CASCADE,
  author       TEXT NOT NULL,
  session_id   BLOB NOT NULL,
  epoch        INTEGER NOT NULL,
  last_counter INTEGER NOT NULL CHECK (last_counter >= 1),
  last_seq     INTEGER NOT NULL CHECK (last_seq >= 1),
  PRIMARY KEY (file_id, author, session_id)
) STRICT;
)sql";

constexpr Migration kMigrations[] = {
    {1, "accounts: settings, users, invitations, sessions, login history, audit", kSchemaV1},
    {2, "private room: folders, files, recipients", kSchemaV2},
    {3, "private room: uploads in progress", kSchemaV3},
    {4, "two-factor authentication: TOTP enrolments, recovery codes", kSchemaV4},
    {5, "administration: groups of users", kSchemaV5},
    {6, "co-editing relay: update log, snapshots, streams", kSchemaV6},
};

constexpr std::size_t kMaxQueryLimit = 1000;

// result<bool> (unlike most result<T>) cannot be built implicitly from an error code.
template <class T>
result<T> Fail(boost::system::error_code ec) {
  return result<T>(boost::system::in_place_error, ec);
}

std::int64_t ClampLimit(std::size_t limit) {
  return static_cast<std::int64_t>(std::clamp<std::size_t>(limit, 1, kMaxQueryLimit));
}

bool ValidRole(Role role) {
  return role == Role::owner || role == Role::admin || role == Role::user;
}

std::optional<Role> RoleFromColumn(std::int64_t value) {
  if (value < 0 || value > 2) return std::nullopt;
  return static_cast<Role>(value);
}

bool ValidLoginResult(std::string_view r) {
  return r == "success" || r == "failure" || r == "refused";
}

bool ValidAuditResult(std::string_view r) {
  return r == "success" || r == "failure" || r == "denied";
}

// Steps a statement that returns no rows (or whose rows do not matter).
result<void> Run(Statement& statement) {
  auto row = statement.Step();
  if (!row) return row.error();
  return {};
}

// Steps a bound statement to the end, each row through `read`.
template <class T, class Reader>
result<std::vector<T>> CollectRows(Statement& statement, Reader read) {
  std::vector<T> out;
  for (;;) {
    auto row = statement.Step();
    if (!row) return row.error();
    if (!*row) return out;
    out.push_back(read(statement));
  }
}

// --- rows <-> records -------------------------------------------------------------------------

// A statement's columns seen from index `first` on, so one reader serves a table's columns
// whether they come first in a result row or after another table's in a join.
struct ColumnsFrom {
  const Statement& statement;
  int first;
  std::string ColumnText(int i) const { return statement.ColumnText(first + i); }
  std::int64_t ColumnInt(int i) const { return statement.ColumnInt(first + i); }
  std::vector<std::uint8_t> ColumnBlob(int i) const { return statement.ColumnBlob(first + i); }
};

// "a, b, c" -> "p.a, p.b, p.c", for joins.
std::string Qualified(std::string_view columns, std::string_view table) {
  std::string out;
  while (!columns.empty()) {
    const auto comma = columns.find(',');
    std::string_view column = columns.substr(0, comma);
    while (!column.empty() && column.front() == ' ') column.remove_prefix(1);
    if (!out.empty()) out += ", ";
    out += table;
    out += '.';
    out += column;
    if (comma == std::string_view::npos) break;
    columns.remove_prefix(comma + 1);
  }
  return out;
}

constexpr std::string_view kUserColumns =
    "id, email, display_name, role, active, auth_verifier, kdf_algorithm, kdf_opslimit,"
    " kdf_memlimit, kdf_salt, public_bundle, private_bundle, recovery_bundle,"
    " recovery_verifier, created_at, updated_at";

// UserRecord::totp_enabled, computed: the column that follows kUserColumns of `u` in every
// read of a user (ReadUser reads it as the 17th).
constexpr std::string_view kUserTotpEnabled =
    "EXISTS (SELECT 1 FROM totp_enrolments t WHERE t.user_id = u.id"
    " AND t.confirmed_at IS NOT NULL)";

// "SELECT u.id, ..., <totp_enabled> FROM users u WHERE ...".
std::string SelectUsers(std::string_view where) {
  std::string sql = "SELECT " + Qualified(kUserColumns, "u") + ", " +
                    std::string(kUserTotpEnabled) + " FROM users u ";
  sql += where;
  return sql;
}

// A role outside the CHECK constraint can only come from a damaged file: io_error.
// `first` is the index of the first user column (non-zero in a join).
result<UserRecord> ReadUser(const Statement& statement, int first = 0) {
  const ColumnsFrom s{statement, first};
  auto role = RoleFromColumn(s.ColumnInt(3));
  if (!role) return errc::io_error;
  UserRecord u;
  u.id = s.ColumnText(0);
  u.email = s.ColumnText(1);
  u.display_name = s.ColumnText(2);
  u.role = *role;
  u.active = s.ColumnInt(4) != 0;
  u.auth_verifier = s.ColumnText(5);
  u.kdf.algorithm = s.ColumnText(6);
  u.kdf.opslimit = s.ColumnInt(7);
  u.kdf.memlimit = s.ColumnInt(8);
  u.kdf.salt = s.ColumnBlob(9);
  u.public_bundle = s.ColumnBlob(10);
  u.private_bundle = s.ColumnBlob(11);
  u.recovery_bundle = s.ColumnBlob(12);
  u.recovery_verifier = s.ColumnText(13);
  u.created_at = s.ColumnInt(14);
  u.updated_at = s.ColumnInt(15);
  u.totp_enabled = s.ColumnInt(16) != 0;
  return u;
}

constexpr std::string_view kSessionColumns =
    "id, token_digest, user_id, created_at, last_seen_at, expires_at, ip, user_agent";

SessionRecord ReadSession(const Statement& statement, int first = 0) {
  const ColumnsFrom s{statement, first};
  SessionRecord r;
  r.id = s.ColumnText(0);
  r.token_digest = s.ColumnText(1);
  r.user_id = s.ColumnText(2);
  r.created_at = s.ColumnInt(3);
  r.last_seen_at = s.ColumnInt(4);
  r.expires_at = s.ColumnInt(5);
  r.ip = s.ColumnText(6);
  r.user_agent = s.ColumnText(7);
  return r;
}

constexpr std::string_view kAttemptColumns =
    "id, time, email, user_id, ip, user_agent, result, reason";

LoginAttempt ReadAttempt(const Statement& s) {
  LoginAttempt a;
  a.id = s.ColumnInt(0);
  a.time = s.ColumnInt(1);
  a.email = s.ColumnText(2);
  if (!s.ColumnIsNull(3)) a.user_id = s.ColumnText(3);
  a.ip = s.ColumnText(4);
  a.user_agent = s.ColumnText(5);
  a.result = s.ColumnText(6);
  a.reason = s.ColumnText(7);
  return a;
}

constexpr std::string_view kAuditColumns = "id, time, actor, action, target, ip, result, detail";

AuditEvent ReadAudit(const Statement& s) {
  AuditEvent e;
  e.id = s.ColumnInt(0);
  e.time = s.ColumnInt(1);
  e.actor = s.ColumnText(2);
  e.action = s.ColumnText(3);
  e.target = s.ColumnText(4);
  e.ip = s.ColumnText(5);
  e.result = s.ColumnText(6);
  e.detail = s.ColumnText(7);
  return e;
}

std::string Select(std::string_view columns, std::string_view rest) {
  std::string sql = "SELECT ";
  sql += columns;
  sql += ' ';
  sql += rest;
  return sql;
}

// Callers validate `event.result` first, so that the error is invalid_argument whether or
// not the database's CHECK would have caught it.
result<void> InsertAudit(SqliteDatabase& db, const AuditEvent& event) {
  auto s = db.Cached(
      "INSERT INTO audit_events (time, actor, action, target, ip, result, detail)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  if (!s) return s.error();
  (*s)->Bind(1, event.time)
      .Bind(2, event.actor)
      .Bind(3, event.action)
      .Bind(4, event.target)
      .Bind(5, event.ip)
      .Bind(6, event.result)
      .Bind(7, event.detail);
  return Run(**s);
}

// Runs a fully bound aggregate query returning (count, max time or 0).
result<FailureCount> ReadFailureCount(Statement& s) {
  auto row = s.Step();
  if (!row) return row.error();
  if (!*row) return errc::internal;  // An aggregate always yields a row.
  return FailureCount{s.ColumnInt(0), s.ColumnInt(1)};
}

}  // namespace

// --- the connection pool ----------------------------------------------------------------------

// One borrowed connection, given back when the lease ends.
class SqliteMetadataStore::Lease {
 public:
  Lease(SqliteMetadataStore* store, SqliteDatabase* db) : store_(store), db_(db) {}
  Lease(Lease&& other) noexcept : store_(other.store_), db_(std::exchange(other.db_, nullptr)) {}
  Lease& operator=(Lease&&) = delete;
  ~Lease() {
    if (db_ != nullptr) store_->Return(db_);
  }
  SqliteDatabase& db() { return *db_; }

 private:
  SqliteMetadataStore* store_;
  SqliteDatabase* db_;
};

SqliteMetadataStore::SqliteMetadataStore(std::vector<std::unique_ptr<SqliteDatabase>> connections,
                                         std::unique_ptr<SqliteDatabase> checkpoint_connection)
    : connections_(std::move(connections)),
      checkpoint_connection_(std::move(checkpoint_connection)) {
  for (auto& c : connections_) {
    c->SetWalHook([this](SqliteDatabase& db, int frames) { OnWalCommit(db, frames); });
    idle_.push_back(c.get());
  }
  // The thread takes no process signals, whatever its host's mask: a program that blocks them
  // and waits for them in one thread (strongroomd) must not have them handed to this one.
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &previous);
  checkpoint_thread_ = std::thread([this] { CheckpointLoop(); });
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

SqliteMetadataStore::~SqliteMetadataStore() {
  {
    std::lock_guard lock(checkpoint_mutex_);
    stopping_ = true;
  }
  checkpoint_wake_.notify_one();
  checkpoint_thread_.join();
}

std::uint64_t SqliteMetadataStore::checkpoints() const {
  std::lock_guard lock(checkpoint_mutex_);
  return checkpoints_;
}

void SqliteMetadataStore::OnWalCommit(SqliteDatabase& db, int wal_frames) {
  if (wal_frames >= kInlineCheckpointFrames) {
    std::lock_guard run(checkpoint_run_mutex_);  // After the thread's round, if one runs.
    if (auto r = db.Checkpoint(); !r) {
      spdlog::warn("sqlite: checkpoint after a commit failed: {}", r.error().message());
    }
    return;
  }
  if (wal_frames < kCheckpointFrames) return;
  {
    std::lock_guard lock(checkpoint_mutex_);
    if (checkpoint_wanted_) return;
    checkpoint_wanted_ = true;
  }
  checkpoint_wake_.notify_one();
}

void SqliteMetadataStore::CheckpointLoop() {
  for (;;) {
    {
      std::unique_lock lock(checkpoint_mutex_);
      checkpoint_wake_.wait(lock, [&] { return stopping_ || checkpoint_wanted_; });
      if (stopping_) return;
      checkpoint_wanted_ = false;
    }
    // Outside the lock: a commit that asks for another one meanwhile only sets the flag.
    result<void> r;
    {
      std::lock_guard run(checkpoint_run_mutex_);
      r = checkpoint_connection_->Checkpoint();
    }
    if (!r) spdlog::warn("sqlite: checkpoint failed: {}", r.error().message());
    std::lock_guard lock(checkpoint_mutex_);
    ++checkpoints_;
  }
}

result<SqliteMetadataStore::Lease> SqliteMetadataStore::Borrow() {
  std::unique_lock<std::mutex> lock(pool_mutex_);
  if (!returned_.wait_for(lock, kBorrowTimeout, [&] { return !idle_.empty(); })) {
    return errc::io_error;
  }
  SqliteDatabase* db = idle_.back();
  idle_.pop_back();
  return Lease(this, db);
}

void SqliteMetadataStore::Return(SqliteDatabase* connection) noexcept {
  // A connection must come back clean. Transaction() always ends what it begins, but if even
  // its ROLLBACK failed, the next BEGIN on this connection would fail forever: try again.
  if (connection->InTransaction()) (void)connection->Execute("ROLLBACK");
  {
    std::lock_guard<std::mutex> lock(pool_mutex_);
    idle_.push_back(connection);
  }
  returned_.notify_one();
}

template <class T, class Body>
result<T> SqliteMetadataStore::Read(Body&& body) {
  auto lease = Borrow();
  if (!lease) return Fail<T>(lease.error());
  return body(lease->db());
}

template <class T, class Body>
result<T> SqliteMetadataStore::Write(Body&& body) {
  auto lease = Borrow();
  if (!lease) return Fail<T>(lease.error());
  std::lock_guard<std::mutex> lock(write_mutex_);
  SqliteDatabase& db = lease->db();
  if constexpr (std::is_void_v<T>) {
    return db.Transaction([&]() -> result<void> { return body(db); });
  } else {
    std::optional<T> out;
    auto r = db.Transaction([&]() -> result<void> {
      auto value = body(db);
      if (!value) return value.error();
      out.emplace(std::move(*value));
      return {};
    });
    if (!r) return Fail<T>(r.error());
    return std::move(*out);
  }
}

result<std::unique_ptr<SqliteMetadataStore>> SqliteMetadataStore::Open(const std::string& path,
                                                                       std::size_t connections) {
  if (connections == 0 || connections > kMaxConnections) return errc::invalid_argument;
  std::vector<std::unique_ptr<SqliteDatabase>> pool;
  pool.reserve(connections);
  for (std::size_t i = 0; i < connections; ++i) {
    auto db = SqliteDatabase::Open(path);
    if (!db) return db.error();
    // The first connection brings the schema up to date (or refuses a newer one) before any
    // other is opened.
    if (i == 0) {
      if (auto m = (*db)->Migrate(kMigrations); !m) return m.error();
    }
    pool.push_back(std::move(*db));
  }
  auto checkpoint_connection = SqliteDatabase::Open(path);
  if (!checkpoint_connection) return checkpoint_connection.error();
  return std::unique_ptr<SqliteMetadataStore>(
      new SqliteMetadataStore(std::move(pool), std::move(*checkpoint_connection)));
}

// --- settings ---------------------------------------------------------------------------------

result<std::optional<std::string>> SqliteMetadataStore::GetSetting(std::string_view key) {
  return Read<std::optional<std::string>>(
      [&](SqliteDatabase& db) -> result<std::optional<std::string>> {
        auto s = db.Cached("SELECT value FROM settings WHERE key = ?1");
        if (!s) return s.error();
        (*s)->Bind(1, key);
        auto row = (*s)->Step();
        if (!row) return row.error();
        if (!*row) return std::optional<std::string>();
        return std::optional<std::string>((*s)->ColumnText(0));
      });
}

result<void> SqliteMetadataStore::PutSetting(std::string_view key, std::string_view value) {
  return Write<void>([&](SqliteDatabase& db) -> result<void> {
    auto s = db.Cached(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value");
    if (!s) return s.error();
    (*s)->Bind(1, key).Bind(2, value);
    return Run(**s);
  });
}

result<bool> SqliteMetadataStore::PutSettingIfAbsent(std::string_view key, std::string_view value) {
  // One statement against the primary key: atomic across threads and processes alike.
  return Write<bool>([&](SqliteDatabase& db) -> result<bool> {
    auto s = db.Cached("INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT DO NOTHING");
    if (!s) return Fail<bool>(s.error());
    (*s)->Bind(1, key).Bind(2, value);
    if (auto r = Run(**s); !r) return Fail<bool>(r.error());
    return db.Changes() == 1;
  });
}

// --- invitations ------------------------------------------------------------------------------

result<void> SqliteMetadataStore::CreateInvitation(const InvitationRecord& invitation) {
  if (!ValidRole(invitation.role)) return errc::invalid_argument;
  return Write<void>([&](SqliteDatabase& db) -> result<void> {
    auto s = db.Cached(
        "INSERT INTO invitations (token_digest, email, role, created_by, created_at,"
        " expires_at, used_at, used_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    if (!s) return s.error();
    Statement& st = **s;
    st.Bind(1, invitation.token_digest)
        .Bind(2, invitation.email)
        .Bind(3, std::int64_t{static_cast<int>(invitation.role)})
        .Bind(4, invitation.created_by)
        .Bind(5, invitation.created_at)
        .Bind(6, invitation.expires_at);
    if (invitation.used_at) st.Bind(7, *invitation.used_at);
    if (invitation.used_by) st.Bind(8, *invitation.used_by);
    return Run(st);
  });
}

result<InvitationRecord> SqliteMetadataStore::FindInvitation(std::string_view digest) {
  return Read<InvitationRecord>([&](SqliteDatabase& db) -> result<InvitationRecord> {
    auto s = db.Cached(
        "SELECT token_digest, email, role, created_by, created_at, expires_at, used_at,"
        " used_by FROM invitations WHERE token_digest = ?1");
    if (!s) return s.error();
    Statement& st = **s;
    st.Bind(1, digest);
    auto row = st.Step();
    if (!row) return row.error();
    if (!*row) return errc::not_found;
    auto role = RoleFromColumn(st.ColumnInt(2));
    if (!role) return errc::io_error;
    InvitationRecord r;
    r.token_digest = st.ColumnText(0);
    r.email = st.ColumnText(1);
    r.role = *role;
    r.created_by = st.ColumnText(3);
    r.created_at = st.ColumnInt(4);
    r.expires_at = st.ColumnInt(5);
    if (!st.ColumnIsNull(6)) r.used_at = st.ColumnInt(6);
    if (!st.ColumnIsNull(7)) r.used_by = st.ColumnText(7);
    return r;
  });
}

// --- users ------------------------------------------------------------------------------------

result<void> SqliteMetadataStore::RegisterUser(const Registration& registration) {
  const UserRecord& user = registration.user;
  if (!ValidRole(user.role) || !ValidAuditResult(registration.audit.result)) {
    return errc::invalid_argument;
  }
  // One transaction: the invitation is checked and consumed, the user inserted and the event
  // appended together. Any failure rolls all of it back, so a refused registration leaves
  // the invitation usable and no audit entry behind. The invitation is checked first: an
  // unusable invitation is not_found even if the email is also taken.
  const bool with_invitation = !registration.without_invitation;
  if (!with_invitation && (user.role != Role::user || !registration.invitation_digest.empty())) {
    return errc::invalid_argument;
  }
  return Write<void>([&](SqliteDatabase& db) -> result<void> {
    if (with_invitation) {
      auto s = db.Cached(
          "SELECT email, expires_at, used_at IS NOT NULL FROM invitations"
          " WHERE token_digest = ?1");
      if (!s) return s.error();
      (*s)->Bind(1, registration.invitation_digest);
      auto row = (*s)->Step();
      if (!row) return row.error();
      if (!*row) return errc::not_found;
      // An invitation for "" (the owner setup token) admits any email.
      const std::string invited = (*s)->ColumnText(0);
      const bool usable = (invited.empty() || invited == user.email) &&
                          user.created_at < (*s)->ColumnInt(1) && (*s)->ColumnInt(2) == 0;
      if (!usable) return errc::not_found;
    }
    if (with_invitation) {
      auto s = db.Cached(
          "UPDATE invitations SET used_at = ?2, used_by = ?3"
          " WHERE token_digest = ?1 AND used_at IS NULL");
      if (!s) return s.error();
      (*s)->Bind(1, registration.invitation_digest).Bind(2, user.created_at).Bind(3, user.id);
      if (auto r = Run(**s); !r) return r;
      // Cannot be 0 under BEGIN IMMEDIATE (we hold the write lock since the check), but a
      // silent double use would be a security bug, so it is checked rather than assumed.
      if (db.Changes() != 1) return errc::not_found;
    }
    {
      auto s = db.Cached(
          "INSERT INTO users (id, email, display_name, role, active, auth_verifier,"
          " kdf_algorithm, kdf_opslimit, kdf_memlimit, kdf_salt, public_bundle, private_bundle,"
          " recovery_bundle, recovery_verifier, created_at, updated_at)"
          " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)");
      if (!s) return s.error();
      (*s)->Bind(1, user.id)
          .Bind(2, user.email)
          .Bind(3, user.display_name)
          .Bind(4, std::int64_t{static_cast<int>(user.role)})
          .Bind(5, std::int64_t{user.active ? 1 : 0})
          .Bind(6, user.auth_verifier)
          .Bind(7, user.kdf.algorithm)
          .Bind(8, user.kdf.opslimit)
          .Bind(9, user.kdf.memlimit)
          .BindBlob(10, user.kdf.salt)
          .BindBlob(11, user.public_bundle)
          .BindBlob(12, user.private_bundle)
          .BindBlob(13, user.recovery_bundle)
          .Bind(14, user.recovery_verifier)
          .Bind(15, user.created_at)
          .Bind(16, user.updated_at);
      if (auto r = Run(**s); !r) return r;  // already_exists: id or email taken.
    }
    return InsertAudit(db, registration.audit);
  });
}

result<UserRecord> SqliteMetadataStore::FindUserById(std::string_view id) {
  static const std::string kSql = SelectUsers("WHERE u.id = ?1");
  return Read<UserRecord>([&](SqliteDatabase& db) -> result<UserRecord> {
    auto s = db.Cached(kSql);
    if (!s) return s.error();
    (*s)->Bind(1, id);
    auto row = (*s)->Step();
    if (!row) return row.error();
    if (!*row) return errc::not_found;
    return ReadUser(**s);
  });
}

result<UserRecord> SqliteMetadataStore::FindUserByEmail(std::string_view email) {
  // Exact comparison (BINARY collation): the contract has callers normalise emails.
  static const std::string kSql = SelectUsers("WHERE u.email = ?1");
  return Read<UserRecord>([&](SqliteDatabase& db) -> result<UserRecord> {
    auto s = db.Cached(kSql);
    if (!s) return s.error();
    (*s)->Bind(1, email);
    auto row = (*s)->Step();
    if (!row) return row.error();
    if (!*row) return errc::not_found;
    return ReadUser(**s);
  });
}

result<std::int64_t> SqliteMetadataStore::CountUsers() {
  return Read<std::int64_t>([&](SqliteDatabase& db) -> result<std::int64_t> {
    auto s = db.Cached("SELECT count(*) FROM users");
    if (!s) return s.error();
    auto row = (*s)->Step();
    if (!row) return row.error();
    if (!*row) return errc::internal;
    return (*s)->ColumnInt(0);
  });
}

result<void> SqliteMetadataStore::ChangeCredentials(const CredentialChange& change) {
  if (!ValidAuditResult(change.audit.result)) return errc::invalid_argument;
  return Write<void>([&](SqliteDatabase& db) -> result<void> {
    {
      // NULL for an unset recovery field keeps the stored value (the columns are NOT NULL,
      // so NULL never means anything else).
      auto s = db.Cached(
          "UPDATE users SET auth_verifier = ?2, kdf_algorithm = ?3, kdf_opslimit = ?4,"
          " kdf_memlimit = ?5, kdf_salt = ?6, private_bundle = ?7,"
          " recovery_bundle = COALESCE(?8, recovery_bundle),"
          " recovery_verifier = COALESCE(?9, recovery_verifier), updated_at = ?10"
          " WHERE id = ?1");
      if (!s) return s.error();
      Statement& st = **s;
      st.Bind(1, change.user_id)
          .Bind(2, change.auth_verifier)
          .Bind(3, change.kdf.algorithm)
          .Bind(4, change.kdf.opslimit)
          .Bind(5, change.kdf.memlimit)
          .BindBlob(6, change.kdf.salt)
          .BindBlob(7, change.private_bundle)
          .Bind(10, change.now);
      if (change.recovery_bundle) st.BindBlob(8, *change.recovery_bundle);
      if (change.recovery_verifier) st.Bind(9, *change.recovery_verifier);
      if (auto r = Run(st); !r) return r;
      if (db.Changes() != 1) return errc::not_found;
    }
    {
      auto s = db.Cached("DELETE FROM sessions WHERE user_id = ?1 AND id != ?2");
      if (!s) return s.error();
      (*s)->Bind(1, change.user_id).Bind(2, change.keep_session_id);
      if (auto r = Run(**s); !r) return r;
    }
    return InsertAudit(db, change.audit);
  });
}

// --- sessions ---------------------------------------------------------------------------------

result<void> SqliteMetadataStore::CreateSession(const SessionRecord& session) {
  return Write<void>([&](SqliteDatabase& db) -> result<void> {
    auto s = db.Cached(
        "INSERT INTO sessions (id, token_digest, user_id, created_at, last_seen_at, expires_at,"
        " ip, user_agent) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    if (!s) return s.error();
    (*s)->Bind(1, session.id)
        .Bind(2, session.token_digest)
        .Bind(3, session.user_id)
        .Bind(4, session.created_at)
        .Bind(5, session.last_seen_at)
        .Bind(6, session.expires_at)
        .Bind(7, session.ip)
        .Bind(8, session.user_agent);
    // The foreign key turns an unknown user into not_found; UNIQUE/PRIMARY KEY into
    // already_exists.
    return Run(**s);
  });
}

result<SessionRecord> SqliteMetadataStore::FindSession(std::string_view token_digest, TimeMs now) {
  static const std::string kSql =
      Select(kSessionColumns, "FROM sessions WHERE token_digest = ?1 AND expires_at > ?2");
  return Read<SessionRecord>([&](SqliteDatabase& db) -> result<SessionRecord> {
    auto s = db.Cached(kSql);
    if (!s) return s.error();
    (*s)->Bind(1, token_digest).Bind(2, now);
    auto row = (*s)->Step();
    if (!row) return row.error();
    if (!*row) return errc::not_found;
    return ReadSession(**s);
  });
}

result<SessionWithUser> SqliteMetadataStore::FindSessionWithUser(std::string_view token_digest,
                                                                 TimeMs now) {
  // One statement is one implicit read transaction: session and user come from the same
  // snapshot, and SQLite takes and drops its locks once instead of twice.
  static const std::string kSql = "SELECT " + Qualified(kSessionColumns, "s") + ", " +
                                  Qualified(kUserColumns, "u") + ", " +
                                  std::string(kUserTotpEnabled) +
                                  " FROM sessions s JOIN users u ON u.id = s.user_id"
                                  " WHERE s.token_digest = ?1 AND s.expires_at > ?2";
  static constexpr int kFirstUserColumn = 8;  // The number of columns in kSessionColumns.
  return Read<SessionWithUser>([&](SqliteDatabase& db) -> result<SessionWithUser> {
    auto s = db.Cached(kSql);
    if (!s) return s.error();
    (*s)->Bind(1, token_digest).Bind(2, now);
    auto row = (*s)->Step();
    if (!row) return row.error();
    if (!*row) return errc::not_found;
    auto user = ReadUser(**s, kFirstUserColumn);
    if (!user) return user.error();
    return SessionWithUser{ReadSession(**s), std::move(*user)};
  });
}

result<std::vector<SessionRecord>> SqliteMetadataStore::ListSessions(std::string_view user_id,
                                                                     TimeMs now) {
  // rowid (insertion order) breaks ties between sessions made in the same millisecond.
  static const std::string kSql = Select(kSessionColumns,
                                         "FROM sessions WHERE user_id = ?1 AND expires_at > ?2"
                                         " ORDER BY created_at DESC, rowid DESC");
  return Read<std::vector<SessionRecord>>(
      [&](SqliteDatabase& db) -> result<std::vector<SessionRecord>> {
        auto s = db.Cached(kSql);
        if (!s) return s.error();
        (*s)->Bind(1, user_id).Bind(2, now);
        return CollectRows<SessionRecord>(
            **s, [](const Statement& row) { return ReadSession(row); });
      });
}

result<void> SqliteMetadataStore::TouchSession(std::string_view session_id, TimeMs last_seen_at) {
  // Only ever moves forward: concurrent requests of one session may report out of order,
  // and an unchanged row needs no write.
  return Write<void>([&](SqliteDatabase& db) -> result<void> {
    auto s = db.Cached("UPDATE sessions SET last_seen_at = ?2 WHERE id = ?1 AND last_seen_at < ?2");
    if (!s) return s.error();
    (*s)->Bind(1, session_id).Bind(2, last_seen_at);
    return Run(**s);
  });
}

result<bool> SqliteMetadataStore::RevokeSession(std::string_view user_id,
                                                std::string_view session_id) {
  return Write<bool>([&](SqliteDatabase& db) -> result<bool> {
    auto s = db.Cached("DELETE FROM sessions WHERE id = ?1 AND user_id = ?2");
    if (!s) return Fail<bool>(s.error());
    (*s)->Bind(1, session_id).Bind(2, user_id);
    if (auto r = Run(**s); !r) return Fail<bool>(r.error());
    return db.Changes() > 0;
  });
}

result<std::int64_t> SqliteMetadataStore::RevokeOtherSessions(std::string_view user_id,
                                                              std::string_view keep_session_id) {
  return Write<std::int64_t>([&](SqliteDatabase& db) -> result<std::int64_t> {
    auto s = db.Cached("DELETE FROM sessions WHERE user_id = ?1 AND id != ?2");
    if (!s) return s.error();
    (*s)->Bind(1, user_id).Bind(2, keep_session_id);
    if (auto r = Run(**s); !r) return r.error();
    return db.Changes();
  });
}

result<std::int64_t> SqliteMetadataStore::DeleteExpiredSessions(TimeMs now) {
  return Write<std::int64_t>([&](SqliteDatabase& db) -> result<std::int64_t> {
    auto s = db.Cached("DELETE FROM sessions WHERE expires_at <= ?1");
    if (!s) return s.error();
    (*s)->Bind(1, now);
    if (auto r = Run(**s); !r) return r.error();
    return db.Changes();
  });
}

// --- login history ----------------------------------------------------------------------------

result<void> SqliteMetadataStore::RecordLoginAttempt(const LoginAttempt& attempt) {
  if (!ValidLoginResult(attempt.result)) return errc::invalid_argument;
  return Write<void>([&](SqliteDatabase& db) -> result<void> {
    auto s = db.Cached(
        "INSERT INTO login_attempts (time, email, user_id, ip, user_agent, result, reason)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    if (!s) return s.error();
    Statement& st = **s;
    st.Bind(1, attempt.time)
        .Bind(2, attempt.email)
        .Bind(4, attempt.ip)
        .Bind(5, attempt.user_agent)
        .Bind(6, attempt.result)
        .Bind(7, attempt.reason);
    if (attempt.user_id) st.Bind(3, *attempt.user_id);
    return Run(st);
  });
}

result<FailureCount> SqliteMetadataStore::AccountFailures(std::string_view email, TimeMs since) {
  // Keyed by the email as typed (the contract: emails without an account back off exactly like
  // those with one). The latest success is found through the (email, time) index, whose
  // entries end in the rowid, so (time DESC, id DESC) needs no sort.
  return Read<FailureCount>([&](SqliteDatabase& db) -> result<FailureCount> {
    auto s = db.Cached(
        "WITH last AS (SELECT time, id FROM login_attempts"
        "  WHERE email = ?1 AND result = 'success' ORDER BY time DESC, id DESC LIMIT 1)"
        " SELECT count(*), COALESCE(max(a.time), 0) FROM login_attempts AS a"
        " WHERE a.email = ?1 AND a.result = 'failure' AND a.time >= ?2"
        " AND NOT EXISTS (SELECT 1 FROM last WHERE (a.time, a.id) <= (last.time, last.id))");
    if (!s) return s.error();
    (*s)->Bind(1, email).Bind(2, since);
    return ReadFailureCount(**s);
  });
}

result<FailureCount> SqliteMetadataStore::IpFailures(std::string_view ip, TimeMs since) {
  return Read<FailureCount>([&](SqliteDatabase& db) -> result<FailureCount> {
    auto s = db.Cached(
        "SELECT count(*), COALESCE(max(time), 0) FROM login_attempts"
        " WHERE ip = ?1 AND result = 'failure' AND time >= ?2");
    if (!s) return s.error();
    (*s)->Bind(1, ip).Bind(2, since);
    return ReadFailureCount(**s);
  });
}

result<std::vector<LoginAttempt>> SqliteMetadataStore::QueryLoginAttempts(const LoginQuery& query) {
  // The WHERE clause is assembled from fixed fragments (at most 2^5 texts, so the statement
  // cache stays small); values are bound, never spliced in. Parameter numbers are fixed per
  // filter; ?6 (the limit) is always present, so every number up to 6 is bindable.
  std::string sql = Select(kAttemptColumns, "FROM login_attempts WHERE 1");
  if (query.from) sql += " AND time >= ?1";
  if (query.to) sql += " AND time < ?2";
  if (query.user_id) sql += " AND user_id = ?3";
  if (query.ip) sql += " AND ip = ?4";
  if (query.before_id) sql += " AND id < ?5";
  sql += " ORDER BY id DESC LIMIT ?6";
  return Read<std::vector<LoginAttempt>>(
      [&](SqliteDatabase& db) -> result<std::vector<LoginAttempt>> {
        auto s = db.Cached(sql);
        if (!s) return s.error();
        Statement& st = **s;
        if (query.from) st.Bind(1, *query.from);
        if (query.to) st.Bind(2, *query.to);
        if (query.user_id) st.Bind(3, *query.user_id);
        if (query.ip) st.Bind(4, *query.ip);
        if (query.before_id) st.Bind(5, *query.before_id);
        st.Bind(6, ClampLimit(query.limit));
        return CollectRows<LoginAttempt>(st, ReadAttempt);
      });
}

// --- audit trail ------------------------------------------------------------------------------

result<void> SqliteMetadataStore::AppendAudit(const AuditEvent& event) {
  if (!ValidAuditResult(event.result)) return errc::invalid_argument;
  return Write<void>([&](SqliteDatabase& db) { return InsertAudit(db, event); });
}

result<std::vector<AuditEvent>> SqliteMetadataStore::QueryAudit(const AuditQuery& query) {
  // Assembled as in QueryLoginAttempts.
  std::string sql = Select(kAuditColumns, "FROM audit_events WHERE 1");
  if (query.from) sql += " AND time >= ?1";
  if (query.to) sql += " AND time < ?2";
  if (query.actor) sql += " AND actor = ?3";
  if (query.action) sql += " AND action = ?4";
  if (query.before_id) sql += " AND id < ?5";
  sql += " ORDER BY id DESC LIMIT ?6";
  return Read<std::vector<AuditEvent>>([&](SqliteDatabase& db) -> result<std::vector<AuditEvent>> {
    auto s = db.Cached(sql);
    if (!s) return s.error();
    Statement& st = **s;
    if (query.from) st.Bind(1, *query.from);
    if (query.to) st.Bind(2, *query.to);
    if (query.actor) st.Bind(3, *query.actor);
    if (query.action) st.Bind(4, *query.action);
    if (query.before_id) st.Bind(5, *query.before_id);
    st.Bind(6, ClampLimit(query.limit));
    return CollectRows<AuditEvent>(st, ReadAudit);
  });
}

// --- blobs ------------------------------------------------------------------------------------


// --- Private Room -------------------------------------------------------------------------------

namespace {

// The first row of `sql` (with ?1 = key) through `read`; not_found when there is none.
template <class T, class Reader>
result<T> FirstRow(SqliteDatabase& db, const std::string& sql, std::string_view key,
                   Reader read) {
  auto s = db.Cached(sql);
  if (!s) return s.error();
  (*s)->Bind(1, key);
  auto row = (*s)->Step();
  if (!row) return row.error();
  if (!*row) return errc::not_found;
  return read(**s);
}

// Every row of `sql` (with ?1 = key) through `read`.
template <class T, class Reader>
result<std::vector<T>> AllRows(SqliteDatabase& db, const std::string& sql, std::string_view key,
                               Reader read) {
  auto s = db.Cached(sql);
  if (!s) return s.error();
  (*s)->Bind(1, key);
  return CollectRows<T>(**s, read);
}

// Whether `sql` (with ?1 = key) returns a row.
result<bool> AnyRow(SqliteDatabase& db, const std::string& sql, std::string_view key) {
  auto s = db.Cached(sql);
  if (!s) return Fail<bool>(s.error());
  (*s)->Bind(1, key);
  return (*s)->Step();
}

// Several reads as one snapshot: BEGIN now, COMMIT (of nothing) when it goes out of scope.
// Declare it before the statements it covers, so they are reset before the COMMIT.
class ReadTransaction {
 public:
  explicit ReadTransaction(SqliteDatabase& db) : db_(db), ok_(db.Execute("BEGIN")) {}
  ~ReadTransaction() {
    if (ok_) (void)db_.Execute("COMMIT");
  }
  ReadTransaction(const ReadTransaction&) = delete;
  ReadTransaction& operator=(const ReadTransaction&) = delete;
  [[nodiscard]] result<void> status() const { return ok_; }

 private:
  SqliteDatabase& db_;
  result<void> ok_;
};

constexpr std::string_view kFolderColumns =
    "id, owner_id, parent_id, name_hmac, revision, sealed_key, record, signature, created_at,"
    " updated_at";
constexpr std::string_view kFileColumns =
    "id, owner_id, parent_id, name_hmac, revision, size, blob_id, content_type, author_id,"
    " record, signature, created_at, updated_at";

RoomFolder ReadFolder(const Statement& s) {
  RoomFolder f;
  f.id = s.ColumnText(0);
  f.owner_id = s.ColumnText(1);
  if (!s.ColumnIsNull(2)) f.parent_id = s.ColumnText(2);
  if (!s.ColumnIsNull(3)) f.name_hmac = s.ColumnText(3);
  f.revision = s.ColumnInt(4);
  f.sealed_key = s.ColumnBlob(5);
  f.record = s.ColumnBlob(6);
  f.signature = s.ColumnBlob(7);
  f.created_at = s.ColumnInt(8);
  f.updated_at = s.ColumnInt(9);
  return f;
}

RoomFile ReadFile(const Statement& s) {
  RoomFile f;
  f.id = s.ColumnText(0);
  f.owner_id = s.ColumnText(1);
  f.parent_id = s.ColumnText(2);
  f.name_hmac = s.ColumnText(3);
  f.version = s.ColumnInt(4);
  f.size = s.ColumnInt(5);
  f.blob_id = s.ColumnText(6);
  f.content_type = s.ColumnText(7);
  f.author_id = s.ColumnText(8);
  f.record = s.ColumnBlob(9);
  f.signature = s.ColumnBlob(10);
  f.created_at = s.ColumnInt(11);
  f.updated_at = s.ColumnInt(12);
  return f;
}

result<std::vector<RoomRecipient>> ReadRecipients(SqliteDatabase& db, std::string_view file_id) {
  static const std::string kSql =
      "SELECT user_id, fingerprint FROM room_recipients WHERE file_id = ?1 ORDER BY user_id";
  return AllRows<RoomRecipient>(db, kSql, file_id, [](const Statement& s) {
    return RoomRecipient{s.ColumnText(0), s.ColumnText(1)};
  });
}

// Fills in the recipients of files read from room_items.
result<void> AddRecipients(SqliteDatabase& db, std::vector<RoomFile>& files) {
  for (auto& file : files) {
    auto recipients = ReadRecipients(db, file.id);
    if (!recipients) return recipients.error();
    file.recipients = std::move(*recipients);
  }
  return {};
}

result<void> WriteRecipients(SqliteDatabase& db, const RoomFile& file) {
  {
    auto s = db.Cached("DELETE FROM room_recipients WHERE file_id = ?1");
    if (!s) return s.error();
    (*s)->Bind(1, file.id);
    if (auto r = Run(**s); !r) return r;
  }
  for (const auto& recipient : file.recipients) {
    auto s = db.Cached(
        "INSERT INTO room_recipients (file_id, user_id, fingerprint) VALUES (?1, ?2, ?3)");
    if (!s) return s.error();
    (*s)->Bind(1, file.id).Bind(2, recipient.user_id).Bind(3, recipient.fingerprint);
    if (auto r = Run(**s); !r) return r;  // already_exists: a user listed twice.
  }
  return {};
}

// not_found unless `parent_id` is a folder owned by `owner_id`: a file row, someone else's
// folder and a missing id are all "no such folder" to the caller.
result<void> CheckParent(SqliteDatabase& db, std::string_view parent_id,
                         std::string_view owner_id) {
  auto s = db.Cached(
      "SELECT 1 FROM room_items WHERE id = ?1 AND kind = 'folder' AND owner_id = ?2");
  if (!s) return s.error();
  (*s)->Bind(1, parent_id).Bind(2, owner_id);
  auto row = (*s)->Step();
  if (!row) return row.error();
  if (!*row) return errc::not_found;
  return {};
}

bool ValidFile(const RoomFile& f) {
  if (f.version < 1 || f.size < 0) return false;
  // Sorted and without duplicates, and the owner among them: the header's stanzas always
  // include the owner (a file nobody in its room can open is a bug, not a state).
  for (std::size_t i = 1; i < f.recipients.size(); ++i) {
    if (!(f.recipients[i - 1].user_id < f.recipients[i].user_id)) return false;
  }
  return std::any_of(f.recipients.begin(), f.recipients.end(),
                     [&](const RoomRecipient& r) { return r.user_id == f.owner_id; });
}

}  // namespace

result<void> SqliteMetadataStore::CreateRoomFolder(const RoomFolder& folder,
                                                   const AuditEvent& audit) {
  if (!ValidAuditResult(audit.result) || folder.revision < 1 ||
      folder.parent_id.has_value() != folder.name_hmac.has_value()) {
    return errc::invalid_argument;
  }
  return Write<void>([&](SqliteDatabase& db) -> result<void> {
    if (folder.parent_id) {
      if (auto r = CheckParent(db, *folder.parent_id, folder.owner_id); !r) return r;
    }
    auto s = db.Cached(
        "INSERT INTO room_items (id, kind, owner_id, parent_id, name_hmac, revision, sealed_key,"
        " record, signature, created_at, updated_at)"
        " VALUES (?1, 'folder', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
    if (!s) return s.error();
    Statement& st = **s;
    st.Bind(1, folder.id).Bind(2, folder.owner_id).Bind(5, folder.revision);
    if (folder.parent_id) st.Bind(3, *folder.parent_id);
    if (folder.name_hmac) st.Bind(4, *folder.name_hmac);
    st.BindBlob(6, folder.sealed_key)
        .BindBlob(7, folder.record)
        .BindBlob(8, folder.signature)
        .Bind(9, folder.created_at)
        .Bind(10, folder.updated_at);
    if (auto r = Run(st); !r) return r;  // already_exists: id, name or second root.
    return InsertAudit(db, audit);
  });
}

result<RoomFolder> SqliteMetadataStore::FindRoomFolder(std::string_view id) {
  static const std::string kSql =
      Select(kFolderColumns, "FROM room_items WHERE id = ?1 AND kind = 'folder'");
  return Read<RoomFolder>([&](SqliteDatabase& db) {
    return FirstRow<RoomFolder>(db, kSql, id, ReadFolder);
  });
}

result<RoomFolder> SqliteMetadataStore::FindRoomRoot(std::string_view owner_id) {
  static const std::string kSql =
      Select(kFolderColumns, "FROM room_items WHERE owner_id = ?1 AND parent_id IS NULL");
  return Read<RoomFolder>([&](SqliteDatabase& db) {
    return FirstRow<RoomFolder>(db, kSql, owner_id, ReadFolder);
  });
}

result<RoomListing> SqliteMetadataStore::ListRoomFolder(std::string_view id) {
  static const std::string kIsFolder = "SELECT 1 FROM room_items WHERE id = ?1 AND kind = 'folder'";
  static const std::string kFolders = Select(
      kFolderColumns, "FROM room_items WHERE parent_id = ?1 AND kind = 'folder' ORDER BY id");
  static const std::string kFiles = Select(
      kFileColumns, "FROM room_items WHERE parent_id = ?1 AND kind = 'file' ORDER BY id");
  return Read<RoomListing>([&](SqliteDatabase& db) -> result<RoomListing> {
    ReadTransaction snapshot(db);
    if (auto r = snapshot.status(); !r) return r.error();
    auto exists = AnyRow(db, kIsFolder, id);
    if (!exists) return exists.error();
    if (!*exists) return errc::not_found;
    auto folders = AllRows<RoomFolder>(db, kFolders, id, ReadFolder);
    if (!folders) return folders.error();
    auto files = AllRows<RoomFile>(db, kFiles, id, ReadFile);
    if (!files) return files.error();
    if (auto r = AddRecipients(db, *files); !r) return r.error();
    return RoomListing{std::move(*folders), std::move(*files)};
  });
}

result<void> SqliteMetadataStore::UpdateRoomFolder(const RoomFolder& folder,
                                                   const AuditEvent& audit) {
  if (!ValidAuditResult(audit.result) || !folder.parent_id || !folder.name_hmac) {
    return errc::invalid_argument;  // The root has no parent and cannot move.
  }
  return Write<void>([&](SqliteDatabase& db) -> result<void> {
    static const std::string kSql =
        Select(kFolderColumns, "FROM room_items WHERE id = ?1 AND kind = 'folder'");
    auto found = FirstRow<RoomFolder>(db, kSql, folder.id, ReadFolder);
    if (!found) return found.error();
    const RoomFolder& current = *found;
    if (current.owner_id != folder.owner_id) return errc::not_found;
    if (!current.parent_id) return errc::invalid_argument;  // The root.
    if (folder.revision != current.revision + 1) return errc::conflict;
    if (auto r = CheckParent(db, *folder.parent_id, folder.owner_id); !r) return r;
    {
      // Walk up from the new parent: meeting the folder itself would make a cycle.
      auto s = db.Cached(
          "WITH RECURSIVE up(id) AS (SELECT ?1 UNION ALL"
          " SELECT r.parent_id FROM room_items r JOIN up ON r.id = up.id"
          " WHERE r.parent_id IS NOT NULL)"
          " SELECT 1 FROM up WHERE id = ?2");
      if (!s) return s.error();
      (*s)->Bind(1, *folder.parent_id).Bind(2, folder.id);
      auto row = (*s)->Step();
      if (!row) return row.error();
      if (*row) return errc::invalid_argument;
    }
    auto s = db.Cached(
        "UPDATE room_items SET parent_id = ?2, name_hmac = ?3, revision = ?4, record = ?5,"
        " signature = ?6, updated_at = ?7 WHERE id = ?1");
    if (!s) return s.error();
    (*s)->Bind(1, folder.id)
        .Bind(2, *folder.parent_id)
        .Bind(3, *folder.name_hmac)
        .Bind(4, folder.revision)
        .BindBlob(5, folder.record)
        .BindBlob(6, folder.signature)
        .Bind(7, folder.updated_at);
    if (auto r = Run(**s); !r) return r;  // already_exists: the name is taken there.
    return InsertAudit(db, audit);
  });
}

result<void> SqliteMetadataStore::DeleteRoomFolder(std::string_view id, const AuditEvent& audit) {
  if (!ValidAuditResult(audit.result)) return errc::invalid_argument;
  return Write<void>([&](SqliteDatabase& db) -> result<void> {
    auto exists = AnyRow(db, "SELECT 1 FROM room_items WHERE id = ?1 AND kind = 'folder'", id);
    if (!exists) return exists.error();
    if (!*exists) return errc::not_found;
    auto children = AnyRow(db, "SELECT 1 FROM room_items WHERE parent_id = ?1 LIMIT 1", id);
    if (!children) return children.error();
    if (*children) return errc::conflict;
    auto s = db.Cached("DELETE FROM room_items WHERE id = ?1");
    if (!s) return s.error();
    (*s)->Bind(1, id);
    if (auto r = Run(**s); !r) return r;
    return InsertAudit(db, audit);
  });
}

result<void> SqliteMetadataStore::CreateRoomFile(const RoomFile& file, const AuditEvent& audit) {
  if (!ValidAuditResult(audit.result) || !ValidFile(file)) return errc::invalid_argument;
  return Write<void>([&](SqliteDatabase& db) -> result<void> {
    if (auto r = CheckParent(db, file.parent_id, file.owner_id); !r) return r;
    auto s = db.Cached(
        "INSERT INTO room_items (id, kind, owner_id, parent_id, name_hmac, revision, size,"
        " blob_id, content_type, author_id, record, signature, created_at, updated_at)"
        " VALUES (?1, 'file', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)");
    if (!s) return s.error();
    (*s)->Bind(1, file.id)
        .Bind(2, file.owner_id)
        .Bind(3, file.parent_id)
        .Bind(4, file.name_hmac)
        .Bind(5, file.version)
        .Bind(6, file.size)
        .Bind(7, file.blob_id)
        .Bind(8, file.content_type)
        .Bind(9, file.author_id)
        .BindBlob(10, file.record)
        .BindBlob(11, file.signature)
        .Bind(12, file.created_at)
        .Bind(13, file.updated_at);
    if (auto r = Run(**s); !r) return r;  // already_exists: id or name.
    if (auto r = WriteRecipients(db, file); !r) return r;
    return InsertAudit(db, audit);
  });
}

result<RoomFile> SqliteMetadataStore::FindRoomFile(std::string_view id) {
  static const std::string kSql =
      Select(kFileColumns, "FROM room_items WHERE id = ?1 AND kind = 'file'");
  return Read<RoomFile>([&](SqliteDatabase& db) -> result<RoomFile> {
    ReadTransaction snapshot(db);
    if (auto r = snapshot.status(); !r) return r.error();
    auto file = FirstRow<RoomFile>(db, kSql, id, ReadFile);
    if (!file) return file.error();
    auto recipients = ReadRecipients(db, id);
    if (!recipients) return recipients.error();
    file->recipients = std::move(*recipients);
    return file;
  });
}

result<std::string> SqliteMetadataStore::UpdateRoomFile(const RoomFile& file,
                                                        const AuditEvent& audit) {
  if (!ValidAuditResult(audit.result) || !ValidFile(file)) return errc::invalid_argument;
  return Write<std::string>([&](SqliteDatabase& db) -> result<std::string> {
    std::string old_blob;
    {
      auto s = db.Cached(
          "SELECT owner_id, revision, blob_id FROM room_items WHERE id = ?1 AND kind = 'file'");
      if (!s) return s.error();
      (*s)->Bind(1, file.id);
      auto row = (*s)->Step();
      if (!row) return row.error();
      if (!*row) return errc::not_found;
      if ((*s)->ColumnText(0) != file.owner_id) return errc::invalid_argument;
      if (file.version != (*s)->ColumnInt(1) + 1) return errc::conflict;
      old_blob = (*s)->ColumnText(2);
    }
    if (auto r = CheckParent(db, file.parent_id, file.owner_id); !r) return r.error();
    auto s = db.Cached(
        "UPDATE room_items SET parent_id = ?2, name_hmac = ?3, revision = ?4, size = ?5,"
        " blob_id = ?6, content_type = ?7, author_id = ?8, record = ?9, signature = ?10,"
        " updated_at = ?11 WHERE id = ?1");
    if (!s) return s.error();
    (*s)->Bind(1, file.id)
        .Bind(2, file.parent_id)
        .Bind(3, file.name_hmac)
        .Bind(4, file.version)
        .Bind(5, file.size)
        .Bind(6, file.blob_id)
        .Bind(7, file.content_type)
        .Bind(8, file.author_id)
        .BindBlob(9, file.record)
        .BindBlob(10, file.signature)
        .Bind(11, file.updated_at);
    if (auto r = Run(**s); !r) return r.error();  // already_exists: the name is taken there.
    if (auto r = WriteRecipients(db, file); !r) return r.error();
    if (auto r = InsertAudit(db, audit); !r) return r.error();
    return old_blob;
  });
}

result<std::string> SqliteMetadataStore::DeleteRoomFile(std::string_view id,
                                                        const AuditEvent& audit) {
  if (!ValidAuditResult(audit.result)) return errc::invalid_argument;
  return Write<std::string>([&](SqliteDatabase& db) -> result<std::string> {
    auto blob = FirstRow<std::string>(
        db, "SELECT blob_id FROM room_items WHERE id = ?1 AND kind = 'file'", id,
        [](const Statement& s) { return s.ColumnText(0); });
    if (!blob) return blob.error();
    auto s = db.Cached("DELETE FROM room_items WHERE id = ?1");  // Recipients cascade.
    if (!s) return s.error();
    (*s)->Bind(1, id);
    if (auto r = Run(**s); !r) return r.error();
    if (auto r = InsertAudit(db, audit); !r) return r.error();
    return blob;
  });
}

result<std::vector<RoomFile>> SqliteMetadataStore::ListRoomSharedWith(std::string_view user_id) {
  static const std::string kSql = "SELECT " + Qualified(kFileColumns, "i") +
                                  " FROM room_items i JOIN room_recipients r ON r.file_id = i.id"
                                  " WHERE r.user_id = ?1 AND i.owner_id != ?1 ORDER BY i.id";
  return Read<std::vector<RoomFile>>([&](SqliteDatabase& db) -> result<std::vector<RoomFile>> {
    ReadTransaction snapshot(db);
    if (auto r = snapshot.status(); !r) return r.error();
    auto files = AllRows<RoomFile>(db, kSql, user_id, ReadFile);
    if (!files) return files.error();
    if (auto r = AddRecipients(db, *files); !r) return r.error();
    return files;
  });
}

namespace {

constexpr std::string_view kUploadColumns =
    "id, owner_id, file_id, base_version, size, created_at, expires_at";

RoomUpload ReadUpload(const Statement& s) {
  RoomUpload u;
  u.id = s.ColumnText(0);
  u.owner_id = s.ColumnText(1);
  u.file_id = s.ColumnText(2);
  u.base_version = s.ColumnInt(3);
  u.size = s.ColumnInt(4);
  u.created_at = s.ColumnInt(5);
  u.expires_at = s.ColumnInt(6);
  return u;
}

}  // namespace

result<void> SqliteMetadataStore::CreateRoomUpload(const RoomUpload& upload) {
  if (upload.id.empty() || upload.base_version < 0 || upload.size < 0) {
    return errc::invalid_argument;
  }
  return Write<void>([&](SqliteDatabase& db) -> result<void> {
    auto s = db.Cached(
        "INSERT INTO room_uploads (id, owner_id, file_id, base_version, size, created_at,"
        " expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    if (!s) return s.error();
    (*s)->Bind(1, upload.id)
        .Bind(2, upload.owner_id)
        .Bind(3, upload.file_id)
        .Bind(4, upload.base_version)
        .Bind(5, upload.size)
        .Bind(6, upload.created_at)
        .Bind(7, upload.expires_at);
    return Run(**s);  // already_exists: the id is taken; not_found: no such owner.
  });
}

result<RoomUpload> SqliteMetadataStore::FindRoomUpload(std::string_view id) {
  static const std::string kSql =
      "SELECT " + std::string(kUploadColumns) + " FROM room_uploads WHERE id = ?1";
  return Read<RoomUpload>(
      [&](SqliteDatabase& db) { return FirstRow<RoomUpload>(db, kSql, id, ReadUpload); });
}

result<void> SqliteMetadataStore::DeleteRoomUpload(std::string_view id) {
  return Write<void>([&](SqliteDatabase& db) -> result<void> {
    auto s = db.Cached("DELETE FROM room_uploads WHERE id = ?1");
    if (!s) return s.error();
    (*s)->Bind(1, id);
    return Run(**s);
  });
}

result<std::vector<RoomUpload>> SqliteMetadataStore::ListExpiredRoomUploads(TimeMs now,
                                                                           std::size_t limit) {
  if (limit < 1 || limit > kMaxQueryLimit) return errc::invalid_argument;
  return Read<std::vector<RoomUpload>>([&](SqliteDatabase& db) -> result<std::vector<RoomUpload>> {
    static const std::string kSql = "SELECT " + std::string(kUploadColumns) +
                                    " FROM room_uploads WHERE expires_at < ?1"
                                    " ORDER BY expires_at, id LIMIT ?2";
    auto s = db.Cached(kSql);
    if (!s) return s.error();
    (*s)->Bind(1, now).Bind(2, static_cast<std::int64_t>(limit));
    return CollectRows<RoomUpload>(**s, ReadUpload);
  });
}

result<std::vector<std::string>> SqliteMetadataStore::ReferencedBlobIds() {
  return Read<std::vector<std::string>>(
      [&](SqliteDatabase& db) -> result<std::vector<std::string>> {
        auto s = db.Cached(
            "SELECT blob_id FROM room_items WHERE kind = 'file' ORDER BY blob_id");
        if (!s) return s.error();
        return CollectRows<std::string>(
            **s, [](const Statement& row) { return row.ColumnText(0); });
      });
}

// --- two-factor authentication ------------------------------------------------------------------

namespace {

// Inserts one unused recovery code row per digest.
result<void> InsertRecoveryCodes(SqliteDatabase& db, std::string_view user_id,
                                 const std::vector<std::string>& digests) {
  for (const auto& digest : digests) {
    auto s = db.Cached("INSERT INTO totp_recovery_codes (user_id, digest) VALUES (?1, ?2)");
    if (!s) return s.error();
    (*s)->Bind(1, user_id).Bind(2, digest);
    if (auto r = Run(**s); !r) return r;
  }
  return {};
}

result<void> DeleteRecoveryCodes(SqliteDatabase& db, std::string_view user_id) {
  auto s = db.Cached("DELETE FROM totp_recovery_codes WHERE user_id = ?1");
  if (!s) return s.error();
  (*s)->Bind(1, user_id);
  return Run(**s);
}

// Whether the user has an enrolment (any state: true), a confirmed one (`confirmed_only`).
result<bool> HasTotp(SqliteDatabase& db, std::string_view user_id, bool confirmed_only) {
  auto s = db.Cached(confirmed_only ? "SELECT 1 FROM totp_enrolments WHERE user_id = ?1"
                                      " AND confirmed_at IS NOT NULL"
                                    : "SELECT 1 FROM totp_enrolments WHERE user_id = ?1");
  if (!s) return Fail<bool>(s.error());
  (*s)->Bind(1, user_id);
  return (*s)->Step();
}

bool ValidDigests(const std::vector<std::string>& digests) {
  return !digests.empty() &&
         std::none_of(digests.begin(), digests.end(), [](const auto& d) { return d.empty(); });
}

}  // namespace

result<void> SqliteMetadataStore::BeginTotp(const TotpRecord& pending, const AuditEvent& audit) {
  if (pending.confirmed || pending.last_step != 0 || pending.secret.empty() ||
      !ValidAuditResult(audit.result)) {
    return errc::invalid_argument;
  }
  return Write<void>([&](SqliteDatabase& db) -> result<void> {
    auto confirmed = HasTotp(db, pending.user_id, true);
    if (!confirmed) return confirmed.error();
    if (*confirmed) return errc::already_exists;
    // A pending enrolment is replaced: its secret was shown but never proved. (Its recovery
    // codes, of which a pending enrolment has none, would go with it by the foreign key.)
    {
      auto s = db.Cached("DELETE FROM totp_enrolments WHERE user_id = ?1");
      if (!s) return s.error();
      (*s)->Bind(1, pending.user_id);
      if (auto r = Run(**s); !r) return r;
    }
    {
      auto s = db.Cached(
          "INSERT INTO totp_enrolments (user_id, secret, last_step, created_at, confirmed_at)"
          " VALUES (?1, ?2, 0, ?3, NULL)");
      if (!s) return s.error();
      (*s)->Bind(1, pending.user_id).BindBlob(2, pending.secret).Bind(3, pending.created_at);
      if (auto r = Run(**s); !r) return r;  // not_found (foreign key): no such user.
    }
    return InsertAudit(db, audit);
  });
}

result<TotpRecord> SqliteMetadataStore::FindTotp(std::string_view user_id) {
  static const std::string kSql =
      "SELECT user_id, secret, confirmed_at, last_step, created_at,"
      " (SELECT count(*) FROM totp_recovery_codes c"
      "  WHERE c.user_id = e.user_id AND c.used_at IS NULL)"
      " FROM totp_enrolments e WHERE user_id = ?1";
  return Read<TotpRecord>([&](SqliteDatabase& db) {
    return FirstRow<TotpRecord>(db, kSql, user_id, [](const Statement& s) {
      TotpRecord t;
      t.user_id = s.ColumnText(0);
      t.secret = s.ColumnBlob(1);
      t.confirmed = !s.ColumnIsNull(2);
      t.confirmed_at = t.confirmed ? s.ColumnInt(2) : 0;
      t.last_step = s.ColumnInt(3);
      t.created_at = s.ColumnInt(4);
      t.recovery_codes_left = s.ColumnInt(5);
      return t;
    });
  });
}

result<void> SqliteMetadataStore::ConfirmTotp(const TotpConfirmation& c) {
  if (c.step < 0 || !ValidDigests(c.recovery_code_digests) || !ValidAuditResult(c.audit.result)) {
    return errc::invalid_argument;
  }
  return Write<void>([&](SqliteDatabase& db) -> result<void> {
    {
      auto s = db.Cached(
          "UPDATE totp_enrolments SET confirmed_at = ?2, last_step = ?3"
          " WHERE user_id = ?1 AND confirmed_at IS NULL");
      if (!s) return s.error();
      (*s)->Bind(1, c.user_id).Bind(2, c.now).Bind(3, c.step);
      if (auto r = Run(**s); !r) return r;
      if (db.Changes() != 1) {
        auto any = HasTotp(db, c.user_id, false);
        if (!any) return any.error();
        return *any ? errc::conflict : errc::not_found;
      }
    }
    if (auto r = DeleteRecoveryCodes(db, c.user_id); !r) return r;
    if (auto r = InsertRecoveryCodes(db, c.user_id, c.recovery_code_digests); !r) return r;
    return InsertAudit(db, c.audit);
  });
}

result<bool> SqliteMetadataStore::AcceptTotpStep(std::string_view user_id, std::int64_t step) {
  // One conditional UPDATE under the write lock: of two uses of one code, one changes the row
  // and the other finds last_step already there.
  return Write<bool>([&](SqliteDatabase& db) -> result<bool> {
    auto s = db.Cached(
        "UPDATE totp_enrolments SET last_step = ?2"
        " WHERE user_id = ?1 AND confirmed_at IS NOT NULL AND last_step < ?2");
    if (!s) return Fail<bool>(s.error());
    (*s)->Bind(1, user_id).Bind(2, step);
    if (auto r = Run(**s); !r) return Fail<bool>(r.error());
    if (db.Changes() == 1) return true;
    auto confirmed = HasTotp(db, user_id, true);
    if (!confirmed) return confirmed;
    if (!*confirmed) return Fail<bool>(errc::not_found);
    return false;
  });
}

result<bool> SqliteMetadataStore::UseTotpRecoveryCode(std::string_view user_id,
                                                      std::string_view digest, TimeMs now) {
  return Write<bool>([&](SqliteDatabase& db) -> result<bool> {
    auto s = db.Cached(
        "UPDATE totp_recovery_codes SET used_at = ?3"
        " WHERE user_id = ?1 AND digest = ?2 AND used_at IS NULL");
    if (!s) return Fail<bool>(s.error());
    (*s)->Bind(1, user_id).Bind(2, digest).Bind(3, now);
    if (auto r = Run(**s); !r) return Fail<bool>(r.error());
    return db.Changes() == 1;
  });
}

result<void> SqliteMetadataStore::ReplaceTotpRecoveryCodes(std::string_view user_id,
                                                           const std::vector<std::string>& digests,
                                                           const AuditEvent& audit) {
  if (!ValidDigests(digests) || !ValidAuditResult(audit.result)) return errc::invalid_argument;
  return Write<void>([&](SqliteDatabase& db) -> result<void> {
    auto confirmed = HasTotp(db, user_id, true);
    if (!confirmed) return confirmed.error();
    if (!*confirmed) return errc::not_found;
    if (auto r = DeleteRecoveryCodes(db, user_id); !r) return r;
    if (auto r = InsertRecoveryCodes(db, user_id, digests); !r) return r;
    return InsertAudit(db, audit);
  });
}

result<void> SqliteMetadataStore::DeleteTotp(std::string_view user_id, const AuditEvent& audit) {
  if (!ValidAuditResult(audit.result)) return errc::invalid_argument;
  return Write<void>([&](SqliteDatabase& db) -> result<void> {
    auto s = db.Cached("DELETE FROM totp_enrolments WHERE user_id = ?1");  // Codes cascade.
    if (!s) return s.error();
    (*s)->Bind(1, user_id);
    if (auto r = Run(**s); !r) return r;
    if (db.Changes() != 1) return errc::not_found;
    return InsertAudit(db, audit);
  });
}

// --- administration: accounts and groups ------------------------------------------------------

namespace {

constexpr std::size_t kMaxGroupName = 256;  // As the CHECK in kSchemaV5.

bool ValidPage(const PageQuery& page) {
  return page.limit >= 1 && page.limit <= kMaxQueryLimit;
}

constexpr std::string_view kSummaryColumns =
    "id, email, display_name, role, active, created_at, updated_at";

// "SELECT u.<kSummaryColumns>, <totp_enabled> FROM users u <rest>".
std::string SelectSummaries(std::string_view rest) {
  return "SELECT " + Qualified(kSummaryColumns, "u") + ", " + std::string(kUserTotpEnabled) +
         " FROM users u " + std::string(rest);
}

// Steps a bound statement made by SelectSummaries to the end.
result<std::vector<UserSummary>> ReadSummaries(Statement& s) {
  std::vector<UserSummary> out;
  for (;;) {
    auto row = s.Step();
    if (!row) return row.error();
    if (!*row) return out;
    auto role = RoleFromColumn(s.ColumnInt(3));
    if (!role) return errc::io_error;  // Only a damaged file breaks the CHECK.
    UserSummary u;
    u.id = s.ColumnText(0);
    u.email = s.ColumnText(1);
    u.display_name = s.ColumnText(2);
    u.role = *role;
    u.active = s.ColumnInt(4) != 0;
    u.created_at = s.ColumnInt(5);
    u.updated_at = s.ColumnInt(6);
    u.two_factor = s.ColumnInt(7) != 0;
    out.push_back(std::move(u));
  }
}

result<std::vector<std::string>> GroupsOf(SqliteDatabase& db, std::string_view user_id) {
  static const std::string kSql =
      "SELECT g.name FROM user_group_members m JOIN user_groups g ON g.id = m.group_id"
      " WHERE m.user_id = ?1 ORDER BY g.name";
  return AllRows<std::string>(db, kSql, user_id,
                              [](const Statement& s) { return s.ColumnText(0); });
}

result<void> AddGroups(SqliteDatabase& db, std::vector<UserSummary>& users) {
  for (auto& user : users) {
    auto groups = GroupsOf(db, user.id);
    if (!groups) return groups.error();
    user.groups = std::move(*groups);
  }
  return {};
}

// The group's row id; not_found when there is no such group.
result<std::int64_t> GroupId(SqliteDatabase& db, std::string_view name) {
  static const std::string kSql = "SELECT id FROM user_groups WHERE name = ?1";
  return FirstRow<std::int64_t>(db, kSql, name, [](const Statement& s) { return s.ColumnInt(0); });
}

constexpr std::string_view kGroupSelect =
    "SELECT g.name, g.created_by, g.created_at,"
    " (SELECT count(*) FROM user_group_members m WHERE m.group_id = g.id) FROM user_groups g";

GroupRecord ReadGroup(const Statement& s) {
  return GroupRecord{s.ColumnText(0), s.ColumnText(1), s.ColumnInt(2), s.ColumnInt(3)};
}

}  // namespace

result<std::vector<UserSummary>> SqliteMetadataStore::ListUsers(const PageQuery& page) {
  if (!ValidPage(page)) return errc::invalid_argument;
  static const std::string kSql =
      SelectSummaries("WHERE u.email > ?1 ORDER BY u.email LIMIT ?2");
  return Read<std::vector<UserSummary>>(
      [&](SqliteDatabase& db) -> result<std::vector<UserSummary>> {
        ReadTransaction snapshot(db);
        if (auto r = snapshot.status(); !r) return r.error();
        auto s = db.Cached(kSql);
        if (!s) return s.error();
        (*s)->Bind(1, page.after).Bind(2, static_cast<std::int64_t>(page.limit));
        auto users = ReadSummaries(**s);
        if (!users) return users.error();
        if (auto r = AddGroups(db, *users); !r) return r.error();
        return users;
      });
}

result<std::vector<std::string>> SqliteMetadataStore::ListUserGroups(std::string_view user_id) {
  return Read<std::vector<std::string>>([&](SqliteDatabase& db) { return GroupsOf(db, user_id); });
}

result<std::int64_t> SqliteMetadataStore::ChangeUserAccess(const AccessChange& change) {
  if (!ValidRole(change.expected_role) || !ValidAuditResult(change.audit.result) ||
      (change.role && (!ValidRole(*change.role) || *change.role == Role::owner))) {
    return errc::invalid_argument;
  }
  return Write<std::int64_t>([&](SqliteDatabase& db) -> result<std::int64_t> {
    Role stored_role = Role::user;
    bool stored_active = true;
    {
      auto s = db.Cached("SELECT role, active FROM users WHERE id = ?1");
      if (!s) return s.error();
      (*s)->Bind(1, change.user_id);
      auto row = (*s)->Step();
      if (!row) return row.error();
      if (!*row) return errc::not_found;
      auto role = RoleFromColumn((*s)->ColumnInt(0));
      if (!role) return errc::io_error;
      stored_role = *role;
      stored_active = (*s)->ColumnInt(1) != 0;
    }
    if (stored_role != change.expected_role) return errc::conflict;
    const Role role = change.role.value_or(stored_role);
    const bool active = change.active.value_or(stored_active);
    if (stored_role == Role::owner && (role != Role::owner || !active)) return errc::conflict;
    if (role != stored_role || active != stored_active) {
      auto s = db.Cached("UPDATE users SET role = ?2, active = ?3, updated_at = ?4 WHERE id = ?1");
      if (!s) return s.error();
      (*s)->Bind(1, change.user_id)
          .Bind(2, std::int64_t{static_cast<int>(role)})
          .Bind(3, std::int64_t{active ? 1 : 0})
          .Bind(4, change.now);
      if (auto r = Run(**s); !r) return r.error();
    }
    std::int64_t removed = 0;
    if (change.revoke_sessions || !active) {
      auto s = db.Cached("DELETE FROM sessions WHERE user_id = ?1");
      if (!s) return s.error();
      (*s)->Bind(1, change.user_id);
      if (auto r = Run(**s); !r) return r.error();
      removed = db.Changes();
    }
    if (auto r = InsertAudit(db, change.audit); !r) return r.error();
    return removed;
  });
}

result<void> SqliteMetadataStore::CreateGroup(const GroupRecord& group, const AuditEvent& audit) {
  if (group.name.empty() || group.name.size() > kMaxGroupName || !ValidAuditResult(audit.result)) {
    return errc::invalid_argument;
  }
  return Write<void>([&](SqliteDatabase& db) -> result<void> {
    auto s =
        db.Cached("INSERT INTO user_groups (name, created_by, created_at) VALUES (?1, ?2, ?3)");
    if (!s) return s.error();
    (*s)->Bind(1, group.name).Bind(2, group.created_by).Bind(3, group.created_at);
    if (auto r = Run(**s); !r) return r;  // already_exists: the name is taken (NOCASE).
    return InsertAudit(db, audit);
  });
}

result<GroupRecord> SqliteMetadataStore::FindGroup(std::string_view name) {
  static const std::string kSql = std::string(kGroupSelect) + " WHERE g.name = ?1";
  return Read<GroupRecord>(
      [&](SqliteDatabase& db) { return FirstRow<GroupRecord>(db, kSql, name, ReadGroup); });
}

result<std::vector<GroupRecord>> SqliteMetadataStore::ListGroups(const PageQuery& page) {
  if (!ValidPage(page)) return errc::invalid_argument;
  static const std::string kSql =
      std::string(kGroupSelect) + " WHERE g.name > ?1 ORDER BY g.name LIMIT ?2";
  return Read<std::vector<GroupRecord>>(
      [&](SqliteDatabase& db) -> result<std::vector<GroupRecord>> {
        auto s = db.Cached(kSql);
        if (!s) return s.error();
        (*s)->Bind(1, page.after).Bind(2, static_cast<std::int64_t>(page.limit));
        return CollectRows<GroupRecord>(**s, ReadGroup);
      });
}

result<void> SqliteMetadataStore::DeleteGroup(std::string_view name, const AuditEvent& audit) {
  if (!ValidAuditResult(audit.result)) return errc::invalid_argument;
  return Write<void>([&](SqliteDatabase& db) -> result<void> {
    auto s = db.Cached("DELETE FROM user_groups WHERE name = ?1");  // Memberships cascade.
    if (!s) return s.error();
    (*s)->Bind(1, name);
    if (auto r = Run(**s); !r) return r;
    if (db.Changes() == 0) return errc::not_found;
    return InsertAudit(db, audit);
  });
}

result<std::vector<UserSummary>> SqliteMetadataStore::ListGroupMembers(std::string_view name,
                                                                       const PageQuery& page) {
  if (!ValidPage(page)) return errc::invalid_argument;
  static const std::string kSql =
      SelectSummaries("JOIN user_group_members m ON m.user_id = u.id"
                      " WHERE m.group_id = ?1 AND u.email > ?2 ORDER BY u.email LIMIT ?3");
  return Read<std::vector<UserSummary>>(
      [&](SqliteDatabase& db) -> result<std::vector<UserSummary>> {
        ReadTransaction snapshot(db);
        if (auto r = snapshot.status(); !r) return r.error();
        auto group = GroupId(db, name);
        if (!group) return group.error();
        auto s = db.Cached(kSql);
        if (!s) return s.error();
        (*s)->Bind(1, *group).Bind(2, page.after).Bind(3, static_cast<std::int64_t>(page.limit));
        auto users = ReadSummaries(**s);
        if (!users) return users.error();
        if (auto r = AddGroups(db, *users); !r) return r.error();
        return users;
      });
}

result<void> SqliteMetadataStore::AddGroupMember(std::string_view name, std::string_view user_id,
                                                 const AuditEvent& audit) {
  if (!ValidAuditResult(audit.result)) return errc::invalid_argument;
  return Write<void>([&](SqliteDatabase& db) -> result<void> {
    auto group = GroupId(db, name);
    if (!group) return group.error();
    auto s = db.Cached("INSERT INTO user_group_members (group_id, user_id) VALUES (?1, ?2)");
    if (!s) return s.error();
    (*s)->Bind(1, *group).Bind(2, user_id);
    // The foreign key makes an unknown user not_found; the primary key a second membership
    // already_exists.
    if (auto r = Run(**s); !r) return r;
    return InsertAudit(db, audit);
  });
}

result<void> SqliteMetadataStore::RemoveGroupMember(std::string_view name, std::string_view user_id,
                                                    const AuditEvent& audit) {
  if (!ValidAuditResult(audit.result)) return errc::invalid_argument;
  return Write<void>([&](SqliteDatabase& db) -> result<void> {
    auto group = GroupId(db, name);
    if (!group) return group.error();
    auto s = db.Cached("DELETE FROM user_group_members WHERE group_id = ?1 AND user_id = ?2");
    if (!s) return s.error();
    (*s)->Bind(1, *group).Bind(2, user_id);
    if (auto r = Run(**s); !r) return r;
    if (db.Changes() == 0) return errc::not_found;
    return InsertAudit(db, audit);
  });
}

// --- co-editing relay log ---------------------------------------------------------------------

namespace {

constexpr std::size_t kCollabSessionIdSize = 16;

// The file's record version (its key epoch); not_found when there is no such file.
result<std::int64_t> CollabFileVersion(SqliteDatabase& db, std::string_view file_id) {
  return FirstRow<std::int64_t>(db,
                                "SELECT revision FROM room_items WHERE id = ?1 AND kind = 'file'",
                                file_id, [](const Statement& s) { return s.ColumnInt(0); });
}

struct LogRow {
  std::int64_t head_seq = 0;
  std::int64_t compacted_through = 0;
  std::optional<std::int64_t> snapshot_seq;
};

// The file's log row, or zeros when it has none yet.
result<LogRow> ReadLogRow(SqliteDatabase& db, std::string_view file_id) {
  auto s = db.Cached(
      "SELECT head_seq, compacted_through, snapshot_seq FROM collab_logs WHERE file_id = ?1");
  if (!s) return s.error();
  (*s)->Bind(1, file_id);
  auto row = (*s)->Step();
  if (!row) return row.error();
  LogRow out;
  if (*row) {
    out.head_seq = (*s)->ColumnInt(0);
    out.compacted_through = (*s)->ColumnInt(1);
    if (!(*s)->ColumnIsNull(2)) out.snapshot_seq = (*s)->ColumnInt(2);
  }
  return out;
}

result<void> EnsureLogRow(SqliteDatabase& db, std::string_view file_id) {
  auto s = db.Cached(
      "INSERT INTO collab_logs (file_id, head_seq, compacted_through) VALUES (?1, 0, 0)"
      " ON CONFLICT (file_id) DO NOTHING");
  if (!s) return s.error();
  (*s)->Bind(1, file_id);
  return Run(**s);
}

CollabStoredFrame ReadStoredFrame(const Statement& s) {
  return CollabStoredFrame{s.ColumnInt(0), s.ColumnInt(1), s.ColumnBlob(2)};
}

// What one AppendCollabUpdates transaction knows of a file it appends to. Read once per file
// and written back once: under load a batch holds hundreds of updates to the same document,
// and reading the file's version and log row and rewriting the log row for each of them was
// more than half of the appender thread's statements (bench/README.md, co-editing).
struct BatchFile {
  std::optional<std::int64_t> version;  // The file's revision; nullopt: no such file.
  LogRow log;                           // head_seq advances as the batch appends.
  bool log_read = false;                // `log` holds the row (EnsureLogRow done).
  bool appended = false;                // head_seq moved: write it back.
};

result<BatchFile*> FileOfBatch(SqliteDatabase& db,
                               std::unordered_map<std::string, BatchFile>& files,
                               const std::string& file_id) {
  auto [it, fresh] = files.try_emplace(file_id);
  if (fresh) {
    auto version = CollabFileVersion(db, file_id);
    if (version) {
      it->second.version = *version;
    } else if (version.error() != errc::not_found) {
      return version.error();
    }
  }
  return &it->second;
}

// One update of AppendCollabUpdates, inside its transaction; `file` is what the batch knows
// of the update's file.
result<CollabWriteResult> AppendOneCollabUpdate(SqliteDatabase& db, BatchFile& file,
                                                const CollabUpdate& u) {
  CollabWriteResult out;
  if (!file.version) {
    out.status = CollabWriteStatus::no_file;
    return out;
  }
  out.epoch = *file.version;
  if (u.epoch != *file.version) {
    out.status = CollabWriteStatus::stale_epoch;
    return out;
  }
  // The stream's next counter. Every stored update of a stream has a counter up to its row's
  // last_counter, and a stream's row is only deleted with the last of its updates (a snapshot
  // compacting an older epoch), so an update at or beyond the next counter cannot be stored
  // yet: only one below it can be a resend, a duplicate or compacted.
  std::int64_t next = 1;
  {
    auto s = db.Cached(
        "SELECT last_counter FROM collab_streams"
        " WHERE file_id = ?1 AND author = ?2 AND session_id = ?3");
    if (!s) return s.error();
    (*s)->Bind(1, u.file_id).Bind(2, u.author).BindBlob(3, u.session_id);
    auto row = (*s)->Step();
    if (!row) return row.error();
    if (*row) next = (*s)->ColumnInt(0) + 1;
  }
  if (u.counter < next) {
    // A resend (identical bytes) or a duplicate (other bytes) of a stored update, or one a
    // snapshot compacted.
    auto s = db.Cached(
        "SELECT seq, time, frame FROM collab_updates"
        " WHERE file_id = ?1 AND author = ?2 AND session_id = ?3 AND counter = ?4");
    if (!s) return s.error();
    (*s)->Bind(1, u.file_id).Bind(2, u.author).BindBlob(3, u.session_id).Bind(4, u.counter);
    auto row = (*s)->Step();
    if (!row) return row.error();
    if (!*row) {
      out.status = CollabWriteStatus::covered;
      return out;
    }
    const bool same = (*s)->ColumnBlob(2) == u.frame;
    out.status = same ? CollabWriteStatus::resent : CollabWriteStatus::duplicate;
    if (same) {
      out.seq = (*s)->ColumnInt(0);
      out.time = (*s)->ColumnInt(1);
    }
    return out;
  }
  if (u.counter > next) {
    out.status = CollabWriteStatus::out_of_order;
    return out;
  }
  if (!file.log_read) {
    if (auto r = EnsureLogRow(db, u.file_id); !r) return r.error();
    auto log = ReadLogRow(db, u.file_id);
    if (!log) return log.error();
    file.log = *log;
    file.log_read = true;
  }
  // Compaction removes exactly the updates up to compacted_through, so the rest are the tail.
  if (u.max_tail > 0 && file.log.head_seq - file.log.compacted_through >= u.max_tail) {
    out.status = CollabWriteStatus::tail_full;
    return out;
  }
  const std::int64_t seq = file.log.head_seq + 1;
  {
    auto s = db.Cached(
        "INSERT INTO collab_updates (file_id, seq, epoch, author, session_id, counter, time,"
        " frame) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    if (!s) return s.error();
    (*s)->Bind(1, u.file_id)
        .Bind(2, seq)
        .Bind(3, u.epoch)
        .Bind(4, u.author)
        .BindBlob(5, u.session_id)
        .Bind(6, u.counter)
        .Bind(7, u.time)
        .BindBlob(8, u.frame);
    if (auto r = Run(**s); !r) return r.error();
  }
  file.log.head_seq = seq;
  file.appended = true;
  {
    auto s = db.Cached(
        "INSERT INTO collab_streams (file_id, author, session_id, epoch, last_counter, last_seq)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (file_id, author, session_id) DO UPDATE"
        " SET last_counter = excluded.last_counter, last_seq = excluded.last_seq");
    if (!s) return s.error();
    (*s)->Bind(1, u.file_id)
        .Bind(2, u.author)
        .BindBlob(3, u.session_id)
        .Bind(4, u.epoch)
        .Bind(5, u.counter)
        .Bind(6, seq);
    if (auto r = Run(**s); !r) return r.error();
  }
  out.status = CollabWriteStatus::appended;
  out.seq = seq;
  out.time = u.time;
  return out;
}

bool IsValidCollabUpdate(const CollabUpdate& u) {
  return !u.file_id.empty() && u.epoch >= 1 && !u.author.empty() &&
         u.session_id.size() == kCollabSessionIdSize && u.counter >= 1 && !u.frame.empty() &&
         u.max_tail >= 0;
}

}  // namespace

result<std::vector<CollabWriteResult>> SqliteMetadataStore::AppendCollabUpdates(
    std::span<const CollabUpdate> updates) {
  if (updates.empty() || updates.size() > kMaxCollabBatch ||
      !std::all_of(updates.begin(), updates.end(), IsValidCollabUpdate)) {
    return errc::invalid_argument;
  }
  using Results = std::vector<CollabWriteResult>;
  return Write<Results>([&](SqliteDatabase& db) -> result<Results> {
    Results out;
    out.reserve(updates.size());
    std::unordered_map<std::string, BatchFile> files;
    for (const CollabUpdate& u : updates) {
      auto file = FileOfBatch(db, files, u.file_id);
      if (!file) return file.error();
      auto r = AppendOneCollabUpdate(db, **file, u);
      if (!r) return r.error();
      out.push_back(*r);
    }
    for (const auto& [file_id, file] : files) {
      if (!file.appended) continue;
      auto s = db.Cached("UPDATE collab_logs SET head_seq = ?2 WHERE file_id = ?1");
      if (!s) return s.error();
      (*s)->Bind(1, file_id).Bind(2, file.log.head_seq);
      if (auto r = Run(**s); !r) return r.error();
    }
    return out;
  });
}

result<std::vector<CollabStoredFrame>> SqliteMetadataStore::ReadCollabUpdates(
    std::string_view file_id, std::int64_t after_seq, std::size_t limit) {
  if (after_seq < 0 || limit < 1 || limit > kMaxQueryLimit) return errc::invalid_argument;
  using Frames = std::vector<CollabStoredFrame>;
  return Read<Frames>([&](SqliteDatabase& db) -> result<Frames> {
    ReadTransaction snapshot(db);
    if (auto r = snapshot.status(); !r) return r.error();
    if (auto v = CollabFileVersion(db, file_id); !v) return v.error();
    auto log = ReadLogRow(db, file_id);
    if (!log) return log.error();
    if (after_seq < log->compacted_through) return errc::conflict;
    auto s = db.Cached(
        "SELECT seq, time, frame FROM collab_updates WHERE file_id = ?1 AND seq > ?2"
        " ORDER BY seq LIMIT ?3");
    if (!s) return s.error();
    (*s)->Bind(1, file_id).Bind(2, after_seq).Bind(3, static_cast<std::int64_t>(limit));
    return CollectRows<CollabStoredFrame>(**s, ReadStoredFrame);
  });
}

result<CollabLogState> SqliteMetadataStore::FindCollabLog(std::string_view file_id) {
  return Read<CollabLogState>([&](SqliteDatabase& db) -> result<CollabLogState> {
    ReadTransaction snapshot(db);
    if (auto r = snapshot.status(); !r) return r.error();
    auto version = CollabFileVersion(db, file_id);
    if (!version) return version.error();
    auto log = ReadLogRow(db, file_id);
    if (!log) return log.error();
    CollabLogState out;
    out.epoch = *version;
    out.head_seq = log->head_seq;
    out.has_snapshot = log->snapshot_seq.has_value();
    out.snapshot_seq = log->snapshot_seq.value_or(0);
    out.compacted_through = log->compacted_through;
    out.tail = log->head_seq - log->compacted_through;
    return out;
  });
}

result<CollabStoredFrame> SqliteMetadataStore::FindCollabSnapshot(std::string_view file_id) {
  return Read<CollabStoredFrame>([&](SqliteDatabase& db) -> result<CollabStoredFrame> {
    return FirstRow<CollabStoredFrame>(
        db,
        "SELECT snapshot_seq, snapshot_time, snapshot_frame FROM collab_logs"
        " WHERE file_id = ?1 AND snapshot_frame IS NOT NULL",
        file_id, ReadStoredFrame);
  });
}

result<CollabWriteResult> SqliteMetadataStore::StoreCollabSnapshot(const CollabSnapshotWrite& w) {
  if (w.file_id.empty() || w.epoch < 1 || w.through_seq < 0 || w.frame.empty()) {
    return errc::invalid_argument;
  }
  return Write<CollabWriteResult>([&](SqliteDatabase& db) -> result<CollabWriteResult> {
    CollabWriteResult out;
    auto version = CollabFileVersion(db, w.file_id);
    if (!version) return version.error();
    out.epoch = *version;
    if (w.epoch != *version) {
      out.status = CollabWriteStatus::stale_epoch;
      return out;
    }
    if (auto r = EnsureLogRow(db, w.file_id); !r) return r.error();
    auto log = ReadLogRow(db, w.file_id);
    if (!log) return log.error();
    std::int64_t older_epoch_head = 0;
    {
      auto s = db.Cached(
          "SELECT coalesce(max(seq), 0) FROM collab_updates WHERE file_id = ?1 AND epoch < ?2");
      if (!s) return s.error();
      (*s)->Bind(1, w.file_id).Bind(2, w.epoch);
      auto row = (*s)->Step();
      if (!row) return row.error();
      if (*row) older_epoch_head = (*s)->ColumnInt(0);
    }
    if (w.through_seq > log->head_seq || w.through_seq < log->snapshot_seq.value_or(0) ||
        w.through_seq < older_epoch_head) {
      out.status = CollabWriteStatus::rejected;
      return out;
    }
    {
      auto s = db.Cached(
          "UPDATE collab_logs SET snapshot_seq = ?2, snapshot_time = ?3, snapshot_frame = ?4,"
          " compacted_through = max(compacted_through, ?2) WHERE file_id = ?1");
      if (!s) return s.error();
      (*s)->Bind(1, w.file_id).Bind(2, w.through_seq).Bind(3, w.time).BindBlob(4, w.frame);
      if (auto r = Run(**s); !r) return r.error();
    }
    {
      auto s = db.Cached("DELETE FROM collab_updates WHERE file_id = ?1 AND seq <= ?2");
      if (!s) return s.error();
      (*s)->Bind(1, w.file_id).Bind(2, w.through_seq);
      if (auto r = Run(**s); !r) return r.error();
    }
    {
      // A stream of an older epoch can never continue (its frames would be stale): once a
      // snapshot covers it, its position is of no further use.
      auto s = db.Cached(
          "DELETE FROM collab_streams WHERE file_id = ?1 AND epoch < ?2 AND last_seq <= ?3");
      if (!s) return s.error();
      (*s)->Bind(1, w.file_id).Bind(2, w.epoch).Bind(3, w.through_seq);
      if (auto r = Run(**s); !r) return r.error();
    }
    out.status = CollabWriteStatus::stored;
    out.seq = w.through_seq;
    out.time = w.time;
    return out;
  });
}

// --- health -----------------------------------------------------------------------------------

result<void> SqliteMetadataStore::Ping() {
  return Read<void>([&](SqliteDatabase& db) -> result<void> {
    auto s = db.Cached("SELECT 1");
    if (!s) return s.error();
    return Run(**s);
  });
}

result<std::vector<std::string>> SqliteMetadataStore::CheckIntegrity() {
  // One connection suffices: the checks read the file, which every connection shares.
  return Read<std::vector<std::string>>(
      [&](SqliteDatabase& db) -> result<std::vector<std::string>> { return db.CheckIntegrity(); });
}

}  // namespace strongroom::storage
