// Private Room records (docs/private-room.md sections 3 and 4): folder keys, names, folder and
// file records, the reader's checks, and what the container API gives them.
#include "crypto/container_format.h"
#include "crypto/primitives.h"
#include "crypto/room_format.h"
#include "crypto/wire.h"
#include "crypto_test_util.h"
#include "strongroom/crypto/room.h"

#include <gtest/gtest.h>

#include <string>

namespace strongroom::crypto::testing {
namespace {

constexpr std::uint32_t kChunk = 4096;

std::string Repeat(char c, std::size_t n) {
  return std::string(n, c);
}

bool SameKey(const Secret<32>& a, const Secret<32>& b) {
  return std::equal(a.bytes().begin(), a.bytes().end(), b.bytes().begin());
}

FolderId IdOf(std::uint8_t first) {
  FolderId id{};
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<std::uint8_t>(first + i);
  return id;
}

NameHmac HmacOf(std::uint8_t first) {
  NameHmac h{};
  for (std::size_t i = 0; i < h.size(); ++i) h[i] = static_cast<std::uint8_t>(first + i);
  return h;
}

class RoomTest : public ::testing::Test {
 protected:
  Identity alice_ = NewIdentity("alice@example.com");
  Identity bob_ = NewIdentity("bob@example.com");
  Identity eve_ = NewIdentity("eve@example.com");
  // Someone else who registered the user id "bob@example.com" with other keys.
  Identity fake_bob_ = NewIdentity("bob@example.com");

  // A container by alice for alice and bob, with its info and file key.
  struct Made {
    Buffer bytes;
    ContainerInfo info;
    Secret<32> file_key;
  };
  Made MakeContainer(const Buffer& plain, const Identity& author,
                     const std::vector<PublicBundle>& to) {
    io::MemorySource in(plain);
    io::MemorySink out;
    EncryptOptions o;
    o.chunk_size = kChunk;
    o.threads = 1;
    o.content_type = "application/vnd.test";
    Made m;
    auto info = EncryptContainer(in, out, author, to, o, &m.file_key);
    EXPECT_TRUE(info) << info.error().message();
    m.info = std::move(*info);
    m.bytes = std::move(out.data());
    return m;
  }
  Made MakeContainer(const Buffer& plain) {
    return MakeContainer(plain, alice_, {alice_.public_bundle(), bob_.public_bundle()});
  }

  FolderRecord Folder(bool root = false) {
    FolderRecord r;
    r.folder_id = IdOf(0x10);
    r.owner_id = alice_.user_id();
    if (!root) {
      r.parent_id = IdOf(0x40);
      r.name_hmac = HmacOf(0x70);
      r.name = "Contracts 2026";
    }
    r.revision = 3;
    return r;
  }

