// Public key bundles: PublicBundle::Parse (input as bytes) and PublicBundle::FromText (input
// as text).
//
// Properties on success:
//  - Parse: Serialize() is exactly the input (one encoding per bundle), and parsing it again
//    gives the same fingerprint;
//  - FromText: ToText() is exactly the input without the trailing newlines/spaces FromText
//    ignores, and the bundle equals Parse of its own bytes;
//  - the fields are within bounds and the display fingerprint is 12 groups of 5 digits.
#include "fuzz_common.h"

using namespace strongroom;
using namespace strongroom::crypto;

namespace {

void CheckBundle(const PublicBundle& b) {
  FUZZ_CHECK(IsValidUserId(b.user_id()));
  const std::vector<std::uint8_t> bytes = b.Serialize();
  FUZZ_CHECK(bytes.size() <= kMaxPublicBundleSize);
  auto again = PublicBundle::Parse(bytes);
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(again->fingerprint() == b.fingerprint());
  FUZZ_CHECK(again->user_id() == b.user_id() && again->created() == b.created());
  FUZZ_CHECK(again->encryption_key() == b.encryption_key());
  FUZZ_CHECK(again->signing_key() == b.signing_key());
  const std::string display = b.DisplayFingerprint();
  FUZZ_CHECK(display.size() == 12 * 5 + 11);
  for (std::size_t i = 0; i < display.size(); ++i) {
    const char c = display[i];
    FUZZ_CHECK(i % 6 == 5 ? c == ' ' : (c >= '0' && c <= '9'));
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  strongroom::fuzz::InitFixedKeys();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = strongroom::fuzz::Span(data, size);
  if (auto b = PublicBundle::Parse(bytes)) {
    const std::vector<std::uint8_t> out = b->Serialize();
    FUZZ_CHECK(out.size() == size && std::equal(out.begin(), out.end(), bytes.begin()));
    CheckBundle(*b);
  }

  std::string_view text = strongroom::fuzz::Text(data, size);
  if (auto b = PublicBundle::FromText(text)) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
      text.remove_suffix(1);
    }
    FUZZ_CHECK(b->ToText() == text);
    CheckBundle(*b);
  }
  return 0;
}
