#include "server/storage/session_caching_metadata_store.h"

#include <cassert>
#include <utility>

namespace strongroom::storage {

SessionCachingMetadataStore::SessionCachingMetadataStore(std::unique_ptr<MetadataStore> inner,
                                                         Options options)
    : inner_(std::move(inner)), options_(std::move(options)) {
  assert(inner_ != nullptr);
  assert(options_.ttl.count() > 0 && options_.max_entries > 0 && options_.clock);
}

SessionCachingMetadataStore::~SessionCachingMetadataStore() = default;

std::size_t SessionCachingMetadataStore::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return by_digest_.size();
}

void SessionCachingMetadataStore::Clear() {
  ++generation_;
  by_digest_.clear();
  digest_of_.clear();
}

template <class Call>
auto SessionCachingMetadataStore::Invalidating(Call&& call) -> decltype(call()) {
  // After the write: a read that started before it and finishes after sees generation_ moved
  // and does not keep its (possibly old) answer. Also after a failed write, which may have
  // changed something before failing; forgetting is always safe.
  auto r = call();
  std::lock_guard<std::mutex> lock(mutex_);
  Clear();
  return r;
}

// --- the cached read ----------------------------------------------------------------------------

result<SessionWithUser> SessionCachingMetadataStore::FindSessionWithUser(
    std::string_view token_digest, TimeMs now) {
  std::uint64_t generation = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = by_digest_.find(std::string(token_digest));
    if (it != by_digest_.end() && options_.clock() - it->second.fetched < options_.ttl) {
      // Expiry is a property of the row, checked on every use exactly as the store would.
      if (it->second.value.session.expires_at <= now) return errc::not_found;
      return it->second.value;
    }
    generation = generation_;
  }
  auto found = inner_->FindSessionWithUser(token_digest, now);
  if (!found) return found;
  const auto fetched = options_.clock();
  std::lock_guard<std::mutex> lock(mutex_);
  if (generation != generation_) return found;  // A write happened meanwhile: do not keep.
  if (by_digest_.size() >= options_.max_entries) {
    std::erase_if(by_digest_, [&](const auto& kv) {
      if (fetched - kv.second.fetched < options_.ttl) return false;
      digest_of_.erase(kv.second.value.session.id);
      return true;
    });
    if (by_digest_.size() >= options_.max_entries) Clear();
  }
  digest_of_[found->session.id] = std::string(token_digest);
  by_digest_.insert_or_assign(std::string(token_digest), Entry{*found, fetched});
  return found;
}

result<void> SessionCachingMetadataStore::TouchSession(std::string_view session_id,
                                                       TimeMs last_seen_at) {
  auto r = inner_->TouchSession(session_id, last_seen_at);
  std::lock_guard<std::mutex> lock(mutex_);
  ++generation_;  // A read racing with the touch would keep the old last_seen_at.
  const auto digest = digest_of_.find(std::string(session_id));
  if (digest != digest_of_.end()) {
    const auto it = by_digest_.find(digest->second);
    if (!r) {
      Clear();  // Unknown outcome: forget.
    } else if (it != by_digest_.end()) {
      it->second.value.session.last_seen_at = last_seen_at;
    }
  }
  return r;
}

// --- writes that may change a cached answer: forget everything -----------------------------------

result<void> SessionCachingMetadataStore::PutSetting(std::string_view key, std::string_view value) {
  return Invalidating([&] { return inner_->PutSetting(key, value); });
}

result<bool> SessionCachingMetadataStore::PutSettingIfAbsent(std::string_view key,
                                                             std::string_view value) {
  return Invalidating([&] { return inner_->PutSettingIfAbsent(key, value); });
}

result<void> SessionCachingMetadataStore::CreateInvitation(const InvitationRecord& invitation) {
  return Invalidating([&] { return inner_->CreateInvitation(invitation); });
}

result<void> SessionCachingMetadataStore::RegisterUser(const Registration& registration) {
  return Invalidating([&] { return inner_->RegisterUser(registration); });
}

result<void> SessionCachingMetadataStore::ChangeCredentials(const CredentialChange& change) {
  return Invalidating([&] { return inner_->ChangeCredentials(change); });
}

result<void> SessionCachingMetadataStore::CreateSession(const SessionRecord& session) {
  return Invalidating([&] { return inner_->CreateSession(session); });
}

result<bool> SessionCachingMetadataStore::RevokeSession(std::string_view user_id,
                                                        std::string_view session_id) {
  return Invalidating([&] { return inner_->RevokeSession(user_id, session_id); });
}

result<std::int64_t> SessionCachingMetadataStore::RevokeOtherSessions(
    std::string_view user_id, std::string_view keep_session_id) {
  return Invalidating([&] { return inner_->RevokeOtherSessions(user_id, keep_session_id); });
}

result<std::int64_t> SessionCachingMetadataStore::DeleteExpiredSessions(TimeMs now) {
  return Invalidating([&] { return inner_->DeleteExpiredSessions(now); });
}

