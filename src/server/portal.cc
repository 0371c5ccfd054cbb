#include "strongroom/server/portal.h"

#include "server/api/json.h"
#include "server/collab/bus.h"
#include "server/collab/relay.h"
#include "server/router.h"
#include "server/services.h"
#include "server/storage/instrumented_metadata_store.h"
#include "server/storage/local_blob_store.h"
#include "server/storage/session_caching_metadata_store.h"
#include "server/storage/sqlite_metadata_store.h"
#include "strongroom/crypto/encoding.h"
#include "strongroom/crypto/init.h"
#include "strongroom/crypto/verifier.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <set>
#include <thread>

namespace strongroom::server {
namespace {

namespace fs = std::filesystem;

// Settings keys. The portal exists once kPortalCreated is set.
constexpr std::string_view kPortalCreated = "portal.created_at";
constexpr std::string_view kPreloginKey = "portal.prelogin_key";
// Read by the API (api/two_factor.cc); written here once, when the portal is created.
constexpr std::string_view kRequire2fa = "auth.require_2fa";

// The owner setup token lives as long as an ordinary invitation would, at least a week: the
// person installing the portal may not register at once.
constexpr std::int64_t kMinOwnerTokenLifetimeS = 7 * 24 * 3600;

storage::TimeMs NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string DatabasePath(const Config& config) {
  return (fs::path(config.data_dir) / "strongroom.db").string();
}

std::string BlobPath(const Config& config) {
  return (fs::path(config.data_dir) / "blobs").string();
}

boost::system::error_code Fail(std::string* why, std::string message,
                               boost::system::error_code ec = errc::io_error) {
  if (why != nullptr) *why = std::move(message);
  return ec;
}

result<std::unique_ptr<storage::MetadataStore>> OpenStore(const Config& config, std::string* why,
                                                         std::size_t connections) {
  auto store = storage::SqliteMetadataStore::Open(DatabasePath(config), connections);
  if (!store) {
    if (store.error() == errc::unsupported_version) {
      return Fail(why,
                  "the database " + DatabasePath(config) +
                      " was written by a newer strongroomd; refusing to downgrade it",
                  store.error());
    }
    return Fail(why, "cannot open the database " + DatabasePath(config) + ": " +
                         store.error().message());
  }
  return std::unique_ptr<storage::MetadataStore>(std::move(*store));
}

// Makes an invitation and its audit entry; returns the token.
result<Invitation> MakeInvitation(storage::MetadataStore& store, const std::string& email,
                                  storage::Role role, std::int64_t lifetime_s,
                                  std::string_view actor, std::string_view action) {
  Invitation out;
  out.token = crypto::NewToken();
  storage::InvitationRecord record;
  record.token_digest = crypto::TokenDigest(out.token);
  record.email = email;
  record.role = role;
  record.created_by = "";
  record.created_at = NowMs();
  record.expires_at = record.created_at + lifetime_s * 1000;
  out.expires_at_ms = record.expires_at;
  if (auto r = store.CreateInvitation(record); !r) return r.error();
  storage::AuditEvent event;
  event.time = record.created_at;
  event.actor = std::string(actor);
  event.action = std::string(action);
  event.target = email;
  event.ip = "";
  event.result = "success";
  event.detail = std::string(R"({"role":")") + std::string(storage::RoleName(role)) + "\"}";
  if (auto r = store.AppendAudit(event); !r) return r.error();
  return out;
}

}  // namespace

result<OpenedPortal> OpenPortal(const Config& config, std::string* why) {
  if (auto r = crypto::Init(); !r) return Fail(why, "libsodium failed to initialise", r.error());
  std::error_code ec;
  fs::create_directories(config.data_dir, ec);
  if (ec) return Fail(why, "cannot create the data directory " + config.data_dir + ": " +
                               ec.message());
  fs::permissions(config.data_dir, fs::perms::owner_all, fs::perm_options::replace, ec);

  auto services = std::make_shared<Services>();
  services->config = config;
  services->now = &NowMs;

  std::vector<std::string_view> routes = RoutePatterns();
  const auto operations = storage::MetadataStoreOperationNames();
  services->metrics = std::make_unique<Metrics>(routes, operations);
  // One node: fan-out in process. (Several nodes will share a Redis bus: server/collab/bus.h.)
  services->collab =
      std::make_shared<collab::Relay>(*services, std::make_unique<collab::InProcessCollabBus>());

  // One connection per I/O thread, plus one for stragglers.
  const std::size_t threads = config.server.threads != 0
                                  ? config.server.threads
                                  : std::max(1u, std::thread::hardware_concurrency());
  auto raw = OpenStore(config, why, threads + 1);
  if (!raw) return raw.error();
  Metrics* metrics = services->metrics.get();
  services->store = std::make_unique<storage::InstrumentedMetadataStore>(
      std::move(*raw), [metrics](std::string_view operation, double seconds, bool ok) {
        metrics->ObserveDb(operation, seconds, ok);
      });
  // Outermost, so the database timings count only what reaches the database.
  if (config.auth.session_cache_ms > 0) {
    storage::SessionCachingMetadataStore::Options cache;
    cache.ttl = std::chrono::milliseconds(config.auth.session_cache_ms);
    services->store = std::make_unique<storage::SessionCachingMetadataStore>(
        std::move(services->store), std::move(cache));
  }

  auto blobs = storage::LocalBlobStore::Open(BlobPath(config));
  if (!blobs) {
    return Fail(why, "cannot open the blob directory " + BlobPath(config) +
                         " (is another strongroomd using it?): " + blobs.error().message());
  }
  services->blobs = std::move(*blobs);

  const auto& limits = config.rate_limits;
  services->ip_limiter = std::make_unique<RateLimiter>(
      static_cast<double>(limits.per_ip_per_second), static_cast<double>(limits.per_ip_burst));
  services->account_limiter =
      std::make_unique<RateLimiter>(static_cast<double>(limits.per_account_per_second),
                                    static_cast<double>(limits.per_account_burst));

  OpenedPortal out;
  storage::MetadataStore& store = *services->store;
  services->settings = std::make_unique<PortalSettingsCache>(store, services->config);
  // Expired sessions are refused anyway; removing them keeps the table small. (Also done
  // lazily: FindSession never returns one.)
  if (auto n = store.DeleteExpiredSessions(NowMs()); n && *n > 0) {
    spdlog::info("removed {} expired session(s)", *n);
  }

  // The pre-login key first: a portal marked created always has one.
  std::array<std::uint8_t, 32> fresh{};
  crypto::FillRandom(fresh);
  if (auto r = store.PutSettingIfAbsent(kPreloginKey, crypto::HexEncode(fresh)); !r) {
    return Fail(why, "cannot write the database: " + r.error().message());
  }
  auto key_hex = store.GetSetting(kPreloginKey);
  if (!key_hex || !*key_hex) return Fail(why, "cannot read the portal settings");
  auto key = crypto::HexDecode(**key_hex);
  if (!key || key->size() != 32) return Fail(why, "the portal's pre-login key is corrupt");
  std::copy(key->begin(), key->end(), services->prelogin_key.begin());

  // The two-factor requirement of a new portal comes from the configuration, and is written
  // before the portal is marked created, so a portal never exists without it (a crash in
  // between leaves no portal, and the next start writes it again). A portal that exists
  // already, even one made before this setting did, is never touched here.
  const std::string require_2fa = config.auth.require_2fa_default ? "true" : "false";
  auto exists = store.GetSetting(kPortalCreated);
  if (!exists) return Fail(why, "cannot read the portal settings");
  if (!*exists) {
    if (auto r = store.PutSettingIfAbsent(kRequire2fa, require_2fa); !r) {
      return Fail(why, "cannot write the database: " + r.error().message());
    }
  }

  // Creating the portal is a race two processes may run; exactly one wins it.
  const storage::TimeMs now = NowMs();
  auto created = store.PutSettingIfAbsent(kPortalCreated, std::to_string(now));
  if (!created) return Fail(why, "cannot write the database: " + created.error().message());
  if (*created) {
    auto required = store.GetSetting(kRequire2fa);
    if (!required || !*required) return Fail(why, "cannot read the portal settings");
    storage::AuditEvent event{0, now, "system", "portal.create", "", "", "success", ""};
    event.detail = std::string(R"({"auth.require_2fa":)") + **required + "}";
    if (auto r = store.AppendAudit(event); !r) return Fail(why, "cannot write the audit trail");
    auto invitation =
        MakeInvitation(store, "", storage::Role::owner,
                       std::max(config.auth.invitation_lifetime_s, kMinOwnerTokenLifetimeS),
                       "system", "invitation.create");
    if (!invitation) return Fail(why, "cannot create the owner setup token");
    out.owner_setup_token = std::move(invitation->token);
    spdlog::info("portal created (two-factor authentication required: {})", **required);
  }
  out.services = std::move(services);
  return out;
}

result<Invitation> InviteFromCommandLine(const Config& config, const std::string& email,
                                         InviteRole role, std::string* why) {
  if (auto r = crypto::Init(); !r) return Fail(why, "libsodium failed to initialise", r.error());
  std::string normalized;
  try {
    normalized = api::NormalizeEmail(email);  // The same rules as the API's.
  } catch (const api::ApiError&) {
    return Fail(why, "'" + email + "' is not a valid email address", errc::invalid_argument);
  }
  if (!fs::exists(DatabasePath(config))) {
    return Fail(why, "no portal in " + config.data_dir + " (start strongroomd serve there first)",
                errc::not_found);
  }
  auto store = OpenStore(config, why, 1);
  if (!store) return store.error();
  auto created = (*store)->GetSetting(kPortalCreated);
  if (!created || !*created) {
    return Fail(why, "no portal in " + config.data_dir + " (start strongroomd serve there first)",
                errc::not_found);
  }
  auto invitation = MakeInvitation(
      **store, normalized, role == InviteRole::admin ? storage::Role::admin : storage::Role::user,
      config.auth.invitation_lifetime_s, "system", "invitation.create");
  if (!invitation) return Fail(why, "cannot write the invitation: " + invitation.error().message());
  return invitation;
}

result<std::vector<std::string>> CheckPortal(const Config& config, std::string* why) {
  if (!fs::exists(DatabasePath(config))) {
    return Fail(why, "no database at " + DatabasePath(config), errc::not_found);
  }
  auto store = OpenStore(config, why, 1);
  if (!store) return store.error();
  auto problems = (*store)->CheckIntegrity();
  if (!problems) return Fail(why, "the integrity check could not run: " + problems.error().message());

  auto blobs = storage::LocalBlobStore::Open(BlobPath(config));
  if (!blobs) {
    return Fail(why, "cannot open the blob directory " + BlobPath(config) +
                         " (stop the server first: it holds the directory's lock)");
  }
  auto stored = (*blobs)->List();
  if (!stored) return Fail(why, "cannot list the blob directory: " + stored.error().message());
  auto referenced = (*store)->ReferencedBlobIds();
  if (!referenced) return Fail(why, "cannot read blob references: " + referenced.error().message());
  std::vector<std::string> have;
  for (const auto& id : *stored) have.push_back(id.str());
  std::sort(referenced->begin(), referenced->end());
  std::vector<std::string> orphans, missing;
  std::set_difference(have.begin(), have.end(), referenced->begin(), referenced->end(),
                      std::back_inserter(orphans));
  std::set_difference(referenced->begin(), referenced->end(), have.begin(), have.end(),
                      std::back_inserter(missing));
  for (const auto& id : orphans) problems->push_back("blob without a row: " + id);
  for (const auto& id : missing) problems->push_back("row without a blob: " + id);
  return std::move(*problems);
}

}  // namespace strongroom::server
