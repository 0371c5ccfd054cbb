// The Private Room HTTP API end to end (docs/private-room.md sections 5 and 6): the real
// strongroomd on loopback with a fresh data directory per test, three users A (the owner, who
// registered with the setup token), B and C registered over HTTP with keys made by the crypto
// core, and real containers (EncryptContainer, AddRecipients, RekeyContainer) uploaded in
// pieces.
//
// Records, signatures, sealed folder keys and name HMACs are opaque to the server, so the
// tests send random bytes of valid sizes for them; the containers are real, because the server
// parses their headers (file id, content type, author, stanzas).
//
// Covered: folders (root, tree, names, moves, deletes, visibility), uploads (pieces, offsets,
// resume after a broken connection, limits, refusals with nothing left on disk), downloads
// (streamed, ETag, ranges), sharing and denying access, deletes, unsupported operations, the
// portal settings and the audit trail, and that no plaintext reaches the server's disk or log.
//
// Cost: registration makes the server run Argon2id twice per user; the client side of it
// (DerivePasswordKeys) runs once per process and is shared by every user.
#include "support/bytes_util.h"
#include "support/http_client.h"
#include "support/json_util.h"
#include "support/portal.h"
#include "support/process.h"
#include "support/registration.h"
#include "support/text_util.h"

#include "strongroom/crypto/container.h"
#include "strongroom/crypto/encoding.h"
#include "strongroom/crypto/identity.h"
#include "strongroom/io.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

namespace strongroom::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

constexpr const char* kDocx =
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
constexpr const char* kXlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
constexpr const char* kPdf = "application/pdf";
constexpr std::size_t kMiB = 1024 * 1024;

// --- small utilities ---------------------------------------------------------------------

std::string NewId() {
  return RandomHexId(16);
}  // A folder or file id: 32 hex digits.
std::string NewNameHmac() {
  return RandomHexId(32);
}  // 64 hex digits.

// --- JSON --------------------------------------------------------------------------------

bool JIsNull(const json::value& v, std::string_view pointer) {
  const json::value* p = At(v, pointer);
  return p != nullptr && p->is_null();
}

std::string ErrorMessage(const HttpReply& reply) {
  const json::value body = ParseJson(reply.body);
  const json::value* m = At(body, "/error/message");
  return m != nullptr && m->is_string() ? std::string(m->as_string()) : "";
}

// The ids in a JSON array of objects (`field` of each).
std::set<std::string> Ids(const json::array& items, std::string_view field = "id") {
  std::set<std::string> out;
  for (const auto& item : items) {
    if (const auto* v = item.as_object().if_contains(field); v != nullptr && v->is_string()) {
      out.emplace(v->as_string());
    }
  }
  return out;
}

// --- containers --------------------------------------------------------------------------

Bytes Encrypt(const crypto::Identity& author, const std::vector<crypto::PublicBundle>& recipients,
              const Bytes& plaintext, const std::string& content_type = kDocx) {
  io::MemorySource in(plaintext);
  io::MemorySink out;
  crypto::EncryptOptions options;
  options.content_type = content_type;
  auto r = crypto::EncryptContainer(in, out, author, recipients, options);
  EXPECT_TRUE(r.has_value()) << r.error().message();
  return std::move(out.data());
}

// A new version with more recipients: a new header, the payload copied.
Bytes Share(const Bytes& container, const crypto::Identity& signer,
            const std::vector<crypto::PublicBundle>& added) {
  io::MemorySource in(container);
  io::MemorySink out;
  auto r = crypto::AddRecipients(in, out, signer, added);
  EXPECT_TRUE(r.has_value()) << r.error().message();
  return std::move(out.data());
}

// A new version under a new file key for exactly `recipients`.
Bytes Rekey(const Bytes& container, const crypto::Identity& signer,
            const std::vector<crypto::PublicBundle>& recipients) {
  io::MemorySource in(container);
  io::MemorySink out;
  auto r = crypto::RekeyContainer(in, out, signer, recipients);
  EXPECT_TRUE(r.has_value()) << r.error().message();
  return std::move(out.data());
}

std::string FileIdOf(const Bytes& container) {
  io::MemorySource in(container);
  auto info = crypto::InspectContainer(in);
  EXPECT_TRUE(info.has_value()) << info.error().message();
  return info ? crypto::HexEncode(info->file_id) : std::string();
}

std::optional<Bytes> Decrypt(const Bytes& container, const crypto::Identity& identity) {
  io::MemorySource in(container);
  io::MemorySink out;
  auto r = crypto::DecryptContainer(in, out, identity, 1);
  if (!r) return std::nullopt;
  return std::move(out.data());
}

// --- the users ---------------------------------------------------------------------------

// A registered user: the keys the test holds for them and their session.
struct User {
  std::string email;
  std::string user_id;
  std::string token;
  std::optional<crypto::Identity> identity;

  const crypto::Identity& id() const { return *identity; }
  const crypto::PublicBundle& bundle() const { return identity->public_bundle(); }
  std::string fingerprint_hex() const { return crypto::HexEncode(bundle().fingerprint()); }
};

// --- the fixture -------------------------------------------------------------------------

class RoomApiTest : public ::testing::Test {
 protected:
  virtual std::vector<std::string> ExtraEnv() const { return {}; }
  virtual int UserCount() const { return 3; }

  void SetUp() override {
    PortalOptions options;
    options.rate_limits = false;
    options.env = ExtraEnv();
    options.user_agent = "room-api-test";
    ASSERT_NO_FATAL_FAILURE(portal_.Start(options));
    a_ = RegisterUser(portal_.setup_token(), "a@example.com");
    ASSERT_FALSE(a_.token.empty());
    if (UserCount() >= 2) {
      b_ = RegisterUser(Invite("b@example.com"), "b@example.com");
      ASSERT_FALSE(b_.token.empty());
    }
    if (UserCount() >= 3) {
      c_ = RegisterUser(Invite("c@example.com"), "c@example.com");
      ASSERT_FALSE(c_.token.empty());
    }
  }

  void TearDown() override { portal_.FinishTest(8000); }

  // --- accounts ---

  std::string Invite(const std::string& email) {
    const HttpReply r = Post(a_, "/api/v1/admin/invitations", json::object{{"email", email}});
    EXPECT_EQ(r.status, 201) << r.body;
    return r.status == 201 ? JStr(ParseJson(r.body), "/token") : std::string();
  }

  // Registers over HTTP with keys made by the crypto core. Argon2id on the client side runs
  // once per process: the server cannot tell (it gets a key and sealed bundles), and every
  // user gets their own identity anyway.
  User RegisterUser(const std::string& invitation, const std::string& email) {
    HttpRegistration r = RegisterOverHttp(portal_, invitation, email,
                                          SharedPasswordKeysFor("a room api test password"));
    return {r.email, r.user_id, r.token, std::move(r.identity)};
  }

  // --- HTTP ---

  HttpReply Api(const User& u, const std::string& method, const std::string& target,
                const std::string& body = "",
                const std::map<std::string, std::string>& headers = {}) {
    return portal_.Request(method, target, body, u.token, headers);
  }
  HttpReply Post(const User& u, const std::string& target, const json::value& body) {
    return Api(u, "POST", target, json::serialize(body));
  }

  // --- folders ---

  json::object FolderBody(const std::string& id, const std::optional<std::string>& parent,
                          const std::optional<std::string>& name_hmac) {
    json::object body{{"id", id},
                      {"sealed_key", B64(RandomBytes(80))},
                      {"record", B64(RandomBytes(120))},
                      {"signature", B64(RandomBytes(64))}};
    if (parent) body["parent_id"] = *parent;
    if (name_hmac) body["name_hmac"] = *name_hmac;
    return body;
  }

  HttpReply CreateFolderReply(const User& u, const std::string& id,
                              const std::optional<std::string>& parent = std::nullopt,
                              const std::optional<std::string>& name_hmac = std::nullopt) {
    return Post(u, "/api/v1/room/folders", FolderBody(id, parent, name_hmac));
  }

  // Creates the root (parent empty) or a folder; "" unless 201.
  std::string CreateFolder(const User& u, const std::optional<std::string>& parent = std::nullopt,
                           const std::optional<std::string>& name_hmac = std::nullopt) {
    const std::string id = NewId();
    const HttpReply r =
        CreateFolderReply(u, id, parent, parent && !name_hmac ? NewNameHmac() : name_hmac);
    EXPECT_EQ(r.status, 201) << r.body;
    return r.status == 201 ? id : std::string();
  }

  // --- uploads ---

  HttpReply StartUploadReply(const User& u, const std::string& file_id, std::int64_t size,
                             std::optional<std::int64_t> base_version = std::nullopt) {
    json::object body{{"file_id", file_id}, {"size", size}};
    if (base_version) body["base_version"] = *base_version;
    return Post(u, "/api/v1/room/uploads", body);
  }

  std::string StartUpload(const User& u, const std::string& file_id, std::int64_t size,
                          std::optional<std::int64_t> base_version = std::nullopt) {
    const HttpReply r = StartUploadReply(u, file_id, size, base_version);
    EXPECT_EQ(r.status, 201) << r.body;
    if (r.status != 201) return {};
    const json::value v = ParseJson(r.body);
    EXPECT_EQ(JStr(v, "/file_id"), file_id);
    EXPECT_EQ(JInt(v, "/size"), size);
    EXPECT_EQ(JInt(v, "/received"), 0);
    EXPECT_EQ(JInt(v, "/base_version"), base_version.value_or(0));
    const std::string id = JStr(v, "/upload_id");
    EXPECT_EQ(id.size(), 32u) << id;
    return id;
  }

  HttpReply PutPiece(const User& u, const std::string& upload_id, std::uint64_t offset,
                     std::span<const std::uint8_t> bytes) {
    return portal_.Request(
        "PUT", "/api/v1/room/uploads/" + upload_id + "?offset=" + std::to_string(offset),
        AsString(bytes), u.token, {{"Content-Type", "application/octet-stream"}});
  }

  // The header of a PUT of `length` bytes at `offset`, for raw sockets ("" length: chunked).
  static std::string RawPutHeader(const User& u, const std::string& upload_id, std::uint64_t offset,
                                  std::optional<std::uint64_t> length, bool close = false) {
    return "PUT /api/v1/room/uploads/" + upload_id + "?offset=" + std::to_string(offset) +
           " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + u.token +
           "\r\nContent-Type: application/octet-stream\r\n" +
           (length ? "Content-Length: " + std::to_string(*length)
                   : std::string("Transfer-Encoding: chunked")) +
           (close ? "\r\nConnection: close" : "") + "\r\n\r\n";
  }

