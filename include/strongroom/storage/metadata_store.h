// The metadata store: every row the server keeps about the portal, its people and what they
// did. The bytes of documents live in the blob store (blob_store.h); this store keeps the rows
// that refer to them.
//
// Implementations: SqliteMetadataStore (src/server/storage/sqlite_metadata_store.h); a
// PostgreSQL one will follow. Callers (the API handlers, strongroomd's subcommands) see only
// this interface. Every implementation must pass the conformance suite
// (tests/unit/metadata_store_conformance.h), which is the executable form of this contract.
//
// The contract, in short:
//
//   * Operations are at the level of the product, not of SQL: each method is one atomic unit.
//     Where a method changes several rows (RegisterUser, ChangeCredentials) either all of its
//     changes are made or none are, and its audit event is written in the same transaction:
//     there is never a change without its audit entry, nor an entry for a change that failed.
//   * The audit trail and login history are append-only. No method changes or removes an
//     entry, and implementations refuse it below the interface too (SQLite: triggers).
//   * Secrets arrive here already hashed: auth keys and recovery auth keys as slow verifier
//     strings, session and invitation tokens as SHA-256 digests. Bundles are opaque bytes
//     (the private and recovery bundles are ciphertext the server cannot open).
//   * Times are Unix milliseconds (UTC), given by the caller, so tests control the clock.
//   * Emails are stored as given; callers normalise them (trimmed, lower-case) first.
//   * Every method may be called from any thread, concurrently.
//
// Errors (strongroom::errc): `not_found` (no such row), `already_exists` (a unique value is
// taken), `invalid_argument` (a value outside the documented domain), `conflict` (the row's
// state forbids the change now), `io_error` (the database failed). Errors never carry row
// contents.
#pragma once

#include "strongroom/error.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace strongroom::storage {

using TimeMs = std::int64_t;  // Unix time in milliseconds.

enum class Role : int { owner = 0, admin = 1, user = 2 };
[[nodiscard]] std::string_view RoleName(Role role) noexcept;  // "owner", "admin", "user"
[[nodiscard]] std::optional<Role> ParseRole(std::string_view name) noexcept;

// The client's Argon2id parameters, as stored for pre-login. The server never runs them.
struct KdfRecord {
  std::string algorithm;       // "argon2id13"
  std::int64_t opslimit = 0;
  std::int64_t memlimit = 0;   // Bytes.
  std::vector<std::uint8_t> salt;  // 16 bytes.
  friend bool operator==(const KdfRecord&, const KdfRecord&) = default;
};

struct UserRecord {
  std::string id;            // Made by the client; the user id inside the public bundle.
  std::string email;         // Normalised; unique.
  std::string display_name;
  Role role = Role::user;
  bool active = true;        // Deactivated users have no sessions and cannot sign in.
  std::string auth_verifier;           // Slow hash of the auth key (crypto/verifier.h).
  KdfRecord kdf;
  std::vector<std::uint8_t> public_bundle;    // Canonical bytes, self-signed.
  std::vector<std::uint8_t> private_bundle;   // Ciphertext under the password KEK.
  std::vector<std::uint8_t> recovery_bundle;  // Ciphertext under the recovery key.
  std::string recovery_verifier;       // Slow hash of the recovery auth key.
  TimeMs created_at = 0;
  TimeMs updated_at = 0;
  // Read-only: whether the user has a confirmed TOTP enrolment (see TotpRecord). Derived from
  // the two-factor rows by every read of a user; RegisterUser ignores it (a new user has none).
  bool totp_enabled = false;
  friend bool operator==(const UserRecord&, const UserRecord&) = default;
};

struct InvitationRecord {
  std::string token_digest;  // SHA-256 of the token, hex. The token itself is never stored.
  std::string email;         // The invitation admits this email only; "" admits any email
                             // (only the owner setup token, made at portal creation).
  Role role = Role::user;
  std::string created_by;    // A user id, or "" when made by `strongroomd` itself.
  TimeMs created_at = 0;
  TimeMs expires_at = 0;
  std::optional<TimeMs> used_at;
  std::optional<std::string> used_by;  // The user id it created.
  friend bool operator==(const InvitationRecord&, const InvitationRecord&) = default;
};

