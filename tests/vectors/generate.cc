// Writes the test vectors in tests/vectors/ (one case per file, see README.md there).
//
//   build/sanitize/bin/vector_generator tests/vectors
//
// Randomness is deterministic (strongroom_crypto_testing), so a given build of the library
// regenerates identical files. The committed files are frozen: they are the compatibility
// contract, and the unit tests check that every one of them still gives its expected result.
#include "crypto/container_format.h"
#include "crypto/primitives.h"
#include "crypto/wire.h"
#include "strongroom/crypto/container.h"
#include "strongroom/crypto/password.h"
#include "strongroom/crypto/testing.h"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <vector>

namespace {

using namespace strongroom;
using namespace strongroom::crypto;
using Buffer = std::vector<std::uint8_t>;
namespace fs = std::filesystem;

constexpr std::uint64_t kCreated = 1767225600;  // 2026-01-01T00:00:00Z
fs::path g_root;

void Write(const std::string& dir, const std::string& name,
           const std::vector<std::pair<std::string, std::string>>& head, const Buffer& body) {
  fs::create_directories(g_root / dir);
  std::ofstream f(g_root / dir / (name + ".txt"), std::ios::binary | std::ios::trunc);
  for (const auto& [k, v] : head) f << k << ": " << v << "\n";
  f << "\n";
  const std::string b64 = Base64UrlEncode(body);
  for (std::size_t i = 0; i < b64.size(); i += 76) f << b64.substr(i, 76) << "\n";
  if (!f) {
    std::cerr << "cannot write " << dir << "/" << name << "\n";
    std::exit(1);
  }
}

Identity MakeIdentity(const std::string& user) {
  ByteWriter w;
  w.Raw(std::string_view("SRSK"));
  w.U8(1);
  w.U8(static_cast<std::uint8_t>(user.size()));
  w.Raw(user);
  w.U64(kCreated);
  w.Raw(Sha256(AsBytes("vector x25519 " + user)));
  w.Raw(Sha256(AsBytes("vector ed25519 " + user)));
  auto id = Identity::ImportSecret(w.buffer());
  if (!id) std::abort();
  return std::move(*id);
}

std::string SecretText(const Identity& id) {
  Buffer s = id.ExportSecret();
  return std::string(kIdentityTextPrefix) + Base64UrlEncode(s);
}

Buffer Pattern(std::size_t n) {
  Buffer b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>((i * 31 + 7) & 0xff);
  return b;
}

Buffer Encrypt(const Buffer& plain, const Identity& author, const std::vector<PublicBundle>& to,
               std::uint32_t chunk = 4096) {
  io::MemorySource in(plain);
  io::MemorySink out;
  EncryptOptions o;
  o.chunk_size = chunk;
  o.threads = 1;
  o.content_type = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
  auto r = EncryptContainer(in, out, author, to, o);
  if (!r) std::abort();
  return out.data();
}

std::size_t HeaderSize(const Buffer& c) {
  io::MemorySource in(c);
  return InspectContainer(in)->header_size;
}

void Container(const std::string& name, const std::string& comment, const Identity& reader,
               const Buffer& container, const std::string& expect, const Buffer* plain = nullptr) {
  std::vector<std::pair<std::string, std::string>> head = {
      {"expect", expect}, {"comment", comment}, {"identity", SecretText(reader)}};
  if (plain) {
    head.push_back({"plaintext-size", std::to_string(plain->size())});
    head.push_back({"plaintext-sha256", HexEncode(Sha256(*plain))});
  }
  Write("container", name, head, container);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: vector_generator OUTPUT_DIR\n";
    return 2;
  }
  g_root = argv[1];
  testing::UseDeterministicRandomnessForTesting(20261123);

  const Identity alice = MakeIdentity("alice@example.com");
  const Identity bob = MakeIdentity("bob@example.com");
  const Identity carol = MakeIdentity("carol@example.com");
  const std::vector<PublicBundle> to = {alice.public_bundle(), bob.public_bundle()};

  // --- containers ---------------------------------------------------------------------------
  const Buffer empty;
  const Buffer one = {0x42};
  const Buffer exact = Pattern(4096);
  const Buffer multi = Pattern(3 * 4096 + 100);
  const Buffer c_empty = Encrypt(empty, alice, to);
  const Buffer c_one = Encrypt(one, alice, to);
  const Buffer c_exact = Encrypt(exact, alice, to);
  const Buffer c_multi = Encrypt(multi, alice, to);
  const std::size_t h = HeaderSize(c_multi);
  const std::size_t w = 4096 + 16;