  std::int64_t Received(const User& u, const std::string& upload_id) {
    const HttpReply r = Api(u, "GET", "/api/v1/room/uploads/" + upload_id);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.status == 200 ? JInt(ParseJson(r.body), "/received") : -1;
  }

  HttpReply Complete(const User& u, const std::string& upload_id, const std::string& parent_id,
                     const std::string& name_hmac, const Bytes& record = RandomBytes(300)) {
    return Post(u, "/api/v1/room/uploads/" + upload_id + "/complete",
                json::object{{"parent_id", parent_id},
                             {"name_hmac", name_hmac},
                             {"record", B64(record)},
                             {"signature", B64(RandomBytes(64))}});
  }

  // Sends every byte of `container` in pieces of `piece` bytes (each answered 200 with the
  // running total), without completing.
  void SendAll(const User& u, const std::string& upload_id, const Bytes& container,
               std::size_t piece = kMiB, std::size_t from = 0) {
    for (std::size_t offset = from; offset < container.size(); offset += piece) {
      const std::size_t n = std::min(piece, container.size() - offset);
      const HttpReply r = PutPiece(u, upload_id, offset, std::span(container).subspan(offset, n));
      ASSERT_EQ(r.status, 200) << "piece at " << offset << ": " << r.body;
      ASSERT_EQ(JInt(ParseJson(r.body), "/received"), static_cast<std::int64_t>(offset + n));
    }
  }

  // Start, all pieces, complete: the completion's answer.
  HttpReply Upload(const User& u, const Bytes& container, const std::string& parent_id,
                   const std::string& name_hmac,
                   std::optional<std::int64_t> base_version = std::nullopt,
                   std::size_t piece = kMiB) {
    const std::string upload_id = StartUpload(
        u, FileIdOf(container), static_cast<std::int64_t>(container.size()), base_version);
    if (upload_id.empty()) return {};
    SendAll(u, upload_id, container, piece);
    return Complete(u, upload_id, parent_id, name_hmac);
  }

  // --- reading ---

  HttpReply GetFile(const User& u, const std::string& file_id) {
    return Api(u, "GET", "/api/v1/room/files/" + file_id);
  }
  HttpReply GetContent(const User& u, const std::string& file_id,
                       const std::map<std::string, std::string>& headers = {}) {
    return Api(u, "GET", "/api/v1/room/files/" + file_id + "/content", "", headers);
  }

  // Audit events with this action (newest first), as the owner (an admin) sees them.
  json::array AuditEvents(const std::string& action) {
    const HttpReply r = Api(a_, "GET", "/api/v1/admin/audit?limit=1000&action=" + action);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.status == 200 ? JArr(ParseJson(r.body), "/events") : json::array();
  }
  // The audit events with `action` and `target`.
  std::vector<json::value> AuditFor(const std::string& action, const std::string& target) {
    std::vector<json::value> out;
    for (const auto& e : AuditEvents(action)) {
      if (JStr(e, "/target") == target) out.push_back(e);
    }
    return out;
  }

  // --- the data directory ---

