// SqliteMetadataStore: the metadata store (strongroom/storage/metadata_store.h) in one SQLite
// file. Internal to strongroom_server.
//
// Schema: the migrations in sqlite_metadata_store.cc (STRICT tables: settings, users,
// invitations, sessions, login_attempts, audit_events; the Private Room's room_items,
// room_recipients, room_uploads; the co-editing relay's collab_logs, collab_updates and
// collab_streams; user_groups and user_group_members, whose names compare
// without ASCII case through COLLATE NOCASE). The audit trail and the login history
// are append-only in the database itself: triggers abort any UPDATE or DELETE on them, so
// not even a bug (or a later migration's mistake) in this process can rewrite history.
//
// Time conventions (the contract leaves the boundary to implementations; the conformance
// suite pins it): a session or invitation with `expires_at = E` is usable at times t < E and
// expired from E on. So FindSession/ListSessions return sessions with expires_at > now,
// DeleteExpiredSessions removes those with expires_at <= now, and RegisterUser refuses an
// invitation with expires_at <= user.created_at. A consumed invitation records
// used_at = user.created_at.
//
// AccountFailures orders an email's attempts by (time, id): a failure counts when it is later
// than that email's latest success in that order (ids break ties within one millisecond).
//
// TouchSession only ever moves last_seen_at forward: concurrent requests of one session can
// report out of order, and a touch that changes nothing writes nothing.
//
// Concurrency: every method may be called from any thread. The store keeps a small pool of
// connections (each used by one thread at a time) and lends one per call; WAL lets readers
// run alongside the writer. Writes also take one in-process lock: SQLite admits one writer at
// a time anyway, and queueing on a mutex is fair and prompt, whereas SQLite's busy handler
// polls with sleeps. Other processes on the same file are still handled by busy_timeout.
// A call waits at most kBorrowTimeout for a free connection, then fails with io_error.
// Destroying the store while a call is in flight is a bug (as for any object).
//
// Errors follow the contract; SQLite's own messages (which can quote row data) are only ever
// logged at debug level by SqliteDatabase, never returned.
#pragma once

#include "strongroom/storage/metadata_store.h"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace strongroom::storage {

class SqliteDatabase;

class SqliteMetadataStore final : public MetadataStore {
 public:
  static constexpr std::size_t kMaxConnections = 64;
  static constexpr std::chrono::seconds kBorrowTimeout{30};
  // Checkpoints. The write-ahead log is copied back into the database by a thread of the
  // store's own, on a connection of its own, once a commit leaves kCheckpointFrames pages in
  // it. SQLite's automatic checkpoint (at the same size) runs inside that commit, on the
  // caller's thread, holding the write lock: copying a thousand pages and syncing the database
  // took the co-editing relay's appender several milliseconds every few hundred updates, and
  // every update queued behind it waited as long (bench/README.md, co-editing). If the log
  // still reaches kInlineCheckpointFrames (the thread is starved, or readers keep it from
  // finishing), the committing connection checkpoints as SQLite would, so the log stays
  // bounded whatever the thread does.
  static constexpr int kCheckpointFrames = 1000;
  static constexpr int kInlineCheckpointFrames = 4 * kCheckpointFrames;

  // Opens (creating if needed, mode 0600) the database at `path`, applies the schema
  // migrations, and opens `connections` connections to it (1..kMaxConnections, else
  // invalid_argument). unsupported_version if the file was written by a newer build;
  // io_error if it cannot be opened or configured.
  [[nodiscard]] static result<std::unique_ptr<SqliteMetadataStore>> Open(
      const std::string& path, std::size_t connections = 4);
  // Stops the checkpoint thread (after the checkpoint it is running, if any).
  ~SqliteMetadataStore() override;
  SqliteMetadataStore(const SqliteMetadataStore&) = delete;
  SqliteMetadataStore& operator=(const SqliteMetadataStore&) = delete;

  // Checkpoints the store's thread has run so far (for tests).
  [[nodiscard]] std::uint64_t checkpoints() const;

  [[nodiscard]] result<std::optional<std::string>> GetSetting(std::string_view key) override;
  result<void> PutSetting(std::string_view key, std::string_view value) override;
  [[nodiscard]] result<bool> PutSettingIfAbsent(std::string_view key,
                                                std::string_view value) override;

  [[nodiscard]] result<void> CreateInvitation(const InvitationRecord& invitation) override;
  [[nodiscard]] result<InvitationRecord> FindInvitation(std::string_view digest) override;

