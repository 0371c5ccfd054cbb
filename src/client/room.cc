#include "strongroom/client/room.h"

#include "strongroom/client/key_pins.h"
#include "strongroom/crypto/container.h"
#include "strongroom/crypto/encoding.h"
#include "strongroom/crypto/password.h"
#include "strongroom/crypto/room.h"
#include "strongroom/io.h"

#include <boost/json.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <thread>

namespace strongroom::client {
namespace {

namespace json = boost::json;
using Bytes = std::vector<std::uint8_t>;

constexpr std::size_t kUploadPiece = std::size_t{8} << 20;  // Per PUT; bounds client memory.
constexpr int kUploadRetries = 3;
constexpr std::size_t kFirstHeaderFetch = 64 * 1024;
constexpr std::chrono::seconds kTransferTimeout{3600};

// --- small helpers --------------------------------------------------------------------------

// versions.json keys: a file's id, or this prefix and a folder's id.
constexpr std::string_view kFolderVersionPrefix = "folder-";

struct Ctx {
  ApiClient& api;
  ProfileStore& store;
  const crypto::Identity& me;
};

std::string Hex(std::span<const std::uint8_t> b) {
  return crypto::HexEncode(b);
}

template <std::size_t N>
std::optional<std::array<std::uint8_t, N>> HexArray(std::string_view s) {
  auto v = crypto::HexDecode(s);
  if (!v || v->size() != N) return std::nullopt;
  std::array<std::uint8_t, N> out{};
  std::copy(v->begin(), v->end(), out.begin());
  return out;
}

Error Unexpected(std::string_view what) {
  return Error::Network("unexpected response from the server: " + std::string(what));
}

Error Crypto(std::string_view what, const boost::system::error_code& ec) {
  // Every refusal names what was checked; the message says the failure kind in words and the
  // code gives its name ("record_mismatch"), which the CLI prints in parentheses.
  Error e = Error::Refused(std::string(what) + ": " + ec.message());
  if (ec.category() == error_category()) e.code = std::string(error_name(static_cast<errc>(ec.value())));
  return e;
}

Error Refusal(std::string message, std::string_view code) {
  Error e = Error::Refused(std::move(message));
  e.code = std::string(code);
  return e;
}

Error Exists(const std::string& local) {
  // Built by append: GCC 12 warns (-Wrestrict, a false positive) on the chained operator+.
  std::string message = "'";
  message.append(Printable(local)).append("' exists; nothing was overwritten (--force replaces it)");
  Error e = Error::Local(std::move(message));
  e.code = "already_exists";
  return e;
}

std::string Str(const json::object& o, std::string_view k) {
  const auto* v = o.if_contains(k);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::int64_t Int(const json::object& o, std::string_view k) {
  const auto* v = o.if_contains(k);
  if (v != nullptr && v->is_int64()) return v->as_int64();
  if (v != nullptr && v->is_uint64()) return static_cast<std::int64_t>(v->as_uint64());
  return -1;
}

Result<Bytes> B64Field(const json::object& o, std::string_view k) {
  auto v = crypto::Base64UrlDecode(Str(o, k));
  if (!v) return Unexpected("field '" + std::string(k) + "' is not base64url");
  return std::move(*v);
}

std::string B64(std::span<const std::uint8_t> b) {
  return crypto::Base64UrlEncode(b);
}

// "/a/b/c" -> {"a", "b", "c"}; each a valid room name.
Result<std::vector<std::string>> SplitPath(std::string_view path) {
  if (path.empty() || path.front() != '/') {
    return Error::Usage("a Private Room path starts with '/': '" + Printable(path) + "'");
  }
  std::vector<std::string> parts;
  std::size_t i = 1;
  while (i <= path.size()) {
    const auto j = std::min(path.find('/', i), path.size());
    if (j > i) {
      std::string part(path.substr(i, j - i));
      if (!crypto::ValidateRoomName(part)) {
        return Error::Usage("'" + Printable(part) + "' is not a valid name");
      }
      parts.push_back(std::move(part));
    }
    i = j + 1;
  }
  return parts;
}

// A temporary file (for ciphertext only), removed when this goes out of scope.
class TempFile {
 public:
  static Result<TempFile> Create() {
    const char* dir = std::getenv("TMPDIR");
    std::string path = std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") +
                       "/strongroom-XXXXXX";
    const int fd = ::mkstemp(path.data());
    if (fd < 0) return Error::Local("cannot create a temporary file: " + std::string(std::strerror(errno)));
    ::close(fd);
    return TempFile(std::move(path));
  }
  TempFile(TempFile&& o) noexcept : path_(std::exchange(o.path_, std::string())) {}
  TempFile& operator=(TempFile&&) = delete;
  ~TempFile() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  [[nodiscard]] const std::string& path() const { return path_; }
  Result<io::FdSink*> OpenSink() {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd_ < 0) return Error::Local("cannot write a temporary file");
    sink_.emplace(fd_);
    return &*sink_;
  }
  void CloseSink() {
    sink_.reset();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  explicit TempFile(std::string path) : path_(std::move(path)) {}
  std::string path_;
  int fd_ = -1;
  std::optional<io::FdSink> sink_;
};

Result<io::InputFile> OpenInput(const std::string& path) {
  auto f = io::InputFile::Open(path);
  if (!f) return Error::Local("cannot read '" + Printable(path) + "': " + f.error().message());
  return std::move(*f);
}

// --- keys -----------------------------------------------------------------------------------

// The key to verify `user_id`'s signatures with: mine, or the pinned one (pinned now, on
// first use, from the server's answer verified as self-signed for that user id).
Result<crypto::PublicBundle> PinnedBundle(Ctx& c, const std::string& user_id) {
  if (user_id == c.me.user_id()) return c.me.public_bundle();
  auto pins = c.store.LoadPins();
  if (!pins) return pins.error();
  if (auto it = pins->find(user_id); it != pins->end()) {
    auto bundle = crypto::PublicBundle::Parse(it->second.public_bundle);
    if (!bundle) return Error::Local("the pin for " + user_id + " is damaged; fix pins.json");
    return *bundle;
  }
  auto info = c.api.PublicKeyById(user_id);
  if (!info) return info.error();
  auto bundle = VerifyPublicBundle(info->public_bundle, user_id);
  if (!bundle) return bundle.error();
  auto pin = TrustOnFirstUse(c.store, *bundle, info->email);
  if (!pin) return pin.error();
  return *bundle;
}

std::string PinnedEmail(Ctx& c, const std::string& user_id) {
  if (user_id == c.me.user_id()) return "me";
  auto pins = c.store.LoadPins();
  if (!pins) return "";
  auto it = pins->find(user_id);
  return it == pins->end() ? "" : it->second.email;
}

// The pinned key of `email`, for wrapping a file key: refused loudly if the server now
// offers a different key than the pinned one.
std::string LowerAscii(std::string_view s) {
  return crypto::NormaliseRoomName(s);  // ASCII lower-case, other bytes unchanged.
}

// The user id pinned for `email`, if any (emails compared case-insensitively).
Result<std::optional<std::string>> PinnedUserIdFor(Ctx& c, std::string_view email) {
  auto pins = c.store.LoadPins();
  if (!pins) return pins.error();
  for (const auto& [user_id, pin] : *pins) {
    if (!pin.email.empty() && LowerAscii(pin.email) == LowerAscii(email)) return user_id;
  }
  return std::optional<std::string>();
}

Result<crypto::PublicBundle> PinnedBundleByEmail(Ctx& c, std::string_view email) {
  auto info = c.api.PublicKeyByEmail(email);
  if (!info) return info.error();
  if (LowerAscii(info->email) != LowerAscii(email)) {
    return Refusal("the server answered with the key of another email (" +
                       Printable(info->email, 254) + "); nothing was shared",
                   "key_mismatch");
  }
  auto bundle = VerifyPublicBundle(info->public_bundle, info->user_id);
  if (!bundle) return bundle.error();
  // The email must still name the account it named when pinned, and that account must still
  // be known by this email: otherwise the server is redirecting the share to someone else.
  auto pinned_id = PinnedUserIdFor(c, email);
  if (!pinned_id) return pinned_id.error();
  if (*pinned_id && **pinned_id != info->user_id) {
    return Refusal("WARNING: the server now says " + Printable(email) + " is account " +
                       info->user_id + ", but you pinned " + Printable(email) + " as account " +
                       **pinned_id + ". Nothing was shared.",
                   "key_mismatch");
  }
  if (auto pins = c.store.LoadPins(); pins) {
    if (auto it = pins->find(info->user_id);
        it != pins->end() && !it->second.email.empty() &&
        LowerAscii(it->second.email) != LowerAscii(email)) {
      return Refusal("WARNING: the server says " + Printable(email) +
                         " is the account you pinned as " + Printable(it->second.email) +
                         ". Nothing was shared.",
                     "key_mismatch");
    }
  }
  auto pin = TrustOnFirstUse(c.store, *bundle, info->email);
  if (!pin) return pin.error();
  if (pin->status == PinStatus::mismatch) {
    return Error::Refused(
        "WARNING: the server offers a DIFFERENT key for " + Printable(email) +
        " than the one pinned.\n  pinned:  " + pin->pinned_fingerprint +
        "\n  offered: " + bundle->DisplayFingerprint() +
        "\nNothing was shared. If they really have a new key, compare fingerprints with them "
        "in person or by phone, then run: strongroom keys trust " + Printable(email) +
        " FINGERPRINT");
  }
  return *bundle;
}

// --- folders --------------------------------------------------------------------------------

struct Folder {
  std::string id;
  crypto::FolderId fid{};
  crypto::Secret<32> key;
  std::string name;
  std::int64_t revision = 1;
  std::optional<std::string> parent_id;
  std::optional<std::string> name_hmac;
};

// Opens a folder the server listed, checking that it is mine and is where the listing puts it.
Result<Folder> OpenFolder(Ctx& c, const json::object& o) {
  Folder f;
  f.id = Str(o, "id");
  auto fid = HexArray<16>(f.id);
  if (!fid) return Unexpected("a folder id");
  f.fid = *fid;
  auto sealed = B64Field(o, "sealed_key");
  if (!sealed) return sealed.error();
  auto key = crypto::OpenFolderKey(*sealed, f.fid, c.me);
  if (!key) return Crypto("a folder's key does not open for you (not your folder?)", key.error());
  f.key = std::move(*key);
  auto record = B64Field(o, "record");
  auto signature = B64Field(o, "signature");
  if (!record || !signature) return Unexpected("a folder record");
  auto opened = crypto::OpenFolderRecord(*record, *signature, f.key, c.me.public_bundle());
  if (!opened) {
    return Crypto("a folder record in your room is not signed by you (injected?)", opened.error());
  }
  if (const auto* p = o.if_contains("parent_id"); p != nullptr && p->is_string()) {
    f.parent_id = std::string(p->as_string());
  }
  if (const auto* h = o.if_contains("name_hmac"); h != nullptr && h->is_string()) {
    f.name_hmac = std::string(h->as_string());
  }
  const bool placed =
      opened->folder_id == f.fid &&
      (opened->parent_id ? f.parent_id == Hex(*opened->parent_id) : !f.parent_id) &&
      (opened->name_hmac ? f.name_hmac == Hex(*opened->name_hmac) : !f.name_hmac) &&
      static_cast<std::int64_t>(opened->revision) == Int(o, "revision");
  if (!placed) {
    return Refusal("folder " + f.id +
                       " is not where its signed record puts it: the server moved or renamed it",
                   "record_mismatch");
  }
  f.name = opened->name;
  f.revision = static_cast<std::int64_t>(opened->revision);
  // Rollback: a folder's signed revision only grows (each move or rename adds one). A server
  // that serves an older record (undoing a move or a rename) is refused, as for files.
  auto seen = c.store.LoadSeenVersions();
  if (!seen) return seen.error();
  std::uint64_t& highest = (*seen)[std::string(kFolderVersionPrefix) + f.id];
  if (opened->revision < highest) {
    return Refusal("the server served revision " + std::to_string(opened->revision) +
                       " of folder " + f.id + ", but you have seen revision " +
                       std::to_string(highest) + ": refusing an older state (moved back?)",
                   "rolled_back");
  }
  if (opened->revision > highest) {
    highest = opened->revision;
    if (auto r = c.store.SaveSeenVersions(*seen); !r) return r.error();
  }
  return f;
}

Result<Folder> Root(Ctx& c) {
  auto root = c.api.CallJson(Method::get, "/api/v1/room/root", nullptr);
  if (root) return OpenFolder(c, *root);
  if (root.error().status != 404) return root.error();
  // First use: make the root.
  const auto fid = crypto::GenerateFolderId();
  auto key = crypto::GenerateFolderKey();
  auto sealed = crypto::SealFolderKey(key, fid, c.me.public_bundle());
  if (!sealed) return Crypto("sealing the folder key", sealed.error());
  crypto::FolderRecord record;
  record.folder_id = fid;
  record.owner_id = c.me.user_id();
  record.revision = 1;
  auto signed_record = crypto::SealFolderRecord(record, key, c.me);
  if (!signed_record) return Crypto("signing the folder record", signed_record.error());
  json::object body{{"id", Hex(fid)},
                    {"sealed_key", B64(*sealed)},
                    {"record", B64(signed_record->record)},
                    {"signature", B64(signed_record->signature)}};
  auto made = c.api.CallJson(Method::post, "/api/v1/room/folders", &body);
  if (!made) return made.error();
  return OpenFolder(c, *made);
}

Result<json::object> ListingOf(Ctx& c, const Folder& f) {
  return c.api.CallJson(Method::get, "/api/v1/room/folders/" + f.id, nullptr);
}

// The folder or file object in `listing` with this name_hmac.
struct Child {
  const json::object* folder = nullptr;
  const json::object* file = nullptr;
};

Child FindChild(const json::object& listing, const std::string& hmac) {
  Child child;
  for (const char* kind : {"folders", "files"}) {
    const auto* list = listing.if_contains(kind);
    if (list == nullptr || !list->is_array()) continue;
    for (const auto& v : list->as_array()) {
      if (v.is_object() && Str(v.as_object(), "name_hmac") == hmac) {
        (std::strcmp(kind, "folders") == 0 ? child.folder : child.file) = &v.as_object();
      }
    }
  }
  return child;
}

Result<std::string> NameHmacHex(const Folder& parent, std::string_view name) {
  auto h = crypto::ComputeNameHmac(parent.key, parent.fid, name);
  if (!h) return Error::Usage("'" + Printable(name) + "' is not a valid name");
  return Hex(*h);
}

Result<Folder> ResolveFolder(Ctx& c, const std::vector<std::string>& parts, std::size_t count) {
  auto current = Root(c);
  if (!current) return current.error();
  Folder folder = std::move(*current);
  for (std::size_t i = 0; i < count; ++i) {
    auto listing = ListingOf(c, folder);
    if (!listing) return listing.error();
    auto hmac = NameHmacHex(folder, parts[i]);
    if (!hmac) return hmac.error();
    const Child child = FindChild(*listing, *hmac);
    if (child.folder == nullptr) {
      return Error::Local(child.file ? "'" + Printable(parts[i]) + "' is a file, not a folder"
                                     : "no such folder: '" + Printable(parts[i]) + "'");
    }
    auto next = OpenFolder(c, *child.folder);
    if (!next) return next.error();
    if (crypto::NormaliseRoomName(next->name) != crypto::NormaliseRoomName(parts[i])) {
      return Refusal("folder '" + Printable(parts[i]) +
                         "' carries another name in its signed record",
                     "record_mismatch");
    }
    folder = std::move(*next);
  }
  return folder;
}

// --- files ----------------------------------------------------------------------------------

struct OpenedFile {
  json::object raw;
  crypto::ContainerKey key;
  crypto::FileRecord record;
  crypto::PublicBundle author;
};

// The container header of a file, fetched by range: enough for its key and the record.
Result<crypto::ContainerKey> FetchFileKey(Ctx& c, const std::string& id) {
  for (std::size_t want : {kFirstHeaderFetch, crypto::kMaxHeaderSize + 64}) {
    io::MemorySink sink;
    SendOptions options;
    const std::string range = "bytes=0-" + std::to_string(want - 1);
    options.range = range;
    options.body_sink = &sink;
    auto r = c.api.SendBytes(Method::get, "/api/v1/room/files/" + id + "/content", "", options);
    if (!r) return r.error();
    io::MemorySource in(sink.data());
    auto key = crypto::OpenFileKey(in, c.me);
    if (key) return std::move(*key);
    if (key.error() != errc::truncated || sink.data().size() < want) {
      return Crypto("file " + id + " cannot be opened", key.error());
    }
  }
  return Error::Refused("file " + id + " has a header larger than the format allows");
}

// Opens a listed file: its key (I am a recipient), its record (signed by a pinned author,
// bound to this key) and, for a file in my room, its placement.
Result<OpenedFile> OpenFile(Ctx& c, const json::object& o, const Folder* listed_in) {
  const std::string id = Str(o, "id");
  if (!HexArray<16>(id)) return Unexpected("a file id");
  auto key = FetchFileKey(c, id);
  if (!key) return key.error();
  auto record = B64Field(o, "record");
  auto signature = B64Field(o, "signature");
  if (!record || !signature) return Unexpected("a file record");
  auto pub = crypto::ParseFileRecordPublic(*record);
  if (!pub) return Crypto("file " + id + " has a malformed record", pub.error());
  auto author = PinnedBundle(c, pub->author_id);
  if (!author) return author.error();
  auto opened = crypto::OpenFileRecord(*record, *signature, key->file_key, *author);
  if (!opened) return Crypto("file " + id + "'s record does not verify", opened.error());
  if (Hex(opened->file_id) != id || opened->owner_id != Str(o, "owner_id") ||
      opened->header_mac != key->info.header_mac) {
    return Refusal("file " + id +
                       "'s record does not belong to its container: the server swapped them",
                   "record_mismatch");
  }
  if (listed_in != nullptr) {
    auto hmac = HexArray<32>(Str(o, "name_hmac"));
    if (!hmac) return Unexpected("a name hmac");
    if (auto r = crypto::CheckFilePlacement(*opened, c.me.user_id(), listed_in->fid, *hmac); !r) {
      return Crypto("file " + id + " in your room", r.error());
    }
  }
  return OpenedFile{o, std::move(*key), std::move(*opened), std::move(*author)};
}

RoomEntry EntryOf(Ctx& c, const OpenedFile& f) {
  RoomEntry e;
  e.id = Str(f.raw, "id");
  e.name = f.record.metadata.name;
  e.owner_id = f.record.owner_id;
  e.owner_email = PinnedEmail(c, e.owner_id);
  e.author_id = f.record.author_id;
  e.version = f.record.version;
  e.plaintext_size = f.record.metadata.plaintext_size;
  e.container_size = static_cast<std::uint64_t>(std::max<std::int64_t>(0, Int(f.raw, "size")));
  e.content_type = f.record.metadata.content_type;
  e.modified_ms = f.record.metadata.modified_ms;
  // Fingerprints in the form people compare (12 groups of 5 digits), from the pinned key
  // when the stanza names it; a stanza whose key is not pinned shows "not pinned".
  auto pins = c.store.LoadPins();
  for (const auto& r : f.key.info.recipients) {
    std::string shown = "not pinned: " + Hex(r.fingerprint).substr(0, 16);
    if (r.user_id == c.me.user_id() && r.fingerprint == c.me.public_bundle().fingerprint()) {
      shown = c.me.public_bundle().DisplayFingerprint();
    } else if (pins) {
      if (auto it = pins->find(r.user_id); it != pins->end()) {
        if (auto b = crypto::PublicBundle::Parse(it->second.public_bundle);
            b && b->fingerprint() == r.fingerprint) {
          shown = b->DisplayFingerprint();
        }
      }
    }
    e.recipients.push_back({r.user_id, PinnedEmail(c, r.user_id), shown});
  }
  e.created_at = Str(f.raw, "created_at");
  e.updated_at = Str(f.raw, "updated_at");
  return e;
}

RoomEntry EntryOf(const Folder& f) {
  RoomEntry e;
  e.is_folder = true;
  e.id = f.id;
  e.name = f.name;
  return e;
}

// What a path names: its parent folder and, if it exists, the item.
struct Resolved {
  Folder parent;
  std::string name;
  std::string name_hmac;
  json::object listing;
  std::optional<json::object> folder;
  std::optional<json::object> file;
};

Result<Resolved> ResolveItem(Ctx& c, std::string_view path) {
  auto parts = SplitPath(path);
  if (!parts) return parts.error();
  if (parts->empty()) return Error::Usage("'/' is the room itself, not an item");
  auto parent = ResolveFolder(c, *parts, parts->size() - 1);
  if (!parent) return parent.error();
  auto listing = ListingOf(c, *parent);
  if (!listing) return listing.error();
  auto hmac = NameHmacHex(*parent, parts->back());
  if (!hmac) return hmac.error();
  Resolved r{std::move(*parent), parts->back(), *hmac, std::move(*listing), {}, {}};
  const Child child = FindChild(r.listing, r.name_hmac);
  if (child.folder) r.folder = *child.folder;
  if (child.file) r.file = *child.file;
  return r;
}

// --- transfers ------------------------------------------------------------------------------

// Uploads the container in `path` (piece by piece, resuming after a broken connection) and
// completes it with `record`. Returns the server's file object.
Result<json::object> UploadContainer(Ctx& c, const std::string& path, const std::string& file_id,
                                     std::uint64_t base_version, const std::string& parent_id,
                                     const std::string& name_hmac,
                                     const crypto::SignedRecord& record, const Progress& progress) {
  auto input = OpenInput(path);
  if (!input) return input.error();
  const std::uint64_t size = input->source().Size().value_or(0);
  json::object start{{"file_id", file_id},
                     {"size", size},
                     {"base_version", base_version}};
  auto upload = c.api.CallJson(Method::post, "/api/v1/room/uploads", &start);
  if (!upload) return upload.error();
  const std::string upload_id = Str(*upload, "upload_id");
  std::uint64_t offset = 0;
  std::string piece;
  int failures = 0;
  while (offset < size) {
    piece.resize(static_cast<std::size_t>(std::min<std::uint64_t>(kUploadPiece, size - offset)));
    auto n = input->source().ReadAt(
        offset, std::span(reinterpret_cast<std::uint8_t*>(piece.data()), piece.size()));
    if (!n || *n != piece.size()) return Error::Local("reading the encrypted file failed");
    SendOptions options;
    options.content_type = "application/octet-stream";
    options.timeout = kTransferTimeout;
    auto put = c.api.SendBytes(
        Method::put, "/api/v1/room/uploads/" + upload_id + "?offset=" + std::to_string(offset),
        piece, options);
    if (!put) {
      if (put.error().kind != Error::Kind::network || ++failures > kUploadRetries) {
        return put.error();
      }
      // A broken connection: ask the server how much arrived, and go on from there.
      auto state = c.api.CallJson(Method::get, "/api/v1/room/uploads/" + upload_id, nullptr);
      if (!state) return state.error();
      offset = static_cast<std::uint64_t>(std::max<std::int64_t>(0, Int(*state, "received")));
      continue;
    }
    offset += piece.size();
    if (progress) progress(offset, size);
  }
  json::object complete{{"parent_id", parent_id},
                        {"name_hmac", name_hmac},
                        {"record", B64(record.record)},
                        {"signature", B64(record.signature)}};
  return c.api.CallJson(Method::post, "/api/v1/room/uploads/" + upload_id + "/complete",
                        &complete);
}

// Fetches a file's container into `out` as it arrives. A connection that breaks is resumed
// where it stopped (Range from the bytes received, If-Range on the listed ETag), up to
// kUploadRetries times; a file that changed on the server meanwhile fails rather than join
// the start of one version to the end of another.
Result<void> FetchContainer(Ctx& c, const OpenedFile& f, io::Sink& out, const Progress& progress) {
  struct Counting final : io::Sink {
    io::Sink& inner;
    const Progress& progress;
    std::uint64_t total = 0;
    std::uint64_t done = 0;
    Counting(io::Sink& i, const Progress& p, std::uint64_t t) : inner(i), progress(p), total(t) {}
    result<void> Write(std::span<const std::uint8_t> data) override {
      if (auto w = inner.Write(data); !w) return w;
      done += data.size();
      if (progress) progress(done, total);
      return {};
    }
  } counting(out, progress, static_cast<std::uint64_t>(std::max<std::int64_t>(0, Int(f.raw, "size"))));
  const std::string target = "/api/v1/room/files/" + Str(f.raw, "id") + "/content";
  const std::string etag = Str(f.raw, "etag");
  int failures = 0;
  for (;;) {
    SendOptions options;
    options.body_sink = &counting;
    options.timeout = kTransferTimeout;
    const std::uint64_t from = counting.done;
    std::string range;
    if (from > 0) {
      range = "bytes=" + std::to_string(from) + "-";
      options.range = range;
      options.if_range = etag;
      options.body_status = 206;
    }
    auto r = c.api.SendBytes(Method::get, target, "", options);
    if (r) {
      if (from > 0 && (r->status != 206 ||
                       !r->content_range.starts_with("bytes " + std::to_string(from) + "-"))) {
        return Error::Network("the file changed on the server while it was downloading; "
                              "nothing was written, try again");
      }
      return {};
    }
    if (r.error().kind != Error::Kind::network || ++failures > kUploadRetries) return r.error();
    // A broken connection: go on from the bytes that arrived (only whole pieces reach `out`).
  }
}

// Downloads a file's container into a temporary file (for operations that need to read it
// twice or at random: sharing, denying access).
Result<TempFile> DownloadContainer(Ctx& c, const OpenedFile& f) {
  auto temp = TempFile::Create();
  if (!temp) return temp.error();
  auto sink = temp->OpenSink();
  if (!sink) return sink.error();
  auto r = FetchContainer(c, f, **sink, {});
  temp->CloseSink();
  if (!r) return r.error();
  return std::move(*temp);
}

// The checks after a successful decryption (`info` is authenticated): the container's author
// is pinned, and the record check of private-room.md section 4, including rollback.
Result<void> CheckDecrypted(Ctx& c, const OpenedFile& f, const crypto::ContainerInfo& info) {
  auto signer = PinnedBundle(c, info.author.user_id());
  if (!signer) return signer.error();
  if (!(*signer == info.author)) {
    return Refusal("the file is signed by a key that is not the pinned key of " +
                       info.author.user_id(),
                   "untrusted_signer");
  }
  auto seen = c.store.LoadSeenVersions();
  if (!seen) return seen.error();
  std::optional<std::uint64_t> highest;
  const std::string id = Hex(f.record.file_id);
  if (auto it = seen->find(id); it != seen->end()) highest = it->second;
  if (auto r = crypto::CheckFileRecord(f.record, f.author, info, highest); !r) {
    if (r.error() == errc::rolled_back) {
      return Refusal("the server served version " + std::to_string(f.record.version) +
                         " of this file, but you have seen version " + std::to_string(*highest) +
                         ": refusing an older version",
                     "rolled_back");
    }
    return Crypto("the file's record does not match its content", r.error());
  }
  return {};
}

Result<crypto::ContainerInfo> Decrypted(result<crypto::ContainerInfo> r) {
  if (!r) {
    return Crypto("the downloaded file failed verification (tampered with on the server?)",
                  r.error());
  }
  return std::move(*r);
}

// Decrypts and checks a whole container read from `in` (every chunk, the header MAC, the
// signature, then CheckDecrypted). `out` receives plaintext as chunks verify; only a success
// says the whole is authentic.
Result<crypto::ContainerInfo> VerifyContainer(Ctx& c, const OpenedFile& f, io::Source& in,
                                              io::Sink& out) {
  auto info = Decrypted(crypto::DecryptContainer(in, out, c.me));
  if (!info) return info.error();
  if (auto r = CheckDecrypted(c, f, *info); !r) return r.error();
  return info;
}

// Downloads, decrypts and verifies a file while it streams: a thread fetches the container
// into a bounded pipe that the decryptor reads, so neither the container nor the plaintext
// is ever held whole, and no copy of the container is written anywhere. `out` receives
// plaintext chunk by chunk (callers write through io::AtomicFile and commit only on success).
// When the fetch fails, its error is reported, not the decryptor's view of a cut stream.
Result<crypto::ContainerInfo> DecryptStreamed(Ctx& c, const OpenedFile& f, io::Sink& out,
                                              const Progress& progress) {
  constexpr std::size_t kPipeBytes = 4 << 20;  // Ciphertext in flight: ~64 chunks.
  io::Pipe pipe(kPipeBytes);
  std::optional<Error> fetch_error;
  std::thread fetcher([&] {
    auto r = FetchContainer(c, f, pipe.writer(), progress);
    if (!r) fetch_error = r.error();
    pipe.CloseWriter(/*failed=*/!r);
  });
  // The verifier must not use c.api while the fetcher does: DecryptContainer does not, and the
  // key lookups of VerifyContainer run after the join.
  auto decrypted = crypto::DecryptContainer(pipe.reader(), out, c.me);
  pipe.CloseReader();  // Stops the fetch if the decryptor gave up early.
  fetcher.join();
  if (fetch_error && (decrypted || decrypted.error() == errc::io_error)) return *fetch_error;
  auto info = Decrypted(std::move(decrypted));
  if (!info) return info.error();
  if (auto r = CheckDecrypted(c, f, *info); !r) return r.error();
  return info;
}

Result<void> RememberVersion(Ctx& c, const std::string& file_id, std::uint64_t version) {
  auto seen = c.store.LoadSeenVersions();
  if (!seen) return seen.error();
  auto& v = (*seen)[file_id];
  v = std::max(v, version);
  return c.store.SaveSeenVersions(*seen);
}

// Writes a new version of an opened file: `make` turns the current container (a verified
// download) into the new one and may return a new file key. Same place, same metadata.
using Transform = std::function<Result<crypto::ContainerInfo>(io::Source& in, io::Sink& out,
                                                              crypto::Secret<32>* new_key)>;
using MetadataUpdate = std::function<void(crypto::FileMetadata&)>;

enum class Current { read, unused };

Result<RoomEntry> WriteNewVersion(Ctx& c, OpenedFile& f, Current current, const Transform& make,
                                  const MetadataUpdate& update = {}) {
  const std::string id = Hex(f.record.file_id);
  // `make` reads the current container only when it keeps part of it (sharing, denying);
  // then it is downloaded and verified whole first. A new content (Open) needs none of it:
  // the upload names the version it replaces, and the server refuses it if that is stale.
  std::optional<TempFile> downloaded;
  std::optional<io::InputFile> input;
  io::MemorySource nothing{std::span<const std::uint8_t>{}};
  io::Source* in = &nothing;
  if (current == Current::read) {
    auto container = DownloadContainer(c, f);
    if (!container) return container.error();
    struct Discard final : io::Sink {
      result<void> Write(std::span<const std::uint8_t>) override { return {}; }
    } discard;
    auto check = OpenInput(container->path());
    if (!check) return check.error();
    if (auto v = VerifyContainer(c, f, check->source(), discard); !v) return v.error();
    auto opened = OpenInput(container->path());
    if (!opened) return opened.error();
    downloaded.emplace(std::move(*container));
    input.emplace(std::move(*opened));
    in = &input->source();
  }
  auto next = TempFile::Create();
  if (!next) return next.error();
  auto sink = next->OpenSink();
  if (!sink) return sink.error();
  crypto::Secret<32> new_key;
  auto info = make(*in, **sink, &new_key);
  next->CloseSink();
  if (!info) return info.error();
  crypto::FileRecord record = f.record;
  record.author_id = c.me.user_id();
  record.version = f.record.version + 1;
  record.header_mac = info->header_mac;
  record.final_tag = info->final_tag.value_or(crypto::FinalTag{});
  if (update) update(record.metadata);
  auto signed_record = crypto::SealFileRecord(record, new_key, c.me);
  if (!signed_record) return Crypto("signing the file record", signed_record.error());
  auto done = UploadContainer(c, next->path(), id, f.record.version, Hex(f.record.parent_id),
                              Hex(f.record.name_hmac), *signed_record, {});
  if (!done) return done.error();
  if (auto r = RememberVersion(c, id, record.version); !r) return r.error();
  auto reopened = OpenFile(c, *done, nullptr);
  if (!reopened) return reopened.error();
  return EntryOf(c, *reopened);
}

Result<OpenedFile> OpenOwnFileAt(Ctx& c, std::string_view path, Resolved* where = nullptr) {
  auto r = ResolveItem(c, path);
  if (!r) return r.error();
  if (!r->file) {
    return Error::Local(r->folder ? "'" + Printable(path) + "' is a folder"
                                  : "no such file: '" + Printable(path) + "'");
  }
  auto f = OpenFile(c, *r->file, &r->parent);
  if (!f) return f.error();
  if (where != nullptr) *where = std::move(*r);
  return f;
}

// A file by path in my room, or by id (32 hex digits) for a file shared with me.
Result<OpenedFile> OpenFileByRef(Ctx& c, std::string_view ref) {
  if (ref.starts_with("/")) return OpenOwnFileAt(c, ref);
  if (!HexArray<16>(ref)) {
    return Error::Usage("'" + Printable(ref) +
                        "' is neither a path (/Folder/name.docx) nor a file id (see strongroom shared)");
  }
  auto o = c.api.CallJson(Method::get, "/api/v1/room/files/" + std::string(ref), nullptr);
  if (!o) return o.error();
  return OpenFile(c, *o, nullptr);
}

// A listed item that failed verification becomes a flagged entry (RoomEntry::problem) when
// the failure is a refusal; any other error (the network, the profile) is not about the item
// and fails the listing. Returns false for those.
bool Flag(const json::object& o, bool is_folder, const Error& e, std::vector<RoomEntry>& out) {
  if (e.kind != Error::Kind::refused) return false;
  RoomEntry flagged;
  flagged.is_folder = is_folder;
  flagged.id = Str(o, "id");
  flagged.problem = e.message + (e.code.empty() ? "" : " (" + e.code + ")");
  out.push_back(std::move(flagged));
  return true;
}

}  // namespace

std::string ContentTypeForName(std::string_view name) {
  static const std::map<std::string, std::string, std::less<>> kTypes = {
      {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
      {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
      {"pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
      {"pdf", "application/pdf"},
      {"odt", "application/vnd.oasis.opendocument.text"},
      {"ods", "application/vnd.oasis.opendocument.spreadsheet"},
      {"odp", "application/vnd.oasis.opendocument.presentation"},
      {"txt", "text/plain"},
      {"csv", "text/csv"},
  };
  const auto dot = name.rfind('.');
  if (dot == std::string_view::npos) return "";
  std::string ext(name.substr(dot + 1));
  ext = crypto::NormaliseRoomName(ext);
  const auto it = kTypes.find(ext);
  return it == kTypes.end() ? "" : it->second;
}

Result<crypto::Identity> UnlockIdentity(ApiClient& api, ProfileStore& store,
                                        std::string_view user_id, std::string_view password) {
  auto keys = api.GetMyKeys();
  if (!keys) return keys.error();
  auto bundle = VerifyPublicBundle(keys->public_bundle, user_id);
  if (!bundle) return bundle.error();
  if (auto ok = crypto::CheckKdfParams(keys->kdf); !ok) {
    return Error::Refused("the server sent password hashing parameters below the safe floor");
  }
  auto derived = crypto::DerivePasswordKeys(password, keys->kdf);
  if (!derived) return Error::Local("deriving keys from the password failed", derived.error());
  auto identity = crypto::OpenPrivateBundle(keys->private_bundle, *derived);
  if (!identity) {
    Error e = Error::Refused("wrong password");
    e.code = "invalid_credentials";
    return e;
  }
  if (!(identity->public_bundle() == *bundle)) {
    return Error::Refused("the server returned keys that do not match");
  }
  auto pin = TrustOnFirstUse(store, *bundle, "");
  if (!pin) return pin.error();
  if (pin->status == PinStatus::mismatch) {
    return Error::Refused("the server returned a different key for your own account than pinned");
  }
  return std::move(*identity);
}

Room::Room(ApiClient& api, ProfileStore& store, const crypto::Identity& identity)
    : api_(api), store_(store), me_(identity) {}

Result<std::vector<RoomEntry>> Room::List(std::string_view path) {
  Ctx c{api_, store_, me_};
  auto parts = SplitPath(path);
  if (!parts) return parts.error();
  auto folder = ResolveFolder(c, *parts, parts->size());
  if (!folder) return folder.error();
  auto listing = ListingOf(c, *folder);
  if (!listing) return listing.error();
  std::vector<RoomEntry> folders, files, flagged;
  for (const auto& v : listing->at("folders").as_array()) {
    auto f = OpenFolder(c, v.as_object());
    if (f && f->parent_id != folder->id) {
      f = Refusal("folder " + f->id + " claims another parent than the folder it is listed in",
                  "record_mismatch");
    }
    if (!f) {
      if (!Flag(v.as_object(), true, f.error(), flagged)) return f.error();
      continue;
    }
    folders.push_back(EntryOf(*f));
  }
  for (const auto& v : listing->at("files").as_array()) {
    auto f = OpenFile(c, v.as_object(), &*folder);
    if (!f) {
      if (!Flag(v.as_object(), false, f.error(), flagged)) return f.error();
      continue;
    }
    files.push_back(EntryOf(c, *f));
  }
  auto by_name = [](const RoomEntry& a, const RoomEntry& b) { return a.name < b.name; };
  std::sort(folders.begin(), folders.end(), by_name);
  std::sort(files.begin(), files.end(), by_name);
  folders.insert(folders.end(), files.begin(), files.end());
  folders.insert(folders.end(), flagged.begin(), flagged.end());
  return folders;
}

Result<RoomEntry> Room::MakeFolder(std::string_view path) {
  Ctx c{api_, store_, me_};
  auto r = ResolveItem(c, path);
  if (!r) return r.error();
  if (r->folder || r->file) {
    Error e = Error::Local("'" + Printable(path) + "' already exists; the Private Room never overwrites");
    e.code = "name_taken";
    return e;
  }
  const auto fid = crypto::GenerateFolderId();
  auto key = crypto::GenerateFolderKey();
  auto sealed = crypto::SealFolderKey(key, fid, me_.public_bundle());
  if (!sealed) return Crypto("sealing the folder key", sealed.error());
  crypto::FolderRecord record;
  record.folder_id = fid;
  record.owner_id = me_.user_id();
  record.parent_id = r->parent.fid;
  record.name_hmac = *HexArray<32>(r->name_hmac);
  record.revision = 1;
  record.name = r->name;
  auto signed_record = crypto::SealFolderRecord(record, key, me_);
  if (!signed_record) return Crypto("signing the folder record", signed_record.error());
  json::object body{{"id", Hex(fid)},
                    {"parent_id", r->parent.id},
                    {"name_hmac", r->name_hmac},
                    {"sealed_key", B64(*sealed)},
                    {"record", B64(signed_record->record)},
                    {"signature", B64(signed_record->signature)}};
  auto made = api_.CallJson(Method::post, "/api/v1/room/folders", &body);
  if (!made) return made.error();
  auto opened = OpenFolder(c, *made);
  if (!opened) return opened.error();
  return EntryOf(*opened);
}

Result<RoomEntry> Room::Upload(const std::string& local, std::string_view dir,
                               const Progress& progress) {
  Ctx c{api_, store_, me_};
  const auto slash = local.rfind('/');
  const std::string name = slash == std::string::npos ? local : local.substr(slash + 1);
  const std::string type = ContentTypeForName(name);
  if (type.empty()) {
    return Error::Usage("'" + Printable(name) +
                        "' is not an office document (.docx, .xlsx, .pptx) the Private Room "
                        "accepts");
  }
  std::string target(dir);
  if (target.empty() || target.back() != '/') target += '/';
  auto r = ResolveItem(c, target + name);
  if (!r) return r.error();
  if (r->folder || r->file) {
    Error e = Error::Local("'" + Printable(target + name) +
                           "' already exists; the Private Room never overwrites");
    e.code = "name_taken";
    return e;
  }
  auto input = OpenInput(local);
  if (!input) return input.error();
  struct stat st {};
  const std::uint64_t modified_ms =
      ::stat(local.c_str(), &st) == 0
          ? static_cast<std::uint64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000
          : 0;
  auto temp = TempFile::Create();
  if (!temp) return temp.error();
  auto sink = temp->OpenSink();
  if (!sink) return sink.error();
  crypto::EncryptOptions options;
  options.content_type = type;
  crypto::Secret<32> file_key;
  const std::vector<crypto::PublicBundle> recipients = {me_.public_bundle()};
  auto info = crypto::EncryptContainer(input->source(), **sink, me_, recipients, options, &file_key);
  temp->CloseSink();
  if (!info) return Error::Local("encrypting '" + Printable(local) + "' failed", info.error());
  crypto::FileRecord record;
  record.file_id = info->file_id;
  record.owner_id = me_.user_id();
  record.author_id = me_.user_id();
  record.parent_id = r->parent.fid;
  record.name_hmac = *HexArray<32>(r->name_hmac);
  record.version = 1;
  record.header_mac = info->header_mac;
  record.final_tag = info->final_tag.value_or(crypto::FinalTag{});
  record.metadata = {name, info->plaintext_size.value_or(0), type, modified_ms};
  auto signed_record = crypto::SealFileRecord(record, file_key, me_);
  if (!signed_record) return Crypto("signing the file record", signed_record.error());
  auto done = UploadContainer(c, temp->path(), Hex(info->file_id), 0, r->parent.id, r->name_hmac,
                              *signed_record, progress);
  if (!done) return done.error();
  if (auto v = RememberVersion(c, Hex(info->file_id), 1); !v) return v.error();
  auto opened = OpenFile(c, *done, &r->parent);
  if (!opened) return opened.error();
  return EntryOf(c, *opened);
}

Result<RoomEntry> Room::Download(std::string_view path, const std::string& local,
                                 bool overwrite, const Progress& progress) {
  Ctx c{api_, store_, me_};
  auto f = OpenFileByRef(c, path);
  if (!f) return f.error();
  const auto replace = overwrite ? io::AtomicFile::Replace::yes : io::AtomicFile::Replace::no;
  if (!overwrite && ::access(local.c_str(), F_OK) == 0) return Exists(local);  // Fail early.
  auto out = io::AtomicFile::Create(local);
  if (!out) return Error::Local("cannot write '" + Printable(local) + "'", out.error());
  auto info = DecryptStreamed(c, *f, *out, progress);
  if (!info) return info.error();  // `out` removes its temporary file.
  if (auto r = out->Commit(replace); !r) {
    if (r.error() == errc::already_exists) return Exists(local);
    return Error::Local("cannot write '" + Printable(local) + "'", r.error());
  }
  if (auto r = RememberVersion(c, Hex(f->record.file_id), f->record.version); !r) return r.error();
  return EntryOf(c, *f);
}

Result<void> Room::Copy(std::string_view from, std::string_view /*to*/) {
  Ctx c{api_, store_, me_};
  std::string id;
  if (from.starts_with("/")) {
    auto r = ResolveItem(c, from);
    if (!r) return r.error();
    if (!r->file) return Error::Local("no such file: '" + Printable(from) + "'");
    id = Str(*r->file, "id");
  } else {
    id = std::string(from);
  }
  auto copied = api_.CallJson(Method::post, "/api/v1/room/files/" + id + "/copy", nullptr);
  if (!copied) return copied.error();
  return Error::Network("unexpected response from the server: a copy was made");
}

Result<RoomEntry> Room::Move(std::string_view from, std::string_view to) {
  Ctx c{api_, store_, me_};
  if (!from.starts_with("/")) {
    return Error::Usage("only items of your own room can be moved: a file shared with you stays "
                        "where its owner put it");
  }
  auto src = ResolveItem(c, from);
  if (!src) return src.error();
  if (!src->folder && !src->file) return Error::Local("no such item: '" + Printable(from) + "'");
  // The destination: into an existing folder under the same name, or a new name; "/" is the
  // room's root folder.
  std::string to_path(to);
  if (auto parts = SplitPath(to); parts && parts->empty()) to_path = "/" + src->name;
  auto dst = ResolveItem(c, to_path);
  if (!dst) return dst.error();
  Folder* target_parent = &dst->parent;
  std::string new_name = dst->name, new_hmac = dst->name_hmac;
  std::optional<Folder> into;
  if (dst->folder) {
    auto opened = OpenFolder(c, *dst->folder);
    if (!opened) return opened.error();
    into = std::move(*opened);
    target_parent = &*into;
    new_name = src->name;
    auto h = NameHmacHex(*into, new_name);
    if (!h) return h.error();
    new_hmac = *h;
  } else if (dst->file) {
    Error e = Error::Local("'" + Printable(to) + "' already exists; the Private Room never overwrites");
    e.code = "name_taken";
    return e;
  }
  if (src->folder) {
    auto folder = OpenFolder(c, *src->folder);
    if (!folder) return folder.error();
    crypto::FolderRecord record;
    record.folder_id = folder->fid;
    record.owner_id = me_.user_id();
    record.parent_id = target_parent->fid;
    record.name_hmac = *HexArray<32>(new_hmac);
    record.revision = static_cast<std::uint64_t>(folder->revision) + 1;
    record.name = new_name;
    auto signed_record = crypto::SealFolderRecord(record, folder->key, me_);
    if (!signed_record) return Crypto("signing the folder record", signed_record.error());
    json::object body{{"parent_id", target_parent->id},
                      {"name_hmac", new_hmac},
                      {"revision", folder->revision + 1},
                      {"record", B64(signed_record->record)},
                      {"signature", B64(signed_record->signature)}};
    auto moved = api_.CallJson(Method::post, "/api/v1/room/folders/" + folder->id + "/move", &body);
    if (!moved) return moved.error();
    auto opened = OpenFolder(c, *moved);
    if (!opened) return opened.error();
    return EntryOf(*opened);
  }
  auto f = OpenFile(c, *src->file, &src->parent);
  if (!f) return f.error();
  crypto::FileRecord record = f->record;
  record.author_id = me_.user_id();
  record.parent_id = target_parent->fid;
  record.name_hmac = *HexArray<32>(new_hmac);
  record.version = f->record.version + 1;
  record.metadata.name = new_name;
  auto signed_record = crypto::SealFileRecord(record, f->key.file_key, me_);
  if (!signed_record) return Crypto("signing the file record", signed_record.error());
  json::object body{{"parent_id", target_parent->id},
                    {"name_hmac", new_hmac},
                    {"version", record.version},
                    {"record", B64(signed_record->record)},
                    {"signature", B64(signed_record->signature)}};
  auto moved =
      api_.CallJson(Method::post, "/api/v1/room/files/" + Str(f->raw, "id") + "/move", &body);
  if (!moved) return moved.error();
  if (auto r = RememberVersion(c, Str(f->raw, "id"), record.version); !r) return r.error();
  auto opened = OpenFile(c, *moved, target_parent);
  if (!opened) return opened.error();
  return EntryOf(c, *opened);
}

namespace {

Result<void> RemoveFolderTree(Ctx& c, const Folder& folder) {
  auto listing = ListingOf(c, folder);
  if (!listing) return listing.error();
  for (const auto& v : listing->at("files").as_array()) {
    auto r = c.api.CallJson(Method::del, "/api/v1/room/files/" + Str(v.as_object(), "id"), nullptr);
    if (!r) return r.error();
  }
  for (const auto& v : listing->at("folders").as_array()) {
    auto sub = OpenFolder(c, v.as_object());
    if (!sub) return sub.error();
    if (auto r = RemoveFolderTree(c, *sub); !r) return r.error();
  }
  auto r = c.api.CallJson(Method::del, "/api/v1/room/folders/" + folder.id, nullptr);
  if (!r) return r.error();
  return {};
}

}  // namespace

Result<void> Room::Remove(std::string_view path) {
  Ctx c{api_, store_, me_};
  auto r = ResolveItem(c, path);
  if (!r) return r.error();
  if (r->file) {
    auto d = api_.CallJson(Method::del, "/api/v1/room/files/" + Str(*r->file, "id"), nullptr);
    if (!d) return d.error();
    return {};
  }
  if (!r->folder) return Error::Local("no such item: '" + Printable(path) + "'");
  auto folder = OpenFolder(c, *r->folder);
  if (!folder) return folder.error();
  return RemoveFolderTree(c, *folder);
}

Result<RoomEntry> Room::Share(std::string_view path, std::string_view email) {
  Ctx c{api_, store_, me_};
  auto f = OpenOwnFileAt(c, path);
  if (!f) return f.error();
  auto bundle = PinnedBundleByEmail(c, email);
  if (!bundle) return bundle.error();
  for (const auto& r : f->key.info.recipients) {
    if (r.user_id == bundle->user_id()) {
      return Error::Local("'" + Printable(path) + "' is shared with " + Printable(email) + " already");
    }
  }
  const crypto::PublicBundle added = *bundle;
  auto entry = WriteNewVersion(c, *f, Current::read, [&](io::Source& in, io::Sink& out, crypto::Secret<32>* key)
                                          -> Result<crypto::ContainerInfo> {
    const std::vector<crypto::PublicBundle> list = {added};
    auto info = crypto::AddRecipients(in, out, me_, list);
    if (!info) return Crypto("adding the recipient", info.error());
    *key = f->key.file_key.Clone();  // Sharing keeps the file key: the payload is untouched.
    return std::move(*info);
  });
  return entry;
}

Result<RoomEntry> Room::Unshare(std::string_view path, std::string_view email) {
  Ctx c{api_, store_, me_};
  auto f = OpenOwnFileAt(c, path);
  if (!f) return f.error();
  // Who to remove comes from the local pins, never from the server: a server that swapped two
  // emails must not make this remove the wrong person.
  auto pinned_id = PinnedUserIdFor(c, email);
  if (!pinned_id) return pinned_id.error();
  if (!*pinned_id) {
    return Error::Local("no pinned key for " + Printable(email) +
                        ": this client never shared with them (see strongroom keys show)");
  }
  const std::string removed_id = **pinned_id;
  bool found = false;
  std::vector<crypto::PublicBundle> remaining;
  for (const auto& r : f->key.info.recipients) {
    if (r.user_id == removed_id) {
      found = true;
      continue;
    }
    auto b = PinnedBundle(c, r.user_id);
    if (!b) return b.error();
    if (b->fingerprint() != r.fingerprint) {
      return Error::Refused("recipient " + r.user_id + " no longer matches the pinned key");
    }
    remaining.push_back(*b);
  }
  if (!found) {
    return Error::Local("'" + Printable(path) + "' is not shared with " + Printable(email));
  }
  return WriteNewVersion(c, *f, Current::read, [&](io::Source& in, io::Sink& out, crypto::Secret<32>* key)
                                    -> Result<crypto::ContainerInfo> {
    auto rekeyed = crypto::RekeyContainer(in, out, me_, remaining, 0, key);
    if (!rekeyed) return Crypto("re-encrypting under a new key", rekeyed.error());
    return std::move(*rekeyed);
  });
}

namespace {

// A private directory for plaintext, removed (contents overwritten first) when this ends.
class WorkingDirectory {
 public:
  static Result<WorkingDirectory> Create() {
    struct stat st {};
    const bool shm = ::stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && ::access("/dev/shm", W_OK) == 0;
    const char* tmp = std::getenv("TMPDIR");
    std::string base = shm ? "/dev/shm" : (tmp != nullptr && *tmp != '\0' ? tmp : "/tmp");
    std::string path = base + "/strongroom-open-XXXXXX";
    if (::mkdtemp(path.data()) == nullptr) {
      return Error::Local("cannot create a private working directory: " +
                          std::string(std::strerror(errno)));
    }
    ::chmod(path.c_str(), 0700);
    return WorkingDirectory(std::move(path));
  }
  WorkingDirectory(WorkingDirectory&& o) noexcept : path_(std::exchange(o.path_, std::string())) {}
  WorkingDirectory& operator=(WorkingDirectory&&) = delete;
  ~WorkingDirectory() {
    if (path_.empty()) return;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(path_, ec)) {
      Scrub(entry.path().string());
    }
    std::filesystem::remove_all(path_, ec);
  }
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  explicit WorkingDirectory(std::string path) : path_(std::move(path)) {}
  // Overwrites a regular file with zeros before it is unlinked (on tmpfs this is the only
  // copy; on a disk it is best effort).
  static void Scrub(const std::string& file) {
    const int fd = ::open(file.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return;
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
      std::vector<char> zeros(64 * 1024, 0);
      off_t left = st.st_size;
      while (left > 0) {
        const auto n = ::write(fd, zeros.data(), static_cast<std::size_t>(std::min<off_t>(left, 65536)));
        if (n <= 0) break;
        left -= n;
      }
      (void)::fsync(fd);
    }
    ::close(fd);
  }
  std::string path_;
};

}  // namespace

Result<RoomEntry> Room::Open(std::string_view path, const Editor& editor, bool* changed) {
  Ctx c{api_, store_, me_};
  if (changed != nullptr) *changed = false;
  auto f = OpenFileByRef(c, path);
  if (!f) return f.error();
  auto dir = WorkingDirectory::Create();
  if (!dir) return dir.error();
  const std::string copy = dir->path() + "/" + f->record.metadata.name;
  {
    auto out = io::AtomicFile::Create(copy, 0600);
    if (!out) return Error::Local("cannot write the working copy", out.error());
    auto info = DecryptStreamed(c, *f, *out, {});
    if (!info) return info.error();
    if (auto r = out->Commit(); !r) return Error::Local("cannot write the working copy", r.error());
  }
  if (auto r = RememberVersion(c, Hex(f->record.file_id), f->record.version); !r) return r.error();
  struct stat before {};
  if (::stat(copy.c_str(), &before) != 0) return Error::Local("the working copy vanished");
  const int status = editor(copy);
  if (status != 0) {
    return Error::Local("the application exited with status " + std::to_string(status) +
                        "; nothing was uploaded");
  }
  struct stat after {};
  if (::stat(copy.c_str(), &after) != 0) {
    return Error::Local("the application removed the working copy; nothing was uploaded");
  }
  const bool same = before.st_size == after.st_size &&
                    before.st_mtim.tv_sec == after.st_mtim.tv_sec &&
                    before.st_mtim.tv_nsec == after.st_mtim.tv_nsec;
  if (same) return EntryOf(c, *f);
  // Every current recipient keeps access, under their pinned keys.
  std::vector<crypto::PublicBundle> recipients;
  for (const auto& r : f->key.info.recipients) {
    auto b = PinnedBundle(c, r.user_id);
    if (!b) return b.error();
    if (b->fingerprint() != r.fingerprint) {
      return Error::Refused("recipient " + r.user_id +
                            " is named with a key that is not the pinned one; nothing uploaded");
    }
    recipients.push_back(*b);
  }
  const std::string content_type = f->key.info.content_type;
  const std::uint64_t modified_ms =
      static_cast<std::uint64_t>(after.st_mtim.tv_sec) * 1000 + after.st_mtim.tv_nsec / 1000000;
  std::uint64_t new_size = 0;
  auto entry = WriteNewVersion(c, *f, Current::unused, [&](io::Source&, io::Sink& out, crypto::Secret<32>* key)
                                          -> Result<crypto::ContainerInfo> {
    auto input = OpenInput(copy);
    if (!input) return input.error();
    crypto::EncryptOptions options;
    options.content_type = content_type;
    options.file_id = f->record.file_id;  // A new version of the same document.
    auto info = crypto::EncryptContainer(input->source(), out, me_, recipients, options, key);
    if (!info) return Error::Local("encrypting the working copy failed", info.error());
    new_size = info->plaintext_size.value_or(0);
    return std::move(*info);
  }, [&](crypto::FileMetadata& m) {
    m.plaintext_size = new_size;
    m.modified_ms = modified_ms;
  });
  if (entry && changed != nullptr) *changed = true;
  return entry;
}

Result<std::vector<RoomEntry>> Room::SharedWithMe() {
  Ctx c{api_, store_, me_};
  auto shared = api_.CallJson(Method::get, "/api/v1/room/shared", nullptr);
  if (!shared) return shared.error();
  std::vector<RoomEntry> out, flagged;
  for (const auto& v : shared->at("files").as_array()) {
    auto f = OpenFile(c, v.as_object(), nullptr);
    if (!f) {
      if (!Flag(v.as_object(), false, f.error(), flagged)) return f.error();
      continue;
    }
    out.push_back(EntryOf(c, *f));
  }
  out.insert(out.end(), flagged.begin(), flagged.end());
  return out;
}

Result<RoomEntry> Room::Info(std::string_view path) {
  Ctx c{api_, store_, me_};
  if (!path.starts_with("/")) {
    auto f = OpenFileByRef(c, path);
    if (!f) return f.error();
    return EntryOf(c, *f);
  }
  auto r = ResolveItem(c, path);
  if (!r) return r.error();
  if (r->folder) {
    auto f = OpenFolder(c, *r->folder);
    if (!f) return f.error();
    return EntryOf(*f);
  }
  if (!r->file) return Error::Local("no such item: '" + Printable(path) + "'");
  auto f = OpenFile(c, *r->file, &r->parent);
  if (!f) return f.error();
  return EntryOf(c, *f);
}

Result<CollabDocument> Room::OpenForCollab(std::string_view path) {
  Ctx c{api_, store_, me_};
  auto f = OpenFileByRef(c, path);
  if (!f) return f.error();
  const std::string id = Hex(f->record.file_id);
  // The epoch is the record's version: an older one would put the session on an old key.
  auto seen = store_.LoadSeenVersions();
  if (!seen) return seen.error();
  if (auto it = seen->find(id); it != seen->end() && f->record.version < it->second) {
    return Refusal("the server served version " + std::to_string(f->record.version) +
                       " of this file, but you have seen version " + std::to_string(it->second) +
                       ": refusing an older version",
                   "rolled_back");
  }
  if (auto r = RememberVersion(c, id, f->record.version); !r) return r.error();
  CollabDocument d;
  d.id = id;
  d.name = f->record.metadata.name;
  std::copy(f->record.file_id.begin(), f->record.file_id.end(), d.file_id.begin());
  d.epoch = f->record.version;
  d.file_key = f->key.file_key.Clone();
  d.members.emplace(me_.user_id(), me_.public_bundle());
  d.emails[me_.user_id()] = "me";
  d.members.emplace(f->record.author_id, f->author);
  d.emails[f->record.author_id] = PinnedEmail(c, f->record.author_id);
  for (const auto& r : f->key.info.recipients) {
    if (r.user_id == me_.user_id()) continue;
    auto bundle = PinnedBundle(c, r.user_id);
    if (!bundle) return bundle.error();
    if (bundle->fingerprint() != r.fingerprint) continue;
    d.members.insert_or_assign(r.user_id, std::move(*bundle));
    d.emails[r.user_id] = PinnedEmail(c, r.user_id);
  }
  return d;
}

}  // namespace strongroom::client
