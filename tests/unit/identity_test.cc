#include "crypto/wire.h"
#include "crypto_test_util.h"
#include "strongroom/crypto/password.h"

#include <gtest/gtest.h>

namespace strongroom::crypto::testing {
namespace {

// True when `s` is `groups` groups of `width` characters from `alphabet`, joined by `sep`.
bool IsGrouped(const std::string& s, std::size_t groups, std::size_t width, char sep,
               std::string_view alphabet) {
  if (s.size() != groups * width + (groups - 1)) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const bool separator_position = (i + 1) % (width + 1) == 0;
    if (separator_position ? s[i] != sep : alphabet.find(s[i]) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

TEST(Identity, PublicBundleRoundTripsThroughBytesAndText) {
  const Identity id = NewIdentity("alice@example.com");
  const PublicBundle& pub = id.public_bundle();
  auto parsed = PublicBundle::Parse(pub.Serialize());
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->fingerprint(), pub.fingerprint());
  EXPECT_EQ(parsed->encryption_key(), pub.encryption_key());
  EXPECT_EQ(parsed->signing_key(), pub.signing_key());
  auto text = PublicBundle::FromText(pub.ToText());
  ASSERT_TRUE(text);
  EXPECT_EQ(text->user_id(), "alice@example.com");
  EXPECT_TRUE(pub.ToText().starts_with("srpub1:"));
}

TEST(Identity, EveryBundleByteIsCoveredBySignatureOrStructure) {
  const Identity id = NewIdentity("alice");
  const Buffer bytes = id.public_bundle().Serialize();
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    Buffer t = bytes;
    t[i] ^= 0x01;
    EXPECT_FALSE(PublicBundle::Parse(t)) << "flip at " << i;
  }
}

TEST(Identity, SubstitutedKeyBreaksTheSelfSignature) {
  const Identity alice = NewIdentity("alice"), mallory = NewIdentity("alice");
  Buffer forged = alice.public_bundle().Serialize();
  // Swap in Mallory's encryption key, keep Alice's signing key and signature.
  const auto& k = mallory.public_bundle().encryption_key();
  std::copy(k.begin(), k.end(), forged.begin() + 4 + 1 + 1 + 5 + 8);
  auto r = PublicBundle::Parse(forged);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::bad_signature);
}

TEST(Identity, FingerprintIsTwelveGroupsOfFiveDigits) {
  const Identity id = NewIdentity("alice");
  const std::string fp = id.public_bundle().DisplayFingerprint();
  EXPECT_TRUE(IsGrouped(fp, 12, 5, ' ', "0123456789")) << fp;
  EXPECT_NE(fp, NewIdentity("alice").public_bundle().DisplayFingerprint());
}

TEST(Identity, IdentityTextRoundTripKeepsEverything) {
  const Identity id = NewIdentity("alice");
  auto back = Identity::FromText(id.ToText());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->public_bundle().Serialize(), id.public_bundle().Serialize());
  EXPECT_EQ(Identity::FromText("# only a comment\n").error(), errc::malformed);
  EXPECT_EQ(Identity::FromText("SRSEC1:!!!\n").error(), errc::malformed);
}

TEST(Identity, UserIdRules) {
  EXPECT_TRUE(IsValidUserId("a"));
  EXPECT_TRUE(IsValidUserId(std::string(255, 'x')));
  EXPECT_FALSE(IsValidUserId(""));
  EXPECT_FALSE(IsValidUserId(std::string(256, 'x')));
  EXPECT_FALSE(IsValidUserId("has space"));
  EXPECT_FALSE(IsValidUserId("tab\t"));
  EXPECT_FALSE(Identity::Generate("bad id"));
}

TEST(Identity, SignaturesVerifyOnlyForTheirMessageAndKey) {
  const Identity a = NewIdentity("a"), b = NewIdentity("b");
  const Buffer msg = {1, 2, 3};
  const Signature s = a.Sign(msg);
  EXPECT_TRUE(a.public_bundle().VerifySignature(msg, s));
  EXPECT_FALSE(b.public_bundle().VerifySignature(msg, s));
  EXPECT_FALSE(a.public_bundle().VerifySignature(Buffer{1, 2, 4}, s));
}

// --- Password-derived keys and bundles ------------------------------------------------------

TEST(Password, DerivationIsDeterministicAndSplitsKeys) {
  KdfParams p = KdfParams::Generate();
  auto a = DerivePasswordKeys("correct horse", p);
  auto b = DerivePasswordKeys("correct horse", p);
  auto c = DerivePasswordKeys("correct horsf", p);
  ASSERT_TRUE(a && b && c);
  EXPECT_TRUE(std::equal(a->auth_key.bytes().begin(), a->auth_key.bytes().end(),
                         b->auth_key.bytes().begin()));
  EXPECT_FALSE(std::equal(a->auth_key.bytes().begin(), a->auth_key.bytes().end(),
                          c->auth_key.bytes().begin()));
  // The auth key (sent to the server) differs from the key-encryption key (kept).
  EXPECT_FALSE(std::equal(a->auth_key.bytes().begin(), a->auth_key.bytes().end(),
                          a->key_encryption_key.bytes().begin()));
}

TEST(Password, WeakParametersAreRefused) {
  KdfParams p = KdfParams::Generate();
  p.opslimit = 2;
  EXPECT_EQ(DerivePasswordKeys("pw", p).error(), errc::weak_parameters);
  p.opslimit = 3;
  p.memlimit = 32ull << 20;
  EXPECT_EQ(DerivePasswordKeys("pw", p).error(), errc::weak_parameters);
  p.memlimit = 1ull << 40;
  EXPECT_EQ(DerivePasswordKeys("pw", p).error(), errc::too_large);
  p.memlimit = kKdfMinMemLimit;
  p.algorithm = 9;
  EXPECT_EQ(DerivePasswordKeys("pw", p).error(), errc::unsupported_version);
}