  // Blob files (relative to the blob directory), not counting bookkeeping (LOCK, tmp/).
  std::vector<std::string> BlobFiles(bool include_staging = true) {
    std::vector<std::string> out;
    std::error_code ec;
    for (fs::recursive_directory_iterator it(portal_.blob_dir(), ec), end; !ec && it != end;
         it.increment(ec)) {
      if (!it->is_regular_file()) continue;
      const std::string rel = fs::relative(it->path(), portal_.blob_dir()).string();
      if (rel == "LOCK" || rel.starts_with("tmp/")) continue;
      if (!include_staging && rel.starts_with("staging/")) continue;
      out.push_back(rel);
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  // The committed blobs holding a version of `file_id` (named "f<file id>-<upload id>").
  std::vector<std::string> BlobsOfFile(const std::string& file_id) {
    std::vector<std::string> out;
    for (const auto& rel : BlobFiles(false)) {
      if (fs::path(rel).filename().string().starts_with("f" + file_id)) out.push_back(rel);
    }
    return out;
  }
  // The blob id inside an ETag "v{version}-{blob}".
  static std::string BlobOfEtag(const std::string& etag) {
    const auto dash = etag.find('-');
    if (etag.size() < 4 || dash == std::string::npos) return {};
    return etag.substr(dash + 1, etag.size() - dash - 2);
  }
  bool BlobExists(const std::string& blob_id) {
    return !blob_id.empty() &&
           fs::exists(fs::path(portal_.blob_dir()) / blob_id.substr(0, 2) / blob_id);
  }

  Portal portal_;
  User a_, b_, c_;
};

// --- 1. folders ---------------------------------------------------------------------------

TEST_F(RoomApiTest, FoldersTreeNamesVisibilityMovesAndDeletes) {
  // No room before the client makes the root.
  EXPECT_API_ERROR(Api(a_, "GET", "/api/v1/room/root"), 404, "not_found");
  EXPECT_API_ERROR(portal_.Request("GET", "/api/v1/room/root", "", ""), 401, "unauthenticated");

  // Malformed folder bodies are refused before anything is stored.
  const std::string bad_id = NewId();
  {
    json::object body = FolderBody(bad_id, std::nullopt, std::nullopt);
    body["sealed_key"] = B64(RandomBytes(79));
    EXPECT_API_ERROR(Post(a_, "/api/v1/room/folders", body), 400, "invalid_request");
    body = FolderBody(bad_id, std::nullopt, std::nullopt);
    body["signature"] = B64(RandomBytes(63));
    EXPECT_API_ERROR(Post(a_, "/api/v1/room/folders", body), 400, "invalid_request");
    body = FolderBody(bad_id, std::nullopt, std::nullopt);
    body["record"] = B64(RandomBytes(4097));
    EXPECT_API_ERROR(Post(a_, "/api/v1/room/folders", body), 400, "invalid_request");
    body = FolderBody(bad_id, std::nullopt, std::nullopt);
    body["id"] = "ABCDEF0123456789ABCDEF0123456789";  // Upper-case hex.
    EXPECT_API_ERROR(Post(a_, "/api/v1/room/folders", body), 400, "invalid_request");
    // parent_id and name_hmac go together.
    EXPECT_API_ERROR(CreateFolderReply(a_, bad_id, NewId(), std::nullopt), 400, "invalid_request");
    EXPECT_API_ERROR(CreateFolderReply(a_, bad_id, std::nullopt, NewNameHmac()), 400,
                     "invalid_request");
  }
  EXPECT_API_ERROR(Api(a_, "GET", "/api/v1/room/root"), 404, "not_found");

  // The root: no parent, no name.
  const std::string root = NewId();
  const json::object root_body = FolderBody(root, std::nullopt, std::nullopt);
  const HttpReply created = Post(a_, "/api/v1/room/folders", root_body);
  ASSERT_EQ(created.status, 201) << created.body;
  {
    const json::value v = ParseJson(created.body);
    EXPECT_EQ(JStr(v, "/id"), root);
    EXPECT_EQ(JStr(v, "/owner_id"), a_.user_id);
    EXPECT_TRUE(JIsNull(v, "/parent_id")) << created.body;
    EXPECT_TRUE(JIsNull(v, "/name_hmac")) << created.body;
    EXPECT_EQ(JInt(v, "/revision"), 1);
    EXPECT_EQ(JStr(v, "/record"), root_body.at("record").as_string());
    EXPECT_EQ(JStr(v, "/sealed_key"), root_body.at("sealed_key").as_string());
    EXPECT_EQ(JStr(v, "/signature"), root_body.at("signature").as_string());
  }
  const HttpReply root_reply = Api(a_, "GET", "/api/v1/room/root");
  ASSERT_EQ(root_reply.status, 200) << root_reply.body;
  EXPECT_EQ(JStr(ParseJson(root_reply.body), "/id"), root);
  EXPECT_EQ(JStr(ParseJson(root_reply.body), "/record"), root_body.at("record").as_string());

  // One root per user.
  EXPECT_API_ERROR(CreateFolderReply(a_, NewId()), 409, "root_exists");
  // B's room is separate: B has no root yet, and can make one.
  EXPECT_API_ERROR(Api(b_, "GET", "/api/v1/room/root"), 404, "not_found");
  const std::string b_root = CreateFolder(b_);
  ASSERT_FALSE(b_root.empty());

  // Subfolders; names are unique per parent only.
  const std::string name1 = NewNameHmac();
  const std::string docs = CreateFolder(a_, root, name1);
  ASSERT_FALSE(docs.empty());
  EXPECT_API_ERROR(CreateFolderReply(a_, NewId(), root, name1), 409, "name_taken");
  const std::string nested = CreateFolder(a_, docs, name1);  // Same name, another parent.
  ASSERT_FALSE(nested.empty());
  const std::string deep = CreateFolder(a_, nested, NewNameHmac());
  ASSERT_FALSE(deep.empty());
  // An id already in use.
  EXPECT_EQ(CreateFolderReply(a_, docs, root, NewNameHmac()).status, 409);
  // A parent that is not one of the caller's folders: B cannot put anything into A's tree,
  // and a file id is not a folder either (checked below with a file).
  EXPECT_API_ERROR(CreateFolderReply(b_, NewId(), root, NewNameHmac()), 404, "not_found");
  EXPECT_API_ERROR(CreateFolderReply(a_, NewId(), NewId(), NewNameHmac()), 404, "not_found");

  // A file with a taken name is refused at completion, and leaves nothing behind.
  {
    const Bytes c = Encrypt(a_.id(), {a_.bundle()}, RandomBytes(5000));
    const HttpReply r = Upload(a_, c, root, name1);
    EXPECT_API_ERROR(r, 409, "name_taken");
    EXPECT_API_ERROR(GetFile(a_, FileIdOf(c)), 404, "not_found");
    EXPECT_TRUE(BlobsOfFile(FileIdOf(c)).empty());
    // A file cannot be the parent of a folder.
    const HttpReply ok = Upload(a_, c, root, NewNameHmac());
    ASSERT_EQ(ok.status, 201) << ok.body;
    EXPECT_API_ERROR(CreateFolderReply(a_, NewId(), FileIdOf(c), NewNameHmac()), 404, "not_found");
    // And a folder cannot take a file's name.
    EXPECT_API_ERROR(CreateFolderReply(a_, NewId(), root, JStr(ParseJson(ok.body), "/name_hmac")),
                     409, "name_taken");
    EXPECT_EQ(Api(a_, "DELETE", "/api/v1/room/files/" + FileIdOf(c)).status, 204);
  }

  // Listing: the folder and its direct children.
  {
    const HttpReply r = Api(a_, "GET", "/api/v1/room/folders/" + root);
    ASSERT_EQ(r.status, 200) << r.body;
    const json::value v = ParseJson(r.body);
    EXPECT_EQ(JStr(v, "/folder/id"), root);
    EXPECT_EQ(Ids(JArr(v, "/folders")), std::set<std::string>{docs});
    EXPECT_TRUE(JArr(v, "/files").empty());
    const HttpReply d = Api(a_, "GET", "/api/v1/room/folders/" + docs);
    ASSERT_EQ(d.status, 200) << d.body;
    const json::value dv = ParseJson(d.body);
    EXPECT_EQ(JStr(dv, "/folder/parent_id"), root);
    EXPECT_EQ(JStr(dv, "/folder/name_hmac"), name1);
    EXPECT_EQ(Ids(JArr(dv, "/folders")), std::set<std::string>{nested});
  }

  // Another user's folder answers exactly like one that does not exist.
  {
    const HttpReply theirs = Api(b_, "GET", "/api/v1/room/folders/" + docs);
    const HttpReply missing = Api(b_, "GET", "/api/v1/room/folders/" + NewId());
    EXPECT_API_ERROR(theirs, 404, "not_found");
    EXPECT_API_ERROR(missing, 404, "not_found");
    EXPECT_EQ(theirs.body, missing.body);
    EXPECT_API_ERROR(Api(a_, "GET", "/api/v1/room/folders/not-an-id"), 404, "not_found");
    EXPECT_API_ERROR(Api(b_, "DELETE", "/api/v1/room/folders/" + deep), 404, "not_found");
    EXPECT_API_ERROR(Post(b_, "/api/v1/room/folders/" + deep + "/move",
                          json::object{{"parent_id", b_root},
                                       {"name_hmac", NewNameHmac()},
                                       {"revision", 2},
                                       {"record", B64(RandomBytes(100))},
                                       {"signature", B64(RandomBytes(64))}}),
                     404, "not_found");
  }

  // Moves: revision must be the stored one + 1; no cycles; names stay unique.
  auto move = [&](const std::string& id, const std::string& parent, const std::string& name,
                  std::int64_t revision) {
    return Post(a_, "/api/v1/room/folders/" + id + "/move",
                json::object{{"parent_id", parent},
                             {"name_hmac", name},
                             {"revision", revision},
                             {"record", B64(RandomBytes(100))},
                             {"signature", B64(RandomBytes(64))}});
  };
  const std::string deep_name = NewNameHmac();
  EXPECT_API_ERROR(move(deep, root, deep_name, 3), 409, "version_conflict");
  EXPECT_API_ERROR(move(deep, root, deep_name, 1), 400, "invalid_request");   // Below 2.
  EXPECT_API_ERROR(move(nested, nested, deep_name, 2), 400, "invalid_move");  // Into itself.
  EXPECT_API_ERROR(move(docs, deep, deep_name, 2), 400, "invalid_move");      // Below itself.
  EXPECT_API_ERROR(move(root, docs, deep_name, 2), 400, "invalid_move");      // The root.
  EXPECT_API_ERROR(move(deep, root, name1, 2), 409, "name_taken");
  EXPECT_API_ERROR(move(deep, b_root, deep_name, 2), 404, "not_found");  // B's folder.
  const HttpReply moved = move(deep, root, deep_name, 2);
  ASSERT_EQ(moved.status, 200) << moved.body;
  EXPECT_EQ(JInt(ParseJson(moved.body), "/revision"), 2);
  EXPECT_EQ(JStr(ParseJson(moved.body), "/parent_id"), root);
  {
    const json::value v = ParseJson(Api(a_, "GET", "/api/v1/room/folders/" + deep).body);
    EXPECT_EQ(JStr(v, "/folder/parent_id"), root);
    EXPECT_EQ(JStr(v, "/folder/name_hmac"), deep_name);
    EXPECT_EQ(JInt(v, "/folder/revision"), 2);
    EXPECT_EQ(Ids(JArr(ParseJson(Api(a_, "GET", "/api/v1/room/folders/" + root).body), "/folders")),
              (std::set<std::string>{docs, deep}));
  }
  // The same revision again is a conflict (someone else moved it first).
  EXPECT_API_ERROR(move(deep, docs, NewNameHmac(), 2), 409, "version_conflict");
  const HttpReply moved_again = move(deep, docs, NewNameHmac(), 3);
  EXPECT_EQ(moved_again.status, 200) << moved_again.body;

  // Deletes: only empty folders, depth first.
  EXPECT_API_ERROR(Api(a_, "DELETE", "/api/v1/room/folders/" + docs), 409, "folder_not_empty");
  EXPECT_API_ERROR(Api(a_, "DELETE", "/api/v1/room/folders/" + root), 409, "folder_not_empty");
  EXPECT_EQ(Api(a_, "DELETE", "/api/v1/room/folders/" + deep).status, 204);
  EXPECT_EQ(Api(a_, "DELETE", "/api/v1/room/folders/" + nested).status, 204);
  EXPECT_API_ERROR(Api(a_, "DELETE", "/api/v1/room/folders/" + nested), 404, "not_found");
  EXPECT_API_ERROR(Api(a_, "GET", "/api/v1/room/folders/" + nested), 404, "not_found");
  EXPECT_EQ(Api(a_, "DELETE", "/api/v1/room/folders/" + docs).status, 204);
  EXPECT_TRUE(
      JArr(ParseJson(Api(a_, "GET", "/api/v1/room/folders/" + root).body), "/folders").empty());

  // The audit trail names each change.
  EXPECT_EQ(AuditFor("room.folder.create", root).size(), 1u);
  EXPECT_EQ(AuditFor("room.folder.create", docs).size(), 1u);
  EXPECT_EQ(AuditFor("room.folder.create", b_root).size(), 1u);
  EXPECT_EQ(AuditFor("room.move", deep).size(), 2u);
  EXPECT_EQ(AuditFor("room.delete", docs).size(), 1u);
  const auto create_events = AuditFor("room.folder.create", docs);
  if (!create_events.empty()) {
    EXPECT_EQ(JStr(create_events[0], "/actor"), a_.user_id);
    EXPECT_EQ(JStr(create_events[0], "/result"), "success");
  }
}

// --- 2. uploads ---------------------------------------------------------------------------

TEST_F(RoomApiTest, UploadInPiecesResumesAfterABrokenConnectionAndCompletes) {
  const std::string root = CreateFolder(a_);
  ASSERT_FALSE(root.empty());
  const Bytes plaintext = RandomBytes(1500 * 1024);
  const Bytes container = Encrypt(a_.id(), {a_.bundle()}, plaintext);
  const std::string file_id = FileIdOf(container);
  const auto size = static_cast<std::int64_t>(container.size());

  // Malformed starts.
  EXPECT_API_ERROR(StartUploadReply(a_, file_id, 0), 400, "invalid_request");
  EXPECT_API_ERROR(StartUploadReply(a_, "xyz", size), 400, "invalid_request");
  EXPECT_API_ERROR(StartUploadReply(a_, file_id, size, 1), 404, "not_found");  // No such file.

  const std::string upload = StartUpload(a_, file_id, size);
  ASSERT_FALSE(upload.empty());
  // Someone else's upload does not exist for them.
  EXPECT_API_ERROR(Api(b_, "GET", "/api/v1/room/uploads/" + upload), 404, "not_found");
  EXPECT_API_ERROR(PutPiece(b_, upload, 0, std::span(container).first(100)), 404, "not_found");
  EXPECT_API_ERROR(Api(a_, "GET", "/api/v1/room/uploads/" + NewId()), 404, "not_found");

  // First piece.
  const std::size_t first = 100000;
  {
    const HttpReply r = PutPiece(a_, upload, 0, std::span(container).first(first));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(JInt(ParseJson(r.body), "/received"), static_cast<std::int64_t>(first));
  }
  EXPECT_EQ(Received(a_, upload), static_cast<std::int64_t>(first));

  // Wrong offsets: behind, ahead, missing.
  EXPECT_API_ERROR(PutPiece(a_, upload, 0, std::span(container).first(10)), 409, "offset_mismatch");
  EXPECT_API_ERROR(PutPiece(a_, upload, first + 1, std::span(container).subspan(first + 1, 10)),
                   409, "offset_mismatch");
  EXPECT_API_ERROR(portal_.Request("PUT", "/api/v1/room/uploads/" + upload, "abc", a_.token,
                                   {{"Content-Type", "application/octet-stream"}}),
                   400, "invalid_request");
  EXPECT_API_ERROR(portal_.Request("PUT", "/api/v1/room/uploads/" + upload + "?offset=-1", "abc",
                                   a_.token, {{"Content-Type", "application/octet-stream"}}),
                   400, "invalid_request");
  EXPECT_EQ(Received(a_, upload), static_cast<std::int64_t>(first));

  // Not complete, not visible.
  EXPECT_API_ERROR(Complete(a_, upload, root, NewNameHmac()), 409, "upload_incomplete");
  EXPECT_API_ERROR(GetFile(a_, file_id), 404, "not_found");
  EXPECT_API_ERROR(GetContent(a_, file_id), 404, "not_found");

  // The connection breaks in the middle of a piece: the header promises the rest of the
  // container, 700 KiB of it arrive, then the socket closes.
  const std::size_t rest = container.size() - first;
  const std::size_t sent = 700 * 1024;
  ASSERT_GT(rest, sent);
  RawConnection broken("127.0.0.1", portal_.port());
  ASSERT_TRUE(broken.connected());
  ASSERT_TRUE(broken.Send(RawPutHeader(a_, upload, first, rest) +
                          AsString(std::span(container).subspan(first, sent))));
  // While it is open, what it stored so far shows in `received` ...
  std::int64_t during = Received(a_, upload);
  for (const auto until = std::chrono::steady_clock::now() + 10s;
       during <= static_cast<std::int64_t>(first) && std::chrono::steady_clock::now() < until;
       during = Received(a_, upload)) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_GT(during, static_cast<std::int64_t>(first)) << "arrived pieces are not stored";
  EXPECT_LE(during, static_cast<std::int64_t>(first + sent));
  // ... and no other request may write to the upload or complete it meanwhile.
  EXPECT_API_ERROR(PutPiece(a_, upload, static_cast<std::uint64_t>(during),
                            std::span(container).subspan(static_cast<std::size_t>(during), 10)),
                   409, "offset_mismatch");
  EXPECT_API_ERROR(Complete(a_, upload, root, NewNameHmac()), 409, "upload_incomplete");
  broken.Close();

  // The server keeps what it stored. Wait until it has seen the end of that connection
  // (a piece at the current `received` is then accepted), then resume from `received`.
  std::int64_t kept = -1;
  bool resumed = false;
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (!resumed && std::chrono::steady_clock::now() < deadline) {
    kept = Received(a_, upload);
    ASSERT_GE(kept, during);
    ASSERT_LE(kept, static_cast<std::int64_t>(first + sent));
    const HttpReply r = PutPiece(a_, upload, static_cast<std::uint64_t>(kept),
                                 std::span(container).subspan(static_cast<std::size_t>(kept)));
    if (r.status == 409 && ErrorCode(r) == "offset_mismatch") {
      std::this_thread::sleep_for(10ms);  // The broken request still holds the upload.
      continue;
    }
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(JInt(ParseJson(r.body), "/received"), size);
    resumed = true;
  }
  ASSERT_TRUE(resumed) << "the upload did not resume after the broken connection; received="
                       << kept;
  EXPECT_EQ(Received(a_, upload), size);

  // A byte past the declared size.
  EXPECT_API_ERROR(PutPiece(a_, upload, static_cast<std::uint64_t>(size), Bytes{1}), 413,
                   "too_large");
  EXPECT_EQ(Received(a_, upload), size);
  EXPECT_API_ERROR(GetFile(a_, file_id), 404, "not_found");  // Still only an upload.
  EXPECT_FALSE(BlobFiles().empty());                         // ... staged.
  EXPECT_TRUE(BlobsOfFile(file_id).empty());

  // Completion: the file, version 1, its recipients mirroring the container's stanzas.
  const std::string name = NewNameHmac();
  const Bytes record = RandomBytes(333);
  const HttpReply done = Complete(a_, upload, root, name, record);
  ASSERT_EQ(done.status, 201) << done.body;
  const json::value f = ParseJson(done.body);
  EXPECT_EQ(JStr(f, "/id"), file_id);
  EXPECT_EQ(JStr(f, "/owner_id"), a_.user_id);
  EXPECT_EQ(JStr(f, "/author_id"), a_.user_id);
  EXPECT_EQ(JStr(f, "/parent_id"), root);
  EXPECT_EQ(JStr(f, "/name_hmac"), name);
  EXPECT_EQ(JInt(f, "/version"), 1);
  EXPECT_EQ(JInt(f, "/size"), size);
  EXPECT_EQ(JStr(f, "/content_type"), kDocx);
  EXPECT_EQ(JStr(f, "/record"), B64(record));
  const json::array recipients = JArr(f, "/recipients");
  ASSERT_EQ(recipients.size(), 1u) << done.body;
  EXPECT_EQ(JStr(recipients[0], "/user_id"), a_.user_id);
  EXPECT_EQ(JStr(recipients[0], "/fingerprint"), a_.fingerprint_hex());
  const std::string etag = JStr(f, "/etag");
  EXPECT_TRUE(etag.starts_with("\"v1-")) << etag;
  EXPECT_TRUE(BlobExists(BlobOfEtag(etag))) << etag;
  EXPECT_EQ(BlobsOfFile(file_id).size(), 1u);
  EXPECT_EQ(BlobFiles(true), BlobFiles(false)) << "the staged bytes must be gone";

  // The upload is used up; the file is visible, in its folder, and reads back whole.
  EXPECT_API_ERROR(Api(a_, "GET", "/api/v1/room/uploads/" + upload), 404, "not_found");
  EXPECT_API_ERROR(Complete(a_, upload, root, NewNameHmac()), 404, "not_found");
  const HttpReply got = GetFile(a_, file_id);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(JStr(ParseJson(got.body), "/etag"), etag);
  EXPECT_EQ(JInt(ParseJson(got.body), "/version"), 1);
  EXPECT_EQ(Ids(JArr(ParseJson(Api(a_, "GET", "/api/v1/room/folders/" + root).body), "/files")),
            std::set<std::string>{file_id});
  const HttpReply content = GetContent(a_, file_id);
  ASSERT_EQ(content.status, 200);
  EXPECT_TRUE(content.body == AsString(container)) << "downloaded container differs";
  const auto opened = Decrypt(Bytes(content.body.begin(), content.body.end()), a_.id());
  ASSERT_TRUE(opened.has_value());
  EXPECT_TRUE(*opened == plaintext);

  // A second "new file" with the same id is refused at the start.
  EXPECT_API_ERROR(StartUploadReply(a_, file_id, size), 409, "file_exists");
  EXPECT_EQ(AuditFor("room.upload", file_id).size(), 1u);

  // Cancelling an upload removes its staged bytes.
  const Bytes other = Encrypt(a_.id(), {a_.bundle()}, RandomBytes(3000));
  const std::string cancelled =
      StartUpload(a_, FileIdOf(other), static_cast<std::int64_t>(other.size()));
  ASSERT_EQ(PutPiece(a_, cancelled, 0, std::span(other).first(1000)).status, 200);
  EXPECT_NE(BlobFiles(true), BlobFiles(false));
  EXPECT_EQ(Api(a_, "DELETE", "/api/v1/room/uploads/" + cancelled).status, 204);
  EXPECT_API_ERROR(Api(a_, "GET", "/api/v1/room/uploads/" + cancelled), 404, "not_found");
  EXPECT_EQ(BlobFiles(true), BlobFiles(false));
}

std::string Chunk(std::string_view data) {
  std::ostringstream hex;
  hex << std::hex << data.size();
  return hex.str() + "\r\n" + std::string(data) + "\r\n";
}

// How many responses with this status line a raw exchange holds.
std::size_t CountStatus(const std::string& raw, const std::string& status_line) {
  std::size_t n = 0;
  for (auto at = raw.find(status_line); at != std::string::npos;
       at = raw.find(status_line, at + 1)) {
    ++n;
  }
  return n;
}

TEST_F(RoomApiTest, UploadBodiesPastTheDeclaredSizeAreRefused) {
  const std::string root = CreateFolder(a_);
  ASSERT_FALSE(root.empty());
  const Bytes container = Encrypt(a_.id(), {a_.bundle()}, RandomBytes(20000));
  const auto size = static_cast<std::int64_t>(container.size());
  const std::string upload = StartUpload(a_, FileIdOf(container), size);
  ASSERT_FALSE(upload.empty());

  // Content-Length says more than fits: refused.
  Bytes too_much = container;
  too_much.resize(container.size() + 1000, 0x55);
  EXPECT_API_ERROR(PutPiece(a_, upload, 0, too_much), 413, "too_large");
  EXPECT_EQ(Received(a_, upload), 0);
  ASSERT_EQ(PutPiece(a_, upload, 0, std::span(container).first(5000)).status, 200);
  EXPECT_API_ERROR(PutPiece(a_, upload, 5000, std::span(too_much).subspan(5000)), 413, "too_large");
  EXPECT_EQ(Received(a_, upload), 5000);

  // A chunked body has no length up front: refused when the bytes arrive, none of them kept.
  {
    const std::string answer =
        RawExchange("127.0.0.1", portal_.port(),
                    RawPutHeader(a_, upload, 5000, std::nullopt, /*close=*/true) +
                        Chunk(AsString(std::span(too_much).subspan(5000))) + "0\r\n\r\n");
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 413")) << answer.substr(0, 300);
    EXPECT_NE(answer.find("\"too_large\""), std::string::npos) << answer.substr(0, 300);
  }
  EXPECT_EQ(Received(a_, upload), 5000);

  // A chunked body that fits is fine; so is a request after it on the same connection.
  {
    const std::string answer =
        RawExchange("127.0.0.1", portal_.port(),
                    RawPutHeader(a_, upload, 5000, std::nullopt) +
                        Chunk(AsString(std::span(container).subspan(5000, 7000))) +
                        Chunk(AsString(std::span(container).subspan(12000))) + "0\r\n\r\n" +
                        "GET /api/v1/room/uploads/" + upload + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                        "Authorization: Bearer " + a_.token + "\r\nConnection: close\r\n\r\n");
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 200")) << answer.substr(0, 300);
    EXPECT_EQ(CountStatus(answer, "HTTP/1.1 200 OK\r\n"), 2u) << answer;
    EXPECT_EQ(CountStatus(answer, "\"received\":" + std::to_string(size)), 2u) << answer;
  }
  EXPECT_EQ(Received(a_, upload), size);

  // While a piece is still arriving the upload cannot complete (even when the bytes so far
  // are all there: a chunked piece at the end may still bring more).
  {
    RawConnection slow("127.0.0.1", portal_.port());
    ASSERT_TRUE(slow.connected());
    ASSERT_TRUE(slow.Send(RawPutHeader(a_, upload, static_cast<std::uint64_t>(size), std::nullopt,
                                       /*close=*/true)));
    // Wait until the server holds the upload for it: an empty piece is then refused.
    bool held = false;
    for (const auto until = std::chrono::steady_clock::now() + 10s;
         !held && std::chrono::steady_clock::now() < until;) {
      const HttpReply probe = PutPiece(a_, upload, static_cast<std::uint64_t>(size), Bytes{});
      held = probe.status == 409;
      if (!held) {
        ASSERT_EQ(probe.status, 200) << probe.body;
        std::this_thread::sleep_for(10ms);
      }
    }
    ASSERT_TRUE(held);
    EXPECT_API_ERROR(Complete(a_, upload, root, NewNameHmac()), 409, "upload_busy");
    EXPECT_EQ(Received(a_, upload), size);  // The refused completion kept the upload.
    ASSERT_TRUE(slow.Send("0\r\n\r\n"));
    const std::string answer = slow.ReadUntilClose();
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 200")) << answer.substr(0, 300);
  }
  const HttpReply done = Complete(a_, upload, root, NewNameHmac());
  EXPECT_EQ(done.status, 201) << done.body;
  const HttpReply content = GetContent(a_, FileIdOf(container));
  EXPECT_TRUE(content.body == AsString(container));

  // A body of more than one of the server's 256 KiB pieces that ends one byte past the
  // declared size is refused from its Content-Length, before any of it is stored. (Kept
  // small: the answer comes before the body is read, and the connection then closes, so a
  // client still writing a large body would see a reset instead of the 413.)
  const Bytes big = Encrypt(a_.id(), {a_.bundle()}, RandomBytes(300 * 1024));
  const std::string big_upload =
      StartUpload(a_, FileIdOf(big), static_cast<std::int64_t>(big.size()));
  ASSERT_FALSE(big_upload.empty());
  Bytes one_more = big;
  one_more.push_back(0);
  const HttpReply refused = PutPiece(a_, big_upload, 0, one_more);
  EXPECT_API_ERROR(refused, 413, "too_large");
  EXPECT_EQ(Received(a_, big_upload), 0) << "part of a refused piece was stored";
  SendAll(a_, big_upload, big);
  EXPECT_EQ(Complete(a_, big_upload, root, NewNameHmac()).status, 201);
}

// Completions the server refuses after parsing the container header: each leaves no file, no
// committed blob and no staged bytes.
TEST_F(RoomApiTest, CompletionRefusesWrongTypesAuthorsRecipientsAndContainers) {
  const std::string root = CreateFolder(a_);
  ASSERT_FALSE(root.empty());
  const std::vector<std::string> blobs_before = BlobFiles();
  auto refused = [&](const Bytes& container, int status, const std::string& code,
                     const std::string& what) {
    SCOPED_TRACE(what);
    const std::string file_id = FileIdOf(container);
    const HttpReply r = Upload(a_, container, root, NewNameHmac());
    EXPECT_API_ERROR(r, status, code);
    EXPECT_FALSE(ErrorMessage(r).empty());
    EXPECT_API_ERROR(GetFile(a_, file_id), 404, "not_found");
    EXPECT_TRUE(BlobsOfFile(file_id).empty()) << "a refused container stayed in the blob store";
    EXPECT_EQ(BlobFiles(), blobs_before) << "a refused upload left bytes behind";
  };
  const Bytes plaintext = RandomBytes(10000);

  refused(Encrypt(a_.id(), {a_.bundle()}, plaintext, kPdf), 415, "type_not_allowed", "pdf");
  refused(Encrypt(a_.id(), {a_.bundle()}, plaintext, "text/plain"), 415, "type_not_allowed",
          "text");
  // Written and signed by B: the uploader is A.
  refused(Encrypt(b_.id(), {a_.bundle(), b_.bundle()}, plaintext), 400, "author_mismatch",
          "signed by another user");
  // Signed under A's user id by a key A never registered.
  {
    auto impostor = crypto::Identity::Generate(a_.user_id);
    ASSERT_TRUE(impostor.has_value());
    refused(Encrypt(*impostor, {impostor->public_bundle()}, plaintext), 400, "author_mismatch",
            "A's user id, another key");
  }
  // A recipient named with C's user id but a key that is not C's registered one.
  {
    auto fake_c = crypto::Identity::Generate(c_.user_id);
    ASSERT_TRUE(fake_c.has_value());
    refused(Encrypt(a_.id(), {a_.bundle(), fake_c->public_bundle()}, plaintext), 400,
            "unknown_recipient", "C's user id, another key");
    auto nobody = crypto::Identity::Generate("u-" + RandomHexId(16));
    ASSERT_TRUE(nobody.has_value());
    refused(Encrypt(a_.id(), {a_.bundle(), nobody->public_bundle()}, plaintext), 400,
            "unknown_recipient", "no such user");
  }
  // The uploader (and owner) must be able to open it.
  refused(Encrypt(a_.id(), {b_.bundle()}, plaintext), 400, "invalid_container",
          "owner not a recipient");

  // Not a container at all.
  {
    const Bytes junk = RandomBytes(4000);
    const std::string file_id = NewId();
    const std::string upload = StartUpload(a_, file_id, static_cast<std::int64_t>(junk.size()));
    ASSERT_EQ(PutPiece(a_, upload, 0, junk).status, 200);
    EXPECT_API_ERROR(Complete(a_, upload, root, NewNameHmac()), 400, "invalid_container");
    EXPECT_API_ERROR(GetFile(a_, file_id), 404, "not_found");
    EXPECT_EQ(BlobFiles(), blobs_before);
  }
  // A container whose file id is not the upload's.
  {
    const Bytes c = Encrypt(a_.id(), {a_.bundle()}, plaintext);
    const std::string other_id = NewId();
    const std::string upload = StartUpload(a_, other_id, static_cast<std::int64_t>(c.size()));
    ASSERT_EQ(PutPiece(a_, upload, 0, c).status, 200);
    EXPECT_API_ERROR(Complete(a_, upload, root, NewNameHmac()), 400, "invalid_container");
    EXPECT_API_ERROR(GetFile(a_, other_id), 404, "not_found");
    EXPECT_API_ERROR(GetFile(a_, FileIdOf(c)), 404, "not_found");
    EXPECT_EQ(BlobFiles(), blobs_before);
  }
  // Into a folder that is not the caller's.
  {
    const std::string b_root = CreateFolder(b_);
    const Bytes c = Encrypt(a_.id(), {a_.bundle()}, plaintext);
    const HttpReply r = Upload(a_, c, b_root, NewNameHmac());
    EXPECT_API_ERROR(r, 404, "not_found");
    EXPECT_EQ(BlobFiles(), blobs_before);
  }

  // The same, done right, is accepted: the refusals were about what they said.
  const HttpReply ok =
      Upload(a_, Encrypt(a_.id(), {a_.bundle(), b_.bundle(), c_.bundle()}, plaintext, kXlsx), root,
             NewNameHmac());
  ASSERT_EQ(ok.status, 201) << ok.body;
  const json::value f = ParseJson(ok.body);
  EXPECT_EQ(JStr(f, "/content_type"), kXlsx);
  std::set<std::pair<std::string, std::string>> rows, expected{{a_.user_id, a_.fingerprint_hex()},
                                                               {b_.user_id, b_.fingerprint_hex()},
                                                               {c_.user_id, c_.fingerprint_hex()}};
  for (const auto& r : JArr(f, "/recipients")) {
    rows.emplace(JStr(r, "/user_id"), JStr(r, "/fingerprint"));
  }
  EXPECT_EQ(rows, expected);
}

class RoomApiSmallLimitTest : public RoomApiTest {
 protected:
  std::vector<std::string> ExtraEnv() const override {
    return {"STRONGROOM_ROOM_MAX_UPLOAD_BYTES=65536"};
  }
  int UserCount() const override { return 1; }
};

TEST_F(RoomApiSmallLimitTest, UploadsAboveMaxUploadBytesAreRefusedAtTheStart) {
  const std::string root = CreateFolder(a_);
  ASSERT_FALSE(root.empty());
  EXPECT_API_ERROR(StartUploadReply(a_, NewId(), 65537), 413, "too_large");
  EXPECT_API_ERROR(StartUploadReply(a_, NewId(), std::int64_t{1} << 40), 413, "too_large");
  EXPECT_TRUE(BlobFiles().empty());
  // At the limit is fine.
  const Bytes small = Encrypt(a_.id(), {a_.bundle()}, RandomBytes(30000));
  ASSERT_LE(small.size(), 65536u);
  const HttpReply ok = Upload(a_, small, root, NewNameHmac());
  EXPECT_EQ(ok.status, 201) << ok.body;
  const Bytes big = Encrypt(a_.id(), {a_.bundle()}, RandomBytes(70000));
  EXPECT_API_ERROR(StartUploadReply(a_, FileIdOf(big), static_cast<std::int64_t>(big.size())), 413,
                   "too_large");
}

// --- 3. downloads -------------------------------------------------------------------------

TEST_F(RoomApiTest, DownloadStreamsBytesWithEtagAndRanges) {
  const std::string root = CreateFolder(a_);
  ASSERT_FALSE(root.empty());
  const Bytes plaintext = RandomBytes(5 * kMiB);
  const Bytes container = Encrypt(a_.id(), {a_.bundle()}, plaintext);
  const std::string file_id = FileIdOf(container);
  const std::uint64_t size = container.size();
  const HttpReply done = Upload(a_, container, root, NewNameHmac(), std::nullopt, kMiB);
  ASSERT_EQ(done.status, 201) << done.body;
  const std::string etag = JStr(ParseJson(done.body), "/etag");
  const std::size_t downloads_before = AuditFor("room.download", file_id).size();

  // The whole container, byte for byte, streamed in many pieces.
  const HttpReply full = GetContent(a_, file_id);
  ASSERT_EQ(full.status, 200) << full.body.substr(0, 300);
  ASSERT_EQ(full.body.size(), size);
  EXPECT_TRUE(full.body == AsString(container)) << "downloaded bytes differ";
  EXPECT_EQ(full.header("content-length"), std::to_string(size));
  EXPECT_EQ(full.header("etag"), etag);
  EXPECT_EQ(full.header("accept-ranges"), "bytes");
  EXPECT_EQ(full.header("content-type"), "application/octet-stream");
  EXPECT_FALSE(full.header("x-request-id").empty());
  {
    const auto opened = Decrypt(Bytes(full.body.begin(), full.body.end()), a_.id());
    ASSERT_TRUE(opened.has_value());
    EXPECT_TRUE(*opened == plaintext);
  }

  // Conditional.
  const HttpReply not_modified = GetContent(a_, file_id, {{"If-None-Match", etag}});
  EXPECT_EQ(not_modified.status, 304);
  EXPECT_TRUE(not_modified.body.empty());
  EXPECT_EQ(not_modified.header("etag"), etag);
  const HttpReply modified = GetContent(a_, file_id, {{"If-None-Match", "\"v0-other\""}});
  EXPECT_EQ(modified.status, 200);
  EXPECT_EQ(modified.body.size(), size);

  // Ranges.
  const std::string whole = AsString(container);
  {
    const HttpReply r = GetContent(a_, file_id, {{"Range", "bytes=10-99"}});
    EXPECT_EQ(r.status, 206);
    EXPECT_EQ(r.header("content-range"), "bytes 10-99/" + std::to_string(size));
    EXPECT_EQ(r.header("content-length"), "90");
    EXPECT_TRUE(r.body == whole.substr(10, 90));
  }
  {
    const HttpReply r = GetContent(a_, file_id, {{"Range", "bytes=-16"}});
    EXPECT_EQ(r.status, 206);
    EXPECT_EQ(r.header("content-range"), "bytes " + std::to_string(size - 16) + "-" +
                                             std::to_string(size - 1) + "/" + std::to_string(size));
    EXPECT_TRUE(r.body == whole.substr(size - 16));
  }
  {  // Across several of the server's 256 KiB pieces, open-ended.
    const std::uint64_t from = 262100;
    const HttpReply r = GetContent(a_, file_id, {{"Range", "bytes=" + std::to_string(from) + "-"}});
    EXPECT_EQ(r.status, 206);
    EXPECT_EQ(r.header("content-range"), "bytes " + std::to_string(from) + "-" +
                                             std::to_string(size - 1) + "/" + std::to_string(size));
    EXPECT_TRUE(r.body == whole.substr(from));
  }
  {  // An end past the file is clamped.
    const HttpReply r = GetContent(
        a_, file_id,
        {{"Range", "bytes=" + std::to_string(size - 5) + "-" + std::to_string(size + 1000)}});
    EXPECT_EQ(r.status, 206);
    EXPECT_TRUE(r.body == whole.substr(size - 5));
  }
  {
    const HttpReply r = GetContent(a_, file_id, {{"Range", "bytes=999999999-"}});
    EXPECT_API_ERROR(r, 416, "range_not_satisfiable");
    EXPECT_EQ(r.header("content-range"), "bytes */" + std::to_string(size));
  }
  {
    const HttpReply r = GetContent(a_, file_id, {{"Range", "bytes=0-9,20-29"}});
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body.size(), size);
    EXPECT_TRUE(r.header("content-range").empty());
  }
  {  // If-Range with another validator: the whole (changed) file.
    const HttpReply r =
        GetContent(a_, file_id, {{"Range", "bytes=10-99"}, {"If-Range", "\"v0-other\""}});
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body.size(), size);
    const HttpReply same = GetContent(a_, file_id, {{"Range", "bytes=10-99"}, {"If-Range", etag}});
    EXPECT_EQ(same.status, 206);
    EXPECT_TRUE(same.body == whole.substr(10, 90));
  }
  {  // A range unit we do not serve: the whole file.
    const HttpReply r = GetContent(a_, file_id, {{"Range", "items=0-1"}});
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body.size(), size);
  }

  // Downloads from the start are audited (not every range a reader fetches): the full GET,
  // the 200 after If-None-Match, the multi-range, the If-Range and the unknown unit.
  EXPECT_EQ(AuditFor("room.download", file_id).size(), downloads_before + 5);
  const auto events = AuditFor("room.download", file_id);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(JStr(events[0], "/actor"), a_.user_id);
  EXPECT_EQ(JInt(events[0], "/detail/version"), 1);

  // A streamed response leaves the connection usable: a range, the whole container and a
  // JSON request, pipelined on one connection.
  {
    const std::string get = "GET /api/v1/room/files/" + file_id +
                            "/content HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
                            a_.token + "\r\n";
    const std::string answer =
        RawExchange("127.0.0.1", portal_.port(),
                    get + "Range: bytes=0-99\r\n\r\n" + get + "\r\n" + "GET /api/v1/room/files/" +
                        file_id + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
                        a_.token + "\r\nConnection: close\r\n\r\n");
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 206")) << answer.substr(0, 300);
    const auto full_at = answer.find(whole);
    EXPECT_NE(full_at, std::string::npos) << "the whole container is not in the second answer";
    EXPECT_EQ(CountStatus(answer, "HTTP/1.1 200 OK\r\n"), 2u);
    EXPECT_TRUE(answer.ends_with("}"))
        << answer.substr(answer.size() - std::min<std::size_t>(300, answer.size()));
    EXPECT_NE(answer.rfind("\"etag\":"), std::string::npos);
  }
}

