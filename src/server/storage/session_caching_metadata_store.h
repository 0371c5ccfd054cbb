// SessionCachingMetadataStore: a MetadataStore decorator that remembers FindSessionWithUser
// answers for a short time, so an authenticated request usually costs no database read.
// Internal to strongroom_server; the portal puts it outermost when `[auth] session_cache_ms`
// is not 0.
//
// Why: every authenticated request looks up its session and user. On SQLite that read is a
// third of the server's work for a cheap request (docs/design.md, "Session cache"), mostly
// file locking that a read transaction cannot avoid.
//
// What stays exactly as the wrapped store answers:
//   * Every write made through this object is visible to the next read through it. A write
//     to settings, invitations, users or sessions clears the whole cache after it returns
//     (and a read that raced with it is not kept); TouchSession updates the cached
//     last_seen_at in place instead, so frequent touches do not empty the cache.
//     RecordLoginAttempt, AppendAudit, the group methods, the Private Room methods, the
//     co-editing log methods and the two-factor methods other than ConfirmTotp and
//     DeleteTotp (which change UserRecord::totp_enabled) change nothing a cached answer
//     holds and clear nothing.
//     ChangeUserAccess (role, deactivation, revoking a user's sessions) clears it. So
//     revocation, logout, password change, role change, deactivation, 2FA on and off: at
//     once. A new MetadataStore method must be classified here (a test enforces it).
//   * A cached session is still checked against `now`: it stops working at expires_at.
//   * Only successful answers are kept; a miss (not_found) always asks the wrapped store.
// What may lag, by at most `ttl`: writes made *elsewhere* — another strongroomd process on
// the same database or another node of a cluster. That bound is the documented revocation
// delay across nodes (docs/threat-model.md).
//
// Bounded: at most `max_entries` answers; when full, entries older than `ttl` are dropped and,
// if that is not enough, everything. Thread-safe: one mutex, never held during a call to the
// wrapped store.
#pragma once

#include "strongroom/storage/metadata_store.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace strongroom::storage {

class SessionCachingMetadataStore final : public MetadataStore {
 public:
  using Clock = std::chrono::steady_clock;
  struct Options {
    std::chrono::milliseconds ttl{1000};  // Must be positive.
    std::size_t max_entries = 10000;      // Must be positive.
    // Tests substitute a clock they control.
    std::function<Clock::time_point()> clock = [] { return Clock::now(); };
  };

  // `inner` must not be null.
  SessionCachingMetadataStore(std::unique_ptr<MetadataStore> inner, Options options);
  ~SessionCachingMetadataStore() override;
  SessionCachingMetadataStore(const SessionCachingMetadataStore&) = delete;
  SessionCachingMetadataStore& operator=(const SessionCachingMetadataStore&) = delete;

  // How many answers are cached now (for tests and metrics).
  [[nodiscard]] std::size_t size() const;

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
  [[nodiscard]] result<FailureCount> AccountFailures(std::string_view email,
                                                     TimeMs since) override;
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
  struct Entry {
    SessionWithUser value;
    Clock::time_point fetched;
  };

  // Runs a write on the wrapped store, then forgets everything (see the header comment).
  template <class Call>
  auto Invalidating(Call&& call) -> decltype(call());
  void Clear();  // Caller holds mutex_.

  const std::unique_ptr<MetadataStore> inner_;
  const Options options_;
  mutable std::mutex mutex_;
  std::uint64_t generation_ = 0;                            // Guarded by mutex_.
  std::unordered_map<std::string, Entry> by_digest_;        // Guarded by mutex_.
  std::unordered_map<std::string, std::string> digest_of_;  // Session id -> digest; mutex_.
};

}  // namespace strongroom::storage
