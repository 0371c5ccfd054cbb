#include "server/storage/instrumented_metadata_store.h"

#include <array>
#include <cassert>
#include <chrono>
#include <utility>

namespace strongroom::storage {

// --- metadata_store.h free functions ---------------------------------------------------------
// Defined here, once, rather than in one implementation's file: they belong to the interface
// and every implementation links this file.

std::string_view RoleName(Role role) noexcept {
  switch (role) {
    case Role::owner:
      return "owner";
    case Role::admin:
      return "admin";
    case Role::user:
      return "user";
  }
  return "";  // Not a Role: a value cast from an out-of-range integer.
}

std::optional<Role> ParseRole(std::string_view name) noexcept {
  for (Role role : {Role::owner, Role::admin, Role::user}) {
    if (name == RoleName(role)) return role;
  }
  return std::nullopt;
}

// --- InstrumentedMetadataStore ---------------------------------------------------------------

namespace {

constexpr std::array<std::string_view, 64> kOperationNames = {
    "GetSetting",
    "PutSetting",
    "PutSettingIfAbsent",
    "CreateInvitation",
    "FindInvitation",
    "RegisterUser",
    "FindUserById",
    "FindUserByEmail",
    "CountUsers",
    "ChangeCredentials",
    "CreateSession",
    "FindSession",
    "FindSessionWithUser",
    "ListSessions",
    "TouchSession",
    "RevokeSession",
    "RevokeOtherSessions",
    "DeleteExpiredSessions",
    "RecordLoginAttempt",
    "AccountFailures",
    "IpFailures",
    "QueryLoginAttempts",
    "AppendAudit",
    "QueryAudit",
    "BeginTotp",
    "FindTotp",
    "ConfirmTotp",
    "AcceptTotpStep",
    "UseTotpRecoveryCode",
    "ReplaceTotpRecoveryCodes",
    "DeleteTotp",
    "ListUsers",
    "ListUserGroups",
    "ChangeUserAccess",
    "CreateGroup",
    "FindGroup",
    "ListGroups",
    "DeleteGroup",
    "ListGroupMembers",
    "AddGroupMember",
    "RemoveGroupMember",
    "CreateRoomFolder",
    "FindRoomFolder",
    "FindRoomRoot",
    "ListRoomFolder",
    "UpdateRoomFolder",
    "DeleteRoomFolder",
    "CreateRoomFile",
    "FindRoomFile",
    "UpdateRoomFile",
    "DeleteRoomFile",
    "ListRoomSharedWith",
    "CreateRoomUpload",
    "FindRoomUpload",
    "DeleteRoomUpload",
    "ListExpiredRoomUploads",
    "AppendCollabUpdates",
    "ReadCollabUpdates",
    "FindCollabLog",
    "FindCollabSnapshot",
    "StoreCollabSnapshot",
    "ReferencedBlobIds",
    "Ping",
    "CheckIntegrity",
};

// See the header: not_found and already_exists are answers, not the store failing.
template <class T>
bool Worked(const result<T>& r) {
  if (r) return true;
  const auto& ec = r.error();
  return ec == errc::not_found || ec == errc::already_exists;
}

}  // namespace

std::span<const std::string_view> MetadataStoreOperationNames() noexcept {
  return kOperationNames;
}

InstrumentedMetadataStore::InstrumentedMetadataStore(std::unique_ptr<MetadataStore> inner,
                                                     Observer observer)
    : inner_(std::move(inner)), observer_(std::move(observer)) {
  assert(inner_ != nullptr);
}

InstrumentedMetadataStore::~InstrumentedMetadataStore() = default;

template <class Call>
auto InstrumentedMetadataStore::Timed(std::string_view operation, Call&& call) -> decltype(call()) {
  const auto start = std::chrono::steady_clock::now();
  auto r = call();
  if (observer_) {
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    observer_(operation, elapsed.count(), Worked(r));
  }
  return r;
}

result<std::optional<std::string>> InstrumentedMetadataStore::GetSetting(std::string_view key) {
  return Timed("GetSetting", [&] { return inner_->GetSetting(key); });
}

result<void> InstrumentedMetadataStore::PutSetting(std::string_view key, std::string_view value) {
  return Timed("PutSetting", [&] { return inner_->PutSetting(key, value); });
}

result<bool> InstrumentedMetadataStore::PutSettingIfAbsent(std::string_view key,
                                                           std::string_view value) {
  return Timed("PutSettingIfAbsent", [&] { return inner_->PutSettingIfAbsent(key, value); });
}

result<void> InstrumentedMetadataStore::CreateInvitation(const InvitationRecord& invitation) {
  return Timed("CreateInvitation", [&] { return inner_->CreateInvitation(invitation); });
}

result<InvitationRecord> InstrumentedMetadataStore::FindInvitation(std::string_view digest) {
  return Timed("FindInvitation", [&] { return inner_->FindInvitation(digest); });
}

result<void> InstrumentedMetadataStore::RegisterUser(const Registration& registration) {
  return Timed("RegisterUser", [&] { return inner_->RegisterUser(registration); });
}

result<UserRecord> InstrumentedMetadataStore::FindUserById(std::string_view id) {
  return Timed("FindUserById", [&] { return inner_->FindUserById(id); });
}

result<UserRecord> InstrumentedMetadataStore::FindUserByEmail(std::string_view email) {
  return Timed("FindUserByEmail", [&] { return inner_->FindUserByEmail(email); });
}

result<std::int64_t> InstrumentedMetadataStore::CountUsers() {
  return Timed("CountUsers", [&] { return inner_->CountUsers(); });
}

result<void> InstrumentedMetadataStore::ChangeCredentials(const CredentialChange& change) {
  return Timed("ChangeCredentials", [&] { return inner_->ChangeCredentials(change); });
}

result<void> InstrumentedMetadataStore::CreateSession(const SessionRecord& session) {
  return Timed("CreateSession", [&] { return inner_->CreateSession(session); });
}

result<SessionRecord> InstrumentedMetadataStore::FindSession(std::string_view token_digest,
                                                             TimeMs now) {
  return Timed("FindSession", [&] { return inner_->FindSession(token_digest, now); });
}

result<SessionWithUser> InstrumentedMetadataStore::FindSessionWithUser(
    std::string_view token_digest, TimeMs now) {
  return Timed("FindSessionWithUser",
               [&] { return inner_->FindSessionWithUser(token_digest, now); });
}

result<std::vector<SessionRecord>> InstrumentedMetadataStore::ListSessions(std::string_view user_id,
                                                                           TimeMs now) {
  return Timed("ListSessions", [&] { return inner_->ListSessions(user_id, now); });
}

result<void> InstrumentedMetadataStore::TouchSession(std::string_view session_id,
                                                     TimeMs last_seen_at) {
  return Timed("TouchSession", [&] { return inner_->TouchSession(session_id, last_seen_at); });
}

result<bool> InstrumentedMetadataStore::RevokeSession(std::string_view user_id,
                                                      std::string_view session_id) {
  return Timed("RevokeSession", [&] { return inner_->RevokeSession(user_id, session_id); });
}

result<std::int64_t> InstrumentedMetadataStore::RevokeOtherSessions(
    std::string_view user_id, std::string_view keep_session_id) {
  return Timed("RevokeOtherSessions",
               [&] { return inner_->RevokeOtherSessions(user_id, keep_session_id); });
}

result<std::int64_t> InstrumentedMetadataStore::DeleteExpiredSessions(TimeMs now) {
  return Timed("DeleteExpiredSessions", [&] { return inner_->DeleteExpiredSessions(now); });
}

result<void> InstrumentedMetadataStore::RecordLoginAttempt(const LoginAttempt& attempt) {
  return Timed("RecordLoginAttempt", [&] { return inner_->RecordLoginAttempt(attempt); });
}

result<FailureCount> InstrumentedMetadataStore::AccountFailures(std::string_view email,
                                                                TimeMs since) {
  return Timed("AccountFailures", [&] { return inner_->AccountFailures(email, since); });
}

result<FailureCount> InstrumentedMetadataStore::IpFailures(std::string_view ip, TimeMs since) {
  return Timed("IpFailures", [&] { return inner_->IpFailures(ip, since); });
}

result<std::vector<LoginAttempt>> InstrumentedMetadataStore::QueryLoginAttempts(
    const LoginQuery& query) {
  return Timed("QueryLoginAttempts", [&] { return inner_->QueryLoginAttempts(query); });
}

result<void> InstrumentedMetadataStore::AppendAudit(const AuditEvent& event) {
  return Timed("AppendAudit", [&] { return inner_->AppendAudit(event); });
}

result<std::vector<AuditEvent>> InstrumentedMetadataStore::QueryAudit(const AuditQuery& query) {
  return Timed("QueryAudit", [&] { return inner_->QueryAudit(query); });
}

result<void> InstrumentedMetadataStore::BeginTotp(const TotpRecord& pending,
                                                  const AuditEvent& audit) {
  return Timed("BeginTotp", [&] { return inner_->BeginTotp(pending, audit); });
}

result<TotpRecord> InstrumentedMetadataStore::FindTotp(std::string_view user_id) {
  return Timed("FindTotp", [&] { return inner_->FindTotp(user_id); });
}

result<void> InstrumentedMetadataStore::ConfirmTotp(const TotpConfirmation& confirmation) {
  return Timed("ConfirmTotp", [&] { return inner_->ConfirmTotp(confirmation); });
}

result<bool> InstrumentedMetadataStore::AcceptTotpStep(std::string_view user_id,
                                                       std::int64_t step) {
  return Timed("AcceptTotpStep", [&] { return inner_->AcceptTotpStep(user_id, step); });
}

result<bool> InstrumentedMetadataStore::UseTotpRecoveryCode(std::string_view user_id,
                                                            std::string_view digest, TimeMs now) {
  return Timed("UseTotpRecoveryCode",
               [&] { return inner_->UseTotpRecoveryCode(user_id, digest, now); });
}

result<void> InstrumentedMetadataStore::ReplaceTotpRecoveryCodes(
    std::string_view user_id, const std::vector<std::string>& digests, const AuditEvent& audit) {
  return Timed("ReplaceTotpRecoveryCodes",
               [&] { return inner_->ReplaceTotpRecoveryCodes(user_id, digests, audit); });
}

result<void> InstrumentedMetadataStore::DeleteTotp(std::string_view user_id,
                                                   const AuditEvent& audit) {
  return Timed("DeleteTotp", [&] { return inner_->DeleteTotp(user_id, audit); });
}

result<std::vector<UserSummary>> InstrumentedMetadataStore::ListUsers(const PageQuery& page) {
  return Timed("ListUsers", [&] { return inner_->ListUsers(page); });
}

result<std::vector<std::string>> InstrumentedMetadataStore::ListUserGroups(
    std::string_view user_id) {
  return Timed("ListUserGroups", [&] { return inner_->ListUserGroups(user_id); });
}

result<std::int64_t> InstrumentedMetadataStore::ChangeUserAccess(const AccessChange& change) {
  return Timed("ChangeUserAccess", [&] { return inner_->ChangeUserAccess(change); });
}

result<void> InstrumentedMetadataStore::CreateGroup(const GroupRecord& group,
                                                    const AuditEvent& audit) {
  return Timed("CreateGroup", [&] { return inner_->CreateGroup(group, audit); });
}

result<GroupRecord> InstrumentedMetadataStore::FindGroup(std::string_view name) {
  return Timed("FindGroup", [&] { return inner_->FindGroup(name); });
}

result<std::vector<GroupRecord>> InstrumentedMetadataStore::ListGroups(const PageQuery& page) {
  return Timed("ListGroups", [&] { return inner_->ListGroups(page); });
}

result<void> InstrumentedMetadataStore::DeleteGroup(std::string_view name,
                                                    const AuditEvent& audit) {
  return Timed("DeleteGroup", [&] { return inner_->DeleteGroup(name, audit); });
}

result<std::vector<UserSummary>> InstrumentedMetadataStore::ListGroupMembers(
    std::string_view name, const PageQuery& page) {
  return Timed("ListGroupMembers", [&] { return inner_->ListGroupMembers(name, page); });
}

result<void> InstrumentedMetadataStore::AddGroupMember(std::string_view name,
                                                       std::string_view user_id,
                                                       const AuditEvent& audit) {
  return Timed("AddGroupMember", [&] { return inner_->AddGroupMember(name, user_id, audit); });
}

result<void> InstrumentedMetadataStore::RemoveGroupMember(std::string_view name,
                                                          std::string_view user_id,
                                                          const AuditEvent& audit) {
  return Timed("RemoveGroupMember",
               [&] { return inner_->RemoveGroupMember(name, user_id, audit); });
}

result<void> InstrumentedMetadataStore::CreateRoomFolder(const RoomFolder& folder, const AuditEvent& audit) {
  return Timed("CreateRoomFolder", [&] { return inner_->CreateRoomFolder(folder, audit); });
}

result<RoomFolder> InstrumentedMetadataStore::FindRoomFolder(std::string_view id) {
  return Timed("FindRoomFolder", [&] { return inner_->FindRoomFolder(id); });
}

result<RoomFolder> InstrumentedMetadataStore::FindRoomRoot(std::string_view owner_id) {
  return Timed("FindRoomRoot", [&] { return inner_->FindRoomRoot(owner_id); });
}

result<RoomListing> InstrumentedMetadataStore::ListRoomFolder(std::string_view id) {
  return Timed("ListRoomFolder", [&] { return inner_->ListRoomFolder(id); });
}

result<void> InstrumentedMetadataStore::UpdateRoomFolder(const RoomFolder& folder, const AuditEvent& audit) {
  return Timed("UpdateRoomFolder", [&] { return inner_->UpdateRoomFolder(folder, audit); });
}

result<void> InstrumentedMetadataStore::DeleteRoomFolder(std::string_view id, const AuditEvent& audit) {
  return Timed("DeleteRoomFolder", [&] { return inner_->DeleteRoomFolder(id, audit); });
}

result<void> InstrumentedMetadataStore::CreateRoomFile(const RoomFile& file, const AuditEvent& audit) {
  return Timed("CreateRoomFile", [&] { return inner_->CreateRoomFile(file, audit); });
}

result<RoomFile> InstrumentedMetadataStore::FindRoomFile(std::string_view id) {
  return Timed("FindRoomFile", [&] { return inner_->FindRoomFile(id); });
}

result<std::string> InstrumentedMetadataStore::UpdateRoomFile(const RoomFile& file, const AuditEvent& audit) {
  return Timed("UpdateRoomFile", [&] { return inner_->UpdateRoomFile(file, audit); });
}

result<std::string> InstrumentedMetadataStore::DeleteRoomFile(std::string_view id, const AuditEvent& audit) {
  return Timed("DeleteRoomFile", [&] { return inner_->DeleteRoomFile(id, audit); });
}

result<std::vector<RoomFile>> InstrumentedMetadataStore::ListRoomSharedWith(std::string_view user_id) {
  return Timed("ListRoomSharedWith", [&] { return inner_->ListRoomSharedWith(user_id); });
}

result<void> InstrumentedMetadataStore::CreateRoomUpload(const RoomUpload& upload) {
  return Timed("CreateRoomUpload", [&] { return inner_->CreateRoomUpload(upload); });
}

result<RoomUpload> InstrumentedMetadataStore::FindRoomUpload(std::string_view id) {
  return Timed("FindRoomUpload", [&] { return inner_->FindRoomUpload(id); });
}

result<void> InstrumentedMetadataStore::DeleteRoomUpload(std::string_view id) {
  return Timed("DeleteRoomUpload", [&] { return inner_->DeleteRoomUpload(id); });
}

result<std::vector<RoomUpload>> InstrumentedMetadataStore::ListExpiredRoomUploads(TimeMs now,
                                                                                std::size_t limit) {
  return Timed("ListExpiredRoomUploads", [&] { return inner_->ListExpiredRoomUploads(now, limit); });
}

result<std::vector<CollabWriteResult>> InstrumentedMetadataStore::AppendCollabUpdates(
    std::span<const CollabUpdate> updates) {
  return Timed("AppendCollabUpdates", [&] { return inner_->AppendCollabUpdates(updates); });
}

result<std::vector<CollabStoredFrame>> InstrumentedMetadataStore::ReadCollabUpdates(
    std::string_view file_id, std::int64_t after_seq, std::size_t limit) {
  return Timed("ReadCollabUpdates",
               [&] { return inner_->ReadCollabUpdates(file_id, after_seq, limit); });
}

result<CollabLogState> InstrumentedMetadataStore::FindCollabLog(std::string_view file_id) {
  return Timed("FindCollabLog", [&] { return inner_->FindCollabLog(file_id); });
}

result<CollabStoredFrame> InstrumentedMetadataStore::FindCollabSnapshot(std::string_view file_id) {
  return Timed("FindCollabSnapshot", [&] { return inner_->FindCollabSnapshot(file_id); });
}

result<CollabWriteResult> InstrumentedMetadataStore::StoreCollabSnapshot(
    const CollabSnapshotWrite& snapshot) {
  return Timed("StoreCollabSnapshot", [&] { return inner_->StoreCollabSnapshot(snapshot); });
}

result<std::vector<std::string>> InstrumentedMetadataStore::ReferencedBlobIds() {
  return Timed("ReferencedBlobIds", [&] { return inner_->ReferencedBlobIds(); });
}

result<void> InstrumentedMetadataStore::Ping() {
  return Timed("Ping", [&] { return inner_->Ping(); });
}

result<std::vector<std::string>> InstrumentedMetadataStore::CheckIntegrity() {
  return Timed("CheckIntegrity", [&] { return inner_->CheckIntegrity(); });
}

}  // namespace strongroom::storage