// --- 4. sharing and authorization ----------------------------------------------------------

TEST_F(RoomApiTest, SharingGrantsAndDenyingRevokesAccess) {
  const std::string root = CreateFolder(a_);
  ASSERT_FALSE(root.empty());
  const Bytes plaintext = RandomBytes(300 * 1024);
  const Bytes v1 = Encrypt(a_.id(), {a_.bundle()}, plaintext);
  const std::string file_id = FileIdOf(v1);
  const std::string name = NewNameHmac();
  const HttpReply first = Upload(a_, v1, root, name);
  ASSERT_EQ(first.status, 201) << first.body;
  const std::string blob1 = BlobOfEtag(JStr(ParseJson(first.body), "/etag"));
  ASSERT_TRUE(BlobExists(blob1));

  // Not shared: B and C see nothing, exactly as for a file that does not exist.
  for (const User* u : {&b_, &c_}) {
    const HttpReply file = GetFile(*u, file_id);
    EXPECT_API_ERROR(file, 404, "not_found");
    EXPECT_EQ(file.body, GetFile(*u, NewId()).body);
    EXPECT_API_ERROR(GetContent(*u, file_id), 404, "not_found");
    EXPECT_API_ERROR(StartUploadReply(*u, file_id, 1000, 1), 404, "not_found");
    EXPECT_API_ERROR(Api(*u, "DELETE", "/api/v1/room/files/" + file_id), 404, "not_found");
    EXPECT_TRUE(JArr(ParseJson(Api(*u, "GET", "/api/v1/room/shared").body), "/files").empty());
  }

  // Share with B: a new header (payload untouched) uploaded as version 2.
  const Bytes v2 = Share(v1, a_.id(), {b_.bundle()});
  ASSERT_EQ(FileIdOf(v2), file_id);
  const HttpReply second = Upload(a_, v2, root, name, 1);
  ASSERT_EQ(second.status, 200) << second.body;
  {
    const json::value f = ParseJson(second.body);
    EXPECT_EQ(JInt(f, "/version"), 2);
    EXPECT_EQ(Ids(JArr(f, "/recipients"), "user_id"),
              (std::set<std::string>{a_.user_id, b_.user_id}));
    EXPECT_EQ(JStr(f, "/author_id"), a_.user_id);
    EXPECT_TRUE(JStr(f, "/etag").starts_with("\"v2-"));
  }
  const std::string blob2 = BlobOfEtag(JStr(ParseJson(second.body), "/etag"));
  EXPECT_TRUE(BlobExists(blob2));
  EXPECT_FALSE(BlobExists(blob1)) << "the previous version's blob must be removed";
  EXPECT_EQ(BlobsOfFile(file_id).size(), 1u);
  {
    const auto share = AuditFor("room.share", file_id);
    ASSERT_EQ(share.size(), 1u);
    EXPECT_EQ(JStr(share[0], "/actor"), a_.user_id);
    EXPECT_EQ(JInt(share[0], "/detail/version"), 2);
    const json::array added = JArr(share[0], "/detail/added");
    ASSERT_EQ(added.size(), 1u);
    EXPECT_EQ(added[0].as_string(), b_.user_id);
  }

  // B sees it in "shared with me" and can read it; A's own file is not "shared" to A.
  {
    const HttpReply shared = Api(b_, "GET", "/api/v1/room/shared");
    ASSERT_EQ(shared.status, 200) << shared.body;
    EXPECT_EQ(Ids(JArr(ParseJson(shared.body), "/files")), std::set<std::string>{file_id});
    EXPECT_TRUE(JArr(ParseJson(Api(a_, "GET", "/api/v1/room/shared").body), "/files").empty());
    EXPECT_EQ(GetFile(b_, file_id).status, 200);
    const HttpReply content = GetContent(b_, file_id);
    ASSERT_EQ(content.status, 200);
    EXPECT_TRUE(content.body == AsString(v2));
    const auto opened = Decrypt(Bytes(content.body.begin(), content.body.end()), b_.id());
    ASSERT_TRUE(opened.has_value()) << "B cannot open the shared container";
    EXPECT_TRUE(*opened == plaintext);
  }
  // C still sees nothing, even knowing the id.
  EXPECT_API_ERROR(GetFile(c_, file_id), 404, "not_found");
  EXPECT_API_ERROR(GetContent(c_, file_id), 404, "not_found");
  EXPECT_TRUE(JArr(ParseJson(Api(c_, "GET", "/api/v1/room/shared").body), "/files").empty());

  // B, a recipient, may not delete or move it, nor share it further.
  EXPECT_API_ERROR(Api(b_, "DELETE", "/api/v1/room/files/" + file_id), 403, "not_owner");
  const std::string b_root = CreateFolder(b_);
  EXPECT_API_ERROR(Post(b_, "/api/v1/room/files/" + file_id + "/move",
                        json::object{{"parent_id", b_root},
                                     {"name_hmac", NewNameHmac()},
                                     {"version", 3},
                                     {"record", B64(RandomBytes(100))},
                                     {"signature", B64(RandomBytes(64))}}),
                   403, "not_owner");
  {
    const Bytes to_c = Share(v2, b_.id(), {c_.bundle()});
    const HttpReply r = Upload(b_, to_c, root, name, 2);
    EXPECT_API_ERROR(r, 403, "not_owner");
    EXPECT_EQ(JInt(ParseJson(GetFile(a_, file_id).body), "/version"), 2);
    EXPECT_EQ(BlobsOfFile(file_id),
              std::vector<std::string>{(fs::path(blob2.substr(0, 2)) / blob2).string()});
    EXPECT_API_ERROR(GetFile(c_, file_id), 404, "not_found");
  }

  // B may save an edit (same recipients) as version 3, in place only.
  const Bytes v3 = Rekey(v2, b_.id(), {a_.bundle(), b_.bundle()});
  {
    const std::string upload = StartUpload(b_, file_id, static_cast<std::int64_t>(v3.size()), 2);
    ASSERT_FALSE(upload.empty());
    SendAll(b_, upload, v3);
    EXPECT_API_ERROR(Complete(b_, upload, root, NewNameHmac()), 403, "not_owner");  // A rename.
    const HttpReply r = Complete(b_, upload, root, name);
    ASSERT_EQ(r.status, 200) << r.body;
    const json::value f = ParseJson(r.body);
    EXPECT_EQ(JInt(f, "/version"), 3);
    EXPECT_EQ(JStr(f, "/author_id"), b_.user_id);
    EXPECT_EQ(JStr(f, "/owner_id"), a_.user_id);
    EXPECT_EQ(AuditFor("room.upload", file_id).size(), 2u);  // v1 by A, v3 by B.
  }

  // Deny B: a rekey for {A} alone as version 4.
  const Bytes v4 = Rekey(v3, a_.id(), {a_.bundle()});
  const HttpReply fourth = Upload(a_, v4, root, name, 3);
  ASSERT_EQ(fourth.status, 200) << fourth.body;
  EXPECT_EQ(JInt(ParseJson(fourth.body), "/version"), 4);
  EXPECT_EQ(Ids(JArr(ParseJson(fourth.body), "/recipients"), "user_id"),
            std::set<std::string>{a_.user_id});
  {
    const auto deny = AuditFor("room.deny", file_id);
    ASSERT_EQ(deny.size(), 1u);
    const json::array removed = JArr(deny[0], "/detail/removed");
    ASSERT_EQ(removed.size(), 1u);
    EXPECT_EQ(removed[0].as_string(), b_.user_id);
  }
  EXPECT_API_ERROR(GetFile(b_, file_id), 404, "not_found");
  EXPECT_API_ERROR(GetContent(b_, file_id), 404, "not_found");
  EXPECT_TRUE(JArr(ParseJson(Api(b_, "GET", "/api/v1/room/shared").body), "/files").empty());
  EXPECT_API_ERROR(StartUploadReply(b_, file_id, 1000, 4), 404, "not_found");
  EXPECT_EQ(BlobsOfFile(file_id).size(), 1u);
  {
    const HttpReply content = GetContent(a_, file_id);
    ASSERT_EQ(content.status, 200);
    EXPECT_TRUE(content.body == AsString(v4));
  }

  // Stale versions: refused at the start, and at completion when another version won.
  EXPECT_API_ERROR(StartUploadReply(a_, file_id, static_cast<std::int64_t>(v4.size()), 1), 409,
                   "version_conflict");
  EXPECT_API_ERROR(StartUploadReply(a_, file_id, static_cast<std::int64_t>(v4.size()), 5), 409,
                   "version_conflict");
  const Bytes v5a = Rekey(v4, a_.id(), {a_.bundle()});
  const Bytes v5b = Rekey(v4, a_.id(), {a_.bundle()});
  const std::string slow = StartUpload(a_, file_id, static_cast<std::int64_t>(v5a.size()), 4);
  ASSERT_FALSE(slow.empty());
  SendAll(a_, slow, v5a);
  const HttpReply fast = Upload(a_, v5b, root, name, 4);
  ASSERT_EQ(fast.status, 200) << fast.body;
  EXPECT_API_ERROR(Complete(a_, slow, root, name), 409, "version_conflict");
  EXPECT_EQ(JInt(ParseJson(GetFile(a_, file_id).body), "/version"), 5);
  EXPECT_TRUE(GetContent(a_, file_id).body == AsString(v5b));
  EXPECT_EQ(BlobsOfFile(file_id).size(), 1u);
}

