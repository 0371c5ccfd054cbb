// Container format v1: round trips, tampering, truncation, reordering, recipients, rekey.
#include "crypto/container_format.h"
#include "crypto_test_util.h"

#include <gtest/gtest.h>

namespace strongroom::crypto::testing {
namespace {

constexpr std::uint32_t kChunk = 4096;
constexpr std::size_t kTag = 16;
constexpr std::size_t kSig = 64;

class ContainerTest : public ::testing::Test {
 protected:
  Identity alice_ = NewIdentity("alice@example.com");
  Identity bob_ = NewIdentity("bob@example.com");
  Identity eve_ = NewIdentity("eve@example.com");

  Buffer SealForBob(const Buffer& plain, std::uint32_t chunk = kChunk, unsigned threads = 1) {
    return Seal(plain, alice_, {alice_.public_bundle(), bob_.public_bundle()}, chunk, threads);
  }
  std::size_t HeaderSize(const Buffer& c) {
    io::MemorySource in(c);
    auto info = InspectContainer(in);
    EXPECT_TRUE(info);
    return info->header_size;
  }
};

TEST_F(ContainerTest, RoundTripsAtChunkBoundaries) {
  for (std::size_t n :
       {std::size_t{0}, std::size_t{1}, std::size_t{kChunk - 1}, std::size_t{kChunk},
        std::size_t{kChunk + 1}, std::size_t{2 * kChunk}, std::size_t{37 * kChunk + 5}}) {
    const Buffer plain = RandomData(n, static_cast<unsigned>(n));
    for (Mode seal_mode : {Mode::positional, Mode::streaming}) {
      const Buffer c =
          Seal(plain, alice_, {alice_.public_bundle(), bob_.public_bundle()}, kChunk, 2, seal_mode);
      const std::size_t chunks = n == 0 ? 1 : (n + kChunk - 1) / kChunk;
      EXPECT_EQ(c.size(), HeaderSize(c) + n + chunks * kTag + kSig) << n;
      for (Mode open_mode : {Mode::positional, Mode::streaming}) {
        auto bob = Open(c, bob_, 2, open_mode);
        ASSERT_TRUE(bob) << n << ": " << bob.error().message();
        EXPECT_EQ(*bob, plain) << n;
      }
      auto alice = Open(c, alice_);
      ASSERT_TRUE(alice) << n;
      EXPECT_EQ(*alice, plain) << n;
    }
  }
}

TEST_F(ContainerTest, RoundTripsWithDefaultChunkSizeAndThreads) {
  const Buffer plain = RandomData(3 * kDefaultChunkSize + 123);
  const Buffer c = SealForBob(plain, kDefaultChunkSize, 0);
  auto out = Open(c, bob_, 0);
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, plain);
}

TEST_F(ContainerTest, ParallelAndSerialProduceTheSamePlaintext) {
  const Buffer plain = RandomData(200 * kChunk + 17);
  const Buffer c = SealForBob(plain, kChunk, 4);
  auto serial = Open(c, bob_, 1);
  auto parallel = Open(c, bob_, 4);
  ASSERT_TRUE(serial);
  ASSERT_TRUE(parallel);
  EXPECT_EQ(*serial, plain);
  EXPECT_EQ(*parallel, plain);
}

TEST_F(ContainerTest, FreshKeysAndIdsEveryTime) {
  const Buffer plain = RandomData(100);
  const Buffer a = SealForBob(plain), b = SealForBob(plain);
  EXPECT_NE(a, b);
  io::MemorySource ia(a), ib(b);
  EXPECT_NE(InspectContainer(ia)->file_id, InspectContainer(ib)->file_id);
}

TEST_F(ContainerTest, WrongIdentityIsNotARecipient) {
  const Buffer c = SealForBob(RandomData(10));
  auto r = Open(c, eve_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::not_a_recipient);
}

TEST_F(ContainerTest, EverySingleByteFlipIsRejected) {
  const Buffer plain = RandomData(2 * kChunk + 100);
  const Buffer c = SealForBob(plain);
  ASSERT_TRUE(Open(c, bob_));
  const std::size_t header = HeaderSize(c);
  for (std::size_t i = 0; i < c.size(); ++i) {
    Buffer t = c;
    t[i] ^= 0x01;
    auto streamed = Open(t, bob_, 1, Mode::streaming);
    ASSERT_FALSE(streamed) << "flip at byte " << i << " was accepted when streamed";
    auto r = Open(t, bob_);
    ASSERT_FALSE(r) << "flip at byte " << i << " was accepted";
    EXPECT_EQ(r.error(), streamed.error()) << "modes disagree at byte " << i;
    if (i >= header && i < c.size() - kSig) {
      EXPECT_EQ(r.error(), errc::payload_tampered) << i;
    } else if (i >= c.size() - kSig) {
      EXPECT_EQ(r.error(), errc::bad_signature) << i;
    }
  }
}

TEST_F(ContainerTest, TruncationAnywhereIsRejected) {
  const Buffer c = SealForBob(RandomData(3 * kChunk));
  const std::size_t header = HeaderSize(c);
  std::vector<std::size_t> cuts = {0, 1, 8, 12, header - 1, header, header + 1};
  for (std::size_t k = 1; k <= 3; ++k) {
    const std::size_t boundary = header + k * (kChunk + kTag);
    cuts.insert(cuts.end(), {boundary - 1, boundary, boundary + 1, boundary - kChunk / 2});
  }
  cuts.insert(cuts.end(), {c.size() - kSig, c.size() - kSig + 1, c.size() - 1});
  for (std::size_t cut : cuts) {
    if (cut >= c.size()) continue;
    Buffer t(c.begin(), c.begin() + static_cast<std::ptrdiff_t>(cut));
    auto r = Open(t, bob_);
    EXPECT_FALSE(r) << "truncation to " << cut << " bytes was accepted";
    auto streamed = Open(t, bob_, 1, Mode::streaming);
    EXPECT_FALSE(streamed) << "truncation to " << cut << " bytes was accepted when streamed";
    if (!r && !streamed) {
      EXPECT_EQ(r.error(), streamed.error()) << "cut " << cut;
    }
  }
}

TEST_F(ContainerTest, HeaderTruncationIsReportedAsTruncated) {
  const Buffer c = SealForBob(RandomData(10));
  Buffer t(c.begin(), c.begin() + 100);
  auto r = Open(t, bob_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::truncated);
}

TEST_F(ContainerTest, SwappedChunksAreRejected) {
  const Buffer c = SealForBob(RandomData(3 * kChunk + 10));
  const std::size_t h = HeaderSize(c);
  const std::size_t w = kChunk + kTag;
  Buffer t = c;
  std::swap_ranges(t.begin() + static_cast<std::ptrdiff_t>(h),
                   t.begin() + static_cast<std::ptrdiff_t>(h + w),
                   t.begin() + static_cast<std::ptrdiff_t>(h + w));
  auto r = Open(t, bob_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::payload_tampered);
  EXPECT_EQ(Open(t, bob_, 1, Mode::streaming).error(), errc::payload_tampered);
}

TEST_F(ContainerTest, DuplicatedChunkIsRejected) {
  const Buffer c = SealForBob(RandomData(2 * kChunk + 10));
  const std::size_t h = HeaderSize(c);
  const std::size_t w = kChunk + kTag;
  Buffer t(c.begin(), c.begin() + static_cast<std::ptrdiff_t>(h + w));
  t.insert(t.end(), c.begin() + static_cast<std::ptrdiff_t>(h), c.end());  // chunk 0 twice
  EXPECT_FALSE(Open(t, bob_));
  EXPECT_FALSE(Open(t, bob_, 1, Mode::streaming));
}

TEST_F(ContainerTest, ExtensionIsRejected) {
  const Buffer c = SealForBob(RandomData(2 * kChunk));
  Buffer appended = c;
  appended.push_back(0);
  EXPECT_FALSE(Open(appended, bob_));
  EXPECT_FALSE(Open(appended, bob_, 1, Mode::streaming));
  // Splice the payload of another container with the same chunk count onto the end.
  const Buffer other = SealForBob(RandomData(kChunk, 9));
  Buffer spliced = c;
  spliced.insert(spliced.end(), other.begin() + static_cast<std::ptrdiff_t>(HeaderSize(other)),
                 other.end());
  EXPECT_FALSE(Open(spliced, bob_));
}

TEST_F(ContainerTest, DroppedFinalChunkIsRejected) {
  // Drop the last chunk but keep the signature: the new last chunk is not flagged final.
  const Buffer c = SealForBob(RandomData(3 * kChunk));
  const std::size_t h = HeaderSize(c);
  const std::size_t w = kChunk + kTag;
  Buffer t(c.begin(), c.begin() + static_cast<std::ptrdiff_t>(h + 2 * w));
  t.insert(t.end(), c.end() - kSig, c.end());
  auto r = Open(t, bob_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::payload_tampered);
}

TEST_F(ContainerTest, PayloadFromAnotherContainerIsRejected) {
  const Buffer a = SealForBob(RandomData(kChunk));
  const Buffer b = SealForBob(RandomData(kChunk, 5));
  Buffer t(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(HeaderSize(a)));
  t.insert(t.end(), b.begin() + static_cast<std::ptrdiff_t>(HeaderSize(b)), b.end());
  auto r = Open(t, bob_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::payload_tampered);
}

TEST_F(ContainerTest, ForgedSignatureByARecipientIsRejected) {
  // Bob knows the file key but cannot sign as Alice: replace the trailer with Bob's
  // signature over the same message.
  const Buffer c = SealForBob(RandomData(100));
  io::MemorySource in(c);
  auto h = container::ParseHeader(std::span(c).first(HeaderSize(c)));
  ASSERT_TRUE(h);
  Buffer msg(container::kSignatureLabel.begin(), container::kSignatureLabel.end());
  msg.insert(msg.end(), h->mac.begin(), h->mac.end());
  msg.insert(msg.end(), c.end() - kSig - kTag, c.end() - kSig);
  const Signature forged = bob_.Sign(msg);
  Buffer t = c;
  std::copy(forged.begin(), forged.end(), t.end() - kSig);
  auto r = Open(t, bob_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::bad_signature);
}

TEST_F(ContainerTest, UnsupportedVersionAndGarbage) {
  Buffer c = SealForBob(RandomData(10));
  c[8] = 2;
  auto r = Open(c, bob_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::unsupported_version);
  const Buffer garbage = RandomData(1000);
  r = Open(garbage, bob_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::malformed);
  r = Open(Buffer{}, bob_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::truncated);
}

TEST_F(ContainerTest, InspectNeedsNoKey) {
  const Buffer plain = RandomData(kChunk * 2 + 3);
  const Buffer c = SealForBob(plain);
  io::MemorySource in(c);
  auto info = InspectContainer(in);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->author.user_id(), "alice@example.com");
  EXPECT_EQ(info->content_type, "application/vnd.test");
  EXPECT_EQ(info->chunk_size, kChunk);
  ASSERT_EQ(info->recipients.size(), 2u);
  EXPECT_EQ(info->recipients[1].user_id, "bob@example.com");
  EXPECT_EQ(info->recipients[1].fingerprint, bob_.public_bundle().fingerprint());
  EXPECT_EQ(info->plaintext_size, plain.size());
}

