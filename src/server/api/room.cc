// The Private Room endpoints: docs/private-room.md section 6 is their specification.
//
// The server stores records it cannot read and enforces what it can see: who owns what, who
// may read what, the tree, and that no two items in a folder share a name_hmac. Everything a
// client relies on about content and names it checks itself (signatures, AEAD), so these
// handlers never need, and never get, a key.
//
// Visibility: an item the caller may not see answers exactly as a missing one (404
// not_found), so ids cannot be probed.
#include "server/api/handlers.h"
#include "server/api/json.h"
#include "server/collab/relay.h"
#include "server/services.h"
#include "strongroom/crypto/container.h"
#include "strongroom/crypto/encoding.h"
#include "strongroom/crypto/identity.h"
#include "strongroom/crypto/verifier.h"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <limits>

namespace strongroom::server::api {
namespace {

using storage::RoomFile;
using storage::RoomFolder;
using storage::RoomUpload;
using storage::TimeMs;

// The OOXML types of .docx, .xlsx and .pptx: what the Private Room accepts by default.
constexpr std::size_t kIdHexSize = 32;        // 16 random bytes.
constexpr std::size_t kNameHmacHexSize = 64;  // HMAC-SHA256.
constexpr std::size_t kSealedKeySize = 80;    // E (32) || AEAD(folder key) (48).
constexpr std::size_t kSignatureSize = 64;
constexpr std::size_t kMaxRecordSize = 4096;  // A name of 255 bytes and fixed fields fit.
constexpr std::size_t kExpiredSweep = 16;     // Abandoned uploads removed per new upload.

ApiError NotFound(std::string_view what) {
  return ApiError(http::status::not_found, "not_found", "no such " + std::string(what));
}

// A signed-in caller for whom the Private Room is on.
Caller RoomCaller(const Request& request, HandlerContext& context) {
  Caller caller = Authenticate(request, context);
  if (!CurrentSettings(Svc(context))->room_enabled) {
    throw ApiError(http::status::forbidden, "private_room_disabled",
                   "the Private Room is turned off on this portal; an administrator can turn it on");
  }
  return caller;
}

// --- ids and fields -------------------------------------------------------------------------

bool IsLowerHex(std::string_view s, std::size_t size) {
  return s.size() == size && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// The {id} of the path; a malformed one is an item that does not exist.
std::string PathId(const HandlerContext& context, std::string_view what) {
  const std::string& id = context.params.at(0);
  if (!IsLowerHex(id, kIdHexSize)) throw NotFound(what);
  return id;
}

std::string HexField(const boost::json::object& o, std::string_view field, std::size_t size) {
  std::string v = GetString(o, field, size);
  if (!IsLowerHex(v, size)) {
    ThrowInvalid("field '" + std::string(field) + "' must be " + std::to_string(size) +
                 " lower-case hex digits");
  }
  return v;
}

std::optional<std::string> OptionalHexField(const boost::json::object& o, std::string_view field,
                                            std::size_t size) {
  const auto* v = o.if_contains(field);
  if (v == nullptr || v->is_null()) return std::nullopt;
  return HexField(o, field, size);
}

std::int64_t IntField(const boost::json::object& o, std::string_view field, std::int64_t min,
                      std::int64_t max) {
  const auto* v = o.if_contains(field);
  std::int64_t n = 0;
  if (v != nullptr && v->is_int64()) {
    n = v->as_int64();
  } else if (v != nullptr && v->is_uint64() &&
             v->as_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    n = static_cast<std::int64_t>(v->as_uint64());
  } else {
    ThrowInvalid("field '" + std::string(field) + "' must be a whole number");
  }
  if (n < min || n > max) {
    ThrowInvalid("field '" + std::string(field) + "' must be from " + std::to_string(min) +
                 " to " + std::to_string(max));
  }
  return n;
}


// --- JSON shapes ----------------------------------------------------------------------------

boost::json::object FolderJson(const RoomFolder& f) {
  boost::json::object o;
  o["id"] = f.id;
  o["owner_id"] = f.owner_id;
  o["parent_id"] = f.parent_id ? boost::json::value(*f.parent_id) : nullptr;
  o["name_hmac"] = f.name_hmac ? boost::json::value(*f.name_hmac) : nullptr;
  o["revision"] = f.revision;
  o["sealed_key"] = B64(f.sealed_key);
  o["record"] = B64(f.record);
  o["signature"] = B64(f.signature);
  o["created_at"] = FormatTime(f.created_at);
  o["updated_at"] = FormatTime(f.updated_at);
  return o;
}

std::string ETagOf(const RoomFile& f) {
  return "\"v" + std::to_string(f.version) + "-" + f.blob_id + "\"";
}

boost::json::object FileJson(const RoomFile& f) {
  boost::json::object o;
  o["id"] = f.id;
  o["owner_id"] = f.owner_id;
  o["parent_id"] = f.parent_id;
  o["name_hmac"] = f.name_hmac;
  o["version"] = f.version;
  o["size"] = f.size;
  o["content_type"] = f.content_type;
  o["author_id"] = f.author_id;
  boost::json::array recipients;
  for (const auto& r : f.recipients) {
    boost::json::object ro;
    ro["user_id"] = r.user_id;
    ro["fingerprint"] = r.fingerprint;
    recipients.push_back(std::move(ro));
  }
  o["recipients"] = std::move(recipients);
  o["record"] = B64(f.record);
  o["signature"] = B64(f.signature);
  o["etag"] = ETagOf(f);
  o["created_at"] = FormatTime(f.created_at);
  o["updated_at"] = FormatTime(f.updated_at);
  return o;
}

boost::json::object UploadJson(const RoomUpload& u, std::uint64_t received) {
  boost::json::object o;
  o["upload_id"] = u.id;
  o["file_id"] = u.file_id;
  o["base_version"] = u.base_version;
  o["size"] = u.size;
  o["received"] = received;
  o["expires_at"] = FormatTime(u.expires_at);
  return o;
}

// --- lookups with visibility ----------------------------------------------------------------

RoomFolder OwnFolder(Services& s, const std::string& id, const Caller& caller) {
  auto f = s.store->FindRoomFolder(id);
  if (!f && f.error() == errc::not_found) throw NotFound("folder");
  RoomFolder folder = Must(std::move(f));
  if (folder.owner_id != caller.user.id) throw NotFound("folder");
  return folder;
}

bool IsRecipient(const RoomFile& f, std::string_view user_id) {
  return std::any_of(f.recipients.begin(), f.recipients.end(),
                     [&](const storage::RoomRecipient& r) { return r.user_id == user_id; });
}

// A file the caller owns or was given; 404 otherwise.
RoomFile VisibleFile(Services& s, const std::string& id, const Caller& caller) {
  auto f = s.store->FindRoomFile(id);
  if (!f && f.error() == errc::not_found) throw NotFound("file");
  RoomFile file = Must(std::move(f));
  if (file.owner_id != caller.user.id && !IsRecipient(file, caller.user.id)) {
    throw NotFound("file");
  }
  return file;
}

RoomFile OwnFile(Services& s, const std::string& id, const Caller& caller) {
  RoomFile file = VisibleFile(s, id, caller);
  if (file.owner_id != caller.user.id) {
    throw ApiError(http::status::forbidden, "not_owner",
                   "only the owner of a file can move or delete it");
  }
  return file;
}

// An upload of the caller that has not expired; 404 otherwise.
RoomUpload OwnUpload(Services& s, const std::string& id, const Caller& caller) {
  auto u = s.store->FindRoomUpload(id);
  if (!u && u.error() == errc::not_found) throw NotFound("upload");
  RoomUpload upload = Must(std::move(u));
  if (upload.owner_id != caller.user.id || upload.expires_at <= s.now()) throw NotFound("upload");
  return upload;
}

storage::BlobId StagedName(const RoomUpload& upload) {
  return storage::BlobId::Make("u" + upload.id).value();
}

[[noreturn]] void BlobStoreFailed(const boost::system::error_code& ec) {
  spdlog::error("blob store failed: {}", ec.message());
  throw ApiError(http::status::service_unavailable, "unavailable",
                 "the document store is unavailable; try again");
}

storage::AuditEvent MakeAudit(Services& s, const HandlerContext& context, const Caller& caller,
                              std::string action, std::string target, std::string detail = "") {
  storage::AuditEvent e;
  e.time = s.now();
  e.actor = caller.user.id;
  e.action = std::move(action);
  e.target = std::move(target);
  e.ip = context.info.remote_ip;
  e.result = "success";
  e.detail = std::move(detail);
  return e;
}

// Maps the store's answers for "place an item" (create, move) to API errors; returns if
// there is none to map (success, or a failing database for Must to report).
void ThrowPlacementError(const boost::system::error_code& ec, std::string_view what) {
  {
    if (ec == errc::already_exists) {
      throw ApiError(http::status::conflict, "name_taken",
                     "an item with this name already exists in the target folder (the Private "
                     "Room never overwrites)");
    }
    if (ec == errc::not_found) throw NotFound("folder");
    if (ec == errc::conflict) {
      throw ApiError(http::status::conflict, "version_conflict",
                     std::string(what) + " changed meanwhile; fetch it again and retry");
    }
    if (ec == errc::invalid_argument) {
      throw ApiError(http::status::bad_request, "invalid_move",
                     "the root folder cannot move, and a folder cannot move into itself");
    }
  }
}

template <class T>
T Placed(result<T> r, std::string_view what) {
  if (!r) ThrowPlacementError(r.error(), what);
  return Must(std::move(r));
}

// Removes uploads that were abandoned, with their bytes. Best effort: a failure here must
// not fail the request that happened to trigger the sweep.
void SweepExpiredUploads(Services& s) {
  auto expired = s.store->ListExpiredRoomUploads(s.now(), kExpiredSweep);
  if (!expired) return;
  for (const RoomUpload& u : *expired) {
    if (s.blobs->DeleteStaged(StagedName(u))) (void)s.store->DeleteRoomUpload(u.id);
  }
}

}  // namespace

// --- folders --------------------------------------------------------------------------------

Response RoomRoot(const Request& request, HandlerContext& context) {
  const Caller caller = RoomCaller(request, context);
  Services& s = Svc(context);
  auto root = s.store->FindRoomRoot(caller.user.id);
  if (!root && root.error() == errc::not_found) {
    throw ApiError(http::status::not_found, "not_found",
                   "no Private Room yet: the client creates the root folder on first use");
  }
  return Json(request, http::status::ok, FolderJson(Must(std::move(root))));
}

Response RoomCreateFolder(const Request& request, HandlerContext& context) {
  const Caller caller = RoomCaller(request, context);
  Services& s = Svc(context);
  const auto body = ParseObject(request);
  RoomFolder f;
  f.id = HexField(body, "id", kIdHexSize);
  f.owner_id = caller.user.id;
  f.parent_id = OptionalHexField(body, "parent_id", kIdHexSize);
  f.name_hmac = OptionalHexField(body, "name_hmac", kNameHmacHexSize);
  if (f.parent_id.has_value() != f.name_hmac.has_value()) {
    ThrowInvalid("'parent_id' and 'name_hmac' go together (both absent only for the root)");
  }
  f.revision = 1;
  f.sealed_key = GetBytes(body, "sealed_key", kSealedKeySize, kSealedKeySize);
  f.record = GetBytes(body, "record", kMaxRecordSize);
  f.signature = GetBytes(body, "signature", kSignatureSize, kSignatureSize);
  f.created_at = f.updated_at = s.now();
  if (!f.parent_id) {
    auto existing = s.store->FindRoomRoot(caller.user.id);
    if (existing) {
      throw ApiError(http::status::conflict, "root_exists", "this account has a root folder already");
    }
  }
  Placed(s.store->CreateRoomFolder(
             f, MakeAudit(s, context, caller, "room.folder.create", f.id,
                          DetailJson({{"parent_id", f.parent_id ? f.parent_id->c_str() : ""}}))),
         "the folder");
  return Json(request, http::status::created, FolderJson(f));
}

Response RoomGetFolder(const Request& request, HandlerContext& context) {
  const Caller caller = RoomCaller(request, context);
  Services& s = Svc(context);
  const RoomFolder folder = OwnFolder(s, PathId(context, "folder"), caller);
  const auto listing = Must(s.store->ListRoomFolder(folder.id));
  boost::json::array folders, files;
  for (const auto& f : listing.folders) folders.push_back(FolderJson(f));
  for (const auto& f : listing.files) files.push_back(FileJson(f));
  boost::json::object out;
  out["folder"] = FolderJson(folder);
  out["folders"] = std::move(folders);
  out["files"] = std::move(files);
  return Json(request, http::status::ok, out);
}

Response RoomMoveFolder(const Request& request, HandlerContext& context) {
  const Caller caller = RoomCaller(request, context);
  Services& s = Svc(context);
  RoomFolder f = OwnFolder(s, PathId(context, "folder"), caller);
  const auto body = ParseObject(request);
  f.parent_id = HexField(body, "parent_id", kIdHexSize);
  f.name_hmac = HexField(body, "name_hmac", kNameHmacHexSize);
  f.revision = IntField(body, "revision", 2, INT64_MAX);
  f.record = GetBytes(body, "record", kMaxRecordSize);
  f.signature = GetBytes(body, "signature", kSignatureSize, kSignatureSize);
  f.updated_at = s.now();
  Placed(s.store->UpdateRoomFolder(
             f, MakeAudit(s, context, caller, "room.move", f.id,
                          DetailJson({{"kind", "folder"}, {"parent_id", f.parent_id->c_str()}}))),
         "the folder");
  return Json(request, http::status::ok, FolderJson(f));
}

Response RoomDeleteFolder(const Request& request, HandlerContext& context) {
  const Caller caller = RoomCaller(request, context);
  Services& s = Svc(context);
  const RoomFolder f = OwnFolder(s, PathId(context, "folder"), caller);
  auto r = s.store->DeleteRoomFolder(
      f.id, MakeAudit(s, context, caller, "room.delete", f.id, DetailJson({{"kind", "folder"}})));
  if (!r && r.error() == errc::conflict) {
    throw ApiError(http::status::conflict, "folder_not_empty",
                   "the folder is not empty; delete what is inside it first");
  }
  if (!r && r.error() == errc::not_found) throw NotFound("folder");
  Must(std::move(r));
  Response response{http::status::no_content, request.version()};
  response.keep_alive(request.keep_alive());
  return response;
}

// --- uploads --------------------------------------------------------------------------------

Response RoomStartUpload(const Request& request, HandlerContext& context) {
  const Caller caller = RoomCaller(request, context);
  Services& s = Svc(context);
  const auto body = ParseObject(request);
  RoomUpload u;
  u.file_id = HexField(body, "file_id", kIdHexSize);
  u.size = IntField(body, "size", 1, INT64_MAX);
  u.base_version = body.contains("base_version") ? IntField(body, "base_version", 0, INT64_MAX) : 0;
  if (u.size > s.config.room.max_upload_bytes) {
    throw ApiError(http::status::payload_too_large, "too_large",
                   "the file is larger than this portal accepts (" +
                       std::to_string(s.config.room.max_upload_bytes) + " bytes)");
  }
  // Refuse early what completion would refuse, so nobody uploads gigabytes for nothing.
  auto existing = s.store->FindRoomFile(u.file_id);
  if (u.base_version == 0) {
    if (existing) {
      throw ApiError(http::status::conflict, "file_exists",
                     "a file with this id exists; upload a new version with base_version");
    }
    if (existing.error() != errc::not_found) Must(std::move(existing));
  } else {
    const RoomFile file = VisibleFile(s, u.file_id, caller);
    if (file.version != u.base_version) {
      throw ApiError(http::status::conflict, "version_conflict",
                     "the file is at version " + std::to_string(file.version) + ", not " +
                         std::to_string(u.base_version) + "; fetch it again");
    }
  }
  SweepExpiredUploads(s);
  u.id = crypto::RandomHex(16);
  u.owner_id = caller.user.id;
  u.created_at = s.now();
  u.expires_at = u.created_at + s.config.room.upload_ttl_s * 1000;
  if (auto r = s.blobs->CreateStaged(StagedName(u)); !r) BlobStoreFailed(r.error());
  if (auto r = s.store->CreateRoomUpload(u); !r) {
    (void)s.blobs->DeleteStaged(StagedName(u));
    Must(std::move(r));
  }
  return Json(request, http::status::created, UploadJson(u, 0));
}

Response RoomGetUpload(const Request& request, HandlerContext& context) {
  const Caller caller = RoomCaller(request, context);
  Services& s = Svc(context);
  const RoomUpload u = OwnUpload(s, PathId(context, "upload"), caller);
  auto received = s.blobs->StagedSize(StagedName(u));
  if (!received) BlobStoreFailed(received.error());
  return Json(request, http::status::ok, UploadJson(u, *received));
}

Response RoomCancelUpload(const Request& request, HandlerContext& context) {
  const Caller caller = RoomCaller(request, context);
  Services& s = Svc(context);
  const RoomUpload u = OwnUpload(s, PathId(context, "upload"), caller);
  if (auto r = s.blobs->DeleteStaged(StagedName(u)); !r) BlobStoreFailed(r.error());
  Must(s.store->DeleteRoomUpload(u.id));
  Response response{http::status::no_content, request.version()};
  response.keep_alive(request.keep_alive());
  return response;
}

namespace {

// Appends one request's body to the upload's staged blob, never past the declared size.
class UploadReceiver final : public BodyReceiver {
 public:
  UploadReceiver(const Request& header, RoomUpload upload, std::unique_ptr<io::Sink> sink,
                 std::uint64_t offset)
      : version_(header.version()),
        keep_alive_(header.keep_alive()),
        upload_(std::move(upload)),
        sink_(std::move(sink)),
        received_(offset) {}