// --- 5. moves and permanent deletes -------------------------------------------------------

TEST_F(RoomApiTest, FileMoveAndPermanentDelete) {
  const std::string root = CreateFolder(a_);
  ASSERT_FALSE(root.empty());
  const std::string sub = CreateFolder(a_, root, NewNameHmac());
  const std::string taken = NewNameHmac();
  ASSERT_FALSE(CreateFolder(a_, sub, taken).empty());
  const Bytes c = Encrypt(a_.id(), {a_.bundle(), b_.bundle()}, RandomBytes(50000));
  const std::string file_id = FileIdOf(c);
  const HttpReply up = Upload(a_, c, root, NewNameHmac());
  ASSERT_EQ(up.status, 201) << up.body;
  const std::string blob = BlobOfEtag(JStr(ParseJson(up.body), "/etag"));
  ASSERT_TRUE(BlobExists(blob));

  auto move = [&](const User& u, const std::string& parent, const std::string& name,
                  std::int64_t version) {
    return Post(u, "/api/v1/room/files/" + file_id + "/move",
                json::object{{"parent_id", parent},
                             {"name_hmac", name},
                             {"version", version},
                             {"record", B64(RandomBytes(100))},
                             {"signature", B64(RandomBytes(64))}});
  };
  const std::string b_root = CreateFolder(b_);
  const std::string new_name = NewNameHmac();
  EXPECT_API_ERROR(move(a_, sub, new_name, 3), 409, "version_conflict");
  EXPECT_API_ERROR(move(a_, sub, taken, 2), 409, "name_taken");
  EXPECT_API_ERROR(move(a_, b_root, new_name, 2), 404, "not_found");
  EXPECT_API_ERROR(move(b_, b_root, new_name, 2), 403, "not_owner");
  EXPECT_API_ERROR(move(c_, root, new_name, 2), 404, "not_found");
  const HttpReply moved = move(a_, sub, new_name, 2);
  ASSERT_EQ(moved.status, 200) << moved.body;
  EXPECT_EQ(JInt(ParseJson(moved.body), "/version"), 2);
  {
    const json::value f = ParseJson(GetFile(a_, file_id).body);
    EXPECT_EQ(JStr(f, "/parent_id"), sub);
    EXPECT_EQ(JStr(f, "/name_hmac"), new_name);
    EXPECT_EQ(JInt(f, "/version"), 2);
    EXPECT_EQ(Ids(JArr(f, "/recipients"), "user_id"),
              (std::set<std::string>{a_.user_id, b_.user_id}));
  }
  EXPECT_TRUE(BlobExists(blob)) << "a move keeps the content";
  EXPECT_TRUE(GetContent(a_, file_id).body == AsString(c));
  EXPECT_EQ(AuditFor("room.move", file_id).size(), 1u);

  // Delete: permanent, rows and blob.
  EXPECT_API_ERROR(Api(b_, "DELETE", "/api/v1/room/files/" + file_id), 403, "not_owner");
  EXPECT_API_ERROR(Api(c_, "DELETE", "/api/v1/room/files/" + file_id), 404, "not_found");
  const HttpReply deleted = Api(a_, "DELETE", "/api/v1/room/files/" + file_id);
  EXPECT_EQ(deleted.status, 204) << deleted.body;
  EXPECT_FALSE(BlobExists(blob)) << "the container must be gone from " << portal_.blob_dir();
  EXPECT_TRUE(BlobsOfFile(file_id).empty());
  EXPECT_API_ERROR(GetFile(a_, file_id), 404, "not_found");
  EXPECT_API_ERROR(GetContent(a_, file_id), 404, "not_found");
  EXPECT_API_ERROR(GetFile(b_, file_id), 404, "not_found");
  EXPECT_TRUE(JArr(ParseJson(Api(b_, "GET", "/api/v1/room/shared").body), "/files").empty());
  EXPECT_API_ERROR(Api(a_, "DELETE", "/api/v1/room/files/" + file_id), 404, "not_found");
  EXPECT_TRUE(
      JArr(ParseJson(Api(a_, "GET", "/api/v1/room/folders/" + sub).body), "/files").empty());
  const auto del = AuditFor("room.delete", file_id);
  ASSERT_EQ(del.size(), 1u);
  EXPECT_EQ(JStr(del[0], "/detail/kind"), "file");
  // The id is free again only as a new file (no version history survives).
  const HttpReply again = Upload(a_, c, sub, NewNameHmac());
  EXPECT_EQ(again.status, 201) << again.body;
  EXPECT_EQ(JInt(ParseJson(again.body), "/version"), 1);

  // Offline integrity check agrees: no orphan blobs, no rows without blobs.
  ASSERT_EQ(portal_.Stop(), 0);
  const RunResult check = RunProcess({STRONGROOMD_PATH, "check", "--data-dir", portal_.data_dir()});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
}