TEST_F(ContainerTest, DuplicateRecipientsAreWrappedOnce) {
  const Buffer c = Seal(RandomData(10), alice_,
                        {bob_.public_bundle(), bob_.public_bundle(), alice_.public_bundle()});
  io::MemorySource in(c);
  EXPECT_EQ(InspectContainer(in)->recipients.size(), 2u);
}

TEST_F(ContainerTest, BadOptionsAreRefused) {
  const Buffer plain = RandomData(10);
  io::MemorySource in(plain);
  io::MemorySink out;
  EncryptOptions o;
  o.chunk_size = 5000;  // Not a power of two.
  std::vector<PublicBundle> r = {bob_.public_bundle()};
  EXPECT_EQ(EncryptContainer(in, out, alice_, r, o).error(), errc::invalid_argument);
  o.chunk_size = kChunk;
  o.content_type = "bad\ntype";
  EXPECT_EQ(EncryptContainer(in, out, alice_, r, o).error(), errc::invalid_argument);
  o.content_type = "ok";
  EXPECT_EQ(EncryptContainer(in, out, alice_, {}, o).error(), errc::invalid_argument);
}

TEST_F(ContainerTest, RangeReadsMatchThePlaintext) {
  const Buffer plain = RandomData(5 * kChunk + 77);
  const Buffer c = SealForBob(plain);
  struct Case {
    std::uint64_t offset, length;
  };
  for (Case k : {Case{0, 1}, Case{0, plain.size()}, Case{kChunk - 1, 2}, Case{kChunk, kChunk},
                 Case{3 * kChunk + 5, 2 * kChunk}, Case{plain.size() - 1, 100},
                 Case{plain.size(), 10}, Case{100, 0}}) {
    io::MemorySource in(c);
    io::MemorySink out;
    auto r = DecryptContainerRange(in, k.offset, k.length, out, bob_);
    ASSERT_TRUE(r) << k.offset << "+" << k.length << ": " << r.error().message();
    const std::uint64_t end = std::min<std::uint64_t>(plain.size(), k.offset + k.length);
    EXPECT_EQ(out.data(), Buffer(plain.begin() + static_cast<std::ptrdiff_t>(k.offset),
                                 plain.begin() + static_cast<std::ptrdiff_t>(end)));
  }
  io::MemorySource in(c);
  io::MemorySink out;
  EXPECT_EQ(DecryptContainerRange(in, plain.size() + 1, 1, out, bob_).error(),
            errc::invalid_argument);
}