  [[nodiscard]] result<void> RegisterUser(const Registration& registration) override;
  [[nodiscard]] result<UserRecord> FindUserById(std::string_view id) override;
  [[nodiscard]] result<UserRecord> FindUserByEmail(std::string_view email) override;
  [[nodiscard]] result<std::int64_t> CountUsers() override;
  [[nodiscard]] result<void> ChangeCredentials(const CredentialChange& change) override;

  [[nodiscard]] result<void> CreateSession(const SessionRecord& session) override;
  [[nodiscard]] result<SessionRecord> FindSession(std::string_view token_digest,
                                                  TimeMs now) override;
  [[nodiscard]] result<SessionWithUser> FindSessionWithUser(std::string_view token_digest,
                                                            TimeMs now) override;
  [[nodiscard]] result<std::vector<SessionRecord>> ListSessions(std::string_view user_id,
                                                                TimeMs now) override;
  result<void> TouchSession(std::string_view session_id, TimeMs last_seen_at) override;
  [[nodiscard]] result<bool> RevokeSession(std::string_view user_id,
                                           std::string_view session_id) override;
  [[nodiscard]] result<std::int64_t> RevokeOtherSessions(std::string_view user_id,
                                                         std::string_view keep_session_id) override;
  [[nodiscard]] result<std::int64_t> DeleteExpiredSessions(TimeMs now) override;

  result<void> RecordLoginAttempt(const LoginAttempt& attempt) override;
  [[nodiscard]] result<FailureCount> AccountFailures(std::string_view email, TimeMs since) override;
  [[nodiscard]] result<FailureCount> IpFailures(std::string_view ip, TimeMs since) override;
  [[nodiscard]] result<std::vector<LoginAttempt>> QueryLoginAttempts(
      const LoginQuery& query) override;

  result<void> AppendAudit(const AuditEvent& event) override;
  [[nodiscard]] result<std::vector<AuditEvent>> QueryAudit(const AuditQuery& query) override;

  [[nodiscard]] result<void> BeginTotp(const TotpRecord& pending, const AuditEvent& audit) override;
  [[nodiscard]] result<TotpRecord> FindTotp(std::string_view user_id) override;
  [[nodiscard]] result<void> ConfirmTotp(const TotpConfirmation& confirmation) override;
  [[nodiscard]] result<bool> AcceptTotpStep(std::string_view user_id, std::int64_t step) override;
  [[nodiscard]] result<bool> UseTotpRecoveryCode(std::string_view user_id, std::string_view digest,
                                                 TimeMs now) override;
  [[nodiscard]] result<void> ReplaceTotpRecoveryCodes(std::string_view user_id,
                                                      const std::vector<std::string>& digests,
                                                      const AuditEvent& audit) override;
  [[nodiscard]] result<void> DeleteTotp(std::string_view user_id, const AuditEvent& audit) override;
  [[nodiscard]] result<std::vector<UserSummary>> ListUsers(const PageQuery& page) override;
  [[nodiscard]] result<std::vector<std::string>> ListUserGroups(std::string_view user_id) override;
  [[nodiscard]] result<std::int64_t> ChangeUserAccess(const AccessChange& change) override;
  [[nodiscard]] result<void> CreateGroup(const GroupRecord& group,
                                         const AuditEvent& audit) override;
  [[nodiscard]] result<GroupRecord> FindGroup(std::string_view name) override;
  [[nodiscard]] result<std::vector<GroupRecord>> ListGroups(const PageQuery& page) override;
  [[nodiscard]] result<void> DeleteGroup(std::string_view name, const AuditEvent& audit) override;
  [[nodiscard]] result<std::vector<UserSummary>> ListGroupMembers(std::string_view name,
                                                                  const PageQuery& page) override;
  [[nodiscard]] result<void> AddGroupMember(std::string_view name, std::string_view user_id,
                                            const AuditEvent& audit) override;
  [[nodiscard]] result<void> RemoveGroupMember(std::string_view name, std::string_view user_id,
                                               const AuditEvent& audit) override;