// --- 6. what the Private Room does not do ----------------------------------------------------

TEST_F(RoomApiTest, CopyVersionsLinksAndFolderUploadAreNotSupported) {
  const std::string root = CreateFolder(a_);
  ASSERT_FALSE(root.empty());
  const Bytes c = Encrypt(a_.id(), {a_.bundle()}, RandomBytes(2000));
  ASSERT_EQ(Upload(a_, c, root, NewNameHmac()).status, 201);
  const std::string file = "/api/v1/room/files/" + FileIdOf(c);
  const std::vector<std::pair<std::string, std::string>> calls{
      {"POST", file + "/copy"},
      {"GET", file + "/versions"},
      {"POST", file + "/versions"},
      {"POST", file + "/links"},
      {"POST", "/api/v1/room/folders/" + root + "/upload"},
  };
  std::set<std::string> messages;
  for (const auto& [method, target] : calls) {
    SCOPED_TRACE(method + " " + target);
    const HttpReply r = Api(a_, method, target, method == "POST" ? "{}" : "");
    EXPECT_API_ERROR(r, 409, "not_supported");
    EXPECT_FALSE(ErrorMessage(r).empty());
    messages.insert(ErrorMessage(r));
    EXPECT_API_ERROR(portal_.Request(method, target, "", ""), 401, "unauthenticated");
  }
  EXPECT_EQ(messages.size(), 4u) << "copy, versions, links and folder upload each say why";
  // Nothing was copied.
  EXPECT_EQ(JArr(ParseJson(Api(a_, "GET", "/api/v1/room/folders/" + root).body), "/files").size(),
            1u);
  EXPECT_API_ERROR(Api(a_, "DELETE", file + "/versions"), 405, "method_not_allowed");
}