  Container("ok-empty", "empty plaintext: one empty final chunk", bob, c_empty, "success", &empty);
  Container("ok-one-byte", "one byte", bob, c_one, "success", &one);
  Container("ok-exact-chunk", "exactly one full chunk, which is final", bob, c_exact, "success",
            &exact);
  Container("ok-multi-chunk", "four chunks of 4096 bytes, the last partial", bob, c_multi,
            "success", &multi);
  Container("ok-author-reads", "the author is also a recipient", alice, c_multi, "success", &multi);
  Container("not-a-recipient", "carol has no stanza", carol, c_multi, "not_a_recipient");

  Buffer t = c_multi;
  t[8 + 1 + 4 + 16 + 4 + 7 + 1] ^= 0x01;  // First content-type byte: parses, MAC fails.
  Container("header-tampered-content-type", "content type changed after sealing", bob, t,
            "header_tampered");
  {
    // Bob's stanza is the second; its wrapped key ends 32 bytes before the MAC.
    t = c_multi;
    t[h - 32 - 1] ^= 0x01;
    Container("header-tampered-wrapped-key", "bob's wrapped key altered", bob, t,
              "header_tampered");
  }
  t = c_multi;
  t[h + w + 10] ^= 0x01;
  Container("payload-tampered", "one bit flipped in chunk 1", bob, t, "payload_tampered");
  t = c_multi;
  std::swap_ranges(t.begin() + static_cast<std::ptrdiff_t>(h),
                   t.begin() + static_cast<std::ptrdiff_t>(h + w),
                   t.begin() + static_cast<std::ptrdiff_t>(h + w));
  Container("payload-reordered", "chunks 0 and 1 swapped", bob, t, "payload_tampered");
  t.assign(c_multi.begin(), c_multi.begin() + static_cast<std::ptrdiff_t>(h + 3 * w));
  t.insert(t.end(), c_multi.end() - 64, c_multi.end());
  Container("payload-cut-at-chunk-boundary", "final chunk dropped, signature kept", bob, t,
            "payload_tampered");
  t = c_multi;
  t.push_back(0);
  Container("payload-extended", "one byte appended", bob, t, "payload_tampered");
  t.assign(c_multi.begin(), c_multi.begin() + 50);
  Container("truncated-in-header", "cut inside the header", bob, t, "truncated");
  t.assign(c_multi.begin(), c_multi.begin() + static_cast<std::ptrdiff_t>(h + 40));
  Container("truncated-payload", "fewer than 80 bytes after the header", bob, t, "truncated");
  t = c_multi;
  t[8] = 2;
  Container("unsupported-version", "version byte 2", bob, t, "unsupported_version");
  t = c_multi;
  t[0] = 'X';
  Container("malformed-magic", "not a Strongroom container", bob, t, "malformed");
  t = c_multi;
  t[8 + 1 + 4 + 16 + 3] = 0x88;  // chunk_size 4096 -> 0x1088
  Container("malformed-chunk-size", "chunk size not a power of two", bob, t, "malformed");
  t = c_multi;
  t[9] = 0x00;
  t[10] = 0x20;  // header_len 2 MiB
  Container("header-too-large", "declared header length over 1 MiB", bob, t, "too_large");
  t = c_multi;
  t.back() ^= 0x01;
  Container("bad-signature", "last signature byte flipped", bob, t, "bad_signature");
  {
    auto hdr = container::ParseHeader(std::span(c_multi).first(h));
    ByteWriter msg;
    msg.Raw(container::kSignatureLabel);
    msg.Raw(hdr->mac);
    msg.Raw(std::span(c_multi).subspan(c_multi.size() - 80, 16));
    const Signature forged = bob.Sign(msg.buffer());
    t = c_multi;
    std::copy(forged.begin(), forged.end(), t.end() - 64);
    Container("forged-author", "bob (a recipient) signs in alice's name", bob, t, "bad_signature");
  }

  // --- public bundles -----------------------------------------------------------------------
  auto bundle = [](const std::string& name, const std::string& comment, const Buffer& b,
                   const std::string& expect, const PublicBundle* ok) {
    std::vector<std::pair<std::string, std::string>> head = {{"expect", expect},
                                                             {"comment", comment}};
    if (ok) {
      head.push_back({"user-id", ok->user_id()});
      head.push_back({"fingerprint", HexEncode(ok->fingerprint())});
      head.push_back({"display-fingerprint", ok->DisplayFingerprint()});
      head.push_back({"text", ok->ToText()});
    }
    Write("public-bundle", name, head, b);
  };
  const Buffer pb = alice.public_bundle().Serialize();
  bundle("ok", "alice's bundle", pb, "success", &alice.public_bundle());
  Buffer pt = pb;
  pt.back() ^= 0x01;
  bundle("bad-signature", "signature altered", pt, "bad_signature", nullptr);
  pt = pb;
  const auto& mk = carol.public_bundle().encryption_key();
  std::copy(mk.begin(), mk.end(), pt.begin() + 6 + 17 + 8);
  bundle("substituted-key", "encryption key replaced, signature kept", pt, "bad_signature",
         nullptr);
  pt = pb;
  pt[4] = 2;
  bundle("unsupported-version", "version 2", pt, "unsupported_version", nullptr);
  pt = pb;
  pt.push_back(0);
  bundle("malformed-trailing-byte", "one byte too many", pt, "malformed", nullptr);
  pt = pb;
  pt[6 + 5] = ' ';
  bundle("malformed-user-id", "space in the user id", pt, "malformed", nullptr);