result<std::int64_t> SessionCachingMetadataStore::ChangeUserAccess(const AccessChange& change) {
  // A cached answer holds the user's role and state, and the sessions this may remove.
  return Invalidating([&] { return inner_->ChangeUserAccess(change); });
}

// --- appends to the logs: no cached answer holds them ----------------------------------------------

result<void> SessionCachingMetadataStore::RecordLoginAttempt(const LoginAttempt& attempt) {
  return inner_->RecordLoginAttempt(attempt);
}

result<void> SessionCachingMetadataStore::AppendAudit(const AuditEvent& event) {
  return inner_->AppendAudit(event);
}

// --- other reads: straight through -----------------------------------------------------------------

result<std::optional<std::string>> SessionCachingMetadataStore::GetSetting(std::string_view key) {
  return inner_->GetSetting(key);
}

result<InvitationRecord> SessionCachingMetadataStore::FindInvitation(std::string_view digest) {
  return inner_->FindInvitation(digest);
}

result<UserRecord> SessionCachingMetadataStore::FindUserById(std::string_view id) {
  return inner_->FindUserById(id);
}

result<UserRecord> SessionCachingMetadataStore::FindUserByEmail(std::string_view email) {
  return inner_->FindUserByEmail(email);
}

result<std::int64_t> SessionCachingMetadataStore::CountUsers() { return inner_->CountUsers(); }

result<SessionRecord> SessionCachingMetadataStore::FindSession(std::string_view token_digest,
                                                               TimeMs now) {
  return inner_->FindSession(token_digest, now);
}

result<std::vector<SessionRecord>> SessionCachingMetadataStore::ListSessions(
    std::string_view user_id, TimeMs now) {
  return inner_->ListSessions(user_id, now);
}

result<FailureCount> SessionCachingMetadataStore::AccountFailures(std::string_view email,
                                                                  TimeMs since) {
  return inner_->AccountFailures(email, since);
}

result<FailureCount> SessionCachingMetadataStore::IpFailures(std::string_view ip, TimeMs since) {
  return inner_->IpFailures(ip, since);
}

result<std::vector<LoginAttempt>> SessionCachingMetadataStore::QueryLoginAttempts(
    const LoginQuery& query) {
  return inner_->QueryLoginAttempts(query);
}

result<std::vector<AuditEvent>> SessionCachingMetadataStore::QueryAudit(const AuditQuery& query) {
  return inner_->QueryAudit(query);
}

// --- two-factor authentication ------------------------------------------------------------------
// A cached answer holds UserRecord::totp_enabled, which confirming and deleting an enrolment
// change: those forget everything. Beginning (a pending enrolment is not "enabled"), spending
// a time step or a recovery code, and replacing recovery codes change nothing a cached answer
// holds, so they leave the cache alone (a 2FA sign-in makes a session anyway, which clears it).

result<void> SessionCachingMetadataStore::BeginTotp(const TotpRecord& pending,
                                                    const AuditEvent& audit) {
  return inner_->BeginTotp(pending, audit);
}

result<TotpRecord> SessionCachingMetadataStore::FindTotp(std::string_view user_id) {
  return inner_->FindTotp(user_id);
}

result<void> SessionCachingMetadataStore::ConfirmTotp(const TotpConfirmation& confirmation) {
  return Invalidating([&] { return inner_->ConfirmTotp(confirmation); });
}

result<bool> SessionCachingMetadataStore::AcceptTotpStep(std::string_view user_id,
                                                         std::int64_t step) {
  return inner_->AcceptTotpStep(user_id, step);
}

result<bool> SessionCachingMetadataStore::UseTotpRecoveryCode(std::string_view user_id,
                                                              std::string_view digest, TimeMs now) {
  return inner_->UseTotpRecoveryCode(user_id, digest, now);
}

result<void> SessionCachingMetadataStore::ReplaceTotpRecoveryCodes(
    std::string_view user_id, const std::vector<std::string>& digests, const AuditEvent& audit) {
  return inner_->ReplaceTotpRecoveryCodes(user_id, digests, audit);
}

result<void> SessionCachingMetadataStore::DeleteTotp(std::string_view user_id,
                                                     const AuditEvent& audit) {
  return Invalidating([&] { return inner_->DeleteTotp(user_id, audit); });
}

// --- groups: no cached answer holds a group or a membership; writes leave the cache alone --------

result<std::vector<UserSummary>> SessionCachingMetadataStore::ListUsers(const PageQuery& page) {
  return inner_->ListUsers(page);
}

result<std::vector<std::string>> SessionCachingMetadataStore::ListUserGroups(
    std::string_view user_id) {
  return inner_->ListUserGroups(user_id);
}

result<void> SessionCachingMetadataStore::CreateGroup(const GroupRecord& group,
                                                      const AuditEvent& audit) {
  return inner_->CreateGroup(group, audit);
}

result<GroupRecord> SessionCachingMetadataStore::FindGroup(std::string_view name) {
  return inner_->FindGroup(name);
}

result<std::vector<GroupRecord>> SessionCachingMetadataStore::ListGroups(const PageQuery& page) {
  return inner_->ListGroups(page);
}