TEST(Password, PrivateBundleOpensOnlyWithThePassword) {
  const Identity id = NewIdentity("alice");
  const KdfParams p = KdfParams::Generate();
  auto keys = DerivePasswordKeys("hunter2 but longer", p);
  ASSERT_TRUE(keys);
  auto bundle = SealPrivateBundle(id, *keys, p);
  ASSERT_TRUE(bundle);
  auto params = PrivateBundleParams(*bundle);
  ASSERT_TRUE(params);
  EXPECT_EQ(params->salt, p.salt);
  auto opened = OpenPrivateBundle(*bundle, "hunter2 but longer");
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->public_bundle().Serialize(), id.public_bundle().Serialize());
  EXPECT_EQ(OpenPrivateBundle(*bundle, "hunter3 but longer").error(), errc::wrong_password);
}

TEST(Password, TamperedBundleParametersAreDetected) {
  const Identity id = NewIdentity("alice");
  const KdfParams p = KdfParams::Generate();
  auto keys = DerivePasswordKeys("pw", p);
  auto bundle = SealPrivateBundle(id, *keys, p);
  ASSERT_TRUE(bundle);
  // Every byte is covered: header bytes are associated data, the rest is the AEAD.
  for (std::size_t i = 0; i < bundle->size(); ++i) {
    Buffer t = *bundle;
    t[i] ^= 0x01;
    EXPECT_FALSE(OpenPrivateBundle(t, *keys)) << "flip at " << i;
  }
  // A server lowering the stored parameters is refused before any derivation.
  Buffer weak = *bundle;
  const std::size_t ops = 4 + 1 + 1 + 1 + 5 + 1;
  weak[ops + 3] = 1;
  EXPECT_EQ(OpenPrivateBundle(weak, "pw").error(), errc::weak_parameters);
}

TEST(Password, PasswordChangeKeepsTheKeyPairs) {
  const Identity id = NewIdentity("alice");
  const KdfParams p1 = KdfParams::Generate(), p2 = KdfParams::Generate();
  auto b1 = SealPrivateBundle(id, *DerivePasswordKeys("old password", p1), p1);
  auto opened = OpenPrivateBundle(*b1, "old password");
  ASSERT_TRUE(opened);
  auto b2 = SealPrivateBundle(*opened, *DerivePasswordKeys("new password", p2), p2);
  auto reopened = OpenPrivateBundle(*b2, "new password");
  ASSERT_TRUE(reopened);
  EXPECT_EQ(reopened->public_bundle().fingerprint(), id.public_bundle().fingerprint());
  EXPECT_EQ(OpenPrivateBundle(*b2, "old password").error(), errc::wrong_password);
}

TEST(Recovery, CodeRoundTripsAndCatchesTypos) {
  const RecoveryKey k = RecoveryKey::Generate();
  const std::string code = k.ToCode();
  EXPECT_TRUE(IsGrouped(code, 11, 5, '-', "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")) << code;
  auto back = RecoveryKey::FromCode(code);
  ASSERT_TRUE(back);
  EXPECT_TRUE(std::equal(back->bytes().begin(), back->bytes().end(), k.bytes().begin()));
  // Lower case and without dashes is accepted too.
  std::string loose;
  for (char c : code) {
    if (c != '-') loose += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  EXPECT_TRUE(RecoveryKey::FromCode(loose));
  std::string typo = code;
  typo[0] = typo[0] == 'A' ? 'B' : 'A';
  EXPECT_EQ(RecoveryKey::FromCode(typo).error(), errc::malformed);
  EXPECT_EQ(RecoveryKey::FromCode("ABC").error(), errc::malformed);
}

TEST(Recovery, RecoveryBundleOpensWithTheCode) {
  const Identity id = NewIdentity("alice");
  const RecoveryKey k = RecoveryKey::Generate();
  auto bundle = SealRecoveryBundle(id, k);
  ASSERT_TRUE(bundle);
  auto opened = OpenRecoveryBundle(*bundle, *RecoveryKey::FromCode(k.ToCode()));
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->public_bundle().fingerprint(), id.public_bundle().fingerprint());
  EXPECT_EQ(OpenRecoveryBundle(*bundle, RecoveryKey::Generate()).error(), errc::wrong_password);
}

// --- Encodings ------------------------------------------------------------------------------

TEST(Wire, EncodingsRoundTripAndRejectNonCanonical) {
  for (std::size_t n = 0; n < 40; ++n) {
    const Buffer b = RandomData(n, static_cast<unsigned>(n));
    EXPECT_EQ(Base64UrlDecode(Base64UrlEncode(b)), b);
    EXPECT_EQ(Base32Decode(Base32Encode(b)), b);
    EXPECT_EQ(HexDecode(HexEncode(b)), b);
  }
  EXPECT_FALSE(Base64UrlDecode("AB"));  // Unused bits set: not canonical ("AA" is).
  EXPECT_TRUE(Base64UrlDecode("AA"));
  EXPECT_FALSE(Base64UrlDecode("AA=="));  // No padding in this variant.
  EXPECT_FALSE(Base32Decode("A1"));
  EXPECT_FALSE(HexDecode("abc"));
}

}  // namespace
}  // namespace strongroom::crypto::testing