struct SessionRecord {
  std::string id;            // Public handle (shown in session lists, used to revoke).
  std::string token_digest;  // SHA-256 of the bearer token, hex. Unique.
  std::string user_id;
  TimeMs created_at = 0;
  TimeMs last_seen_at = 0;
  TimeMs expires_at = 0;
  std::string ip;
  std::string user_agent;
  friend bool operator==(const SessionRecord&, const SessionRecord&) = default;
};

// A session together with the user it belongs to: what every authenticated request needs.
struct SessionWithUser {
  SessionRecord session;
  UserRecord user;
  friend bool operator==(const SessionWithUser&, const SessionWithUser&) = default;
};

// One sign-in attempt. `result` is "success", "failure" (wrong credentials: counts towards
// lockout) or "refused" (not checked: locked out, rate limited, deactivated; never counts).
struct LoginAttempt {
  std::int64_t id = 0;  // Assigned by the store; ignored on insert.
  TimeMs time = 0;
  std::string email;    // As typed (normalised), even when no such user exists.
  std::optional<std::string> user_id;
  std::string ip;
  std::string user_agent;
  std::string result;
  std::string reason;   // e.g. "ok", "wrong_credentials", "unknown_email", "locked"
  friend bool operator==(const LoginAttempt&, const LoginAttempt&) = default;
};

// One security-relevant event. `result` is "success", "failure" or "denied".
struct AuditEvent {
  std::int64_t id = 0;  // Assigned by the store, strictly increasing; ignored on insert.
  TimeMs time = 0;
  std::string actor;    // A user id, or "system", or "anonymous".
  std::string action;   // Dotted name: "user.register", "session.revoke", ...
  std::string target;   // What it acted on (a user id, session id, email...), or "".
  std::string ip;
  std::string result;
  std::string detail;   // Short JSON object with non-secret context, or "".
  friend bool operator==(const AuditEvent&, const AuditEvent&) = default;
};

// Filters for the two append-only logs. Unset fields do not filter. Results are newest
// first (descending id), at most `limit` (1..1000) entries, and only entries with an id
// below `before_id` when it is set (for paging).
struct AuditQuery {
  std::optional<TimeMs> from;  // time >= from
  std::optional<TimeMs> to;    // time < to
  std::optional<std::string> actor;
  std::optional<std::string> action;
  std::optional<std::int64_t> before_id;
  std::size_t limit = 100;
};

struct LoginQuery {
  std::optional<TimeMs> from;
  std::optional<TimeMs> to;
  std::optional<std::string> user_id;
  std::optional<std::string> ip;
  std::optional<std::int64_t> before_id;
  std::size_t limit = 100;
};

// Failures ("failure" attempts) in a window, for backoff and lockout.
struct FailureCount {
  std::int64_t count = 0;
  TimeMs last_failure = 0;  // 0 when count is 0.
};

// A new registration, applied by RegisterUser in one transaction.
struct Registration {
  UserRecord user;
  std::string invitation_digest;  // Consumed; must match user.email, unused, unexpired.
  AuditEvent audit;               // Appended in the same transaction.
  // No invitation: the caller admitted the email itself (a trusted mail domain). Then
  // invitation_digest must be empty and the role user (errc::invalid_argument otherwise).
  // Explicit, so that an empty digest by mistake is still an unknown invitation.
  bool without_invitation = false;
};

// A password change or a recovery, applied by ChangeCredentials in one transaction.
struct CredentialChange {
  std::string user_id;
  std::string auth_verifier;
  KdfRecord kdf;
  std::vector<std::uint8_t> private_bundle;
  // Set on recovery (the client makes a new recovery key); unset keeps the current ones.
  std::optional<std::vector<std::uint8_t>> recovery_bundle;
  std::optional<std::string> recovery_verifier;
  // Every session of the user is removed except this one ("" removes all).
  std::string keep_session_id;
  TimeMs now = 0;
  AuditEvent audit;
};

// --- two-factor authentication (TOTP, RFC 6238; docs/api.md "Two-factor authentication") ---
// The TOTP secret is the one secret the server keeps as it is: it must compute codes to check
// them (docs/threat-model.md). Recovery codes arrive here already hashed.

