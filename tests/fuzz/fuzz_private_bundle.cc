// Private and recovery bundles: PrivateBundleParams, OpenRecoveryBundle with a fixed recovery
// key, and OpenPrivateBundle with fixed already-derived password keys. The password overload
// of OpenPrivateBundle is never called: Argon2id at 64 MiB per input is far too slow.
//
// Properties:
//  - PrivateBundleParams returns exactly the parameter bytes of the bundle
//    ("SRPK" ‖ version ‖ kind ‖ id_len ‖ user id ‖ alg ‖ u32 ops ‖ u64 mem ‖ salt ‖ ...);
//  - an input never opens both as a recovery bundle and as a password bundle;
//  - an opened identity has the user id the bundle names, survives ExportSecret/ImportSecret,
//    and sealing it again gives a bundle that opens to the same secret keys.
#include "fuzz_common.h"

using namespace strongroom;
using namespace strongroom::crypto;
using strongroom::fuzz::SameSecrets;

namespace {

std::uint64_t LoadBigEndian(std::span<const std::uint8_t> b) {
  std::uint64_t v = 0;
  for (std::uint8_t x : b) v = (v << 8) | x;
  return v;
}

// The user id the bundle header names (only called on a bundle that parsed).
std::string_view NamedUserId(std::span<const std::uint8_t> bundle) {
  return {reinterpret_cast<const char*>(bundle.data()) + 7, bundle[6]};
}

void CheckIdentity(const Identity& id, std::span<const std::uint8_t> bundle) {
  FUZZ_CHECK(id.user_id() == NamedUserId(bundle));
  std::vector<std::uint8_t> secret = id.ExportSecret();
  auto again = Identity::ImportSecret(secret);
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(again->public_bundle().fingerprint() == id.public_bundle().fingerprint());
  FUZZ_CHECK(again->ExportSecret() == secret);
  Wipe(secret);
}

// A re-sealed bundle has the same size and the same bytes before the nonce (the AAD);
// only the nonce and the ciphertext differ.
bool SameHeader(std::span<const std::uint8_t> sealed, std::span<const std::uint8_t> original,
                std::size_t aad_size) {
  return sealed.size() == original.size() && aad_size <= sealed.size() &&
         std::equal(sealed.begin(), sealed.begin() + static_cast<std::ptrdiff_t>(aad_size),
                    original.begin());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  strongroom::fuzz::InitFixedKeys();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto in = strongroom::fuzz::Span(data, size);

  if (auto params = PrivateBundleParams(in)) {
    FUZZ_CHECK(size >= 7 && size >= 7u + in[6] + 29);
    const auto p = in.subspan(7u + in[6], 29);
    FUZZ_CHECK(params->algorithm == p[0]);
    FUZZ_CHECK(params->opslimit == LoadBigEndian(p.subspan(1, 4)));
    FUZZ_CHECK(params->memlimit == LoadBigEndian(p.subspan(5, 8)));
    FUZZ_CHECK(std::equal(params->salt.begin(), params->salt.end(), p.begin() + 13));
    (void)CheckKdfParams(*params);
  }

  const RecoveryKey& recovery = strongroom::fuzz::FixedRecoveryKey();
  auto by_recovery = OpenRecoveryBundle(in, recovery);
  const PasswordKeys& keys = strongroom::fuzz::FixedPasswordKeys();
  auto by_password = OpenPrivateBundle(in, keys);
  FUZZ_CHECK(!(by_recovery && by_password));

  if (by_recovery) {
    CheckIdentity(*by_recovery, in);
    FUZZ_CHECK(!PrivateBundleParams(in));  // A recovery bundle has no KDF parameters.
    auto sealed = SealRecoveryBundle(*by_recovery, recovery);
    FUZZ_CHECK(sealed.has_value());
    FUZZ_CHECK(SameHeader(*sealed, in, 7u + in[6]));
    auto reopened = OpenRecoveryBundle(*sealed, recovery);
    FUZZ_CHECK(reopened.has_value() && SameSecrets(*reopened, *by_recovery));
  }
  if (by_password) {
    CheckIdentity(*by_password, in);
    auto params = PrivateBundleParams(in);
    FUZZ_CHECK(params.has_value() && CheckKdfParams(*params));
    auto sealed = SealPrivateBundle(*by_password, keys, *params);
    FUZZ_CHECK(sealed.has_value());
    FUZZ_CHECK(SameHeader(*sealed, in, 7u + in[6] + 29));
    auto reopened = OpenPrivateBundle(*sealed, keys);
    FUZZ_CHECK(reopened.has_value() && SameSecrets(*reopened, *by_password));
  }
  return 0;
}