TEST_F(ContainerTest, RangeReadsDetectTamperingAndTruncation) {
  const Buffer plain = RandomData(4 * kChunk);
  const Buffer c = SealForBob(plain);
  const std::size_t h = HeaderSize(c);
  Buffer t = c;
  t[h + kChunk + kTag + 10] ^= 1;  // In chunk 1.
  io::MemorySource in(t);
  io::MemorySink out;
  EXPECT_EQ(DecryptContainerRange(in, kChunk + 5, 10, out, bob_).error(), errc::payload_tampered);
  // A range away from the damage still reads, since each chunk stands alone...
  io::MemorySource in2(t);
  io::MemorySink out2;
  EXPECT_TRUE(DecryptContainerRange(in2, 0, 10, out2, bob_));
  // ...but dropping the final chunk is always caught, because the end is checked first.
  Buffer cut(c.begin(), c.end() - static_cast<std::ptrdiff_t>(kChunk + kTag + kSig));
  cut.insert(cut.end(), c.end() - kSig, c.end());
  io::MemorySource in3(cut);
  io::MemorySink out3;
  EXPECT_FALSE(DecryptContainerRange(in3, 0, 10, out3, bob_));
}

TEST_F(ContainerTest, AddRecipientLeavesPayloadUntouched) {
  const Buffer plain = RandomData(3 * kChunk + 1);
  const Buffer c = SealForBob(plain);
  ASSERT_FALSE(Open(c, eve_));
  io::MemorySource in(c);
  io::MemorySink out;
  std::vector<PublicBundle> add = {eve_.public_bundle()};
  auto info = AddRecipients(in, out, bob_, add);
  ASSERT_TRUE(info) << info.error().message();
  const Buffer& d = out.data();
  EXPECT_EQ(info->author.user_id(), "bob@example.com");  // The sharer signs the new version.
  EXPECT_EQ(info->recipients.size(), 3u);
  // Payload bytes identical; only header and signature changed.
  const std::size_t hc = HeaderSize(c), hd = HeaderSize(d);
  EXPECT_TRUE(std::equal(c.begin() + static_cast<std::ptrdiff_t>(hc), c.end() - kSig,
                         d.begin() + static_cast<std::ptrdiff_t>(hd), d.end() - kSig));
  for (const Identity* id : {&alice_, &bob_, &eve_}) {
    auto p = Open(d, *id);
    ASSERT_TRUE(p) << id->user_id();
    EXPECT_EQ(*p, plain);
  }
}

