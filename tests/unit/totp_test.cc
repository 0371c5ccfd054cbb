// server/totp.h: codes against RFC 6238's own test vectors, the window and its edges, the
// otpauth:// URI, and the recovery code format. (Codes from an independent implementation,
// oathtool, are checked end to end in tests/integration/two_factor_test.cc.)
#include "server/totp.h"

#include "strongroom/crypto/init.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace strongroom::server::totp {
namespace {

std::vector<std::uint8_t> Bytes(std::string_view text) {
  return {text.begin(), text.end()};
}

// RFC 6238 appendix B: the SHA-1 key is the ASCII string "12345678901234567890"; the table
// gives 8-digit codes, whose last 6 digits are the 6-digit codes (the truncation is mod 10^d).
const auto kRfcKey = Bytes("12345678901234567890");

struct Vector {
  std::int64_t time;
  const char* code;
  std::int64_t step;
};
constexpr Vector kRfcVectors[] = {
    {59, "287082", 1},
    {1111111109, "081804", 37037036},
    {1111111111, "050471", 37037037},
    {1234567890, "005924", 41152263},
    {2000000000, "279037", 66666666},
};

class TotpTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(crypto::Init()); }
};

TEST_F(TotpTest, MatchesTheRfc6238VectorsAtTheirOwnStep) {
  for (const auto& v : kRfcVectors) {
    const auto step = MatchCode(kRfcKey, v.code, v.time);
    ASSERT_TRUE(step.has_value()) << v.time;
    EXPECT_EQ(*step, v.step) << v.time;
  }
}

TEST_F(TotpTest, AcceptsOneStepOfDriftEitherWayAndNoMore) {
  const Vector v = kRfcVectors[3];  // Step 41152263: [1234567890 - 0, ...] inside the step.
  const std::int64_t start = v.step * kPeriodSeconds;
  EXPECT_EQ(MatchCode(kRfcKey, v.code, start), v.step);
  EXPECT_EQ(MatchCode(kRfcKey, v.code, start + 29), v.step);
  EXPECT_EQ(MatchCode(kRfcKey, v.code, start + 30), v.step) << "the next step: clock drift";
  EXPECT_EQ(MatchCode(kRfcKey, v.code, start + 59), v.step);
  EXPECT_EQ(MatchCode(kRfcKey, v.code, start - 1), v.step) << "the previous step";
  EXPECT_EQ(MatchCode(kRfcKey, v.code, start - 30), v.step);
  EXPECT_EQ(MatchCode(kRfcKey, v.code, start + 60), std::nullopt) << "two steps late: expired";
  EXPECT_EQ(MatchCode(kRfcKey, v.code, start - 31), std::nullopt) << "two steps early";
  EXPECT_EQ(MatchCode(kRfcKey, v.code, start + 300), std::nullopt) << "five minutes late";
}

TEST_F(TotpTest, RefusesWrongAndMalformedCodesAndOtherKeys) {
  const Vector v = kRfcVectors[4];
  std::string wrong = v.code;
  wrong[5] = wrong[5] == '9' ? '0' : static_cast<char>(wrong[5] + 1);
  EXPECT_EQ(MatchCode(kRfcKey, wrong, v.time), std::nullopt);
  for (const char* bad : {"", "27903", "2790370", "27903a", " 279037", "279037 ", "-27903"}) {
    EXPECT_FALSE(IsWellFormedCode(bad)) << bad;
    EXPECT_EQ(MatchCode(kRfcKey, bad, v.time), std::nullopt) << bad;
  }
  EXPECT_TRUE(IsWellFormedCode("000000"));
  EXPECT_EQ(MatchCode(Bytes("12345678901234567891"), v.code, v.time), std::nullopt);
  EXPECT_EQ(MatchCode(kRfcKey, v.code, -1), std::nullopt);
}

TEST_F(TotpTest, SecretsAreRandomAndEncodeAsUnpaddedBase32) {
  const Secret a = NewSecret();
  const Secret b = NewSecret();
  EXPECT_NE(a, b);
  // RFC 4648 section 10: BASE32("foobar") = "MZXW6YTBOI======".
  EXPECT_EQ(Base32(Bytes("foobar")), "MZXW6YTBOI");
  EXPECT_EQ(Base32(kRfcKey), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
  const std::string key = Base32(a);
  EXPECT_EQ(key.size(), 32u);  // 160 bits, 5 per character.
  for (const char c : key) EXPECT_TRUE((c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7')) << key;
}

TEST_F(TotpTest, OtpauthUriNamesTheIssuerAccountAndParameters) {
  EXPECT_EQ(OtpauthUri("ada+2fa@example.com", kRfcKey),
            "otpauth://totp/Strongroom:ada%2B2fa@example.com"
            "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Strongroom&algorithm=SHA1"
            "&digits=6&period=30");
}

TEST_F(TotpTest, RecoveryCodesAreTenDistinctFiftyBitCodesInTwoGroups) {
  const auto codes = NewRecoveryCodes();
  ASSERT_EQ(codes.size(), kRecoveryCodeCount);
  EXPECT_EQ(std::set<std::string>(codes.begin(), codes.end()).size(), codes.size());
  for (const auto& code : codes) {
    ASSERT_EQ(code.size(), 11u) << code;
    EXPECT_EQ(code[5], '-') << code;
    for (std::size_t i = 0; i < code.size(); ++i) {
      if (i == 5) continue;
      const char c = code[i];
      EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7')) << code;
    }
    const auto canonical = NormalizeRecoveryCode(code);
    ASSERT_TRUE(canonical.has_value()) << code;
    EXPECT_EQ(*canonical, code.substr(0, 5) + code.substr(6));
  }
  EXPECT_NE(NewRecoveryCodes(), codes);
}

TEST_F(TotpTest, TypedRecoveryCodesAreNormalisedOrRefused) {
  EXPECT_EQ(NormalizeRecoveryCode("abcde-fgh23"), "abcdefgh23");
  EXPECT_EQ(NormalizeRecoveryCode("ABCDE-FGH23"), "abcdefgh23");
  EXPECT_EQ(NormalizeRecoveryCode(" abcde fgh23 "), "abcdefgh23");
  EXPECT_EQ(NormalizeRecoveryCode("abcdefgh23"), "abcdefgh23");
  for (const char* bad :
       {"", "abcde-fgh2", "abcde-fgh234", "abcde-fgh01", "abcde_fgh23", "abcde-fgh2é", "123456"}) {
    EXPECT_EQ(NormalizeRecoveryCode(bad), std::nullopt) << bad;
  }
}

TEST_F(TotpTest, RecoveryCodeDigestsAreSha256PerUser) {
  const std::string d = RecoveryCodeDigest("u-1", "abcdefgh23");
  EXPECT_EQ(d.size(), 64u);
  EXPECT_EQ(d, RecoveryCodeDigest("u-1", "abcdefgh23"));
  EXPECT_NE(d, RecoveryCodeDigest("u-2", "abcdefgh23")) << "the same code of two users";
  EXPECT_NE(d, RecoveryCodeDigest("u-1", "abcdefgh24"));
  // SHA-256("u-1:abcdefgh23"), computed independently (sha256sum).
  EXPECT_EQ(d, "2c2dab01e7442484be8a4b99fc1137ac4b1e3b36389a0de32acdd7e3a3dccbdf");
}

}  // namespace
}  // namespace strongroom::server::totp