// --- 7. portal settings ---------------------------------------------------------------------

TEST_F(RoomApiTest, AdministratorsTurnTheRoomOffAndChooseAllowedTypes) {
  const std::string root = CreateFolder(a_);
  ASSERT_FALSE(root.empty());
  ASSERT_FALSE(CreateFolder(b_).empty());
  const Bytes c = Encrypt(b_.id(), {b_.bundle()}, RandomBytes(5000));
  const std::string b_upload = StartUpload(b_, FileIdOf(c), static_cast<std::int64_t>(c.size()));
  ASSERT_FALSE(b_upload.empty());

  // Users are not administrators.
  EXPECT_API_ERROR(Api(b_, "GET", "/api/v1/admin/settings"), 403, "forbidden");
  EXPECT_API_ERROR(
      Api(b_, "PUT", "/api/v1/admin/settings", R"({"key":"room.enabled","value":false})"), 403,
      "forbidden");
  EXPECT_API_ERROR(portal_.Request("GET", "/api/v1/admin/settings", "", ""), 401,
                   "unauthenticated");

  // Defaults: on, the three OOXML types.
  {
    const HttpReply r = Api(a_, "GET", "/api/v1/admin/settings");
    ASSERT_EQ(r.status, 200) << r.body;
    const json::value v = ParseJson(r.body);
    ASSERT_NE(At(v, "/room.enabled"), nullptr) << r.body;
    EXPECT_TRUE(At(v, "/room.enabled")->is_bool() && At(v, "/room.enabled")->as_bool());
    EXPECT_EQ(JArr(v, "/room.allowed_types").size(), 3u);
  }
  // Bad settings.
  EXPECT_API_ERROR(
      Api(a_, "PUT", "/api/v1/admin/settings", R"({"key":"room.enabled","value":"no"})"), 400,
      "invalid_request");
  EXPECT_API_ERROR(Api(a_, "PUT", "/api/v1/admin/settings", R"({"key":"room.colour","value":1})"),
                   400, "invalid_request");
  EXPECT_API_ERROR(Api(a_, "PUT", "/api/v1/admin/settings",
                       R"({"key":"room.allowed_types","value":["text plain"]})"),
                   400, "invalid_request");

  // Off: every room endpoint answers 403 private_room_disabled, the rest of the API works.
  {
    const HttpReply r =
        Api(a_, "PUT", "/api/v1/admin/settings", R"({"key":"room.enabled","value":false})");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_TRUE(At(ParseJson(r.body), "/room.enabled")->is_bool());
    EXPECT_FALSE(At(ParseJson(r.body), "/room.enabled")->as_bool());
  }
  for (const User* u : {&a_, &b_}) {
    EXPECT_API_ERROR(Api(*u, "GET", "/api/v1/room/root"), 403, "private_room_disabled");
    EXPECT_API_ERROR(Api(*u, "GET", "/api/v1/room/shared"), 403, "private_room_disabled");
    EXPECT_API_ERROR(Api(*u, "GET", "/api/v1/room/folders/" + root), 403, "private_room_disabled");
    EXPECT_API_ERROR(CreateFolderReply(*u, NewId(), root, NewNameHmac()), 403,
                     "private_room_disabled");
    EXPECT_API_ERROR(StartUploadReply(*u, NewId(), 1000), 403, "private_room_disabled");
    EXPECT_API_ERROR(Api(*u, "POST", "/api/v1/room/files/" + NewId() + "/copy", "{}"), 403,
                     "private_room_disabled");
  }
  EXPECT_API_ERROR(PutPiece(b_, b_upload, 0, c), 403, "private_room_disabled");  // Streamed.
  EXPECT_API_ERROR(Api(b_, "GET", "/api/v1/room/uploads/" + b_upload), 403,
                   "private_room_disabled");
  EXPECT_API_ERROR(portal_.Request("GET", "/api/v1/room/root", "", ""), 401, "unauthenticated");
  EXPECT_EQ(Api(b_, "GET", "/api/v1/me").status, 200);

  // On again: the upload goes on where it was.
  ASSERT_EQ(
      Api(a_, "PUT", "/api/v1/admin/settings", R"({"key":"room.enabled","value":true})").status,
      200);
  EXPECT_EQ(Api(a_, "GET", "/api/v1/room/root").status, 200);
  EXPECT_EQ(Received(b_, b_upload), 0);
  ASSERT_EQ(PutPiece(b_, b_upload, 0, c).status, 200);

  // Only PDF: a .docx container is refused at completion, a PDF one accepted.
  {
    const HttpReply r = Api(a_, "PUT", "/api/v1/admin/settings",
                            R"({"key":"room.allowed_types","value":["application/pdf"]})");
    ASSERT_EQ(r.status, 200) << r.body;
    const json::array types = JArr(ParseJson(r.body), "/room.allowed_types");
    ASSERT_EQ(types.size(), 1u);
    EXPECT_EQ(types[0].as_string(), kPdf);
  }
  const std::string b_root = JStr(ParseJson(Api(b_, "GET", "/api/v1/room/root").body), "/id");
  EXPECT_API_ERROR(Complete(b_, b_upload, b_root, NewNameHmac()), 415, "type_not_allowed");
  EXPECT_API_ERROR(GetFile(b_, FileIdOf(c)), 404, "not_found");
  EXPECT_TRUE(BlobsOfFile(FileIdOf(c)).empty());
  const Bytes pdf = Encrypt(b_.id(), {b_.bundle()}, RandomBytes(5000), kPdf);
  const HttpReply pdf_ok = Upload(b_, pdf, b_root, NewNameHmac());
  EXPECT_EQ(pdf_ok.status, 201) << pdf_ok.body;
  EXPECT_EQ(JStr(ParseJson(pdf_ok.body), "/content_type"), kPdf);

  // The trail: who changed what, to which value.
  const json::array changes = AuditEvents("settings.change");
  ASSERT_EQ(changes.size(), 3u) << json::serialize(changes);
  for (const auto& e : changes) {
    EXPECT_EQ(JStr(e, "/actor"), a_.user_id);
    EXPECT_EQ(JStr(e, "/result"), "success");
  }
  EXPECT_EQ(JStr(changes[0], "/target"), "room.allowed_types");
  EXPECT_EQ(JStr(changes[0], "/detail/key"), "room.allowed_types");
  EXPECT_EQ(JStr(changes[1], "/target"), "room.enabled");
  EXPECT_EQ(JStr(changes[2], "/target"), "room.enabled");
  const json::value* off = At(changes[2], "/detail/value");
  ASSERT_NE(off, nullptr);
  EXPECT_TRUE(off->is_bool() && !off->as_bool()) << json::serialize(changes[2]);
}