// A user's authenticator: one per user, pending until a first code confirmed it.
struct TotpRecord {
  std::string user_id;
  std::vector<std::uint8_t> secret;  // The HMAC-SHA-1 key shared with the authenticator app.
  bool confirmed = false;            // false: enrolment begun, no code proved yet.
  // The highest time step (Unix time / 30 s) ever accepted for this user: a code from this
  // step or an earlier one is refused, so a code cannot be replayed.
  std::int64_t last_step = 0;
  TimeMs created_at = 0;
  TimeMs confirmed_at = 0;  // 0 while pending.
  // Read-only: unused recovery codes, counted by FindTotp; ignored by every write.
  std::int64_t recovery_codes_left = 0;
  friend bool operator==(const TotpRecord&, const TotpRecord&) = default;
};

// Confirms a pending enrolment, applied by ConfirmTotp in one transaction.
struct TotpConfirmation {
  std::string user_id;
  std::int64_t step = 0;  // The time step of the code that confirmed it: becomes last_step.
  std::vector<std::string> recovery_code_digests;  // Replace any earlier ones; 1 or more.
  TimeMs now = 0;
  AuditEvent audit;
};

// --- administration: accounts and groups (issue 6) ------------------------------------------

// A user as the portal's administrators see them: no credentials, no bundles.
struct UserSummary {
  std::string id;
  std::string email;
  std::string display_name;
  Role role = Role::user;
  bool active = true;
  TimeMs created_at = 0;
  TimeMs updated_at = 0;
  std::vector<std::string> groups;  // Names of the groups the user belongs to, sorted.
  bool two_factor = false;          // As UserRecord::totp_enabled: a confirmed enrolment.
  friend bool operator==(const UserSummary&, const UserSummary&) = default;
};

// One page of a listing sorted by a unique text key (users by email, groups by name): the
// entries whose key sorts after `after` ("" starts at the beginning), at most `limit`
// (1..1000, else invalid_argument). The next page starts after the last key of this one.
struct PageQuery {
  std::string after;
  std::size_t limit = 100;
};

// An administrator's change to one account, applied by ChangeUserAccess in one transaction.
struct AccessChange {
  std::string user_id;
  // The role the target had when the caller decided it may make this change. The change is
  // refused (conflict) if the stored role differs, so a permission check made on a read
  // cannot be outrun by a concurrent role change.
  Role expected_role = Role::user;
  std::optional<Role> role;    // admin or user; unset keeps the role.
  std::optional<bool> active;  // Unset keeps the state.
  // Removes every session of the user. Deactivation (active = false) always does.
  bool revoke_sessions = false;
  TimeMs now = 0;  // The new updated_at when the role or the state changes.
  AuditEvent audit;
};

// A named set of users. Names are unique regardless of ASCII case ("Sales" and "sales" are
// one name); every method that takes a name finds the group in that way.
struct GroupRecord {
  std::string name;        // 1..256 bytes (callers bound it further).
  std::string created_by;  // A user id (no reference: the record outlives the account).
  TimeMs created_at = 0;
  std::int64_t members = 0;  // Filled in by reads; ignored by CreateGroup.
  friend bool operator==(const GroupRecord&, const GroupRecord&) = default;
};

// --- Private Room (docs/private-room.md) ---------------------------------------------------------
// The server stores records it cannot read: names, sizes and the rest are inside `record`,
// signed by the owner (folders) or the author (files). What it can see it uses to enforce the
// rules: ownership, the tree, and no two items with the same `name_hmac` in one folder.

struct RoomFolder {
  std::string id;                        // 32 hex digits, made by the client.
  std::string owner_id;
  std::optional<std::string> parent_id;  // Unset for the owner's root (one per owner).
  std::optional<std::string> name_hmac;  // 64 hex digits; unset exactly for the root.
  std::int64_t revision = 1;             // Increases with every move or rename.
  std::vector<std::uint8_t> sealed_key;  // The folder key, sealed for the owner.
  std::vector<std::uint8_t> record;      // Signed folder record (opaque here).
  std::vector<std::uint8_t> signature;
  TimeMs created_at = 0;
  TimeMs updated_at = 0;
  friend bool operator==(const RoomFolder&, const RoomFolder&) = default;
};

// A recipient stanza of a file's current container, as a row.
struct RoomRecipient {
  std::string user_id;
  std::string fingerprint;  // 64 hex digits.
  friend bool operator==(const RoomRecipient&, const RoomRecipient&) = default;
};