result<void> SessionCachingMetadataStore::DeleteGroup(std::string_view name,
                                                      const AuditEvent& audit) {
  return inner_->DeleteGroup(name, audit);
}

result<std::vector<UserSummary>> SessionCachingMetadataStore::ListGroupMembers(
    std::string_view name, const PageQuery& page) {
  return inner_->ListGroupMembers(name, page);
}

result<void> SessionCachingMetadataStore::AddGroupMember(std::string_view name,
                                                         std::string_view user_id,
                                                         const AuditEvent& audit) {
  return inner_->AddGroupMember(name, user_id, audit);
}

result<void> SessionCachingMetadataStore::RemoveGroupMember(std::string_view name,
                                                            std::string_view user_id,
                                                            const AuditEvent& audit) {
  return inner_->RemoveGroupMember(name, user_id, audit);
}

// --- Private Room: no cached answer holds a room row; writes leave the cache alone -----------

result<void> SessionCachingMetadataStore::CreateRoomFolder(const RoomFolder& folder, const AuditEvent& audit) {
  return inner_->CreateRoomFolder(folder, audit);
}

result<RoomFolder> SessionCachingMetadataStore::FindRoomFolder(std::string_view id) {
  return inner_->FindRoomFolder(id);
}

result<RoomFolder> SessionCachingMetadataStore::FindRoomRoot(std::string_view owner_id) {
  return inner_->FindRoomRoot(owner_id);
}

result<RoomListing> SessionCachingMetadataStore::ListRoomFolder(std::string_view id) {
  return inner_->ListRoomFolder(id);
}

result<void> SessionCachingMetadataStore::UpdateRoomFolder(const RoomFolder& folder, const AuditEvent& audit) {
  return inner_->UpdateRoomFolder(folder, audit);
}

result<void> SessionCachingMetadataStore::DeleteRoomFolder(std::string_view id, const AuditEvent& audit) {
  return inner_->DeleteRoomFolder(id, audit);
}

result<void> SessionCachingMetadataStore::CreateRoomFile(const RoomFile& file, const AuditEvent& audit) {
  return inner_->CreateRoomFile(file, audit);
}

result<RoomFile> SessionCachingMetadataStore::FindRoomFile(std::string_view id) {
  return inner_->FindRoomFile(id);
}

result<std::string> SessionCachingMetadataStore::UpdateRoomFile(const RoomFile& file, const AuditEvent& audit) {
  return inner_->UpdateRoomFile(file, audit);
}

result<std::string> SessionCachingMetadataStore::DeleteRoomFile(std::string_view id, const AuditEvent& audit) {
  return inner_->DeleteRoomFile(id, audit);
}

result<std::vector<RoomFile>> SessionCachingMetadataStore::ListRoomSharedWith(std::string_view user_id) {
  return inner_->ListRoomSharedWith(user_id);
}

result<void> SessionCachingMetadataStore::CreateRoomUpload(const RoomUpload& upload) {
  return inner_->CreateRoomUpload(upload);
}

result<RoomUpload> SessionCachingMetadataStore::FindRoomUpload(std::string_view id) {
  return inner_->FindRoomUpload(id);
}

result<void> SessionCachingMetadataStore::DeleteRoomUpload(std::string_view id) {
  return inner_->DeleteRoomUpload(id);
}

result<std::vector<RoomUpload>> SessionCachingMetadataStore::ListExpiredRoomUploads(
    TimeMs now, std::size_t limit) {
  return inner_->ListExpiredRoomUploads(now, limit);
}

// --- co-editing relay log: no cached answer holds a log row; writes leave the cache alone ------

result<std::vector<CollabWriteResult>> SessionCachingMetadataStore::AppendCollabUpdates(
    std::span<const CollabUpdate> updates) {
  return inner_->AppendCollabUpdates(updates);
}

result<std::vector<CollabStoredFrame>> SessionCachingMetadataStore::ReadCollabUpdates(
    std::string_view file_id, std::int64_t after_seq, std::size_t limit) {
  return inner_->ReadCollabUpdates(file_id, after_seq, limit);
}

result<CollabLogState> SessionCachingMetadataStore::FindCollabLog(std::string_view file_id) {
  return inner_->FindCollabLog(file_id);
}

result<CollabStoredFrame> SessionCachingMetadataStore::FindCollabSnapshot(
    std::string_view file_id) {
  return inner_->FindCollabSnapshot(file_id);
}

result<CollabWriteResult> SessionCachingMetadataStore::StoreCollabSnapshot(
    const CollabSnapshotWrite& snapshot) {
  return inner_->StoreCollabSnapshot(snapshot);
}

result<std::vector<std::string>> SessionCachingMetadataStore::ReferencedBlobIds() {
  return inner_->ReferencedBlobIds();
}

result<void> SessionCachingMetadataStore::Ping() { return inner_->Ping(); }

result<std::vector<std::string>> SessionCachingMetadataStore::CheckIntegrity() {
  return inner_->CheckIntegrity();
}

}  // namespace strongroom::storage
