// Runs every test vector in tests/vectors/ (format: tests/vectors/README.md).
#include "crypto/primitives.h"
#include "crypto/wire.h"
#include "strongroom/crypto/container.h"
#include "strongroom/crypto/password.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

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
  for (const auto& v : All()) seen.insert(v.kind + "/" + v.head.at("expect"));
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
                             "recovery/malformed"}) {
    EXPECT_TRUE(seen.count(needed)) << "no vector for " << needed;
  }
}

}  // namespace
}  // namespace strongroom::crypto