struct RoomFile {
  std::string id;          // The container's file id, 32 hex digits.
  std::string owner_id;
  std::string parent_id;   // A folder of the owner.
  std::string name_hmac;
  std::int64_t version = 1;
  std::int64_t size = 0;   // Container bytes.
  std::string blob_id;     // Where the container is in the blob store.
  std::string content_type;
  std::string author_id;   // Who wrote this version (the owner or a recipient).
  std::vector<RoomRecipient> recipients;  // Sorted by user id; includes the owner.
  std::vector<std::uint8_t> record;
  std::vector<std::uint8_t> signature;
  TimeMs created_at = 0;
  TimeMs updated_at = 0;
  friend bool operator==(const RoomFile&, const RoomFile&) = default;
};

// An upload in progress (docs/private-room.md section 6): the container arrives in pieces into
// a staged blob named `id`, and becomes a file (or a new version) only on completion.
struct RoomUpload {
  std::string id;           // 32 hex digits, made by the server; also the staged blob's name.
  std::string owner_id;     // Who started it; only they may continue it.
  std::string file_id;      // The container's file id.
  std::int64_t base_version = 0;  // 0: a new file; else the version this upload replaces.
  std::int64_t size = 0;    // The container's size, declared at the start.
  TimeMs created_at = 0;
  TimeMs expires_at = 0;
  friend bool operator==(const RoomUpload&, const RoomUpload&) = default;
};

struct RoomListing {
  std::vector<RoomFolder> folders;  // Sorted by id.
  std::vector<RoomFile> files;      // Sorted by id.
};

// --- co-editing relay (docs/collab.md section 9) -------------------------------------------------
// The per-file log of encrypted updates and the newest snapshot. Frames are opaque bytes the
// store never parses; the routing fields the relay read from their keyless head (collab/wire.h)
// come alongside. `file_id` is a Private Room file's id (32 hex digits); the log belongs to the
// file and goes with it (DeleteRoomFile removes it in the same transaction).
//
// Sequence numbers are assigned here, in the appending transaction: strictly increasing per
// file from 1, never reused (also after compaction), so several server nodes sharing one
// database agree on one order. The key epoch of a frame must be the file's current record
// version, checked in the same transaction, so once UpdateRoomFile commits a new version no
// frame of an older epoch is stored.

// An update as the relay received it, for AppendCollabUpdates.
struct CollabUpdate {
  std::string file_id;
  std::int64_t epoch = 0;                // The head's key epoch; >= 1.
  std::string author;                    // The head's author (the signed-in user's id).
  std::vector<std::uint8_t> session_id;  // The head's session id: 16 bytes.
  std::int64_t counter = 0;              // The head's counter; >= 1.
  std::vector<std::uint8_t> frame;       // The client's update frame, byte for byte (non-empty).
  TimeMs time = 0;                       // Server time; stored and relayed with the update.
  // tail_full when the log already holds this many updates after the snapshot (0: no cap).
  std::int64_t max_tail = 0;
};

// A snapshot as the relay received it, for StoreCollabSnapshot.
struct CollabSnapshotWrite {
  std::string file_id;
  std::int64_t epoch = 0;           // The head's key epoch; >= 1.
  std::int64_t through_seq = 0;     // The snapshot's through_seq; >= 0.
  std::vector<std::uint8_t> frame;  // The client's snapshot frame, byte for byte (non-empty).
  TimeMs time = 0;
};

// What became of an append or a snapshot. Only `appended` and `stored` changed anything.
enum class CollabWriteStatus {
  appended,      // A new update: `seq` is its sequence number.
  resent,        // The same (author, session, counter) with identical bytes: `seq` is the
                 // original's (docs/collab.md: answer the original ack).
  stored,        // The snapshot is now the file's; updates with seq <= through_seq are gone.
  stale_epoch,   // The frame's epoch is not the file's current version (`epoch`).
  out_of_order,  // The counter is not its (author, session)'s next.
  duplicate,     // That (author, session, counter) is stored with other bytes.
  covered,       // A resend of an update a snapshot has compacted away: its seq is unknown.
  tail_full,     // max_tail updates wait after the snapshot.
  rejected,      // A snapshot beyond the head, below the kept one, or not covering every
                 // update of an older epoch.
  no_file,       // AppendCollabUpdates: the update's file does not exist (any more).
};

// The most updates one AppendCollabUpdates call takes.
inline constexpr std::size_t kMaxCollabBatch = 1000;

