#include "crypto/primitives.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <sodium.h>

#include <cstdlib>
#include <limits>

namespace strongroom::crypto {

namespace detail {

void* SecureAlloc(std::size_t size) {
  if (sodium_init() < 0) std::abort();
  void* p = sodium_malloc(size);
  if (p == nullptr) std::abort();
  return p;
}

void SecureFree(void* p) noexcept {
  if (p != nullptr) sodium_free(p);  // sodium_free wipes before freeing.
}

void Wipe(void* p, std::size_t size) noexcept {
  sodium_memzero(p, size);
}

}  // namespace detail

void RandomBytes(MutableBytes out) noexcept {
  randombytes_buf(out.data(), out.size());
}

Sha256Digest Sha256(Bytes data) noexcept {
  Sha256Digest d;
  crypto_hash_sha256(d.data(), data.data(), data.size());
  return d;
}

Sha512Digest Sha512(Bytes data) noexcept {
  Sha512Digest d;
  crypto_hash_sha512(d.data(), data.data(), data.size());
  return d;
}

Sha256Digest HmacSha256(std::span<const std::uint8_t, 32> key, Bytes data) noexcept {
  Sha256Digest tag;
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, key.data(), key.size());
  crypto_auth_hmacsha256_update(&state, data.data(), data.size());
  crypto_auth_hmacsha256_final(&state, tag.data());
  sodium_memzero(&state, sizeof state);
  return tag;
}

bool HmacSha256Verify(std::span<const std::uint8_t, 32> key, Bytes data,
                      std::span<const std::uint8_t, 32> tag) noexcept {
  const Sha256Digest expected = HmacSha256(key, data);
  return sodium_memcmp(expected.data(), tag.data(), tag.size()) == 0;
}

bool ConstantTimeEqual(Bytes a, Bytes b) noexcept {
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

result<void> HkdfSha256(Bytes ikm, Bytes salt, Bytes info, MutableBytes out) noexcept {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  if (kdf == nullptr) return errc::internal;
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  EVP_KDF_free(kdf);
  if (ctx == nullptr) return errc::internal;
  char digest[] = "SHA256";
  // An empty salt must still be passed as a (zero-length) parameter; RFC 5869 then uses a
  // string of zeros, which OpenSSL does when the salt is absent.
  static const std::uint8_t kEmpty[1] = {0};
  OSSL_PARAM params[5];
  int i = 0;
  params[i++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
  params[i++] = OSSL_PARAM_construct_octet_string(
      OSSL_KDF_PARAM_KEY, const_cast<std::uint8_t*>(ikm.empty() ? kEmpty : ikm.data()), ikm.size());
  if (!salt.empty()) {
    params[i++] = OSSL_PARAM_construct_octet_string(
        OSSL_KDF_PARAM_SALT, const_cast<std::uint8_t*>(salt.data()), salt.size());
  }
  params[i++] = OSSL_PARAM_construct_octet_string(
      OSSL_KDF_PARAM_INFO, const_cast<std::uint8_t*>(info.empty() ? kEmpty : info.data()),
      info.size());
  params[i] = OSSL_PARAM_construct_end();
  const int ok = EVP_KDF_derive(ctx, out.data(), out.size(), params);
  EVP_KDF_CTX_free(ctx);
  if (ok != 1) return errc::internal;
  return {};
}

namespace {

// Runs one AES-256-GCM operation on an initialised context. `encrypt` selects direction.
result<void> GcmRun(EVP_CIPHER_CTX* ctx, bool encrypt, const std::uint8_t* key,
                    const std::uint8_t* nonce, Bytes aad, Bytes in, std::uint8_t* out) noexcept {
  if (in.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()) ||
      aad.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    return errc::too_large;
  }
  const std::size_t body = encrypt ? in.size() : in.size() - kAeadTagSize;
  int len = 0;
  if (encrypt) {
    if (EVP_EncryptInit_ex(ctx, nullptr, nullptr, key, nonce) != 1) return errc::internal;
    if (!aad.empty() &&
        EVP_EncryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) {
      return errc::internal;
    }
    if (body > 0 && EVP_EncryptUpdate(ctx, out, &len, in.data(), static_cast<int>(body)) != 1) {
      return errc::internal;
    }
    if (EVP_EncryptFinal_ex(ctx, out + body, &len) != 1) return errc::internal;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kAeadTagSize, out + body) != 1) {
      return errc::internal;
    }
    return {};
  }
  if (EVP_DecryptInit_ex(ctx, nullptr, nullptr, key, nonce) != 1) return errc::internal;
  if (!aad.empty() &&
      EVP_DecryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) {
    return errc::internal;
  }
  if (body > 0 && EVP_DecryptUpdate(ctx, out, &len, in.data(), static_cast<int>(body)) != 1) {
    return errc::internal;
  }
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kAeadTagSize,
                          const_cast<std::uint8_t*>(in.data() + body)) != 1) {
    return errc::internal;
  }
  if (EVP_DecryptFinal_ex(ctx, out + body, &len) != 1) {
    // Never release unauthenticated plaintext, even to a caller's scratch buffer.
    sodium_memzero(out, body);
    return errc::payload_tampered;
  }
  return {};
}