  // --- password-derived keys and bundles ------------------------------------------------------
  KdfParams params;
  for (std::size_t i = 0; i < params.salt.size(); ++i)
    params.salt[i] = static_cast<std::uint8_t>(i);
  const std::string password = "correct horse battery staple";
  auto keys = DerivePasswordKeys(password, params);
  if (!keys) std::abort();
  const std::string params_text = "opslimit=3 memlimit=67108864 salt=" + HexEncode(params.salt);
  Write("password", "derive-default",
        {{"expect", "success"},
         {"comment", "Argon2id t=3 m=64MiB p=1, then HKDF split"},
         {"password", password},
         {"params", params_text},
         {"auth-key", HexEncode(keys->auth_key.bytes())},
         {"key-encryption-key", HexEncode(keys->key_encryption_key.bytes())}},
        {});
  Write("password", "weak-memlimit",
        {{"expect", "weak_parameters"},
         {"comment", "memlimit 32 MiB: below the floor"},
         {"password", password},
         {"params", "opslimit=3 memlimit=33554432 salt=" + HexEncode(params.salt)}},
        {});
  Write("password", "weak-opslimit",
        {{"expect", "weak_parameters"},
         {"comment", "opslimit 2: below the floor"},
         {"password", password},
         {"params", "opslimit=2 memlimit=67108864 salt=" + HexEncode(params.salt)}},
        {});

  auto sealed = SealPrivateBundle(alice, *keys, params);
  if (!sealed) std::abort();
  const std::string alice_pub = alice.public_bundle().ToText();
  Write("private-bundle", "ok",
        {{"expect", "success"},
         {"comment", "password bundle"},
         {"password", password},
         {"public-key", alice_pub}},
        *sealed);
  Write("private-bundle", "wrong-password",
        {{"expect", "wrong_password"},
         {"comment", "one letter off"},
         {"password", "correct horse battery stapler"}},
        *sealed);
  Buffer st = *sealed;
  const std::size_t params_at = 4 + 1 + 1 + 1 + alice.user_id().size();
  st[params_at + 1 + 4 + 4] = 0x02;  // memlimit 64 MiB -> 32 MiB
  Write("private-bundle", "weak-parameters",
        {{"expect", "weak_parameters"},
         {"comment", "server lowered memlimit to 32 MiB"},
         {"password", password}},
        st);
  st = *sealed;
  st[params_at + 1 + 4 + 8] ^= 0x01;  // first salt byte
  Write("private-bundle", "tampered-salt",
        {{"expect", "wrong_password"},
         {"comment", "salt altered: a different key is derived"},
         {"password", password}},
        st);
  st = *sealed;
  st[4] = 2;
  Write("private-bundle", "unsupported-version",
        {{"expect", "unsupported_version"}, {"comment", "version 2"}, {"password", password}}, st);

  const RecoveryKey recovery = RecoveryKey::Generate();
  const RecoveryKey other = RecoveryKey::Generate();
  auto rb = SealRecoveryBundle(alice, recovery);
  if (!rb) std::abort();
  Write("recovery", "ok",
        {{"expect", "success"},
         {"comment", "recovery bundle opened by its code"},
         {"code", recovery.ToCode()},
         {"key", HexEncode(recovery.bytes())},
         {"recovery-auth-key", HexEncode(RecoveryAuthKey(recovery).bytes())},
         {"public-key", alice_pub}},
        *rb);
  Write("recovery", "wrong-code",
        {{"expect", "wrong_password"},
         {"comment", "a valid code, not this bundle's"},
         {"code", other.ToCode()}},
        *rb);
  std::string typo = recovery.ToCode();
  typo[0] = typo[0] == 'A' ? 'B' : 'A';
  Write("recovery", "typo",
        {{"expect", "malformed"},
         {"comment", "checksum catches a mistyped character"},
         {"code", typo}},
        *rb);
  std::cout << "vectors written to " << g_root << "\n";
  return 0;
}