TEST_F(ContainerTest, AddRecipientNeedsAccessAndAValidOldSignature) {
  const Buffer c = SealForBob(RandomData(100));
  std::vector<PublicBundle> add = {eve_.public_bundle()};
  io::MemorySource in(c);
  io::MemorySink out;
  EXPECT_EQ(AddRecipients(in, out, eve_, add).error(), errc::not_a_recipient);
  Buffer t = c;
  t.back() ^= 1;  // Break the old signature.
  io::MemorySource in2(t);
  io::MemorySink out2;
  EXPECT_EQ(AddRecipients(in2, out2, bob_, add).error(), errc::bad_signature);
}

TEST_F(ContainerTest, RemoveRecipient) {
  const Buffer plain = RandomData(kChunk + 5);
  const Buffer c = SealForBob(plain);
  io::MemorySource in(c);
  io::MemorySink out;
  std::vector<Fingerprint> rm = {bob_.public_bundle().fingerprint()};
  ASSERT_TRUE(RemoveRecipients(in, out, alice_, rm));
  EXPECT_EQ(Open(out.data(), bob_).error(), errc::not_a_recipient);
  EXPECT_EQ(*Open(out.data(), alice_), plain);
  // Removing someone who is not there, or everyone, is refused.
  io::MemorySource in2(out.data());
  io::MemorySink out2;
  EXPECT_EQ(RemoveRecipients(in2, out2, alice_, rm).error(), errc::not_found);
  io::MemorySource in3(out.data());
  io::MemorySink out3;
  std::vector<Fingerprint> all = {alice_.public_bundle().fingerprint()};
  EXPECT_EQ(RemoveRecipients(in3, out3, alice_, all).error(), errc::invalid_argument);
}