struct CollabWriteResult {
  CollabWriteStatus status = CollabWriteStatus::appended;
  std::int64_t seq = 0;    // appended, resent: the update's; stored: the through_seq.
  TimeMs time = 0;         // appended, resent: the stored time; stored: the snapshot's.
  std::int64_t epoch = 0;  // The file's current version (its key epoch), whatever the status.
  friend bool operator==(const CollabWriteResult&, const CollabWriteResult&) = default;
};

// A stored update or snapshot frame.
struct CollabStoredFrame {
  std::int64_t seq = 0;  // An update's sequence number, or a snapshot's through_seq.
  TimeMs time = 0;
  std::vector<std::uint8_t> frame;
  friend bool operator==(const CollabStoredFrame&, const CollabStoredFrame&) = default;
};

// Where a file's log stands.
struct CollabLogState {
  std::int64_t epoch = 0;         // The file's current version.
  std::int64_t head_seq = 0;      // The highest seq assigned (0: none yet).
  std::int64_t snapshot_seq = 0;  // The kept snapshot's through_seq (0 also when none).
  bool has_snapshot = false;
  // Updates with seq <= this are gone (compacted): ReadCollabUpdates needs after_seq >= it.
  std::int64_t compacted_through = 0;
  std::int64_t tail = 0;  // Updates in the log (all after compacted_through).
  friend bool operator==(const CollabLogState&, const CollabLogState&) = default;
};

class MetadataStore {
 public:
  virtual ~MetadataStore() = default;

  // --- portal settings: a small key/value table ------------------------------------------
  [[nodiscard]] virtual result<std::optional<std::string>> GetSetting(std::string_view key) = 0;
  virtual result<void> PutSetting(std::string_view key, std::string_view value) = 0;
  // Sets the value only if the key is absent; returns whether this call set it. Used once,
  // to create the portal, so two processes starting on one data dir cannot both do it.
  [[nodiscard]] virtual result<bool> PutSettingIfAbsent(std::string_view key,
                                                        std::string_view value) = 0;

  // --- invitations -------------------------------------------------------------------------
  // already_exists if the digest is taken.
  [[nodiscard]] virtual result<void> CreateInvitation(const InvitationRecord& invitation) = 0;
  [[nodiscard]] virtual result<InvitationRecord> FindInvitation(std::string_view digest) = 0;

  // --- users -------------------------------------------------------------------------------
  // Consumes the invitation and inserts the user, with the audit event, atomically.
  // not_found: no usable invitation (unknown digest, used, expired at user.created_at, or for
  // another email — an invitation with email "" admits any). already_exists: the email or user id is taken. Nothing changes on error.
  [[nodiscard]] virtual result<void> RegisterUser(const Registration& registration) = 0;
  [[nodiscard]] virtual result<UserRecord> FindUserById(std::string_view id) = 0;
  [[nodiscard]] virtual result<UserRecord> FindUserByEmail(std::string_view email) = 0;
  [[nodiscard]] virtual result<std::int64_t> CountUsers() = 0;
  // Replaces the credentials (and revokes sessions, appends audit) atomically. not_found if
  // the user does not exist.
  [[nodiscard]] virtual result<void> ChangeCredentials(const CredentialChange& change) = 0;

  // --- sessions ----------------------------------------------------------------------------
  // already_exists if the id or digest is taken; not_found if the user does not exist.
  [[nodiscard]] virtual result<void> CreateSession(const SessionRecord& session) = 0;
  // not_found also when the session expired before `now`.
  [[nodiscard]] virtual result<SessionRecord> FindSession(std::string_view token_digest,
                                                          TimeMs now) = 0;
  // The session and its user, read as one consistent snapshot (one query, so a request pays
  // for one database round trip). not_found as FindSession.
  [[nodiscard]] virtual result<SessionWithUser> FindSessionWithUser(std::string_view token_digest,
                                                                    TimeMs now) = 0;
  // Unexpired sessions of a user, newest first.
  [[nodiscard]] virtual result<std::vector<SessionRecord>> ListSessions(std::string_view user_id,
                                                                        TimeMs now) = 0;
  // Updates last_seen_at (and nothing else). Succeeds silently if the session is gone.
  virtual result<void> TouchSession(std::string_view session_id, TimeMs last_seen_at) = 0;
  // Removes one session of this user; false when the user has no such session (a session
  // of someone else is "no such session": callers cannot probe other users' ids).
  [[nodiscard]] virtual result<bool> RevokeSession(std::string_view user_id,
                                                   std::string_view session_id) = 0;
  // Removes every session of the user except `keep_session_id` ("" removes all); returns
  // how many were removed.
  [[nodiscard]] virtual result<std::int64_t> RevokeOtherSessions(
      std::string_view user_id, std::string_view keep_session_id) = 0;
  // Removes sessions that expired before `now`; returns how many.
  [[nodiscard]] virtual result<std::int64_t> DeleteExpiredSessions(TimeMs now) = 0;