  FileRecord FileFor(const ContainerInfo& info, const Identity& author, std::uint64_t version = 1) {
    FileRecord r;
    r.file_id = info.file_id;
    r.owner_id = alice_.user_id();
    r.author_id = author.user_id();
    r.parent_id = IdOf(0x20);
    r.name_hmac = HmacOf(0x90);
    r.version = version;
    r.header_mac = info.header_mac;
    EXPECT_TRUE(info.final_tag.has_value());
    if (info.final_tag) r.final_tag = *info.final_tag;
    r.metadata.name = "NDA.docx";
    r.metadata.plaintext_size = info.plaintext_size.value_or(0);
    r.metadata.content_type = "application/vnd.test";
    r.metadata.modified_ms = 1767225600123;
    return r;
  }
};

// --- folder keys ------------------------------------------------------------------------------

TEST_F(RoomTest, FolderKeyRoundTripsOnlyForItsOwnerAndFolder) {
  const Secret<32> key = GenerateFolderKey();
  const FolderId id = GenerateFolderId();
  auto sealed = SealFolderKey(key, id, alice_.public_bundle());
  ASSERT_TRUE(sealed);
  EXPECT_EQ(sealed->size(), 80u);
  auto opened = OpenFolderKey(*sealed, id, alice_);
  ASSERT_TRUE(opened) << opened.error().message();
  EXPECT_TRUE(SameKey(*opened, key));

  EXPECT_EQ(OpenFolderKey(*sealed, id, bob_).error(), errc::header_tampered);
  EXPECT_EQ(OpenFolderKey(*sealed, GenerateFolderId(), alice_).error(), errc::header_tampered);
  // Fresh ephemeral key every time.
  auto again = SealFolderKey(key, id, alice_.public_bundle());
  ASSERT_TRUE(again);
  EXPECT_NE(*sealed, *again);
  // A different folder key each time.
  EXPECT_FALSE(SameKey(GenerateFolderKey(), GenerateFolderKey()));
}

TEST_F(RoomTest, FolderKeyEveryByteFlipAndWrongSizeIsRejected) {
  const Secret<32> key = GenerateFolderKey();
  const FolderId id = GenerateFolderId();
  const SealedFolderKey sealed = *SealFolderKey(key, id, alice_.public_bundle());
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    SealedFolderKey t = sealed;
    t[i] ^= 0x01;
    auto r = OpenFolderKey(t, id, alice_);
    ASSERT_FALSE(r) << "flip at byte " << i << " was accepted";
    EXPECT_EQ(r.error(), errc::header_tampered) << i;
  }
  Buffer longer(sealed.begin(), sealed.end());
  longer.push_back(0);
  EXPECT_EQ(OpenFolderKey(longer, id, alice_).error(), errc::malformed);
  EXPECT_EQ(OpenFolderKey(std::span(sealed).first(79), id, alice_).error(), errc::malformed);
  EXPECT_EQ(OpenFolderKey({}, id, alice_).error(), errc::malformed);
  EXPECT_EQ(SealFolderKey(key, id, PublicBundle()).error(), errc::invalid_argument);
}

// The recomputed header MAC of a header whose stanzas were changed (needs the file key).
HeaderMac RemacHeader(container::Header& h, const Secret<32>& file_key) {
  auto bytes = container::SerializeHeaderWithoutMac(h);
  EXPECT_TRUE(bytes);
  Secret<32> mac_key;
  EXPECT_TRUE(HkdfSha256(file_key.bytes(), h.file_id, AsBytes(container::kHeaderMacLabel),
                         mac_key.bytes()));
  h.mac = HmacSha256(mac_key.bytes(), *bytes);
  bytes->insert(bytes->end(), h.mac.begin(), h.mac.end());
  h.raw = std::move(*bytes);
  return h.mac;
}

TEST_F(RoomTest, StanzasAndSealedFolderKeysCannotStandInForEachOther) {
  Made c = MakeContainer(RandomData(100));
  auto header = container::ParseHeader(std::span(c.bytes).first(c.info.header_size));
  ASSERT_TRUE(header);
  const container::Stanza& stanza = header->stanzas[0];
  ASSERT_EQ(stanza.user_id, alice_.user_id());

  // A stanza for alice, read as a folder key sealed for alice with folder id = file id: with
  // one label for both, this would open to the file key.
  Buffer as_sealed(stanza.ephemeral.begin(), stanza.ephemeral.end());
  as_sealed.insert(as_sealed.end(), stanza.wrapped.begin(), stanza.wrapped.end());
  ASSERT_EQ(as_sealed.size(), kSealedFolderKeySize);
  EXPECT_EQ(OpenFolderKey(as_sealed, c.info.file_id, alice_).error(), errc::header_tampered);

  // The reverse: the file key sealed as a folder key (folder id = file id), put in as
  // alice's stanza with a correct header MAC. With one label, the container would open.
  auto sealed = SealFolderKey(c.file_key, c.info.file_id, alice_.public_bundle());
  ASSERT_TRUE(sealed);
  container::Header forged = *header;
  std::copy_n(sealed->begin(), 32, forged.stanzas[0].ephemeral.begin());
  std::copy_n(sealed->begin() + 32, 48, forged.stanzas[0].wrapped.begin());
  RemacHeader(forged, c.file_key);
  Buffer t = forged.raw;
  t.insert(t.end(), c.bytes.begin() + static_cast<std::ptrdiff_t>(c.info.header_size),
           c.bytes.end());
  EXPECT_EQ(Open(t, alice_).error(), errc::header_tampered);
  // Control: the unmodified stanza, re-MACed the same way, opens.
  container::Header control = *header;
  RemacHeader(control, c.file_key);
  EXPECT_EQ(control.raw, Buffer(c.bytes.begin(),
                                c.bytes.begin() + static_cast<std::ptrdiff_t>(c.info.header_size)));
}

// --- names ------------------------------------------------------------------------------------

TEST(RoomNames, ValidationEdgeCases) {
  using namespace std::string_literals;
  for (const std::string& ok :
       {"a"s, "NDA.docx"s, "..."s, ".hidden"s, "a b"s, "a\\b"s, "Grüße.docx"s, "日本語.xlsx"s,
        "\xf0\x9f\x98\x80.pptx"s, "\xc2\xa0"s, "\xef\xbf\xbd"s, "\xf4\x8f\xbf\xbf"s,
        Repeat('a', 255), Repeat('a', 252) + "\xe2\x82\xac"}) {
    EXPECT_TRUE(ValidateRoomName(ok)) << "'" << ok << "' was refused";
  }
  for (const std::string& bad : {""s,
                                 "."s,
                                 ".."s,
                                 "a/b"s,
                                 "/"s,
                                 "a/"s,
                                 Repeat('a', 256),
                                 Repeat('a', 253) + "\xe2\x82\xac",  // 256 bytes
                                 "a\0b"s,
                                 "\0"s,
                                 "a\x01"s,
                                 "\x1f"s,
                                 "tab\there"s,
                                 "new\nline"s,
                                 "\x7f"s,
                                 "\xc2\x85"s,  // U+0085 (C1 control)
                                 "\xc2\x9f"s,  // U+009F
                                 "\xff"s,
                                 "\xfe"s,
                                 "\x80"s,
                                 "a\xbf"s,  // not a lead byte
                                 "\xc0\xaf"s,
                                 "\xc1\xbf"s,          // overlong 2-byte
                                 "\xe0\x80\xaf"s,      // overlong 3-byte
                                 "\xf0\x80\x80\xaf"s,  // overlong 4-byte
                                 "\xed\xa0\x80"s,      // surrogate U+D800
                                 "\xf4\x90\x80\x80"s,  // U+110000
                                 "\xf5\x80\x80\x80"s,
                                 "\xe2\x82"s,
                                 "ab\xf0\x9f\x98"s,
                                 "\xe2\x28\xa1"s}) {
    auto r = ValidateRoomName(bad);
    EXPECT_FALSE(r) << "'" << HexEncode(AsBytes(bad)) << "' was accepted";
    if (!r) {
      EXPECT_EQ(r.error(), errc::invalid_argument);
    }
  }
}

TEST(RoomNames, NormalisationLowerCasesAsciiOnly) {
  EXPECT_EQ(NormaliseRoomName("NDA.docx"), "nda.docx");
  EXPECT_EQ(NormaliseRoomName("AZaz@[`{09"), "azaz@[`{09");
  EXPECT_EQ(NormaliseRoomName("ÄÖÜ.DOCX"), "ÄÖÜ.docx");  // Non-ASCII bytes untouched.
  EXPECT_EQ(NormaliseRoomName(""), "");
}

TEST(RoomNames, NameHmacComparesNormalisedNamesPerFolder) {
  const Secret<32> key = GenerateFolderKey(), other_key = GenerateFolderKey();
  const FolderId id = IdOf(1), other_id = IdOf(2);
  auto a = ComputeNameHmac(key, id, "NDA.docx");
  auto b = ComputeNameHmac(key, id, "nda.docx");
  auto c = ComputeNameHmac(key, id, "nDa.DOCX");
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(*a, *c);
  EXPECT_NE(*a, *ComputeNameHmac(key, id, "NDA.docx "));
  EXPECT_NE(*a, *ComputeNameHmac(key, id, "NDA2.docx"));
  EXPECT_NE(*ComputeNameHmac(key, id, "Ä"), *ComputeNameHmac(key, id, "ä"));  // No folding.
  // Another folder (other key, or same key under another id) gives another hmac.
  EXPECT_NE(*a, *ComputeNameHmac(other_key, id, "NDA.docx"));
  EXPECT_NE(*a, *ComputeNameHmac(key, other_id, "NDA.docx"));
  EXPECT_EQ(ComputeNameHmac(key, id, "a/b").error(), errc::invalid_argument);
  EXPECT_EQ(ComputeNameHmac(key, id, "..").error(), errc::invalid_argument);

  // name_key = HKDF(ikm = folder key, salt = folder id, info = label); HMAC of the
  // normalised name.
  Secret<32> name_key;
  ASSERT_TRUE(HkdfSha256(key.bytes(), id, AsBytes("strongroom-v1-name-hmac"), name_key.bytes()));
  EXPECT_EQ(*a, HmacSha256(name_key.bytes(), AsBytes("nda.docx")));
}

// --- folder records ---------------------------------------------------------------------------

TEST_F(RoomTest, FolderRecordRoundTripsRootAndChild) {
  const Secret<32> key = GenerateFolderKey();
  for (bool root : {true, false}) {
    const FolderRecord rec = Folder(root);
    auto sealed = SealFolderRecord(rec, key, alice_);
    ASSERT_TRUE(sealed) << sealed.error().message();
    auto opened = OpenFolderRecord(sealed->record, sealed->signature, key, alice_.public_bundle());
    ASSERT_TRUE(opened) << opened.error().message();
    EXPECT_EQ(*opened, rec);
    auto pub = ParseFolderRecordPublic(sealed->record);
    ASSERT_TRUE(pub);
    EXPECT_EQ(*pub, static_cast<const FolderRecordPublic&>(rec));
    EXPECT_EQ(pub->parent_id.has_value(), !root);
    // Layout: "SRFD" 1 id str(owner) [parent hmac] u64 nonce AEAD(name).
    const std::size_t expect =
        4 + 1 + 16 + 2 + rec.owner_id.size() + (root ? 0 : 48) + 8 + 12 + rec.name.size() + 16;
    EXPECT_EQ(sealed->record.size(), expect);
    // A fresh nonce each time.
    auto again = SealFolderRecord(rec, key, alice_);
    ASSERT_TRUE(again);
    EXPECT_NE(again->record, sealed->record);
  }
}

TEST_F(RoomTest, FolderRecordLongestFieldsFitTheMaximum) {
  auto long_id = Identity::Generate(Repeat('u', 255));
  ASSERT_TRUE(long_id);
  FolderRecord rec = Folder();
  rec.owner_id = long_id->user_id();
  rec.name = Repeat('n', 255);
  const Secret<32> key = GenerateFolderKey();
  auto sealed = SealFolderRecord(rec, key, *long_id);
  ASSERT_TRUE(sealed);
  EXPECT_EQ(sealed->record.size(), kMaxFolderRecordSize);
  auto opened = OpenFolderRecord(sealed->record, sealed->signature, key, long_id->public_bundle());
  ASSERT_TRUE(opened);
  EXPECT_EQ(*opened, rec);
}

TEST_F(RoomTest, FolderRecordEveryByteFlipIsRejected) {
  const Secret<32> key = GenerateFolderKey();
  for (bool root : {true, false}) {
    const SignedRecord s = *SealFolderRecord(Folder(root), key, alice_);
    for (std::size_t i = 0; i < s.record.size(); ++i) {
      Buffer t = s.record;
      t[i] ^= 0x01;
      EXPECT_FALSE(OpenFolderRecord(t, s.signature, key, alice_.public_bundle()))
          << "record flip at " << i << " accepted";
    }
    for (std::size_t i = 0; i < s.signature.size(); ++i) {
      Signature t = s.signature;
      t[i] ^= 0x01;
      auto r = OpenFolderRecord(s.record, t, key, alice_.public_bundle());
      ASSERT_FALSE(r) << "signature flip at " << i << " accepted";
      EXPECT_EQ(r.error(), errc::bad_signature);
    }
  }
}

TEST_F(RoomTest, FolderRecordWrongKeyOrOwnerIsRejected) {
  const Secret<32> key = GenerateFolderKey();
  const SignedRecord s = *SealFolderRecord(Folder(), key, alice_);
  EXPECT_EQ(
      OpenFolderRecord(s.record, s.signature, GenerateFolderKey(), alice_.public_bundle()).error(),
      errc::record_mismatch);
  // Someone else as the expected owner: the record names alice.
  EXPECT_EQ(OpenFolderRecord(s.record, s.signature, key, bob_.public_bundle()).error(),
            errc::untrusted_signer);
  EXPECT_EQ(OpenFolderRecord(s.record, s.signature, key, PublicBundle()).error(),
            errc::untrusted_signer);
  // Another key under alice's user id.
  auto fake_alice = Identity::Generate("alice@example.com");
  ASSERT_TRUE(fake_alice);
  EXPECT_EQ(OpenFolderRecord(s.record, s.signature, key, fake_alice->public_bundle()).error(),
            errc::bad_signature);
  // A record of another folder (same owner) opened with this folder's key.
  FolderRecord other = Folder();
  other.folder_id = IdOf(0xa0);
  const Secret<32> other_key = GenerateFolderKey();
  const SignedRecord o = *SealFolderRecord(other, other_key, alice_);
  EXPECT_EQ(OpenFolderRecord(o.record, o.signature, key, alice_.public_bundle()).error(),
            errc::record_mismatch);
  // The signature of another record.
  EXPECT_EQ(OpenFolderRecord(s.record, o.signature, key, alice_.public_bundle()).error(),
            errc::bad_signature);
  // Wrong signature size.
  EXPECT_EQ(
      OpenFolderRecord(s.record, std::span(s.signature).first(63), key, alice_.public_bundle())
          .error(),
      errc::malformed);
}

TEST_F(RoomTest, FolderNameIsBoundToFolderIdAndRevision) {
  // The owner re-signs a record whose revision was changed after sealing: the signature is
  // fine, the name's associated data is not.
  const Secret<32> key = GenerateFolderKey();
  const SignedRecord s = *SealFolderRecord(Folder(), key, alice_);
  Buffer t = s.record;
  const std::size_t revision_at = 4 + 1 + 16 + 2 + alice_.user_id().size() + 48;
  ASSERT_EQ(t[revision_at + 7], 3);
  t[revision_at + 7] = 4;
  ASSERT_TRUE(ParseFolderRecordPublic(t));
  EXPECT_EQ(ParseFolderRecordPublic(t)->revision, 4u);
  const Signature resigned = alice_.Sign(room::FolderRecordSignedMessage(t));
  EXPECT_EQ(OpenFolderRecord(t, resigned, key, alice_.public_bundle()).error(),
            errc::record_mismatch);
}

TEST_F(RoomTest, FolderRecordParsingIsStrict) {
  const Secret<32> key = GenerateFolderKey();
  for (bool root : {true, false}) {
    const SignedRecord s = *SealFolderRecord(Folder(root), key, alice_);
    for (std::size_t n = 0; n < s.record.size(); ++n) {
      auto r = ParseFolderRecordPublic(std::span(s.record).first(n));
      // A child cut short by exactly parent+hmac would look like a root with the wrong
      // revision and nonce; it must still not open.
      if (r) {
        EXPECT_FALSE(OpenFolderRecord(std::span(s.record).first(n), s.signature, key,
                                      alice_.public_bundle()))
            << n;
      } else {
        EXPECT_EQ(r.error(), errc::malformed) << "cut to " << n;
      }
    }
    Buffer t = s.record;
    t.push_back(0);
    if (root) {
      EXPECT_EQ(ParseFolderRecordPublic(t).error(), errc::malformed);
    }
    EXPECT_FALSE(OpenFolderRecord(t, s.signature, key, alice_.public_bundle()));
    t = s.record;
    t[0] = 'X';
    EXPECT_EQ(ParseFolderRecordPublic(t).error(), errc::malformed);
    t = s.record;
    t[4] = 2;
    EXPECT_EQ(ParseFolderRecordPublic(t).error(), errc::unsupported_version);
    EXPECT_EQ(OpenFolderRecord(t, s.signature, key, alice_.public_bundle()).error(),
              errc::unsupported_version);
    t = s.record;
    t[4 + 1 + 16 + 2 + 3] = ' ';  // Space in the owner id.
    EXPECT_EQ(ParseFolderRecordPublic(t).error(), errc::malformed);
    // The file magic is not a folder record.
    t = s.record;
    std::copy_n("SRFL", 4, t.begin());
    EXPECT_EQ(ParseFolderRecordPublic(t).error(), errc::malformed);
  }
  // Revision 0 is never written.
  FolderRecord zero = Folder();
  zero.revision = 0;
  EXPECT_EQ(SealFolderRecord(zero, key, alice_).error(), errc::invalid_argument);
  Buffer t = SealFolderRecord(Folder(), key, alice_)->record;
  const std::size_t revision_at = 4 + 1 + 16 + 2 + alice_.user_id().size() + 48;
  std::fill_n(t.begin() + static_cast<std::ptrdiff_t>(revision_at), 8, 0);
  EXPECT_EQ(ParseFolderRecordPublic(t).error(), errc::malformed);
  t[revision_at] = 0x80;  // 2^63: beyond the limit.
  EXPECT_EQ(ParseFolderRecordPublic(t).error(), errc::malformed);
}

TEST_F(RoomTest, SealFolderRecordRefusesInconsistentRecords) {
  const Secret<32> key = GenerateFolderKey();
  FolderRecord r = Folder();
  r.owner_id = bob_.user_id();
  EXPECT_EQ(SealFolderRecord(r, key, alice_).error(), errc::invalid_argument);
  r = Folder(true);
  r.name = "root";  // The root has no name.
  EXPECT_EQ(SealFolderRecord(r, key, alice_).error(), errc::invalid_argument);
  r = Folder();
  r.name = "";
  EXPECT_EQ(SealFolderRecord(r, key, alice_).error(), errc::invalid_argument);
  r = Folder();
  r.name = "a/b";
  EXPECT_EQ(SealFolderRecord(r, key, alice_).error(), errc::invalid_argument);
  r = Folder();
  r.name_hmac.reset();
  EXPECT_EQ(SealFolderRecord(r, key, alice_).error(), errc::invalid_argument);
  r = Folder(true);
  r.name_hmac = HmacOf(1);
  EXPECT_EQ(SealFolderRecord(r, key, alice_).error(), errc::invalid_argument);
  r = Folder();
  r.revision = kMaxRecordVersion + 1;
  EXPECT_EQ(SealFolderRecord(r, key, alice_).error(), errc::invalid_argument);
  r.revision = kMaxRecordVersion;
  EXPECT_TRUE(SealFolderRecord(r, key, alice_));
}

// --- file records -----------------------------------------------------------------------------

TEST_F(RoomTest, FileRecordRoundTripsWithTheContainersKey) {
  Made c = MakeContainer(RandomData(3 * kChunk + 5));
  const FileRecord rec = FileFor(c.info, alice_);
  auto sealed = SealFileRecord(rec, c.file_key, alice_);
  ASSERT_TRUE(sealed) << sealed.error().message();
  auto opened =
      OpenFileRecord(sealed->record, sealed->signature, c.file_key, alice_.public_bundle());
  ASSERT_TRUE(opened) << opened.error().message();
  EXPECT_EQ(*opened, rec);
  auto pub = ParseFileRecordPublic(sealed->record);
  ASSERT_TRUE(pub);
  EXPECT_EQ(*pub, static_cast<const FileRecordPublic&>(rec));
  const std::size_t meta =
      2 + rec.metadata.name.size() + 8 + 2 + rec.metadata.content_type.size() + 8;
  EXPECT_EQ(sealed->record.size(), 4 + 1 + 16 + 2 * 2 + rec.owner_id.size() + rec.author_id.size() +
                                       16 + 32 + 8 + 32 + 16 + 12 + meta + 16);

  // Bob, a recipient, gets the file key from the container and reads the record.
  io::MemorySource in(c.bytes);
  auto key = OpenFileKey(in, bob_);
  ASSERT_TRUE(key) << key.error().message();
  EXPECT_TRUE(SameKey(key->file_key, c.file_key));
  auto by_bob =
      OpenFileRecord(sealed->record, sealed->signature, key->file_key, alice_.public_bundle());
  ASSERT_TRUE(by_bob);
  EXPECT_EQ(*by_bob, rec);
  auto decrypted = [&] {
    io::MemorySource src(c.bytes);
    io::MemorySink sink;
    return DecryptContainer(src, sink, bob_, 1);
  }();
  ASSERT_TRUE(decrypted);
  EXPECT_TRUE(CheckFileRecord(*by_bob, alice_.public_bundle(), *decrypted, std::nullopt));
}

TEST_F(RoomTest, FileRecordLongestFieldsFitTheMaximum) {
  auto long_id = Identity::Generate(Repeat('u', 255));
  ASSERT_TRUE(long_id);
  Made c = MakeContainer(RandomData(10));
  FileRecord rec = FileFor(c.info, *long_id);
  rec.owner_id = Repeat('o', 255);
  rec.metadata.name = Repeat('n', 255);
  rec.metadata.content_type = Repeat('t', 255);
  auto sealed = SealFileRecord(rec, c.file_key, *long_id);
  ASSERT_TRUE(sealed);
  EXPECT_EQ(sealed->record.size(), kMaxFileRecordSize);
  auto opened =
      OpenFileRecord(sealed->record, sealed->signature, c.file_key, long_id->public_bundle());
  ASSERT_TRUE(opened);
  EXPECT_EQ(*opened, rec);
}

TEST_F(RoomTest, FileRecordEveryByteFlipIsRejected) {
  Made c = MakeContainer(RandomData(100));
  const SignedRecord s = *SealFileRecord(FileFor(c.info, alice_), c.file_key, alice_);
  for (std::size_t i = 0; i < s.record.size(); ++i) {
    Buffer t = s.record;
    t[i] ^= 0x01;
    EXPECT_FALSE(OpenFileRecord(t, s.signature, c.file_key, alice_.public_bundle()))
        << "record flip at " << i << " accepted";
  }
  for (std::size_t i = 0; i < s.signature.size(); ++i) {
    Signature t = s.signature;
    t[i] ^= 0x01;
    auto r = OpenFileRecord(s.record, t, c.file_key, alice_.public_bundle());
    ASSERT_FALSE(r) << "signature flip at " << i << " accepted";
    EXPECT_EQ(r.error(), errc::bad_signature);
  }
}

TEST_F(RoomTest, FileRecordWrongKeyOrAuthorIsRejected) {
  Made c = MakeContainer(RandomData(100));
  Made other = MakeContainer(RandomData(100));
  const SignedRecord s = *SealFileRecord(FileFor(c.info, alice_), c.file_key, alice_);
  EXPECT_EQ(OpenFileRecord(s.record, s.signature, other.file_key, alice_.public_bundle()).error(),
            errc::record_mismatch);
  EXPECT_EQ(OpenFileRecord(s.record, s.signature, c.file_key, bob_.public_bundle()).error(),
            errc::untrusted_signer);
  auto fake_alice = Identity::Generate("alice@example.com");
  ASSERT_TRUE(fake_alice);
  EXPECT_EQ(OpenFileRecord(s.record, s.signature, c.file_key, fake_alice->public_bundle()).error(),
            errc::bad_signature);
  EXPECT_EQ(OpenFileRecord(s.record, Buffer(65), c.file_key, alice_.public_bundle()).error(),
            errc::malformed);
  // A folder record is not a file record (and the reverse).
  const SignedRecord f = *SealFolderRecord(Folder(), GenerateFolderKey(), alice_);
  EXPECT_EQ(OpenFileRecord(f.record, f.signature, c.file_key, alice_.public_bundle()).error(),
            errc::malformed);
  EXPECT_EQ(OpenFolderRecord(s.record, s.signature, c.file_key, alice_.public_bundle()).error(),
            errc::malformed);
}

TEST_F(RoomTest, FileMetadataIsBoundToFileIdAndVersion) {
  Made c = MakeContainer(RandomData(100));
  const SignedRecord s = *SealFileRecord(FileFor(c.info, alice_, 5), c.file_key, alice_);
  const std::size_t version_at =
      4 + 1 + 16 + 2 + alice_.user_id().size() + 2 + alice_.user_id().size() + 16 + 32;
  Buffer t = s.record;
  ASSERT_EQ(t[version_at + 7], 5);
  t[version_at + 7] = 6;  // The author re-signs a bumped version without re-encrypting.
  EXPECT_EQ(ParseFileRecordPublic(t)->version, 6u);
  EXPECT_EQ(OpenFileRecord(t, alice_.Sign(room::FileRecordSignedMessage(t)), c.file_key,
                           alice_.public_bundle())
                .error(),
            errc::record_mismatch);
  // metadata_key = HKDF(file_key, file_id, "strongroom-v1-file-metadata"); ad = label ||
  // file_id || u64(version): decrypt by hand.
  auto parsed = room::ParseFileRecord(s.record);
  ASSERT_TRUE(parsed);
  Secret<32> mk;
  ASSERT_TRUE(HkdfSha256(c.file_key.bytes(), c.info.file_id, AsBytes("strongroom-v1-file-metadata"),
                         mk.bytes()));
  ByteWriter ad;
  ad.Raw(std::string_view("strongroom-v1-file-metadata"));
  ad.Raw(c.info.file_id);
  ad.U64(5);
  Buffer plain(parsed->ciphertext.size() - 16);
  ASSERT_TRUE(
      AeadOpen(mk.bytes(), parsed->nonce.first<12>(), ad.buffer(), parsed->ciphertext, plain));
  EXPECT_EQ(plain, room::SerializeMetadata(FileFor(c.info, alice_).metadata));
}

TEST_F(RoomTest, FileRecordParsingIsStrict) {
  Made c = MakeContainer(RandomData(100));
  const SignedRecord s = *SealFileRecord(FileFor(c.info, alice_), c.file_key, alice_);
  for (std::size_t n = 0; n < s.record.size(); ++n) {
    auto r = ParseFileRecordPublic(std::span(s.record).first(n));
    if (r) {
      EXPECT_FALSE(OpenFileRecord(std::span(s.record).first(n), s.signature, c.file_key,
                                  alice_.public_bundle()))
          << n;
    } else {
      EXPECT_EQ(r.error(), errc::malformed) << "cut to " << n;
    }
  }
  Buffer t = s.record;
  t.push_back(0);
  EXPECT_FALSE(OpenFileRecord(t, s.signature, c.file_key, alice_.public_bundle()));
  t = s.record;
  t[0] = 'x';
  EXPECT_EQ(ParseFileRecordPublic(t).error(), errc::malformed);
  t = s.record;
  t[4] = 0;
  EXPECT_EQ(ParseFileRecordPublic(t).error(), errc::unsupported_version);
  t = s.record;
  t[4 + 1 + 16 + 1] = 0;  // owner_id length 0.
  EXPECT_EQ(ParseFileRecordPublic(t).error(), errc::malformed);
  // Trailing bytes inside the encrypted metadata are refused too (author re-signs).
  FileRecord rec = FileFor(c.info, alice_);
  Secret<32> mk;
  ASSERT_TRUE(HkdfSha256(c.file_key.bytes(), c.info.file_id, AsBytes("strongroom-v1-file-metadata"),
                         mk.bytes()));
  ByteWriter ad;
  ad.Raw(std::string_view("strongroom-v1-file-metadata"));
  ad.Raw(c.info.file_id);
  ad.U64(rec.version);
  for (int variant = 0; variant < 3; ++variant) {
    Buffer meta = room::SerializeMetadata(rec.metadata);
    if (variant == 0) meta.push_back(0);           // trailing byte
    if (variant == 1) meta[2] = '/';               // invalid name
    if (variant == 2) meta[2 + 8 + 8 + 2] = 0x07;  // control char in content type
    Buffer bytes = room::SerializeFileRecordPublic(rec);
    const std::array<std::uint8_t, 12> nonce{};
    bytes.insert(bytes.end(), nonce.begin(), nonce.end());
    const std::size_t at = bytes.size();
    bytes.resize(at + meta.size() + 16);
    ASSERT_TRUE(AeadSeal(mk.bytes(), nonce, ad.buffer(), meta, std::span(bytes).subspan(at)));
    auto r = OpenFileRecord(bytes, alice_.Sign(room::FileRecordSignedMessage(bytes)), c.file_key,
                            alice_.public_bundle());
    ASSERT_FALSE(r) << variant;
    EXPECT_EQ(r.error(), errc::malformed) << variant;
  }
}

TEST_F(RoomTest, SealFileRecordRefusesInvalidRecords) {
  Made c = MakeContainer(RandomData(10));
  FileRecord r = FileFor(c.info, alice_);
  EXPECT_EQ(SealFileRecord(r, c.file_key, bob_).error(), errc::invalid_argument);  // author
  r.version = 0;
  EXPECT_EQ(SealFileRecord(r, c.file_key, alice_).error(), errc::invalid_argument);
  r = FileFor(c.info, alice_);
  r.owner_id = "not a user id";
  EXPECT_EQ(SealFileRecord(r, c.file_key, alice_).error(), errc::invalid_argument);
  r = FileFor(c.info, alice_);
  r.metadata.name = "..";
  EXPECT_EQ(SealFileRecord(r, c.file_key, alice_).error(), errc::invalid_argument);
  r = FileFor(c.info, alice_);
  r.metadata.content_type = "";
  EXPECT_EQ(SealFileRecord(r, c.file_key, alice_).error(), errc::invalid_argument);
  r.metadata.content_type = "text/plain\n";
  EXPECT_EQ(SealFileRecord(r, c.file_key, alice_).error(), errc::invalid_argument);
}

// --- the reader's checks ----------------------------------------------------------------------

TEST_F(RoomTest, CheckAcceptsTheOwnerAndCurrentRecipientsOnly) {
  Made c = MakeContainer(RandomData(2 * kChunk));
  // The owner as author.
  FileRecord rec = FileFor(c.info, alice_);
  EXPECT_TRUE(CheckFileRecord(rec, alice_.public_bundle(), c.info, std::nullopt));
  // Bob, a recipient, as author of an edit.
  rec = FileFor(c.info, bob_, 2);
  EXPECT_TRUE(CheckFileRecord(rec, bob_.public_bundle(), c.info, 1));
  // Eve is no recipient.
  rec = FileFor(c.info, eve_, 2);
  EXPECT_EQ(CheckFileRecord(rec, eve_.public_bundle(), c.info, 1).error(), errc::untrusted_signer);
  // Bob's user id with other keys: the fingerprint is not the recipient's.
  rec = FileFor(c.info, fake_bob_, 2);
  EXPECT_EQ(CheckFileRecord(rec, fake_bob_.public_bundle(), c.info, 1).error(),
            errc::untrusted_signer);
  // The bundle passed is not the record's author.
  rec = FileFor(c.info, bob_, 2);
  EXPECT_EQ(CheckFileRecord(rec, alice_.public_bundle(), c.info, 1).error(),
            errc::untrusted_signer);
  EXPECT_EQ(CheckFileRecord(rec, PublicBundle(), c.info, 1).error(), errc::untrusted_signer);
}

TEST_F(RoomTest, CheckBindsTheRecordToItsContainer) {
  Made c = MakeContainer(RandomData(2 * kChunk));
  Made other = MakeContainer(RandomData(2 * kChunk));
  const FileRecord rec = FileFor(c.info, alice_);
  EXPECT_EQ(CheckFileRecord(rec, alice_.public_bundle(), other.info, std::nullopt).error(),
            errc::record_mismatch);
  FileRecord t = rec;
  t.header_mac[31] ^= 1;
  EXPECT_EQ(CheckFileRecord(t, alice_.public_bundle(), c.info, std::nullopt).error(),
            errc::record_mismatch);
  t = rec;
  t.final_tag[0] ^= 1;
  EXPECT_EQ(CheckFileRecord(t, alice_.public_bundle(), c.info, std::nullopt).error(),
            errc::record_mismatch);
  t = rec;
  t.file_id = other.info.file_id;
  EXPECT_EQ(CheckFileRecord(t, alice_.public_bundle(), c.info, std::nullopt).error(),
            errc::record_mismatch);

  // After sharing (new header, same payload) the old record no longer matches: header MAC.
  io::MemorySource in(c.bytes);
  io::MemorySink shared;
  const std::vector<PublicBundle> add = {eve_.public_bundle()};
  auto v2 = AddRecipients(in, shared, alice_, add);
  ASSERT_TRUE(v2);
  EXPECT_EQ(v2->final_tag, c.info.final_tag);
  EXPECT_NE(v2->header_mac, c.info.header_mac);
  EXPECT_EQ(CheckFileRecord(rec, alice_.public_bundle(), *v2, std::nullopt).error(),
            errc::record_mismatch);
  EXPECT_TRUE(CheckFileRecord(FileFor(*v2, alice_, 2), alice_.public_bundle(), *v2, 1));

  // A header-only info (no final tag) cannot be checked.
  io::MemorySource hdr(c.bytes);
  auto key = OpenFileKey(hdr, alice_);
  ASSERT_TRUE(key);
  EXPECT_FALSE(key->info.final_tag.has_value());
  EXPECT_EQ(CheckFileRecord(rec, alice_.public_bundle(), key->info, std::nullopt).error(),
            errc::invalid_argument);
}

TEST_F(RoomTest, CheckRefusesRollback) {
  Made c = MakeContainer(RandomData(10));
  const FileRecord v3 = FileFor(c.info, alice_, 3);
  EXPECT_TRUE(CheckFileRecord(v3, alice_.public_bundle(), c.info, std::nullopt));
  EXPECT_TRUE(CheckFileRecord(v3, alice_.public_bundle(), c.info, 2));
  EXPECT_TRUE(CheckFileRecord(v3, alice_.public_bundle(), c.info, 3));  // Same version again.
  EXPECT_EQ(CheckFileRecord(v3, alice_.public_bundle(), c.info, 4).error(), errc::rolled_back);
  EXPECT_EQ(CheckFileRecord(v3, alice_.public_bundle(), c.info, kMaxRecordVersion).error(),
            errc::rolled_back);
}

TEST_F(RoomTest, PlacementCheck) {
  Made c = MakeContainer(RandomData(10));
  const FileRecord rec = FileFor(c.info, alice_);
  EXPECT_TRUE(CheckFilePlacement(rec, "alice@example.com", rec.parent_id, rec.name_hmac));
  EXPECT_EQ(CheckFilePlacement(rec, "bob@example.com", rec.parent_id, rec.name_hmac).error(),
            errc::untrusted_signer);
  EXPECT_EQ(CheckFilePlacement(rec, "", rec.parent_id, rec.name_hmac).error(),
            errc::untrusted_signer);
  EXPECT_EQ(CheckFilePlacement(rec, "alice@example.com", IdOf(0), rec.name_hmac).error(),
            errc::record_mismatch);
  EXPECT_EQ(CheckFilePlacement(rec, "alice@example.com", rec.parent_id, HmacOf(0)).error(),
            errc::record_mismatch);
}

// --- what the container API gives the records ---------------------------------------------------

TEST_F(RoomTest, HeaderMacAndFinalTagAgreeAcrossOperations) {
  for (std::size_t n :
       {std::size_t{0}, std::size_t{1}, std::size_t{kChunk}, std::size_t{3 * kChunk + 7}}) {
    Made c = MakeContainer(RandomData(n, static_cast<unsigned>(n + 1)));
    ASSERT_TRUE(c.info.final_tag);
    const Buffer& b = c.bytes;
    // The bytes where format.md puts them.
    EXPECT_TRUE(std::equal(c.info.header_mac.begin(), c.info.header_mac.end(),
                           b.begin() + static_cast<std::ptrdiff_t>(c.info.header_size - 32)));
    EXPECT_TRUE(std::equal(c.info.final_tag->begin(), c.info.final_tag->end(), b.end() - 80));

    for (Mode mode : {Mode::positional, Mode::streaming}) {
      io::MemorySource memory(b);
      StreamSource stream(b, 333);
      io::Source& in = mode == Mode::streaming ? static_cast<io::Source&>(stream) : memory;
      io::MemorySink sink;
      auto d = DecryptContainer(in, sink, bob_, 2);
      ASSERT_TRUE(d) << n;
      EXPECT_EQ(d->header_mac, c.info.header_mac);
      EXPECT_EQ(d->final_tag, c.info.final_tag);
    }
    io::MemorySource memory(b);
    auto inspected = InspectContainer(memory);
    ASSERT_TRUE(inspected);
    EXPECT_EQ(inspected->header_mac, c.info.header_mac);
    EXPECT_EQ(inspected->final_tag, c.info.final_tag);
    StreamSource stream(b);
    auto streamed = InspectContainer(stream);
    ASSERT_TRUE(streamed);
    EXPECT_EQ(streamed->header_mac, c.info.header_mac);
    EXPECT_FALSE(streamed->final_tag.has_value());  // A stream's end is not known.

    io::MemorySource ranged(b);
    io::MemorySink nothing;
    auto range = DecryptContainerRange(ranged, 0, 0, nothing, bob_);
    ASSERT_TRUE(range);
    EXPECT_TRUE(nothing.data().empty());
    EXPECT_EQ(range->header_mac, c.info.header_mac);
    EXPECT_EQ(range->final_tag, c.info.final_tag);

    io::MemorySource header_only(b);
    auto key = OpenFileKey(header_only, bob_);
    ASSERT_TRUE(key);
    EXPECT_EQ(key->info.header_mac, c.info.header_mac);
    EXPECT_EQ(key->info.file_id, c.info.file_id);
    EXPECT_EQ(key->info.recipients.size(), 2u);
    EXPECT_EQ(header_only.Tell(), c.info.header_size);  // Read the header and nothing more.
  }
}

TEST_F(RoomTest, RecipientChangesAndRekeyReportTheirNewBindings) {
  Made c = MakeContainer(RandomData(2 * kChunk + 9));
  // Remove bob: new header (and MAC), same payload and final tag.
  io::MemorySource in(c.bytes);
  io::MemorySink removed;
  const std::vector<Fingerprint> rm = {bob_.public_bundle().fingerprint()};
  auto v2 = RemoveRecipients(in, removed, alice_, rm);
  ASSERT_TRUE(v2);
  EXPECT_EQ(v2->final_tag, c.info.final_tag);
  EXPECT_NE(v2->header_mac, c.info.header_mac);
  io::MemorySource check(removed.data());
  EXPECT_EQ(InspectContainer(check)->header_mac, v2->header_mac);

  // Rekey for alice and eve: new key, new MAC, new tag, reported through file_key_out.
  io::MemorySource in2(c.bytes);
  io::MemorySink rekeyed;
  const std::vector<PublicBundle> keep = {alice_.public_bundle(), eve_.public_bundle()};
  Secret<32> new_key;
  auto v3 = RekeyContainer(in2, rekeyed, alice_, keep, 1, &new_key);
  ASSERT_TRUE(v3);
  EXPECT_NE(v3->header_mac, c.info.header_mac);
  ASSERT_TRUE(v3->final_tag);
  EXPECT_NE(v3->final_tag, c.info.final_tag);
  EXPECT_FALSE(SameKey(new_key, c.file_key));
  io::MemorySource again(rekeyed.data());
  auto eve_key = OpenFileKey(again, eve_);
  ASSERT_TRUE(eve_key);
  EXPECT_TRUE(SameKey(eve_key->file_key, new_key));
  io::MemorySource inspected(rekeyed.data());
  EXPECT_EQ(InspectContainer(inspected)->final_tag, v3->final_tag);
  // The record of the old version does not open with the new key: a new record is needed.
  const SignedRecord old = *SealFileRecord(FileFor(c.info, alice_), c.file_key, alice_);
  EXPECT_EQ(OpenFileRecord(old.record, old.signature, new_key, alice_.public_bundle()).error(),
            errc::record_mismatch);
}

TEST_F(RoomTest, FileKeyOutIsUntouchedOnFailureAndOptional) {
  const Buffer plain = RandomData(10);
  io::MemorySource in(plain);
  io::MemorySink out;
  Secret<32> key;
  std::fill(key.data(), key.data() + 32, 0xab);
  EncryptOptions bad;
  bad.chunk_size = 1000;
  const std::vector<PublicBundle> to = {alice_.public_bundle()};
  EXPECT_EQ(EncryptContainer(in, out, alice_, to, bad, &key).error(), errc::invalid_argument);
  EXPECT_TRUE(std::all_of(key.data(), key.data() + 32, [](std::uint8_t b) { return b == 0xab; }));
  // The author need not be a recipient to learn the key it wrote with.
  Made c = MakeContainer(plain, alice_, {bob_.public_bundle()});
  io::MemorySource src(c.bytes);
  auto bob_key = OpenFileKey(src, bob_);
  ASSERT_TRUE(bob_key);
  EXPECT_TRUE(SameKey(bob_key->file_key, c.file_key));
}

TEST_F(RoomTest, OpenFileKeyErrors) {
  Made c = MakeContainer(RandomData(100));
  io::MemorySource a(c.bytes);
  EXPECT_EQ(OpenFileKey(a, eve_).error(), errc::not_a_recipient);
  Buffer t = c.bytes;
  t[8 + 1 + 4 + 16 + 4 + 7 + 1] ^= 1;  // Content type: parses, MAC fails.
  io::MemorySource b(t);
  EXPECT_EQ(OpenFileKey(b, bob_).error(), errc::header_tampered);
  Buffer cut(c.bytes.begin(), c.bytes.begin() + 100);
  io::MemorySource d(cut);
  EXPECT_EQ(OpenFileKey(d, bob_).error(), errc::truncated);
  // The header alone is enough.
  Buffer header(c.bytes.begin(), c.bytes.begin() + static_cast<std::ptrdiff_t>(c.info.header_size));
  StreamSource e(header, 7);
  auto key = OpenFileKey(e, bob_);
  ASSERT_TRUE(key);
  EXPECT_TRUE(SameKey(key->file_key, c.file_key));
}

// --- the whole flow ---------------------------------------------------------------------------

TEST_F(RoomTest, OwnerCreatesAndRecipientReads) {
  // Alice's root and a subfolder.
  const Secret<32> root_key = GenerateFolderKey();
  const FolderId root_id = GenerateFolderId();
  FolderRecord root;
  root.folder_id = root_id;
  root.owner_id = alice_.user_id();
  const SealedFolderKey root_sealed = *SealFolderKey(root_key, root_id, alice_.public_bundle());
  const SignedRecord root_rec = *SealFolderRecord(root, root_key, alice_);

  const Secret<32> sub_key = GenerateFolderKey();
  FolderRecord sub;
  sub.folder_id = GenerateFolderId();
  sub.owner_id = alice_.user_id();
  sub.parent_id = root_id;
  sub.name = "Legal";
  sub.name_hmac = *ComputeNameHmac(root_key, root_id, sub.name);
  const SignedRecord sub_rec = *SealFolderRecord(sub, sub_key, alice_);
  const SealedFolderKey sub_sealed = *SealFolderKey(sub_key, sub.folder_id, alice_.public_bundle());

  // A file in the subfolder, shared with bob.
  Made c = MakeContainer(RandomData(5000));
  FileRecord rec = FileFor(c.info, alice_);
  rec.parent_id = sub.folder_id;
  rec.name_hmac = *ComputeNameHmac(sub_key, sub.folder_id, rec.metadata.name);
  const SignedRecord file_rec = *SealFileRecord(rec, c.file_key, alice_);

  // Alice, on another machine: opens her folder keys, her tree and the file name.
  auto rk = OpenFolderKey(root_sealed, root_id, alice_);
  ASSERT_TRUE(rk);
  auto r = OpenFolderRecord(root_rec.record, root_rec.signature, *rk, alice_.public_bundle());
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->parent_id);
  auto sk = OpenFolderKey(sub_sealed, sub.folder_id, alice_);
  ASSERT_TRUE(sk);
  auto s = OpenFolderRecord(sub_rec.record, sub_rec.signature, *sk, alice_.public_bundle());
  ASSERT_TRUE(s);
  EXPECT_EQ(s->name, "Legal");
  EXPECT_EQ(*s->name_hmac, *ComputeNameHmac(*rk, root_id, "LEGAL"));  // "no overwrite"
  EXPECT_EQ(OpenFolderKey(sub_sealed, sub.folder_id, bob_).error(), errc::header_tampered);

  // Bob reads the shared file: who claims to have written it, that key, the file key from
  // the container, the record, then the checks against the verified container.
  auto pub = ParseFileRecordPublic(file_rec.record);
  ASSERT_TRUE(pub);
  ASSERT_EQ(pub->author_id, alice_.user_id());
  const PublicBundle& pinned = alice_.public_bundle();
  io::MemorySource header(c.bytes);
  auto key = OpenFileKey(header, bob_);
  ASSERT_TRUE(key);
  auto opened = OpenFileRecord(file_rec.record, file_rec.signature, key->file_key, pinned);
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->metadata.name, "NDA.docx");
  io::MemorySource body(c.bytes);
  io::MemorySink plain;
  auto verified = DecryptContainer(body, plain, bob_, 1);
  ASSERT_TRUE(verified);
  EXPECT_TRUE(CheckFileRecord(*opened, pinned, *verified, std::nullopt));
  EXPECT_EQ(opened->metadata.plaintext_size, *verified->plaintext_size);
  // Alice checks the placement in her own room.
  EXPECT_TRUE(CheckFilePlacement(*opened, alice_.user_id(), sub.folder_id, rec.name_hmac));
}

}  // namespace
}  // namespace strongroom::crypto::testing
