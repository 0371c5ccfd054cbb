// Text and secret encodings: Identity::FromText, Identity::ImportSecret, RecoveryKey::FromCode
// and the wire decoders (Base64UrlDecode, Base32Decode, HexDecode).
//
// Properties on success:
//  - Identity::FromText: ToText() parses back to the same secret keys;
//  - Identity::ImportSecret: ExportSecret() is exactly the input;
//  - RecoveryKey::FromCode: ToCode() is the input with separators removed and upper-cased,
//    regrouped by 5, and parses back to the same key;
//  - each decoder: encoding the result gives the input back (upper-cased without separators
//    for base32, lower-cased for hex).
#include "fuzz_common.h"

#include <cctype>

using namespace strongroom;
using namespace strongroom::crypto;
using strongroom::fuzz::SameSecrets;

namespace {

bool IsBase32Separator(char c) {
  return c == '-' || c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::string Upper(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (IsBase32Separator(c)) continue;
    out.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
  }
  return out;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  strongroom::fuzz::InitFixedKeys();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = strongroom::fuzz::Text(data, size);
  const auto bytes = strongroom::fuzz::Span(data, size);

  if (auto id = Identity::FromText(text)) {
    std::string file = id->ToText();
    auto again = Identity::FromText(file);
    FUZZ_CHECK(again.has_value() && SameSecrets(*again, *id));
    FUZZ_CHECK(again->public_bundle().fingerprint() == id->public_bundle().fingerprint());
    FUZZ_CHECK(IsValidUserId(id->user_id()));
  }

  if (auto id = Identity::ImportSecret(bytes)) {
    std::vector<std::uint8_t> secret = id->ExportSecret();
    FUZZ_CHECK(secret.size() == size && std::equal(secret.begin(), secret.end(), bytes.begin()));
    Wipe(secret);
  }

  if (auto key = RecoveryKey::FromCode(text)) {
    const std::string code = key->ToCode();
    FUZZ_CHECK(code.size() == 11 * 5 + 10);
    std::string plain;
    for (std::size_t i = 0; i < code.size(); ++i) {
      if (i % 6 == 5) {
        FUZZ_CHECK(code[i] == '-');
      } else {
        plain.push_back(code[i]);
      }
    }
    FUZZ_CHECK(plain == Upper(text));
    auto again = RecoveryKey::FromCode(code);
    FUZZ_CHECK(again.has_value());
    FUZZ_CHECK(std::equal(again->bytes().begin(), again->bytes().end(), key->bytes().begin()));
  }

  if (auto out = Base64UrlDecode(text)) {
    FUZZ_CHECK(Base64UrlEncode(*out) == text);
    FUZZ_CHECK(out->size() == size * 3 / 4);
  }
  if (auto out = Base32Decode(text)) {
    FUZZ_CHECK(Base32Encode(*out) == Upper(text));
  }
  if (auto out = HexDecode(text)) {
    FUZZ_CHECK(out->size() * 2 == size);
    FUZZ_CHECK(HexEncode(*out) == Lower(text));
  }
  return 0;
}
