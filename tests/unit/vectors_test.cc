// Runs every test vector in tests/vectors/ (format: tests/vectors/README.md).
#include "crypto/collab_format.h"
#include "crypto/primitives.h"
#include "crypto/wire.h"
#include "strongroom/collab/wire.h"
#include "strongroom/crypto/collab.h"
#include "strongroom/crypto/container.h"
#include "strongroom/crypto/password.h"
#include "strongroom/crypto/room.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <type_traits>
#include <variant>

namespace strongroom::crypto {
namespace {

namespace fs = std::filesystem;
using Buffer = std::vector<std::uint8_t>;

struct Vector {
  fs::path path;
  std::string kind;  // The directory: container, public-bundle, ...
  std::map<std::string, std::string> head;
  Buffer body;
};

Vector Load(const fs::path& path) {
  Vector v;
  v.path = path;
  v.kind = path.parent_path().filename().string();
  std::ifstream f(path, std::ios::binary);
  std::string line;
  while (std::getline(f, line) && !line.empty()) {
    const auto colon = line.find(": ");
    if (colon == std::string::npos) {
      ADD_FAILURE() << path << ": bad head line '" << line << "'";
      continue;
    }
    v.head[line.substr(0, colon)] = line.substr(colon + 2);
  }
  std::string b64, part;
  while (f >> part) b64 += part;
  auto body = Base64UrlDecode(b64);
  EXPECT_TRUE(body.has_value()) << path << ": body is not base64url";
  if (body) v.body = std::move(*body);
  return v;
}

std::vector<Vector> All() {
  std::vector<Vector> out;
  for (const auto& e : fs::recursive_directory_iterator(STRONGROOM_VECTORS_DIR)) {
    if (e.is_regular_file() && e.path().extension() == ".txt") out.push_back(Load(e.path()));
  }
  std::sort(out.begin(), out.end(),
            [](const Vector& a, const Vector& b) { return a.path < b.path; });
  return out;
}

// "success" or the error name of an errc.
std::string Outcome(const boost::system::error_code& ec) {
  if (!ec) return "success";
  if (ec.category() != error_category()) return "foreign:" + ec.message();
  return std::string(error_name(static_cast<errc>(ec.value())));
}

KdfParams ParseParams(const std::string& text) {
  KdfParams p;
  std::istringstream in(text);
  std::string item;
  while (in >> item) {
    const auto eq = item.find('=');
    const std::string k = item.substr(0, eq), val = item.substr(eq + 1);
    if (k == "opslimit") p.opslimit = static_cast<std::uint32_t>(std::stoul(val));
    if (k == "memlimit") p.memlimit = std::stoull(val);
    if (k == "salt") {
      auto salt = HexDecode(val);
      EXPECT_TRUE(salt && salt->size() == 16);
      if (salt) std::copy(salt->begin(), salt->end(), p.salt.begin());
    }
  }
  return p;
}

// Hex of a fixed-size field, or "none" when unset.
template <std::size_t N>
std::string HexOrNone(const std::optional<std::array<std::uint8_t, N>>& v) {
  return v ? HexEncode(*v) : "none";
}

Secret<32> KeyFromHex(const std::string& hex) {
  Secret<32> key;
  auto bytes = HexDecode(hex);
  EXPECT_TRUE(bytes && bytes->size() == 32) << hex;
  if (bytes && bytes->size() == 32) std::copy(bytes->begin(), bytes->end(), key.data());
  return key;
}

template <std::size_t N>
std::array<std::uint8_t, N> ArrayFromHex(const std::string& hex) {
  std::array<std::uint8_t, N> out{};
  auto bytes = HexDecode(hex);
  EXPECT_TRUE(bytes && bytes->size() == N) << hex;
  if (bytes && bytes->size() == N) std::copy(bytes->begin(), bytes->end(), out.begin());
  return out;
}

Buffer BytesFromHex(const std::string& hex) {
  auto bytes = HexDecode(hex);
  EXPECT_TRUE(bytes.has_value()) << hex;
  return bytes ? *bytes : Buffer{};
}

PublicBundle BundleFromText(const std::string& text) {
  auto b = PublicBundle::FromText(text);
  EXPECT_TRUE(b) << text;
  return b ? *b : PublicBundle();
}

// tests/vectors/room/: one directory, the operation in the head (see its README).
void CheckRoom(const Vector& v) {
  const std::string expect = v.head.at("expect");
  const std::string op = v.head.at("operation");
  if (op == "open-folder-key") {
    auto id = Identity::FromText(v.head.at("identity"));
    ASSERT_TRUE(id);
    const FolderId folder_id = ArrayFromHex<kFolderIdSize>(v.head.at("folder-id"));
    auto key = OpenFolderKey(v.body, folder_id, *id);
    EXPECT_EQ(Outcome(key ? boost::system::error_code() : key.error()), expect);
    if (key && expect == "success") {
      EXPECT_EQ(HexEncode(key->bytes()), v.head.at("folder-key"));
    }
  } else if (op == "name-hmac") {
    const Secret<32> key = KeyFromHex(v.head.at("folder-key"));
    const FolderId folder_id = ArrayFromHex<kFolderIdSize>(v.head.at("folder-id"));
    const Buffer name = BytesFromHex(v.head.at("name-hex"));
    auto mac = ComputeNameHmac(
        key, folder_id, std::string_view(reinterpret_cast<const char*>(name.data()), name.size()));
    EXPECT_EQ(Outcome(mac ? boost::system::error_code() : mac.error()), expect);
    if (mac && expect == "success") {
      EXPECT_EQ(HexEncode(*mac), v.head.at("name-hmac"));
    }
  } else if (op == "open-folder-record") {
    const Secret<32> key = KeyFromHex(v.head.at("folder-key"));
    const Buffer signature = BytesFromHex(v.head.at("signature"));
    auto r = OpenFolderRecord(v.body, signature, key, BundleFromText(v.head.at("owner")));
    EXPECT_EQ(Outcome(r ? boost::system::error_code() : r.error()), expect);
    if (r && expect == "success") {
      EXPECT_EQ(HexEncode(r->folder_id), v.head.at("folder-id"));
      EXPECT_EQ(r->owner_id, v.head.at("owner-id"));
      EXPECT_EQ(HexOrNone(r->parent_id), v.head.at("parent-id"));
      EXPECT_EQ(HexOrNone(r->name_hmac), v.head.at("name-hmac"));
      EXPECT_EQ(std::to_string(r->revision), v.head.at("revision"));
      EXPECT_EQ(r->parent_id ? HexEncode(AsBytes(r->name)) : "none", v.head.at("name-hex"));
      // The public parse agrees with the authenticated one.
      auto pub = ParseFolderRecordPublic(v.body);
      ASSERT_TRUE(pub);
      EXPECT_EQ(*pub, static_cast<const FolderRecordPublic&>(*r));
    }
  } else if (op == "open-file-record") {
    const Secret<32> key = KeyFromHex(v.head.at("file-key"));
    const Buffer signature = BytesFromHex(v.head.at("signature"));
    auto r = OpenFileRecord(v.body, signature, key, BundleFromText(v.head.at("author")));
    EXPECT_EQ(Outcome(r ? boost::system::error_code() : r.error()), expect);
    if (r && expect == "success") {
      EXPECT_EQ(HexEncode(r->file_id), v.head.at("file-id"));
      EXPECT_EQ(r->owner_id, v.head.at("owner-id"));
      EXPECT_EQ(r->author_id, v.head.at("author-id"));
      EXPECT_EQ(HexEncode(r->parent_id), v.head.at("parent-id"));
      EXPECT_EQ(HexEncode(r->name_hmac), v.head.at("name-hmac"));
      EXPECT_EQ(std::to_string(r->version), v.head.at("version"));
      EXPECT_EQ(HexEncode(r->header_mac), v.head.at("header-mac"));
      EXPECT_EQ(HexEncode(r->final_tag), v.head.at("final-tag"));
      EXPECT_EQ(r->metadata.name, v.head.at("name"));
      EXPECT_EQ(std::to_string(r->metadata.plaintext_size), v.head.at("plaintext-size"));
      EXPECT_EQ(r->metadata.content_type, v.head.at("content-type"));
      EXPECT_EQ(std::to_string(r->metadata.modified_ms), v.head.at("modified-ms"));
      auto pub = ParseFileRecordPublic(v.body);
      ASSERT_TRUE(pub);
      EXPECT_EQ(*pub, static_cast<const FileRecordPublic&>(*r));
    }
  } else if (op == "check-file-record") {
    // The reader's whole path: verify the container, take its file key, open the record,
    // check the record against the container. The first failure is the outcome.
    auto id = Identity::FromText(v.head.at("identity"));
    ASSERT_TRUE(id);
    auto container = Base64UrlDecode(v.head.at("container"));
    ASSERT_TRUE(container);
    io::MemorySource in(*container);
    io::MemorySink plaintext;
    auto info = DecryptContainer(in, plaintext, *id, 1);
    ASSERT_TRUE(info) << info.error().message();
    io::MemorySource header(*container);
    auto key = OpenFileKey(header, *id);
    ASSERT_TRUE(key) << key.error().message();
    const PublicBundle author = BundleFromText(v.head.at("author"));
    const Buffer signature = BytesFromHex(v.head.at("signature"));
    std::optional<std::uint64_t> highest;
    if (v.head.at("highest-version") != "none") highest = std::stoull(v.head.at("highest-version"));
    boost::system::error_code ec;
    auto record = OpenFileRecord(v.body, signature, key->file_key, author);
    if (!record) {
      ec = record.error();
    } else if (auto r = CheckFileRecord(*record, author, *info, highest); !r) {
      ec = r.error();
    }
    EXPECT_EQ(Outcome(ec), expect);
  } else {
    ADD_FAILURE() << "unknown room operation " << op;
  }
}

// tests/vectors/collab/: the co-editing relay (docs/collab.md); the head line `operation` says
// what is checked (see tests/vectors/README.md).
collab::Direction DirectionFrom(const std::string& text) {
  EXPECT_TRUE(text == "to-server" || text == "to-client") << text;
  return text == "to-client" ? collab::Direction::to_client : collab::Direction::to_server;
}

CollabKey CollabKeyFrom(const Vector& v) {
  auto key = CollabKey::Make(KeyFromHex(v.head.at("file-key")),
                             ArrayFromHex<collab::kFileIdSize>(v.head.at("file-id")),
                             std::stoull(v.head.at("epoch")));
  EXPECT_TRUE(key);
  return std::move(*key);
}

std::string StreamsText(const std::vector<StreamPosition>& streams) {
  if (streams.empty()) return "none";
  std::string out;
  for (const auto& s : streams) {
    if (!out.empty()) out += ",";
    out += s.author + "/" + HexEncode(s.session_id) + "/" + std::to_string(s.last_counter);
  }
  return out;
}

// The fields a decode-frame vector lists for a message, in the head's own words.
std::map<std::string, std::string> FieldsOf(const collab::Message& m) {
  std::map<std::string, std::string> f;
  if (const auto* j = std::get_if<collab::Join>(&m)) {
    f = {{"message", "join"},
         {"file-id", HexEncode(j->file_id)},
         {"epoch", std::to_string(j->epoch)},
         {"resume-after", j->resume_after ? std::to_string(*j->resume_after) : "none"}};
  } else if (const auto* w = std::get_if<collab::Welcome>(&m)) {
    f = {{"message", "welcome"},
         {"file-id", HexEncode(w->file_id)},
         {"epoch", std::to_string(w->epoch)},
         {"head-seq", std::to_string(w->head_seq)},
         {"snapshot-seq", std::to_string(w->snapshot_seq)}};
  } else if (const auto* a = std::get_if<collab::Ack>(&m)) {
    f = {{"message", "ack"},
         {"of", a->of == collab::MessageType::update ? "update" : "snapshot"},
         {"session-id", HexEncode(a->session_id)},
         {"counter", std::to_string(a->counter)},
         {"seq", std::to_string(a->seq)},
         {"server-time", std::to_string(a->server_time_ms)}};
  } else if (const auto* e = std::get_if<collab::Error>(&m)) {
    f = {{"message", "error"},
         {"code", std::to_string(static_cast<int>(e->code))},
         {"epoch", std::to_string(e->epoch)},
         {"session-id", HexEncode(e->session_id)},
         {"counter", std::to_string(e->counter)},
         {"text", e->message}};
  } else {
    f = {{"message", "sealed"}};
  }
  return f;
}

// Replays an order vector's events on a fresh checker; each must give its stated outcome.
void CheckOrder(const Vector& v) {
  UpdateOrderChecker checker;
  auto outcome = [](const result<void>& r) {
    return Outcome(r ? boost::system::error_code() : r.error());
  };
  auto session = [](const std::string& hex) { return ArrayFromHex<collab::kSessionIdSize>(hex); };
  std::string last;
  for (int i = 1; v.head.count("event-" + std::to_string(i)); ++i) {
    const std::string line = v.head.at("event-" + std::to_string(i));
    SCOPED_TRACE(line);
    const auto arrow = line.find(" -> ");
    ASSERT_NE(arrow, std::string::npos);
    const std::string expected = line.substr(arrow + 4);
    std::istringstream in(line.substr(0, arrow));
    std::string op, got;
    in >> op;
    if (op == "update" || op == "presence") {
      std::uint64_t seq = 0;
      if (op == "update") in >> seq;
      collab::SealedHead h;
      std::string sess;
      in >> h.author >> sess >> h.counter >> h.epoch;
      h.session_id = session(sess);
      h.file_id = {};
      got = outcome(op == "update" ? checker.AcceptUpdate(seq, h) : checker.AcceptPresence(h));
    } else if (op == "snapshot") {
      OpenedSnapshot snap;
      std::string streams;
      in >> snap.through_seq >> snap.head.epoch >> streams;
      if (streams != "none") {
        std::istringstream list(streams);
        std::string item;
        while (std::getline(list, item, ',')) {
          const auto a = item.find('/'), b = item.rfind('/');
          snap.contents.streams.push_back({item.substr(0, a),
                                           session(item.substr(a + 1, b - a - 1)),
                                           std::stoull(item.substr(b + 1))});
        }
      }
      got = outcome(checker.AcceptSnapshot(snap));
    } else if (op == "raise-floor") {
      std::uint64_t e = 0;
      in >> e;
      checker.RaiseEpochFloor(e);
      got = "success";
    } else if (op == "reconnect") {
      got = std::to_string(checker.Reconnect());
    } else {
      FAIL() << "unknown event " << op;
    }
    EXPECT_EQ(got, expected);
    last = expected;
  }
  EXPECT_FALSE(last.empty()) << "no events";
  EXPECT_EQ(last, v.head.at("expect"));
}

void CheckCollab(const Vector& v) {
  const std::string expect = v.head.at("expect");
  const std::string op = v.head.at("operation");
  if (op == "order") {
    CheckOrder(v);
    return;
  }
  const collab::Direction direction = DirectionFrom(v.head.at("direction"));
  auto decoded = collab::DecodeFrame(v.body, direction);
  if (op == "decode-frame") {
    EXPECT_EQ(Outcome(decoded ? boost::system::error_code() : decoded.error()), expect);
    if (!decoded || expect != "success") return;
    auto fields = FieldsOf(*decoded);
    EXPECT_EQ(fields.at("message"), v.head.at("message"));
    for (const auto& [k, value] : fields) EXPECT_EQ(value, v.head.at(k)) << k;
    auto again = collab::EncodeFrame(*decoded);
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, v.body) << "not the one encoding";
    return;
  }
  if (!decoded) {
    EXPECT_EQ(Outcome(decoded.error()), expect);
    return;
  }
  const CollabKey key = CollabKeyFrom(v);
  const PublicBundle author = BundleFromText(v.head.at("author"));
  // The sealed part, and how to put a resealed one back into the same kind of frame.
  const collab::Sealed* sealed = nullptr;
  const collab::SealedSnapshot* snapshot = nullptr;
  if (auto* m = std::get_if<collab::Update>(&*decoded)) sealed = &m->sealed;
  if (auto* m = std::get_if<collab::UpdateRelay>(&*decoded)) sealed = &m->sealed;
  if (auto* m = std::get_if<collab::Presence>(&*decoded)) sealed = &m->sealed;
  if (auto* m = std::get_if<collab::PresenceRelay>(&*decoded)) sealed = &m->sealed;
  if (auto* m = std::get_if<collab::Snapshot>(&*decoded)) snapshot = &m->sealed;
  if (auto* m = std::get_if<collab::SnapshotRelay>(&*decoded)) snapshot = &m->sealed;
  auto reseal_into = [&](auto&& replace) {
    collab::Message copy = *decoded;
    std::visit(replace, copy);
    auto bytes = collab::EncodeFrame(copy);
    ASSERT_TRUE(bytes);
    EXPECT_EQ(*bytes, v.body) << "sealing again does not give the vector's bytes";
  };
  if (op == "open-update" || op == "open-presence") {
    ASSERT_NE(sealed, nullptr) << "not an update or presence frame";
    const bool update = op == "open-update";
    auto opened = update ? OpenUpdate(*sealed, key, author) : OpenPresence(*sealed, key, author);
    EXPECT_EQ(Outcome(opened ? boost::system::error_code() : opened.error()), expect);
    if (!opened || expect != "success") return;
    EXPECT_EQ(opened->head.author, v.head.at("author-id"));
    EXPECT_EQ(HexEncode(opened->head.session_id), v.head.at("session-id"));
    EXPECT_EQ(std::to_string(opened->head.counter), v.head.at("counter"));
    EXPECT_EQ(HexEncode(opened->payload), v.head.at("payload-hex"));
    if (auto* r = std::get_if<collab::UpdateRelay>(&*decoded)) {
      EXPECT_EQ(std::to_string(r->seq), v.head.at("seq"));
      EXPECT_EQ(std::to_string(r->server_time_ms), v.head.at("server-time"));
    }
    if (auto* r = std::get_if<collab::PresenceRelay>(&*decoded)) {
      EXPECT_EQ(std::to_string(r->server_time_ms), v.head.at("server-time"));
    }
    // Byte for byte: sealing the same payload at the same session and counter.
    auto id = Identity::FromText(v.head.at("identity"));
    ASSERT_TRUE(id);
    auto again = update ? collab_detail::SealUpdateAt(key, *id, opened->head.session_id,
                                                      opened->head.counter, opened->payload)
                        : collab_detail::SealPresenceAt(key, *id, opened->head.session_id,
                                                        opened->head.counter, opened->payload);
    ASSERT_TRUE(again);
    reseal_into([&](auto& m) {
      if constexpr (requires { m.sealed; }) {
        if constexpr (std::is_same_v<std::decay_t<decltype(m.sealed)>, collab::Sealed>) {
          m.sealed = *again;
        }
      }
    });
  } else if (op == "open-snapshot") {
    ASSERT_NE(snapshot, nullptr) << "not a snapshot frame";
    auto opened = OpenSnapshot(*snapshot, key, author);
    EXPECT_EQ(Outcome(opened ? boost::system::error_code() : opened.error()), expect);
    if (!opened || expect != "success") return;
    EXPECT_EQ(opened->head.author, v.head.at("author-id"));
    EXPECT_EQ(HexEncode(opened->head.session_id), v.head.at("session-id"));
    EXPECT_EQ(std::to_string(opened->head.counter), v.head.at("counter"));
    EXPECT_EQ(std::to_string(opened->through_seq), v.head.at("through-seq"));
    EXPECT_EQ(StreamsText(opened->contents.streams), v.head.at("streams"));
    EXPECT_EQ(HexEncode(opened->contents.state), v.head.at("state-hex"));
    if (auto* r = std::get_if<collab::SnapshotRelay>(&*decoded)) {
      EXPECT_EQ(std::to_string(r->server_time_ms), v.head.at("server-time"));
    }
    auto id = Identity::FromText(v.head.at("identity"));
    ASSERT_TRUE(id);
    auto again =
        collab_detail::SealSnapshotAt(key, *id, opened->head.session_id, opened->head.counter,
                                      opened->through_seq, opened->contents);
    ASSERT_TRUE(again);
    reseal_into([&](auto& m) {
      if constexpr (requires { m.sealed.through_seq; }) m.sealed = *again;
    });
  } else {
    ADD_FAILURE() << "unknown collab operation " << op;
  }
}

void Check(const Vector& v) {
  SCOPED_TRACE(v.path.string() + " (" + v.head.at("comment") + ")");
  const std::string expect = v.head.at("expect");
  if (v.kind == "container") {
    auto id = Identity::FromText(v.head.at("identity"));
    ASSERT_TRUE(id);
    io::MemorySource in(v.body);
    io::MemorySink out;
    auto r = DecryptContainer(in, out, *id, 1);
    EXPECT_EQ(Outcome(r ? boost::system::error_code() : r.error()), expect);
    if (r && expect == "success") {
      EXPECT_EQ(std::to_string(out.data().size()), v.head.at("plaintext-size"));
      EXPECT_EQ(HexEncode(Sha256(out.data())), v.head.at("plaintext-sha256"));
    }
  } else if (v.kind == "public-bundle") {
    auto b = PublicBundle::Parse(v.body);
    EXPECT_EQ(Outcome(b ? boost::system::error_code() : b.error()), expect);
    if (b && expect == "success") {
      EXPECT_EQ(b->user_id(), v.head.at("user-id"));
      EXPECT_EQ(HexEncode(b->fingerprint()), v.head.at("fingerprint"));
      EXPECT_EQ(b->DisplayFingerprint(), v.head.at("display-fingerprint"));
      EXPECT_EQ(b->ToText(), v.head.at("text"));
    }
  } else if (v.kind == "password") {
    auto keys = DerivePasswordKeys(v.head.at("password"), ParseParams(v.head.at("params")));
    EXPECT_EQ(Outcome(keys ? boost::system::error_code() : keys.error()), expect);
    if (keys && expect == "success") {
      EXPECT_EQ(HexEncode(keys->auth_key.bytes()), v.head.at("auth-key"));
      EXPECT_EQ(HexEncode(keys->key_encryption_key.bytes()), v.head.at("key-encryption-key"));
    }
  } else if (v.kind == "private-bundle") {
    auto id = OpenPrivateBundle(v.body, v.head.at("password"));
    EXPECT_EQ(Outcome(id ? boost::system::error_code() : id.error()), expect);
    if (id && expect == "success") {
      EXPECT_EQ(id->public_bundle().ToText(), v.head.at("public-key"));
    }
  } else if (v.kind == "recovery") {
    auto key = RecoveryKey::FromCode(v.head.at("code"));
    if (!key) {
      EXPECT_EQ(Outcome(key.error()), expect);
      return;
    }
    if (v.head.count("key")) {
      EXPECT_EQ(HexEncode(key->bytes()), v.head.at("key"));
    }
    if (v.head.count("recovery-auth-key")) {
      EXPECT_EQ(HexEncode(RecoveryAuthKey(*key).bytes()), v.head.at("recovery-auth-key"));
    }
    auto id = OpenRecoveryBundle(v.body, *key);
    EXPECT_EQ(Outcome(id ? boost::system::error_code() : id.error()), expect);
    if (id && expect == "success") {
      EXPECT_EQ(id->public_bundle().ToText(), v.head.at("public-key"));
    }
  } else if (v.kind == "room") {
    CheckRoom(v);
  } else if (v.kind == "collab") {
    CheckCollab(v);
  } else {
    ADD_FAILURE() << "unknown vector kind " << v.kind;
  }
}

TEST(Vectors, EveryVectorGivesItsExpectedResult) {
  const auto vectors = All();
  ASSERT_GE(vectors.size(), 30u) << "vectors missing from " << STRONGROOM_VECTORS_DIR;
  for (const auto& v : vectors) Check(v);
}

TEST(Vectors, EveryFailureKindHasAVector) {
  std::set<std::string> seen;
  for (const auto& v : All()) {
    const std::string kind =
        v.kind == "room" || v.kind == "collab" ? v.kind + "/" + v.head.at("operation") : v.kind;
    seen.insert(kind + "/" + v.head.at("expect"));
  }
  for (const char* needed : {"container/success",
                             "container/not_a_recipient",
                             "container/header_tampered",
                             "container/payload_tampered",
                             "container/truncated",
                             "container/unsupported_version",
                             "container/malformed",
                             "container/too_large",
                             "container/bad_signature",
                             "public-bundle/success",
                             "public-bundle/bad_signature",
                             "public-bundle/malformed",
                             "public-bundle/unsupported_version",
                             "password/success",
                             "password/weak_parameters",
                             "private-bundle/success",
                             "private-bundle/wrong_password",
                             "private-bundle/weak_parameters",
                             "private-bundle/unsupported_version",
                             "recovery/success",
                             "recovery/wrong_password",
                             "recovery/malformed",
                             "room/open-folder-key/success",
                             "room/open-folder-key/header_tampered",
                             "room/open-folder-key/malformed",
                             "room/name-hmac/success",
                             "room/name-hmac/invalid_argument",
                             "room/open-folder-record/success",
                             "room/open-folder-record/bad_signature",
                             "room/open-folder-record/record_mismatch",
                             "room/open-folder-record/untrusted_signer",
                             "room/open-folder-record/unsupported_version",
                             "room/open-folder-record/malformed",
                             "room/open-file-record/success",
                             "room/open-file-record/bad_signature",
                             "room/open-file-record/record_mismatch",
                             "room/open-file-record/untrusted_signer",
                             "room/open-file-record/unsupported_version",
                             "room/open-file-record/malformed",
                             "room/check-file-record/success",
                             "room/check-file-record/rolled_back",
                             "room/check-file-record/untrusted_signer",
                             "room/check-file-record/record_mismatch",
                             "collab/open-update/success",
                             "collab/open-update/bad_signature",
                             "collab/open-update/record_mismatch",
                             "collab/open-update/untrusted_signer",
                             "collab/open-update/truncated",
                             "collab/open-update/too_large",
                             "collab/open-update/malformed",
                             "collab/open-update/unsupported_version",
                             "collab/open-presence/success",
                             "collab/open-snapshot/success",
                             "collab/open-snapshot/bad_signature",
                             "collab/open-snapshot/record_mismatch",
                             "collab/open-snapshot/malformed",
                             "collab/decode-frame/success",
                             "collab/decode-frame/malformed",
                             "collab/decode-frame/truncated",
                             "collab/order/success",
                             "collab/order/replayed",
                             "collab/order/update_gap",
                             "collab/order/reordered",
                             "collab/order/stale_epoch",
                             "collab/order/rolled_back"}) {
    EXPECT_TRUE(seen.count(needed)) << "no vector for " << needed;
  }
}

}  // namespace
}  // namespace strongroom::crypto