TEST_F(ContainerTest, RekeyChangesTheFileKeyAndDropsOldRecipients) {
  const Buffer plain = RandomData(5 * kChunk + 3);
  const Buffer c = SealForBob(plain);
  io::MemorySource in(c);
  io::MemorySink out;
  std::vector<PublicBundle> keep = {alice_.public_bundle(), eve_.public_bundle()};
  auto info = RekeyContainer(in, out, alice_, keep, 2);
  ASSERT_TRUE(info) << info.error().message();
  const Buffer& d = out.data();
  EXPECT_EQ(info->file_id, InspectContainer(*std::make_unique<io::MemorySource>(c))->file_id);
  EXPECT_EQ(Open(d, bob_).error(), errc::not_a_recipient);
  EXPECT_EQ(*Open(d, alice_), plain);
  EXPECT_EQ(*Open(d, eve_), plain);
  // The payload was re-encrypted under the new key: nothing is shared with the old version.
  const std::size_t hc = HeaderSize(c), hd = HeaderSize(d);
  const Buffer old_payload(c.begin() + static_cast<std::ptrdiff_t>(hc), c.end() - kSig);
  const Buffer new_payload(d.begin() + static_cast<std::ptrdiff_t>(hd), d.end() - kSig);
  EXPECT_NE(old_payload, new_payload);
}

}  // namespace
}  // namespace strongroom::crypto::testing

namespace strongroom::crypto::testing {
namespace {

// Found by fuzz_container_decrypt: bytes appended after a full final chunk gave `truncated`
// from a file but `payload_tampered` from a pipe. The same bytes must give the same error.
TEST(ContainerRegression, BytesAfterAFullFinalChunkGiveTheSameErrorFromFileAndPipe) {
  const Identity alice = NewIdentity("alice"), bob = NewIdentity("bob");
  const Buffer c = Seal(RandomData(2 * 4096), alice, {bob.public_bundle()});
  for (std::size_t extra : {1u, 15u, 16u, 17u, 64u}) {
    Buffer t = c;
    t.insert(t.end() - 64, extra, 0);  // Extra bytes before the signature...
    Buffer u = c;
    u.insert(u.end(), extra, 0);  // ...and after it.
    for (const Buffer* b : {&t, &u}) {
      auto file = Open(*b, bob, 2, Mode::positional);
      auto pipe = Open(*b, bob, 2, Mode::streaming);
      ASSERT_FALSE(file) << extra;
      ASSERT_FALSE(pipe) << extra;
      EXPECT_EQ(file.error(), pipe.error()) << extra << " extra bytes";
    }
  }
}

}  // namespace
}  // namespace strongroom::crypto::testing