  // --- login history -----------------------------------------------------------------------
  virtual result<void> RecordLoginAttempt(const LoginAttempt& attempt) = 0;
  // "failure" attempts for this email at or after `since` that came after the last
  // "success" for it (a successful sign-in clears the account's backoff). Keyed by the email
  // as typed, not the user id, so an email without an account backs off exactly like one
  // with an account and lockout does not reveal which accounts exist.
  [[nodiscard]] virtual result<FailureCount> AccountFailures(std::string_view email,
                                                             TimeMs since) = 0;
  // "failure" attempts from the address at or after `since` (successes do not clear them:
  // an attacker could otherwise reset its own counter with an account of its own).
  [[nodiscard]] virtual result<FailureCount> IpFailures(std::string_view ip, TimeMs since) = 0;
  [[nodiscard]] virtual result<std::vector<LoginAttempt>> QueryLoginAttempts(
      const LoginQuery& query) = 0;

  // --- audit trail -------------------------------------------------------------------------
  virtual result<void> AppendAudit(const AuditEvent& event) = 0;
  [[nodiscard]] virtual result<std::vector<AuditEvent>> QueryAudit(const AuditQuery& query) = 0;

  // --- two-factor authentication ----------------------------------------------------------
  // Begins (or restarts) an enrolment: stores `pending` (confirmed must be false, last_step
  // 0), replacing a pending enrolment of the same user, with `audit`, atomically.
  // already_exists: the user has a confirmed one; not_found: no such user.
  [[nodiscard]] virtual result<void> BeginTotp(const TotpRecord& pending,
                                               const AuditEvent& audit) = 0;
  // not_found when the user has no enrolment, pending or confirmed.
  [[nodiscard]] virtual result<TotpRecord> FindTotp(std::string_view user_id) = 0;
  // Marks the pending enrolment confirmed (last_step = step, confirmed_at = now), replaces the
  // recovery codes and appends the audit event, atomically. not_found: no enrolment;
  // conflict: already confirmed; invalid_argument: no digests, or a negative step.
  [[nodiscard]] virtual result<void> ConfirmTotp(const TotpConfirmation& confirmation) = 0;
  // Accepts a code's time step once: sets last_step = step and returns true when step is
  // above last_step; returns false (and changes nothing) when it is not (a replay). Atomic, so
  // of two concurrent uses of one code exactly one is accepted. not_found: no confirmed
  // enrolment.
  [[nodiscard]] virtual result<bool> AcceptTotpStep(std::string_view user_id,
                                                    std::int64_t step) = 0;
  // Spends an unused recovery code of the user: true when `digest` names one (now used, at
  // `now`), false otherwise (unknown or already used). Atomic like AcceptTotpStep.
  [[nodiscard]] virtual result<bool> UseTotpRecoveryCode(std::string_view user_id,
                                                         std::string_view digest, TimeMs now) = 0;
  // Replaces every recovery code of the user (used or not) with `digests`, with `audit`,
  // atomically. not_found: no confirmed enrolment; invalid_argument: no digests.
  [[nodiscard]] virtual result<void> ReplaceTotpRecoveryCodes(
      std::string_view user_id, const std::vector<std::string>& digests,
      const AuditEvent& audit) = 0;
  // Removes the enrolment (pending or confirmed) and its recovery codes, with `audit`,
  // atomically. not_found: the user has none.
  [[nodiscard]] virtual result<void> DeleteTotp(std::string_view user_id,
                                                const AuditEvent& audit) = 0;