EVP_CIPHER_CTX* NewGcmContext(bool encrypt, const std::uint8_t* key) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (ctx == nullptr) std::abort();
  const int ok = encrypt ? EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key, nullptr)
                         : EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key, nullptr);
  if (ok != 1) std::abort();  // Only fails on allocation failure: treat like new.
  return ctx;
}

}  // namespace

result<void> AeadSeal(std::span<const std::uint8_t, 32> key,
                      std::span<const std::uint8_t, 12> nonce, Bytes aad, Bytes plaintext,
                      MutableBytes out) noexcept {
  if (out.size() != plaintext.size() + kAeadTagSize) return errc::invalid_argument;
  EVP_CIPHER_CTX* ctx = NewGcmContext(true, key.data());
  auto r = GcmRun(ctx, true, nullptr, nonce.data(), aad, plaintext, out.data());
  EVP_CIPHER_CTX_free(ctx);  // Frees and cleanses the key schedule.
  return r;
}

result<void> AeadOpen(std::span<const std::uint8_t, 32> key,
                      std::span<const std::uint8_t, 12> nonce, Bytes aad, Bytes ciphertext,
                      MutableBytes out) noexcept {
  if (ciphertext.size() < kAeadTagSize || out.size() != ciphertext.size() - kAeadTagSize) {
    return errc::invalid_argument;
  }
  EVP_CIPHER_CTX* ctx = NewGcmContext(false, key.data());
  auto r = GcmRun(ctx, false, nullptr, nonce.data(), aad, ciphertext, out.data());
  EVP_CIPHER_CTX_free(ctx);
  return r;
}

AeadContext::AeadContext(std::span<const std::uint8_t, 32> key)
    : encrypt_(NewGcmContext(true, key.data())), decrypt_(NewGcmContext(false, key.data())) {}

AeadContext::~AeadContext() {
  EVP_CIPHER_CTX_free(encrypt_);
  EVP_CIPHER_CTX_free(decrypt_);
}

result<void> AeadContext::Seal(std::span<const std::uint8_t, 12> nonce, Bytes plaintext,
                               MutableBytes out) noexcept {
  if (out.size() != plaintext.size() + kAeadTagSize) return errc::invalid_argument;
  return GcmRun(encrypt_, true, nullptr, nonce.data(), {}, plaintext, out.data());
}

result<void> AeadContext::Open(std::span<const std::uint8_t, 12> nonce, Bytes ciphertext,
                               MutableBytes out) noexcept {
  if (ciphertext.size() < kAeadTagSize || out.size() != ciphertext.size() - kAeadTagSize) {
    return errc::invalid_argument;
  }
  return GcmRun(decrypt_, false, nullptr, nonce.data(), {}, ciphertext, out.data());
}

void X25519PublicFromSecret(std::span<const std::uint8_t, 32> secret,
                            std::span<std::uint8_t, 32> public_key) noexcept {
  crypto_scalarmult_base(public_key.data(), secret.data());
}

result<void> X25519(std::span<const std::uint8_t, 32> secret,
                    std::span<const std::uint8_t, 32> peer_public,
                    std::span<std::uint8_t, 32> shared) noexcept {
  // libsodium returns -1 when the result is all zeros (a low-order peer point).
  if (crypto_scalarmult(shared.data(), secret.data(), peer_public.data()) != 0) {
    return errc::malformed;
  }
  return {};
}

void Ed25519FromSeed(std::span<const std::uint8_t, 32> seed, std::span<std::uint8_t, 32> public_key,
                     std::span<std::uint8_t, 64> secret_key) noexcept {
  crypto_sign_seed_keypair(public_key.data(), secret_key.data(), seed.data());
}

void Ed25519Sign(std::span<const std::uint8_t, 64> secret_key, Bytes message,
                 std::span<std::uint8_t, 64> signature) noexcept {
  crypto_sign_detached(signature.data(), nullptr, message.data(), message.size(),
                       secret_key.data());
}

bool Ed25519Verify(std::span<const std::uint8_t, 32> public_key, Bytes message,
                   std::span<const std::uint8_t, 64> signature) noexcept {
  return crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                     public_key.data()) == 0;
}

result<void> Argon2id(std::string_view password, std::span<const std::uint8_t, 16> salt,
                      std::uint32_t opslimit, std::uint64_t memlimit_bytes,
                      std::span<std::uint8_t, 32> out) noexcept {
  static_assert(crypto_pwhash_SALTBYTES == 16);
  if (crypto_pwhash(out.data(), out.size(), password.data(), password.size(), salt.data(), opslimit,
                    static_cast<std::size_t>(memlimit_bytes), crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return errc::too_large;  // Out of memory for the requested parameters.
  }
  return {};
}

}  // namespace strongroom::crypto