  [[nodiscard]] result<void> CreateRoomFolder(const RoomFolder& folder,
                                              const AuditEvent& audit) override;
  [[nodiscard]] result<RoomFolder> FindRoomFolder(std::string_view id) override;
  [[nodiscard]] result<RoomFolder> FindRoomRoot(std::string_view owner_id) override;
  [[nodiscard]] result<RoomListing> ListRoomFolder(std::string_view id) override;
  [[nodiscard]] result<void> UpdateRoomFolder(const RoomFolder& folder,
                                              const AuditEvent& audit) override;
  [[nodiscard]] result<void> DeleteRoomFolder(std::string_view id,
                                              const AuditEvent& audit) override;
  [[nodiscard]] result<void> CreateRoomFile(const RoomFile& file, const AuditEvent& audit) override;
  [[nodiscard]] result<RoomFile> FindRoomFile(std::string_view id) override;
  [[nodiscard]] result<std::string> UpdateRoomFile(const RoomFile& file,
                                                   const AuditEvent& audit) override;
  [[nodiscard]] result<std::string> DeleteRoomFile(std::string_view id,
                                                   const AuditEvent& audit) override;
  [[nodiscard]] result<std::vector<RoomFile>> ListRoomSharedWith(std::string_view user_id) override;

  [[nodiscard]] result<void> CreateRoomUpload(const RoomUpload& upload) override;
  [[nodiscard]] result<RoomUpload> FindRoomUpload(std::string_view id) override;
  result<void> DeleteRoomUpload(std::string_view id) override;
  [[nodiscard]] result<std::vector<RoomUpload>> ListExpiredRoomUploads(TimeMs now,
                                                                       std::size_t limit) override;
  [[nodiscard]] result<std::vector<CollabWriteResult>> AppendCollabUpdates(
      std::span<const CollabUpdate> updates) override;
  [[nodiscard]] result<std::vector<CollabStoredFrame>> ReadCollabUpdates(
      std::string_view file_id, std::int64_t after_seq, std::size_t limit) override;
  [[nodiscard]] result<CollabLogState> FindCollabLog(std::string_view file_id) override;
  [[nodiscard]] result<CollabStoredFrame> FindCollabSnapshot(std::string_view file_id) override;
  [[nodiscard]] result<CollabWriteResult> StoreCollabSnapshot(
      const CollabSnapshotWrite& snapshot) override;

  [[nodiscard]] result<std::vector<std::string>> ReferencedBlobIds() override;

  result<void> Ping() override;
  [[nodiscard]] result<std::vector<std::string>> CheckIntegrity() override;

 private:
  class Lease;

  SqliteMetadataStore(std::vector<std::unique_ptr<SqliteDatabase>> connections,
                      std::unique_ptr<SqliteDatabase> checkpoint_connection);
  // The hook of every pool connection: wakes the checkpoint thread, or checkpoints on `db`.
  void OnWalCommit(SqliteDatabase& db, int wal_frames);
  void CheckpointLoop();

  // Borrows an idle connection, waiting up to kBorrowTimeout.
  [[nodiscard]] result<Lease> Borrow();
  void Return(SqliteDatabase* connection) noexcept;

  // Runs `body` on a borrowed connection: Read as it is (each statement sees a consistent
  // snapshot), Write inside one BEGIN IMMEDIATE transaction under write_mutex_.
  template <class T, class Body>
  result<T> Read(Body&& body);
  template <class T, class Body>
  result<T> Write(Body&& body);

  std::vector<std::unique_ptr<SqliteDatabase>> connections_;  // Fixed after construction.
  std::mutex pool_mutex_;
  std::condition_variable returned_;
  std::vector<SqliteDatabase*> idle_;  // Guarded by pool_mutex_.
  // Held (after borrowing a connection, never before: one lock order) for every write.
  std::mutex write_mutex_;

  std::unique_ptr<SqliteDatabase> checkpoint_connection_;  // The checkpoint thread's alone.
  mutable std::mutex checkpoint_mutex_;
  std::condition_variable checkpoint_wake_;
  // Held for the length of every checkpoint the store runs, the thread's and the inline ones:
  // SQLite answers BUSY to a checkpoint while another runs, and an inline one that gave up so
  // would leave the log unbounded (the thread's round may not copy all of it).
  std::mutex checkpoint_run_mutex_;
  bool checkpoint_wanted_ = false;   // Guarded by checkpoint_mutex_.
  bool stopping_ = false;            // Guarded by checkpoint_mutex_.
  std::uint64_t checkpoints_ = 0;    // Guarded by checkpoint_mutex_.
  std::thread checkpoint_thread_;    // Started last, in the constructor.
};

}  // namespace strongroom::storage