  // --- administration: accounts and groups ----------------------------------------------
  // Users sorted by email (PageQuery), each with its groups.
  [[nodiscard]] virtual result<std::vector<UserSummary>> ListUsers(const PageQuery& page) = 0;
  // The names of the groups the user belongs to, sorted; empty for an unknown user.
  [[nodiscard]] virtual result<std::vector<std::string>> ListUserGroups(
      std::string_view user_id) = 0;
  // Changes the role and/or the state of one account, removes its sessions when asked (and
  // always when deactivating), and appends `change.audit`, atomically. Returns how many
  // sessions were removed. The portal has exactly one owner, always active: no change makes
  // another owner (a role of owner, or outside the enum, is invalid_argument), demotes the
  // owner or deactivates it (conflict). not_found: no such user. conflict: the stored role is
  // not `expected_role`. Nothing changes on error.
  [[nodiscard]] virtual result<std::int64_t> ChangeUserAccess(const AccessChange& change) = 0;

  // Each write appends `audit` in the same transaction. already_exists: the name is taken
  // (regardless of ASCII case). invalid_argument: an empty or over-long name.
  [[nodiscard]] virtual result<void> CreateGroup(const GroupRecord& group,
                                                 const AuditEvent& audit) = 0;
  [[nodiscard]] virtual result<GroupRecord> FindGroup(std::string_view name) = 0;
  // Groups sorted by name, ignoring ASCII case (PageQuery), with their member counts.
  [[nodiscard]] virtual result<std::vector<GroupRecord>> ListGroups(const PageQuery& page) = 0;
  // Removes the group and its memberships (never the users). not_found: no such group.
  [[nodiscard]] virtual result<void> DeleteGroup(std::string_view name,
                                                 const AuditEvent& audit) = 0;
  // The group's members sorted by email (PageQuery), each with all of its groups.
  // not_found: no such group.
  [[nodiscard]] virtual result<std::vector<UserSummary>> ListGroupMembers(
      std::string_view name, const PageQuery& page) = 0;
  // not_found: no such group or no such user. already_exists: already a member.
  [[nodiscard]] virtual result<void> AddGroupMember(std::string_view name, std::string_view user_id,
                                                    const AuditEvent& audit) = 0;
  // not_found: no such group, or the user is not a member of it.
  [[nodiscard]] virtual result<void> RemoveGroupMember(std::string_view name,
                                                       std::string_view user_id,
                                                       const AuditEvent& audit) = 0;

  // --- Private Room ----------------------------------------------------------------------
  // Names: every method that places an item (create, update) fails with already_exists when
  // another item in the target folder has the same name_hmac, or the id is taken, or (root)
  // the owner has a root already. Parents: not_found unless `parent_id` is a folder of the
  // same owner. Each write appends `audit` in the same transaction.
  [[nodiscard]] virtual result<void> CreateRoomFolder(const RoomFolder& folder,
                                                      const AuditEvent& audit) = 0;
  [[nodiscard]] virtual result<RoomFolder> FindRoomFolder(std::string_view id) = 0;
  [[nodiscard]] virtual result<RoomFolder> FindRoomRoot(std::string_view owner_id) = 0;
  // The folders and files directly inside folder `id` (not_found if it is not a folder).
  [[nodiscard]] virtual result<RoomListing> ListRoomFolder(std::string_view id) = 0;
  // Moves or renames: replaces parent, name_hmac, record, signature and revision (which must
  // be the stored revision + 1: conflict otherwise). The root cannot move (invalid_argument);
  // a folder cannot move into itself or below itself (invalid_argument).
  [[nodiscard]] virtual result<void> UpdateRoomFolder(const RoomFolder& folder,
                                                      const AuditEvent& audit) = 0;
  // conflict when the folder is not empty.
  [[nodiscard]] virtual result<void> DeleteRoomFolder(std::string_view id,
                                                      const AuditEvent& audit) = 0;

  // already_exists also when the id is taken by a folder.
  [[nodiscard]] virtual result<void> CreateRoomFile(const RoomFile& file,
                                                    const AuditEvent& audit) = 0;
  [[nodiscard]] virtual result<RoomFile> FindRoomFile(std::string_view id) = 0;
  // A new version (new content, move, share, deny): everything but id, owner and created_at
  // is replaced, recipients included. `file.version` must be the stored version + 1
  // (conflict otherwise, so two writers cannot both win). Returns the blob id the previous
  // version used, for the caller to delete once this has committed (when it differs).
  [[nodiscard]] virtual result<std::string> UpdateRoomFile(const RoomFile& file,
                                                           const AuditEvent& audit) = 0;
  // Removes the file, its recipients and its co-editing log; returns its blob id for the caller
  // to delete.
  [[nodiscard]] virtual result<std::string> DeleteRoomFile(std::string_view id,
                                                           const AuditEvent& audit) = 0;
  // Files where `user_id` is a recipient but not the owner, sorted by id.
  [[nodiscard]] virtual result<std::vector<RoomFile>> ListRoomSharedWith(
      std::string_view user_id) = 0;

