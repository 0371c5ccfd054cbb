// InstrumentedMetadataStore: a MetadataStore decorator that times every call. Internal to
// strongroom_server; the portal wraps its real store in one and feeds the observer to
// Metrics::ObserveDb.
//
// Every method forwards to the wrapped store unchanged (same arguments, same result) and then
// reports (operation, seconds, ok) to the observer, where `operation` is the method's name
// ("FindSession") — always one of MetadataStoreOperationNames(), so metric labels are bounded
// by construction — and `seconds` the wall time of the call on a monotonic clock.
//
// `ok` answers "did the store work?", not "was the answer yes?": it is true for success and
// for the two answers not_found and already_exists, false for everything else (io_error,
// internal, and invalid_argument, which means a caller skipped its validation: a bug worth
// seeing). Anyone can make FindSession miss or RegisterUser collide at will; counting those
// as database errors would let any client inflate the error rate operators alert on.
//
// Thread-safety: as the wrapped store. The observer is called on the calling thread, possibly
// from several threads at once, and must not throw.
#pragma once

#include "strongroom/storage/metadata_store.h"

#include <functional>
#include <memory>
#include <span>
#include <string_view>

namespace strongroom::storage {

// The name of every MetadataStore method, in declaration order: the complete set of
// `operation` values an InstrumentedMetadataStore reports.
[[nodiscard]] std::span<const std::string_view> MetadataStoreOperationNames() noexcept;

class InstrumentedMetadataStore final : public MetadataStore {
 public:
  using Observer = std::function<void(std::string_view operation, double seconds, bool ok)>;

  // `inner` must not be null. An empty `observer` reports nothing.
  InstrumentedMetadataStore(std::unique_ptr<MetadataStore> inner, Observer observer);
  ~InstrumentedMetadataStore() override;
  InstrumentedMetadataStore(const InstrumentedMetadataStore&) = delete;
  InstrumentedMetadataStore& operator=(const InstrumentedMetadataStore&) = delete;

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
  template <class Call>
  auto Timed(std::string_view operation, Call&& call) -> decltype(call());

  std::unique_ptr<MetadataStore> inner_;
  Observer observer_;
};

}  // namespace strongroom::storage