  std::optional<Response> Write(std::span<const std::uint8_t> piece) override {
    if (piece.size() > static_cast<std::uint64_t>(upload_.size) - received_) {
      return Error(http::status::payload_too_large, "too_large",
                   "more bytes than the size declared when the upload started");
    }
    if (auto r = sink_->Write(piece); !r) {
      spdlog::error("storing an upload failed: {}", r.error().message());
      return Error(http::status::service_unavailable, "unavailable",
                   "the document store is unavailable; resume the upload later");
    }
    received_ += piece.size();
    return std::nullopt;
  }

  Response Finish() override {
    sink_.reset();  // Releases the staged blob for the next piece or the completion.
    Request shape;
    shape.version(version_);
    shape.keep_alive(keep_alive_);
    return Json(shape, http::status::ok, UploadJson(upload_, received_));
  }

 private:
  Response Error(http::status status, std::string_view code, std::string_view message) const {
    Request shape;
    shape.version(version_);
    shape.keep_alive(false);
    return ErrorResponse(shape, status, code, message);
  }

  unsigned version_;
  bool keep_alive_;
  RoomUpload upload_;
  std::unique_ptr<io::Sink> sink_;
  std::uint64_t received_;
};

}  // namespace

std::unique_ptr<BodyReceiver> RoomUploadPiece(const Request& header, HandlerContext& context) {
  const Caller caller = RoomCaller(header, context);
  Services& s = Svc(context);
  const RoomUpload u = OwnUpload(s, PathId(context, "upload"), caller);
  const auto params = QueryParams(header);
  const auto it = params.find("offset");
  std::uint64_t offset = 0;
  if (it == params.end() ||
      std::from_chars(it->second.data(), it->second.data() + it->second.size(), offset).ec !=
          std::errc() ||
      std::to_string(offset) != it->second) {
    ThrowInvalid("query parameter 'offset' (where this piece starts) is required");
  }
  // From the Content-Length field: `header` has an empty body, so its payload_size() is 0
  // whatever the request declares. (A chunked body is bounded piece by piece instead.)
  const auto declared = header[http::field::content_length];
  std::uint64_t length = 0;
  if (!declared.empty() &&
      std::from_chars(declared.data(), declared.data() + declared.size(), length).ec ==
          std::errc() &&
      (offset > static_cast<std::uint64_t>(u.size) ||
       length > static_cast<std::uint64_t>(u.size) - offset)) {
    throw ApiError(http::status::payload_too_large, "too_large",
                   "this piece ends past the size declared when the upload started");
  }
  auto sink = s.blobs->AppendStaged(StagedName(u), offset);
  if (!sink && sink.error() == errc::conflict) {
    auto received = s.blobs->StagedSize(StagedName(u));
    throw ApiError(http::status::conflict, "offset_mismatch",
                   "the upload has " + (received ? std::to_string(*received) : std::string("?")) +
                       " bytes (or another piece is arriving); continue from there");
  }
  if (!sink) BlobStoreFailed(sink.error());
  return std::make_unique<UploadReceiver>(header, u, std::move(*sink), offset);
}

Response RoomCompleteUpload(const Request& request, HandlerContext& context) {
  const Caller caller = RoomCaller(request, context);
  Services& s = Svc(context);
  const RoomUpload u = OwnUpload(s, PathId(context, "upload"), caller);
  const auto body = ParseObject(request);
  const std::string parent_id = HexField(body, "parent_id", kIdHexSize);
  const std::string name_hmac = HexField(body, "name_hmac", kNameHmacHexSize);
  auto record = GetBytes(body, "record", kMaxRecordSize);
  auto signature = GetBytes(body, "signature", kSignatureSize, kSignatureSize);

  auto received = s.blobs->StagedSize(StagedName(u));
  if (!received) BlobStoreFailed(received.error());
  if (*received != static_cast<std::uint64_t>(u.size)) {
    throw ApiError(http::status::conflict, "upload_incomplete",
                   "the upload has " + std::to_string(*received) + " of " +
                       std::to_string(u.size) + " bytes");
  }
  std::optional<RoomFile> previous;
  if (u.base_version > 0) {
    previous = VisibleFile(s, u.file_id, caller);
    if (previous->version != u.base_version) {
      throw ApiError(http::status::conflict, "version_conflict",
                     "the file changed since this upload started; upload again on top of version " +
                         std::to_string(previous->version));
    }
    if (previous->owner_id != caller.user.id &&
        (previous->parent_id != parent_id || previous->name_hmac != name_hmac)) {
      throw ApiError(http::status::forbidden, "not_owner",
                     "only the owner of a file can move or rename it");
    }
  }

  // From here the bytes are a blob; every refusal below removes it again.
  const auto blob_id = storage::BlobId::Make("f" + u.file_id + "-" + u.id).value();
  if (auto r = s.blobs->CommitStaged(StagedName(u), blob_id); !r) {
    if (r.error() == errc::conflict) {
      throw ApiError(http::status::conflict, "upload_busy", "a piece of this upload is still arriving");
    }
    BlobStoreFailed(r.error());
  }
  (void)s.store->DeleteRoomUpload(u.id);  // Its bytes are committed; the row has no use left.
  struct RemoveUnlessKept {
    Services& s;
    const storage::BlobId& id;
    bool keep = false;
    ~RemoveUnlessKept() {
      if (!keep) (void)s.blobs->Delete(id);
    }
  } cleanup{s, blob_id};

  // The header's public parts: what the server checks and mirrors as rows.
  auto source = s.blobs->OpenRange(blob_id, 0, std::numeric_limits<std::uint64_t>::max());
  if (!source) BlobStoreFailed(source.error());
  auto info = crypto::InspectContainer(**source);
  if (!info) {
    throw ApiError(http::status::bad_request, "invalid_container",
                   "the upload is not a valid Strongroom container (" + info.error().message() + ")");
  }
  if (crypto::HexEncode(info->file_id) != u.file_id) {
    throw ApiError(http::status::bad_request, "invalid_container",
                   "the container's file id is not the upload's");
  }
  const auto settings = CurrentSettings(s);
  const auto& allowed = settings->room_allowed_types;
  if (std::find(allowed.begin(), allowed.end(), info->content_type) == allowed.end()) {
    throw ApiError(http::status::unsupported_media_type, "type_not_allowed",
                   "this portal's Private Room does not accept '" + info->content_type +
                       "' files; an administrator sets the allowed types");
  }
  // The author must be the caller, under the key the caller registered.
  auto caller_key = crypto::PublicBundle::Parse(caller.user.public_bundle);
  if (!caller_key || info->author.user_id() != caller.user.id ||
      !(info->author == *caller_key)) {
    throw ApiError(http::status::bad_request, "author_mismatch",
                   "the container must be signed by the uploading user's registered key");
  }
  // Recipients must be registered users, named by their registered keys.
  std::vector<storage::RoomRecipient> recipients;
  for (const auto& r : info->recipients) {
    auto user = s.store->FindUserById(r.user_id);
    if (!user && user.error() != errc::not_found) Must(std::move(user));
    std::optional<crypto::PublicBundle> key;
    if (user) {
      if (auto parsed = crypto::PublicBundle::Parse(user->public_bundle)) key = *parsed;
    }
    if (!key || key->fingerprint() != r.fingerprint) {
      throw ApiError(http::status::bad_request, "unknown_recipient",
                     "recipient '" + r.user_id + "' is not a user with this registered key");
    }
    recipients.push_back({r.user_id, crypto::HexEncode(r.fingerprint)});
  }
  std::sort(recipients.begin(), recipients.end(),
            [](const auto& a, const auto& b) { return a.user_id < b.user_id; });
  recipients.erase(std::unique(recipients.begin(), recipients.end(),
                               [](const auto& a, const auto& b) { return a.user_id == b.user_id; }),
                   recipients.end());
  const std::string owner_id = previous ? previous->owner_id : caller.user.id;
  auto has = [&](const std::vector<storage::RoomRecipient>& list, const std::string& id) {
    return std::any_of(list.begin(), list.end(), [&](const auto& r) { return r.user_id == id; });
  };
  if (!has(recipients, owner_id) || !has(recipients, caller.user.id)) {
    throw ApiError(http::status::bad_request, "invalid_container",
                   "the owner and the uploader must both be recipients of the container");
  }
  std::vector<std::string> added, removed;
  if (previous) {
    for (const auto& r : recipients) {
      if (!has(previous->recipients, r.user_id)) added.push_back(r.user_id);
    }
    for (const auto& r : previous->recipients) {
      if (!has(recipients, r.user_id)) removed.push_back(r.user_id);
    }
    if ((!added.empty() || !removed.empty()) && previous->owner_id != caller.user.id) {
      throw ApiError(http::status::forbidden, "not_owner",
                     "only the owner of a file can share it or deny access");
    }
  }

  RoomFile f;
  f.id = u.file_id;
  f.owner_id = owner_id;
  f.parent_id = parent_id;
  f.name_hmac = name_hmac;
  f.version = u.base_version + 1;
  f.size = u.size;
  f.blob_id = blob_id.str();
  f.content_type = info->content_type;
  f.author_id = caller.user.id;
  f.recipients = std::move(recipients);
  f.record = std::move(record);
  f.signature = std::move(signature);
  f.created_at = previous ? previous->created_at : s.now();
  f.updated_at = s.now();
  auto ids = [](const std::vector<std::string>& v) {
    boost::json::array a;
    for (const auto& x : v) a.emplace_back(x);
    return a;
  };
  const std::string action =
      !removed.empty() ? "room.deny" : !added.empty() ? "room.share" : "room.upload";
  auto audit = MakeAudit(s, context, caller, action, f.id,
                         DetailJson({{"version", f.version},
                                 {"size", f.size},
                                 {"added", ids(added)},
                                 {"removed", ids(removed)}}));
  if (!previous) {
    Placed(s.store->CreateRoomFile(f, audit), "the file");
  } else {
    const std::string old_blob = Placed(s.store->UpdateRoomFile(f, audit), "the file");
    // Co-editors move to the new epoch; anyone this version removed is disconnected.
    if (s.collab) s.collab->FileChanged(f.id, f.version);
    if (old_blob != f.blob_id) {
      if (auto old_id = storage::BlobId::Make(old_blob)) {
        if (auto r = s.blobs->Delete(*old_id); !r) {
          spdlog::warn("could not delete the previous version's blob: {}", r.error().message());
        }
      }
    }
  }
  cleanup.keep = true;
  return Json(request, previous ? http::status::ok : http::status::created, FileJson(f));
}

// --- files ----------------------------------------------------------------------------------

Response RoomGetFile(const Request& request, HandlerContext& context) {
  const Caller caller = RoomCaller(request, context);
  Services& s = Svc(context);
  return Json(request, http::status::ok, FileJson(VisibleFile(s, PathId(context, "file"), caller)));
}

namespace {

// One "bytes=" range of RFC 9110 against `size`: [first, last]. nullopt: not a single
// byte range we serve (the whole file is sent instead); throws 416 when unsatisfiable.
struct ByteRange {
  std::uint64_t first = 0, last = 0;
};

std::optional<std::uint64_t> ParseDecimal(std::string_view s) {
  std::uint64_t v = 0;
  if (s.empty() || s.size() > 19) return std::nullopt;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<ByteRange> ParseRange(std::string_view header, std::uint64_t size, bool& unsatisfiable) {
  unsatisfiable = false;
  constexpr std::string_view kUnit = "bytes=";
  if (!header.starts_with(kUnit)) return std::nullopt;
  header.remove_prefix(kUnit.size());
  if (header.find(',') != std::string_view::npos) return std::nullopt;  // Multiple: whole file.
  const auto dash = header.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  const auto a = header.substr(0, dash), b = header.substr(dash + 1);
  if (a.empty()) {  // A suffix: the last N bytes.
    const auto n = ParseDecimal(b);
    if (!n) return std::nullopt;
    if (*n == 0 || size == 0) {
      unsatisfiable = true;
      return std::nullopt;
    }
    return ByteRange{size - std::min(*n, size), size - 1};
  }
  const auto first = ParseDecimal(a);
  if (!first) return std::nullopt;
  std::uint64_t last = size == 0 ? 0 : size - 1;
  if (!b.empty()) {
    const auto l = ParseDecimal(b);
    if (!l || *l < *first) return std::nullopt;
    last = std::min(*l, last);
  }
  if (*first >= size) {
    unsatisfiable = true;
    return std::nullopt;
  }
  return ByteRange{*first, last};
}

}  // namespace

Response RoomGetContent(const Request& request, HandlerContext& context) {
  const Caller caller = RoomCaller(request, context);
  Services& s = Svc(context);
  const RoomFile f = VisibleFile(s, PathId(context, "file"), caller);
  const std::string etag = ETagOf(f);
  const auto size = static_cast<std::uint64_t>(f.size);
  Response response{http::status::ok, request.version()};
  response.keep_alive(request.keep_alive());
  response.set(http::field::etag, etag);
  response.set(http::field::accept_ranges, "bytes");
  response.set(http::field::cache_control, "private, no-cache");
  response.set("X-Content-Type-Options", "nosniff");
  if (request[http::field::if_none_match] == etag) {
    response.result(http::status::not_modified);
    return response;
  }
  std::uint64_t first = 0, length = size;
  const auto range_header = request[http::field::range];
  const auto if_range = request[http::field::if_range];
  if (!range_header.empty() && (if_range.empty() || if_range == etag)) {
    bool unsatisfiable = false;
    if (const auto range = ParseRange(range_header, size, unsatisfiable)) {
      first = range->first;
      length = range->last - range->first + 1;
      response.result(http::status::partial_content);
      response.set(http::field::content_range, "bytes " + std::to_string(range->first) + "-" +
                                                   std::to_string(range->last) + "/" +
                                                   std::to_string(size));
    } else if (unsatisfiable) {
      Response refused = ErrorResponse(request, http::status::range_not_satisfiable,
                                       "range_not_satisfiable", "the range is outside the file");
      refused.set(http::field::content_range, "bytes */" + std::to_string(size));
      return refused;
    }
  }
  const auto blob_id = storage::BlobId::Make(f.blob_id);
  if (!blob_id) BlobStoreFailed(blob_id.error());
  auto source = s.blobs->OpenRange(*blob_id, first, length);
  if (!source) BlobStoreFailed(source.error());
  if (first == 0) {  // One audit entry per download, not one per range a reader fetches.
    Audit(context, caller.user.id, "room.download", f.id, "success",
          DetailJson({{"version", f.version}}));
  }
  response.set(http::field::content_type, "application/octet-stream");
  response.content_length(length);
  context.response_body = std::move(*source);
  return response;
}

Response RoomMoveFile(const Request& request, HandlerContext& context) {
  const Caller caller = RoomCaller(request, context);
  Services& s = Svc(context);
  RoomFile f = OwnFile(s, PathId(context, "file"), caller);
  const auto body = ParseObject(request);
  f.parent_id = HexField(body, "parent_id", kIdHexSize);
  f.name_hmac = HexField(body, "name_hmac", kNameHmacHexSize);
  f.version = IntField(body, "version", 2, INT64_MAX);
  f.record = GetBytes(body, "record", kMaxRecordSize);
  f.signature = GetBytes(body, "signature", kSignatureSize, kSignatureSize);
  f.author_id = caller.user.id;  // The record's signer.
  f.updated_at = s.now();
  (void)Placed(
      s.store->UpdateRoomFile(
          f, MakeAudit(s, context, caller, "room.move", f.id,
                       DetailJson({{"kind", "file"}, {"parent_id", f.parent_id.c_str()}}))),
      "the file");
  if (s.collab) s.collab->FileChanged(f.id, f.version);
  return Json(request, http::status::ok, FileJson(f));
}

Response RoomDeleteFile(const Request& request, HandlerContext& context) {
  const Caller caller = RoomCaller(request, context);
  Services& s = Svc(context);
  const RoomFile f = OwnFile(s, PathId(context, "file"), caller);
  auto blob = s.store->DeleteRoomFile(
      f.id, MakeAudit(s, context, caller, "room.delete", f.id, DetailJson({{"kind", "file"}})));
  if (!blob && blob.error() == errc::not_found) throw NotFound("file");
  const std::string blob_id = Must(std::move(blob));
  if (s.collab) s.collab->FileDeleted(f.id);
  // Permanent: the bytes go too. If this fails the rows are gone already; the blob is an
  // orphan that `strongroomd check` reports.
  if (auto id = storage::BlobId::Make(blob_id)) {
    if (auto r = s.blobs->Delete(*id); !r) {
      spdlog::error("deleted file's blob could not be removed: {}", r.error().message());
    }
  }
  Response response{http::status::no_content, request.version()};
  response.keep_alive(request.keep_alive());
  return response;
}

Response RoomSharedWithMe(const Request& request, HandlerContext& context) {
  const Caller caller = RoomCaller(request, context);
  Services& s = Svc(context);
  boost::json::array files;
  for (const auto& f : Must(s.store->ListRoomSharedWith(caller.user.id))) {
    files.push_back(FileJson(f));
  }
  boost::json::object out;
  out["files"] = std::move(files);
  return Json(request, http::status::ok, out);
}

Response RoomNotSupported(const Request& request, HandlerContext& context) {
  (void)RoomCaller(request, context);
  const std::string_view route = context.route;
  std::string why;
  if (route.ends_with("/copy")) {
    why = "files cannot be copied in the Private Room: download the file and upload it anew";
  } else if (route.ends_with("/versions")) {
    why = "the Private Room keeps no earlier versions, so there is nothing to restore";
  } else if (route.ends_with("/links")) {
    why = "the Private Room has no public or external links: share with a user who has keys";
  } else {
    why = "folder upload is not offered in the Private Room: create folders and upload files";
  }
  throw ApiError(http::status::conflict, "not_supported", why);
}

}  // namespace strongroom::server::api