// --- 8. audit -------------------------------------------------------------------------------

TEST_F(RoomApiTest, EveryRoomChangeIsAudited) {
  const std::string root = CreateFolder(a_);
  ASSERT_FALSE(root.empty());
  const std::string sub = CreateFolder(a_, root, NewNameHmac());
  const Bytes v1 = Encrypt(a_.id(), {a_.bundle()}, RandomBytes(40000));
  const std::string file_id = FileIdOf(v1);
  const std::string name = NewNameHmac();
  ASSERT_EQ(Upload(a_, v1, root, name).status, 201);
  ASSERT_EQ(GetContent(a_, file_id).status, 200);
  const Bytes v2 = Share(v1, a_.id(), {b_.bundle()});
  ASSERT_EQ(Upload(a_, v2, root, name, 1).status, 200);
  ASSERT_EQ(GetContent(b_, file_id).status, 200);
  const Bytes v3 = Rekey(v2, a_.id(), {a_.bundle()});
  ASSERT_EQ(Upload(a_, v3, root, name, 2).status, 200);
  ASSERT_EQ(Post(a_, "/api/v1/room/files/" + file_id + "/move",
                 json::object{{"parent_id", sub},
                              {"name_hmac", NewNameHmac()},
                              {"version", 4},
                              {"record", B64(RandomBytes(100))},
                              {"signature", B64(RandomBytes(64))}})
                .status,
            200);
  ASSERT_EQ(Api(a_, "DELETE", "/api/v1/room/files/" + file_id).status, 204);
  ASSERT_EQ(Api(a_, "DELETE", "/api/v1/room/folders/" + sub).status, 204);

  struct Expected {
    std::string action, target, actor;
  };
  const std::vector<Expected> expected{
      {"room.folder.create", root, a_.user_id}, {"room.folder.create", sub, a_.user_id},
      {"room.upload", file_id, a_.user_id},     {"room.download", file_id, a_.user_id},
      {"room.share", file_id, a_.user_id},      {"room.download", file_id, b_.user_id},
      {"room.deny", file_id, a_.user_id},       {"room.move", file_id, a_.user_id},
      {"room.delete", file_id, a_.user_id},     {"room.delete", sub, a_.user_id},
  };
  for (const auto& x : expected) {
    SCOPED_TRACE(x.action + " " + x.target + " by " + x.actor);
    bool found = false;
    for (const auto& e : AuditFor(x.action, x.target)) {
      if (JStr(e, "/actor") != x.actor) continue;
      found = true;
      EXPECT_EQ(JStr(e, "/result"), "success");
      EXPECT_EQ(JStr(e, "/ip"), "127.0.0.1");
    }
    EXPECT_TRUE(found) << "missing audit event";
  }
  // In order, oldest first, these are the room events of this test.
  const HttpReply all = Api(a_, "GET", "/api/v1/admin/audit?limit=1000");
  ASSERT_EQ(all.status, 200);
  std::vector<std::string> room_actions;
  for (const auto& e : JArr(ParseJson(all.body), "/events")) {
    const std::string action = JStr(e, "/action");
    if (action.starts_with("room.")) room_actions.push_back(action);
  }
  std::reverse(room_actions.begin(), room_actions.end());
  std::vector<std::string> want;
  for (const auto& x : expected) want.push_back(x.action);
  EXPECT_EQ(room_actions, want);
}

// --- 9. zero knowledge ----------------------------------------------------------------------

TEST_F(RoomApiTest, PlaintextNeverReachesTheServersDiskOrLog) {
  const std::string canary = "ROOM-CANARY-" + RandomHexId(12);
  Bytes plaintext;
  for (int i = 0; i < 2000; ++i) {
    plaintext.insert(plaintext.end(), canary.begin(), canary.end());
    const Bytes noise = RandomBytes(100);
    plaintext.insert(plaintext.end(), noise.begin(), noise.end());
  }
  const std::string root = CreateFolder(a_);
  ASSERT_FALSE(root.empty());
  const Bytes v1 = Encrypt(a_.id(), {a_.bundle()}, plaintext);
  ASSERT_EQ(AsString(v1).find(canary), std::string::npos);
  const std::string file_id = FileIdOf(v1);
  const std::string name = NewNameHmac();
  ASSERT_EQ(Upload(a_, v1, root, name, std::nullopt, 64 * 1024).status, 201);
  const Bytes v2 = Share(v1, a_.id(), {b_.bundle()});
  ASSERT_EQ(Upload(a_, v2, root, name, 1).status, 200);
  const HttpReply content = GetContent(b_, file_id);
  ASSERT_EQ(content.status, 200);
  const auto opened = Decrypt(Bytes(content.body.begin(), content.body.end()), b_.id());
  ASSERT_TRUE(opened.has_value());
  EXPECT_NE(AsString(*opened).find(canary), std::string::npos) << "the control: B reads it";

  // A half-finished upload too (staged bytes).
  const Bytes other = Encrypt(a_.id(), {a_.bundle()}, plaintext);
  const std::string pending =
      StartUpload(a_, FileIdOf(other), static_cast<std::int64_t>(other.size()));
  ASSERT_EQ(PutPiece(a_, pending, 0, std::span(other).first(other.size() / 2)).status, 200);

  auto scan = [&](const std::string& when) {
    std::size_t files = 0;
    for (const auto& entry : fs::recursive_directory_iterator(portal_.data_dir())) {
      if (!entry.is_regular_file()) continue;
      ++files;
      EXPECT_EQ(ReadFile(entry.path()).find(canary), std::string::npos)
          << when << ": plaintext in " << entry.path();
    }
    EXPECT_GE(files, 3u) << "the scan must see the database and the blobs";
    const std::string log = portal_.Log();
    EXPECT_FALSE(log.empty());
    EXPECT_EQ(log.find(canary), std::string::npos) << when << ": plaintext in the log";
  };
  scan("while running");
  ASSERT_EQ(portal_.Stop(), 0);
  scan("after shutdown");  // The WAL checkpointed into the database file.
}

}  // namespace
}  // namespace strongroom::testing
