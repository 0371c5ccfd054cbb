#include "strongroom/crypto/password.h"

#include "crypto/primitives.h"
#include "crypto/wire.h"
#include "strongroom/crypto/init.h"

#include <cstring>

namespace strongroom::crypto {
namespace {

constexpr std::string_view kBundleMagic = "SRPK";
constexpr std::uint8_t kBundleVersion = 1;
constexpr std::uint8_t kKindPassword = 1;
constexpr std::uint8_t kKindRecovery = 2;
constexpr std::size_t kMaxBundleSize = 1024;
constexpr std::string_view kAuthKeyLabel = "strongroom-v1-auth-key";
constexpr std::string_view kKekLabel = "strongroom-v1-key-encryption-key";
constexpr std::string_view kRecoveryKekLabel = "strongroom-v1-recovery-key-encryption-key";
constexpr std::string_view kRecoveryChecksumLabel = "strongroom-v1-recovery-code";
constexpr std::string_view kRecoveryAuthLabel = "strongroom-v1-recovery-auth-key";
constexpr std::size_t kRecoveryChecksumSize = 2;

struct ParsedBundle {
  std::uint8_t kind = 0;
  std::string user_id;
  KdfParams params;
  std::span<const std::uint8_t> aad;  // Everything before the nonce.
  std::array<std::uint8_t, kAeadNonceSize> nonce{};
  std::span<const std::uint8_t> ciphertext;
};

result<ParsedBundle> ParseBundle(std::span<const std::uint8_t> bytes) {
  if (bytes.size() > kMaxBundleSize) return errc::malformed;
  ByteReader r(bytes);
  ParsedBundle p;
  if (auto ec = ReadMagicAndVersion(r, kBundleMagic, kBundleVersion)) return ec;
  std::uint8_t id_len = 0;
  std::span<const std::uint8_t> id;
  if (!r.U8(p.kind) || !r.U8(id_len) || !r.View(id_len, id)) return errc::malformed;
  p.user_id.assign(id.begin(), id.end());
  if (!IsValidUserId(p.user_id)) return errc::malformed;
  if (p.kind == kKindPassword) {
    if (!r.U8(p.params.algorithm) || !r.U32(p.params.opslimit) || !r.U64(p.params.memlimit) ||
        !r.Copy(p.params.salt)) {
      return errc::malformed;
    }
  } else if (p.kind != kKindRecovery) {
    return errc::malformed;
  }
  p.aad = bytes.first(r.offset());
  if (!r.Copy(p.nonce)) return errc::malformed;
  // Ciphertext holds the secret key encoding (at least 4+1+1+1+8+64 bytes) plus the tag.
  if (r.remaining() < 79 + kAeadTagSize) return errc::malformed;
  if (!r.View(r.remaining(), p.ciphertext)) return errc::malformed;
  return p;
}

result<std::vector<std::uint8_t>> Seal(const Identity& identity, std::uint8_t kind,
                                       const KdfParams* params,
                                       std::span<const std::uint8_t, 32> key) {
  ByteWriter w;
  w.Raw(kBundleMagic);
  w.U8(kBundleVersion);
  w.U8(kind);
  w.U8(static_cast<std::uint8_t>(identity.user_id().size()));
  w.Raw(identity.user_id());
  if (params != nullptr) {
    w.U8(params->algorithm);
    w.U32(params->opslimit);
    w.U64(params->memlimit);
    w.Raw(params->salt);
  }
  const std::size_t aad_size = w.size();
  std::array<std::uint8_t, kAeadNonceSize> nonce{};
  RandomBytes(nonce);
  w.Raw(nonce);
  std::vector<std::uint8_t> secret = identity.ExportSecret();
  std::vector<std::uint8_t>& out = w.buffer();
  const std::size_t ct_offset = out.size();
  out.resize(ct_offset + secret.size() + kAeadTagSize);
  auto r = AeadSeal(key, nonce, std::span(out.data(), aad_size), secret,
                    std::span(out.data() + ct_offset, secret.size() + kAeadTagSize));
  Wipe(secret);
  if (!r) return r.error();
  return w.Take();
}

result<Identity> Open(const ParsedBundle& p, std::span<const std::uint8_t, 32> key) {
  std::vector<std::uint8_t> secret(p.ciphertext.size() - kAeadTagSize);
  if (!AeadOpen(key, p.nonce, p.aad, p.ciphertext, secret)) return errc::wrong_password;
  auto identity = Identity::ImportSecret(secret);
  Wipe(secret);
  if (!identity) return identity.error();
  // The header's user id is authenticated (AAD); the sealed one must match it.
  if (identity->user_id() != p.user_id) return errc::malformed;
  return identity;
}

Secret<32> RecoveryKek(const RecoveryKey& key) {
  Secret<32> kek;
  if (!HkdfSha256(key.bytes(), {}, AsBytes(kRecoveryKekLabel), kek.bytes())) std::abort();
  return kek;
}

std::array<std::uint8_t, kRecoveryChecksumSize> RecoveryChecksum(
    std::span<const std::uint8_t, 32> key) {
  std::vector<std::uint8_t> msg(kRecoveryChecksumLabel.begin(), kRecoveryChecksumLabel.end());
  msg.insert(msg.end(), key.begin(), key.end());
  const Sha256Digest d = Sha256(msg);
  Wipe(msg);
  return {d[0], d[1]};
}

}  // namespace

KdfParams KdfParams::Generate() {
  (void)Init();
  KdfParams p;
  RandomBytes(p.salt);
  return p;
}

result<void> CheckKdfParams(const KdfParams& params) noexcept {
  if (params.algorithm != kKdfAlgArgon2id13) return errc::unsupported_version;
  if (params.opslimit < kKdfMinOpsLimit || params.memlimit < kKdfMinMemLimit) {
    return errc::weak_parameters;
  }
  if (params.opslimit > kKdfMaxOpsLimit || params.memlimit > kKdfMaxMemLimit) {
    return errc::too_large;
  }
  return {};
}

result<PasswordKeys> DerivePasswordKeys(std::string_view password, const KdfParams& params) {
  if (auto r = Init(); !r) return r.error();
  if (auto r = CheckKdfParams(params); !r) return r.error();
  Secret<32> master;
  if (auto r = Argon2id(password, params.salt, params.opslimit, params.memlimit, master.bytes());
      !r) {
    return r.error();
  }
  PasswordKeys keys;
  if (auto r = HkdfSha256(master.bytes(), {}, AsBytes(kAuthKeyLabel), keys.auth_key.bytes()); !r) {
    return r.error();
  }
  if (auto r = HkdfSha256(master.bytes(), {}, AsBytes(kKekLabel), keys.key_encryption_key.bytes());
      !r) {
    return r.error();
  }
  return keys;
}

RecoveryKey RecoveryKey::Generate() {
  (void)Init();
  RecoveryKey k;
  RandomBytes(k.key_.bytes());
  return k;
}

std::string RecoveryKey::ToCode() const {
  std::vector<std::uint8_t> raw(key_.bytes().begin(), key_.bytes().end());
  const auto sum = RecoveryChecksum(key_.bytes());
  raw.insert(raw.end(), sum.begin(), sum.end());
  std::string b32 = Base32Encode(raw);  // 34 bytes -> 55 characters.
  Wipe(raw);
  std::string code;
  for (std::size_t i = 0; i < b32.size(); i += 5) {
    if (i > 0) code += '-';
    code += b32.substr(i, 5);
  }
  Wipe(std::span(reinterpret_cast<std::uint8_t*>(b32.data()), b32.size()));
  return code;
}

result<RecoveryKey> RecoveryKey::FromCode(std::string_view code) {
  if (code.size() > 256) return errc::malformed;
  auto raw = Base32Decode(code);
  if (!raw || raw->size() != 32 + kRecoveryChecksumSize) return errc::malformed;
  RecoveryKey k;
  std::copy_n(raw->begin(), 32, k.key_.data());
  const auto sum = RecoveryChecksum(k.key_.bytes());
  const bool ok = ConstantTimeEqual(sum, std::span(*raw).subspan(32));
  Wipe(*raw);
  if (!ok) return errc::malformed;
  return k;
}

result<std::vector<std::uint8_t>> SealPrivateBundle(const Identity& identity,
                                                    const PasswordKeys& keys,
                                                    const KdfParams& params) {
  if (auto r = CheckKdfParams(params); !r) return r.error();
  return Seal(identity, kKindPassword, &params, keys.key_encryption_key.bytes());
}

result<std::vector<std::uint8_t>> SealRecoveryBundle(const Identity& identity,
                                                     const RecoveryKey& key) {
  const Secret<32> kek = RecoveryKek(key);
  return Seal(identity, kKindRecovery, nullptr, kek.bytes());
}

result<KdfParams> PrivateBundleParams(std::span<const std::uint8_t> bundle) {
  auto p = ParseBundle(bundle);
  if (!p) return p.error();
  if (p->kind != kKindPassword) return errc::invalid_argument;
  return p->params;
}

result<Identity> OpenPrivateBundle(std::span<const std::uint8_t> bundle,
                                   std::string_view password) {
  auto p = ParseBundle(bundle);
  if (!p) return p.error();
  if (p->kind != kKindPassword) return errc::invalid_argument;
  auto keys = DerivePasswordKeys(password, p->params);
  if (!keys) return keys.error();
  return Open(*p, keys->key_encryption_key.bytes());
}

result<Identity> OpenPrivateBundle(std::span<const std::uint8_t> bundle, const PasswordKeys& keys) {
  auto p = ParseBundle(bundle);
  if (!p) return p.error();
  if (p->kind != kKindPassword) return errc::invalid_argument;
  if (auto r = CheckKdfParams(p->params); !r) return r.error();
  return Open(*p, keys.key_encryption_key.bytes());
}

result<Identity> OpenRecoveryBundle(std::span<const std::uint8_t> bundle, const RecoveryKey& key) {
  auto p = ParseBundle(bundle);
  if (!p) return p.error();
  if (p->kind != kKindRecovery) return errc::invalid_argument;
  const Secret<32> kek = RecoveryKek(key);
  return Open(*p, kek.bytes());
}

Secret<32> RecoveryAuthKey(const RecoveryKey& key) {
  Secret<32> auth;
  if (!HkdfSha256(key.bytes(), {}, AsBytes(kRecoveryAuthLabel), auth.bytes())) std::abort();
  return auth;
}

}  // namespace strongroom::crypto