  // Uploads in progress. already_exists if the id is taken.
  [[nodiscard]] virtual result<void> CreateRoomUpload(const RoomUpload& upload) = 0;
  [[nodiscard]] virtual result<RoomUpload> FindRoomUpload(std::string_view id) = 0;
  // Succeeds silently when there is no such upload.
  virtual result<void> DeleteRoomUpload(std::string_view id) = 0;
  // Uploads that expired before `now`, oldest first, at most `limit` (1..1000), for the
  // caller to remove with their staged blobs.
  [[nodiscard]] virtual result<std::vector<RoomUpload>> ListExpiredRoomUploads(
      TimeMs now, std::size_t limit) = 0;

  // --- co-editing relay log ---------------------------------------------------------------
  // Appends updates, in order, in ONE committed (and synced) transaction: the relay's group
  // commit, one sync for every update that arrived meanwhile. Each update, as if appended
  // alone after the ones before it: checks the epoch against the file's version, the counter
  // against its (author, session) stream (the first update of a stream has counter 1; a
  // stream is its author's and session's across connections), finds a resend, checks
  // max_tail, then assigns seq = head + 1 and stores the frame. Returns one result per update,
  // in order; every status but `appended` leaves the store as that update found it, and
  // `no_file` is an update whose file does not exist. invalid_argument (nothing stored): no
  // updates, more than kMaxCollabBatch, or a field outside its domain.
  [[nodiscard]] virtual result<std::vector<CollabWriteResult>> AppendCollabUpdates(
      std::span<const CollabUpdate> updates) = 0;
  // One update: AppendCollabUpdates of one, with not_found for no such file.
  [[nodiscard]] result<CollabWriteResult> AppendCollabUpdate(const CollabUpdate& update) {
    auto r = AppendCollabUpdates(std::span<const CollabUpdate>(&update, 1));
    if (!r) return r.error();
    if (r->size() != 1) return errc::internal;
    if (r->front().status == CollabWriteStatus::no_file) return errc::not_found;
    return r->front();
  }
  // Updates with seq > after_seq in seq order, at most `limit` (1..1000, else
  // invalid_argument). conflict: after_seq < compacted_through (some are gone: the reader
  // must start from the snapshot). not_found: no such file.
  [[nodiscard]] virtual result<std::vector<CollabStoredFrame>> ReadCollabUpdates(
      std::string_view file_id, std::int64_t after_seq, std::size_t limit) = 0;
  // not_found: no such file (a file without updates has a state of zeros and its epoch).
  [[nodiscard]] virtual result<CollabLogState> FindCollabLog(std::string_view file_id) = 0;
  // The kept snapshot; not_found when the file has none (or there is no such file).
  [[nodiscard]] virtual result<CollabStoredFrame> FindCollabSnapshot(std::string_view file_id) = 0;
  // Replaces the kept snapshot when its epoch is the file's version (stale_epoch), and
  // through_seq is at most the head, at least the kept one's, and at least the seq of every
  // stored update of an older epoch (rejected); then removes the updates it covers (seq <=
  // through_seq) and the streams of older epochs it covers, in the same transaction.
  // not_found: no such file.
  [[nodiscard]] virtual result<CollabWriteResult> StoreCollabSnapshot(
      const CollabSnapshotWrite& snapshot) = 0;

  // --- blobs the metadata refers to (for the integrity check) -----------------------------
  // Ids of every blob some row refers to (the Private Room files' containers), sorted.
  [[nodiscard]] virtual result<std::vector<std::string>> ReferencedBlobIds() = 0;

  // --- health ------------------------------------------------------------------------------
  // A cheap round trip (for /readyz).
  virtual result<void> Ping() = 0;
  // Deep consistency check; an empty list means healthy. For `strongroomd check`.
  [[nodiscard]] virtual result<std::vector<std::string>> CheckIntegrity() = 0;
};

}  // namespace strongroom::storage
