// The co-editing frame codec (include/strongroom/collab/wire.h, docs/collab.md "Frames"):
// exact byte layouts, round trips of every message type, and every way a frame is refused.
#include "strongroom/collab/wire.h"

#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace strongroom::collab {
namespace {

using Buffer = std::vector<std::uint8_t>;

Buffer Hex(std::string_view hex) {
  Buffer out;
  std::string digits;
  for (char c : hex) {
    if (c != ' ') digits.push_back(c);
  }
  for (std::size_t i = 0; i + 1 < digits.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(std::stoi(digits.substr(i, 2), nullptr, 16)));
  }
  return out;
}

Buffer Cat(std::initializer_list<Buffer> parts) {
  Buffer out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

template <std::size_t N>
std::array<std::uint8_t, N> Counting(std::uint8_t first) {
  std::array<std::uint8_t, N> a{};
  for (std::size_t i = 0; i < N; ++i) a[i] = static_cast<std::uint8_t>(first + i);
  return a;
}

Buffer Bytes(std::size_t n, std::uint8_t value) {
  return Buffer(n, value);
}

SealedHead SampleHead() {
  SealedHead h;
  h.file_id = Counting<16>(0x00);
  h.epoch = 7;
  h.author = "alice@example.com";
  h.session_id = Counting<16>(0xa0);
  h.counter = 5;
  return h;
}

Sealed SampleSealed(std::size_t ciphertext = 20) {
  Sealed s;
  s.head = SampleHead();
  s.ciphertext = Bytes(ciphertext, 0xc3);
  s.signature.fill(0x5a);
  return s;
}

SealedSnapshot SampleSnapshot() {
  SealedSnapshot s;
  s.head = SampleHead();
  s.head.counter = 2;
  s.through_seq = 41;
  s.ciphertext = Bytes(30, 0x77);
  s.signature.fill(0x6b);
  return s;
}

Error SampleError() {
  Error e;
  e.code = ErrorCode::stale_epoch;
  e.epoch = 9;
  e.session_id = Counting<16>(0xa0);
  e.counter = 5;
  e.message = "file moved to epoch 9";
  return e;
}

// One valid message of every type, with the direction it travels.
std::vector<Message> EveryType() {
  Join join;
  join.file_id = Counting<16>(0x00);
  join.epoch = 7;
  join.resume_after = 42;
  Join fresh = join;
  fresh.resume_after.reset();
  Welcome welcome{Counting<16>(0x00), 7, 120, 100};
  Ack ack{MessageType::update, Counting<16>(0xa0), 5, 121, 1767225600123};
  Ack snapshot_ack{MessageType::snapshot, Counting<16>(0xa0), 2, 0, 1767225600124};
  return {join,
          fresh,
          Update{SampleSealed()},
          Snapshot{SampleSnapshot()},
          Presence{SampleSealed(16)},
          welcome,
          UpdateRelay{121, 1767225600123, SampleSealed()},
          SnapshotRelay{1767225600000, SampleSnapshot()},
          PresenceRelay{1767225600001, SampleSealed(16)},
          ack,
          snapshot_ack,
          SampleError()};
}

Buffer Encode(const Message& m) {
  auto bytes = EncodeFrame(m);
  EXPECT_TRUE(bytes) << "type " << static_cast<int>(TypeOf(m));
  return bytes ? *bytes : Buffer{};
}

errc Code(const result<Message>& r) {
  EXPECT_FALSE(r.has_value());
  return r ? errc::internal : static_cast<errc>(r.error().value());
}

result<Message> Decode(const Buffer& frame, Direction d) {
  return DecodeFrame(frame, d);
}

const Buffer kFileIdHex = Hex("000102030405060708090a0b0c0d0e0f");
const Buffer kSessionHex = Hex("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
const Buffer kAliceHex =
    Hex("11 616c696365406578616d706c652e636f6d");  // u8 17 ‖ "alice@example.com"

// --- exact layouts ------------------------------------------------------------------------

TEST(CollabWire, JoinLayout) {
  const Buffer expected =
      Cat({Hex("01 01"), kFileIdHex, Hex("0000000000000007"), Hex("01"), Hex("000000000000002a")});
  Join join;
  join.file_id = Counting<16>(0x00);
  join.epoch = 7;
  join.resume_after = 42;
  EXPECT_EQ(Encode(join), expected);
  join.resume_after.reset();
  EXPECT_EQ(Encode(join), Cat({Hex("01 01"), kFileIdHex, Hex("0000000000000007"), Hex("00"),
                               Hex("0000000000000000")}));
}

TEST(CollabWire, UpdateLayout) {
  const Buffer head =
      Cat({kFileIdHex, Hex("0000000000000007"), kAliceHex, kSessionHex, Hex("0000000000000005")});
  const Buffer expected =
      Cat({Hex("01 02"), head, Hex("00000014"), Bytes(20, 0xc3), Bytes(64, 0x5a)});
  EXPECT_EQ(Encode(Update{SampleSealed()}), expected);
  EXPECT_EQ(EncodeHead(SampleHead()), head);
  const Buffer relay = Cat({Hex("01 12"), Hex("0000000000000079"), Hex("0000019b76daa87b"), head,
                            Hex("00000014"), Bytes(20, 0xc3), Bytes(64, 0x5a)});
  EXPECT_EQ(Encode(UpdateRelay{121, 1767225600123, SampleSealed()}), relay);
  // Presence has the update's layout under its own type.
  Buffer presence = expected;
  presence[1] = 0x04;
  EXPECT_EQ(Encode(Presence{SampleSealed()}), presence);
}

TEST(CollabWire, SnapshotLayout) {
  const Buffer head = Cat({kFileIdHex, Hex("0000000000000007"), kAliceHex, kSessionHex,
                           Hex("0000000000000002"), Hex("0000000000000029")});
  EXPECT_EQ(EncodeHead(SampleSnapshot()), head);
  EXPECT_EQ(Encode(Snapshot{SampleSnapshot()}),
            Cat({Hex("01 03"), head, Hex("0000001e"), Bytes(30, 0x77), Bytes(64, 0x6b)}));
  EXPECT_EQ(Encode(SnapshotRelay{1, SampleSnapshot()}),
            Cat({Hex("01 13"), Hex("0000000000000001"), head, Hex("0000001e"), Bytes(30, 0x77),
                 Bytes(64, 0x6b)}));
}

TEST(CollabWire, ServerMessageLayouts) {
  EXPECT_EQ(Encode(Welcome{Counting<16>(0x00), 7, 120, 100}),
            Cat({Hex("01 11"), kFileIdHex, Hex("0000000000000007 0000000000000078"),
                 Hex("0000000000000064")}));
  EXPECT_EQ(Encode(Ack{MessageType::update, Counting<16>(0xa0), 5, 121, 2}),
            Cat({Hex("01 15 02"), kSessionHex,
                 Hex("0000000000000005 0000000000000079 0000000000000002")}));
  EXPECT_EQ(Encode(SampleError()),
            Cat({Hex("01 16 0006 0000000000000009"), kSessionHex, Hex("0000000000000005 15"),
                 Buffer{'f', 'i', 'l', 'e', ' ', 'm', 'o', 'v', 'e', 'd', ' ',
                        't', 'o', ' ', 'e', 'p', 'o', 'c', 'h', ' ', '9'}}));
}

// --- round trips --------------------------------------------------------------------------

TEST(CollabWire, EveryTypeRoundTrips) {
  for (const Message& m : EveryType()) {
    SCOPED_TRACE(static_cast<int>(TypeOf(m)));
    const Buffer bytes = Encode(m);
    ASSERT_GE(bytes.size(), 2u);
    EXPECT_EQ(bytes[0], kProtocolVersion);
    EXPECT_EQ(bytes[1], static_cast<std::uint8_t>(TypeOf(m)));
    auto back = Decode(bytes, DirectionOf(TypeOf(m)));
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(*back, m);
    EXPECT_EQ(Encode(*back), bytes);
  }
}

TEST(CollabWire, LargestUpdateAndPresenceDecode) {
  for (const auto& [type, max] : {std::pair{MessageType::update, kMaxUpdatePayload},
                                  std::pair{MessageType::presence, kMaxPresencePayload}}) {
    Sealed s = SampleSealed(max + kTagSize);
    const Message m = type == MessageType::update ? Message(Update{s}) : Message(Presence{s});
    auto bytes = EncodeFrame(m);
    ASSERT_TRUE(bytes);
    auto back = Decode(*bytes, Direction::to_server);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, m);
    s.ciphertext.push_back(0);
    const Message over = type == MessageType::update ? Message(Update{s}) : Message(Presence{s});
    EXPECT_EQ(EncodeFrame(over).error(), errc::invalid_argument);
  }
}

TEST(CollabWire, LargestFrameDecodes) {
  SnapshotRelay relay{kMaxU64Field, SampleSnapshot()};
  relay.sealed.head.author = std::string(kMaxUserIdSize, 'z');
  relay.sealed.ciphertext.assign(kMaxSnapshotPlaintext + kTagSize, 0x01);
  auto bytes = EncodeFrame(relay);
  ASSERT_TRUE(bytes);
  EXPECT_EQ(bytes->size(), kMaxFrameSize);
  auto back = Decode(*bytes, Direction::to_client);
  ASSERT_TRUE(back);
  EXPECT_EQ(std::get<SnapshotRelay>(*back), relay);
  bytes->push_back(0);
  EXPECT_EQ(Code(Decode(*bytes, Direction::to_client)), errc::too_large);
}

// --- refusals -----------------------------------------------------------------------------

TEST(CollabWire, WrongDirectionIsMalformed) {
  for (const Message& m : EveryType()) {
    const Direction other = DirectionOf(TypeOf(m)) == Direction::to_server ? Direction::to_client
                                                                           : Direction::to_server;
    EXPECT_EQ(Code(Decode(Encode(m), other)), errc::malformed) << static_cast<int>(TypeOf(m));
  }
}

TEST(CollabWire, EveryPrefixIsTruncated) {
  for (const Message& m : EveryType()) {
    const Buffer bytes = Encode(m);
    for (std::size_t n = 0; n < bytes.size(); ++n) {
      const Buffer cut(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
      ASSERT_EQ(Code(Decode(cut, DirectionOf(TypeOf(m)))), errc::truncated)
          << "type " << static_cast<int>(TypeOf(m)) << " cut to " << n;
    }
  }
}

TEST(CollabWire, TrailingByteIsMalformed) {
  for (const Message& m : EveryType()) {
    Buffer bytes = Encode(m);
    bytes.push_back(0);
    EXPECT_EQ(Code(Decode(bytes, DirectionOf(TypeOf(m)))), errc::malformed)
        << static_cast<int>(TypeOf(m));
  }
}

TEST(CollabWire, OtherVersionsAreUnsupported) {
  for (std::uint8_t v : {0x00, 0x02, 0xff}) {
    Buffer bytes = Encode(Update{SampleSealed()});
    bytes[0] = v;
    EXPECT_EQ(Code(Decode(bytes, Direction::to_server)), errc::unsupported_version);
    EXPECT_EQ(Code(Decode(Buffer{v}, Direction::to_server)), errc::unsupported_version);
  }
}

TEST(CollabWire, UnknownTypesAreMalformed) {
  for (std::uint8_t t : {0x00, 0x05, 0x10, 0x17, 0x21, 0xff}) {
    Buffer bytes = Encode(Update{SampleSealed()});
    bytes[1] = t;
    EXPECT_EQ(Code(Decode(bytes, Direction::to_server)), errc::malformed) << int(t);
    EXPECT_EQ(Code(Decode(bytes, Direction::to_client)), errc::malformed) << int(t);
  }
}

TEST(CollabWire, OversizedFrameIsTooLargeBeforeAnythingElse) {
  Buffer huge(kMaxFrameSize + 1, 0xff);  // Not even a valid version byte.
  EXPECT_EQ(Code(Decode(huge, Direction::to_server)), errc::too_large);
}

// Offsets in an update frame (version, type, then the head of SampleHead()).
constexpr std::size_t kEpochAt = 2 + 16;
constexpr std::size_t kAuthorLenAt = kEpochAt + 8;
constexpr std::size_t kAuthorAt = kAuthorLenAt + 1;
constexpr std::size_t kCounterAt = kAuthorAt + 17 + 16;
constexpr std::size_t kCtLenAt = kCounterAt + 8;

void SetU64(Buffer& b, std::size_t at, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) b[at + i] = static_cast<std::uint8_t>(v >> (56 - 8 * i));
}
void SetU32(Buffer& b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<std::uint8_t>(v >> (24 - 8 * i));
}

TEST(CollabWire, HeadFieldsOutOfBoundsAreMalformed) {
  const Buffer good = Encode(Update{SampleSealed()});
  auto check = [&](const char* what, const std::function<void(Buffer&)>& edit) {
    Buffer b = good;
    edit(b);
    EXPECT_EQ(Code(Decode(b, Direction::to_server)), errc::malformed) << what;
  };
  check("epoch 0", [](Buffer& b) { SetU64(b, kEpochAt, 0); });
  check("epoch 2^63", [](Buffer& b) { SetU64(b, kEpochAt, 0x8000000000000000ull); });
  check("counter 0", [](Buffer& b) { SetU64(b, kCounterAt, 0); });
  check("counter 2^64-1", [](Buffer& b) { SetU64(b, kCounterAt, ~0ull); });
  check("space in author", [](Buffer& b) { b[kAuthorAt + 5] = ' '; });
  check("DEL in author", [](Buffer& b) { b[kAuthorAt] = 0x7f; });
  check("ciphertext shorter than a tag", [](Buffer& b) {
    SetU32(b, kCtLenAt, 15);
    b.erase(b.begin() + static_cast<std::ptrdiff_t>(kCtLenAt + 4 + 15),
            b.begin() + static_cast<std::ptrdiff_t>(kCtLenAt + 4 + 20));
  });
  // An empty author: the length byte says 0 and the rest shifts; it must not parse as anything.
  Buffer empty_author = good;
  empty_author[kAuthorLenAt] = 0;
  empty_author.erase(empty_author.begin() + static_cast<std::ptrdiff_t>(kAuthorAt),
                     empty_author.begin() + static_cast<std::ptrdiff_t>(kAuthorAt + 17));
  EXPECT_EQ(Code(Decode(empty_author, Direction::to_server)), errc::malformed);
}

TEST(CollabWire, CiphertextLengthOverItsKindsLimitIsTooLarge) {
  Buffer update = Encode(Update{SampleSealed()});
  SetU32(update, kCtLenAt, static_cast<std::uint32_t>(kMaxUpdatePayload + kTagSize + 1));
  EXPECT_EQ(Code(Decode(update, Direction::to_server)), errc::too_large);
  Buffer presence = Encode(Presence{SampleSealed()});
  SetU32(presence, kCtLenAt, static_cast<std::uint32_t>(kMaxPresencePayload + kTagSize + 1));
  EXPECT_EQ(Code(Decode(presence, Direction::to_server)), errc::too_large);
  Buffer snapshot = Encode(Snapshot{SampleSnapshot()});
  SetU32(snapshot, kCtLenAt + 8, 0xffffffffu);
  EXPECT_EQ(Code(Decode(snapshot, Direction::to_server)), errc::too_large);
  // A declared length that fits the limit but not the frame is truncated.
  SetU32(update, kCtLenAt, 1000);
  EXPECT_EQ(Code(Decode(update, Direction::to_server)), errc::truncated);
  // A snapshot's ciphertext holds at least the 4-byte stream count and the tag.
  Snapshot small{SampleSnapshot()};
  small.sealed.ciphertext.resize(19);
  EXPECT_EQ(EncodeFrame(small).error(), errc::invalid_argument);
  Buffer s19 = Encode(Snapshot{SampleSnapshot()});
  SetU32(s19, kCtLenAt + 8, 19);
  s19.erase(s19.begin() + static_cast<std::ptrdiff_t>(kCtLenAt + 8 + 4 + 19),
            s19.begin() + static_cast<std::ptrdiff_t>(kCtLenAt + 8 + 4 + 30));
  EXPECT_EQ(Code(Decode(s19, Direction::to_server)), errc::malformed);
}

TEST(CollabWire, ServerMessageFieldsOutOfBoundsAreMalformed) {
  // join: flag 2; flag 0 with a resume point; epoch 0.
  Buffer join = Encode(EveryType()[0]);
  join[2 + 16 + 8] = 2;
  EXPECT_EQ(Code(Decode(join, Direction::to_server)), errc::malformed);
  join[2 + 16 + 8] = 0;
  EXPECT_EQ(Code(Decode(join, Direction::to_server)), errc::malformed);
  join = Encode(EveryType()[0]);
  SetU64(join, 2 + 16, 0);
  EXPECT_EQ(Code(Decode(join, Direction::to_server)), errc::malformed);
  // welcome: snapshot beyond the head.
  Buffer welcome = Encode(Welcome{Counting<16>(0), 7, 120, 100});
  SetU64(welcome, 2 + 16 + 16, 121);
  EXPECT_EQ(Code(Decode(welcome, Direction::to_client)), errc::malformed);
  // relay: sequence number 0.
  Buffer relay = Encode(UpdateRelay{121, 1, SampleSealed()});
  SetU64(relay, 2, 0);
  EXPECT_EQ(Code(Decode(relay, Direction::to_client)), errc::malformed);
  // ack: of a presence; of an update with seq 0 (a snapshot's may be 0).
  Buffer ack = Encode(Ack{MessageType::update, Counting<16>(0), 5, 121, 2});
  ack[2] = 0x04;
  EXPECT_EQ(Code(Decode(ack, Direction::to_client)), errc::malformed);
  ack = Encode(Ack{MessageType::update, Counting<16>(0), 5, 121, 2});
  SetU64(ack, 2 + 1 + 16 + 8, 0);
  EXPECT_EQ(Code(Decode(ack, Direction::to_client)), errc::malformed);
  // error: code 0; a newline in the message.
  Buffer error = Encode(SampleError());
  error[2] = 0;
  error[3] = 0;
  EXPECT_EQ(Code(Decode(error, Direction::to_client)), errc::malformed);
  error = Encode(SampleError());
  error.back() = '\n';
  EXPECT_EQ(Code(Decode(error, Direction::to_client)), errc::malformed);
  // An unknown error code is accepted (reported as its number).
  error = Encode(SampleError());
  error[2] = 0x12;
  error[3] = 0x34;
  auto unknown = Decode(error, Direction::to_client);
  ASSERT_TRUE(unknown);
  EXPECT_EQ(static_cast<int>(std::get<Error>(*unknown).code), 0x1234);
}

TEST(CollabWire, EncoderRefusesWhatTheDecoderRefuses) {
  Sealed s = SampleSealed();
  s.head.counter = 0;
  EXPECT_EQ(EncodeFrame(Update{s}).error(), errc::invalid_argument);
  s = SampleSealed();
  s.head.author = "";
  EXPECT_EQ(EncodeFrame(Presence{s}).error(), errc::invalid_argument);
  s = SampleSealed();
  s.head.author = std::string(256, 'a');
  EXPECT_EQ(EncodeFrame(Update{s}).error(), errc::invalid_argument);
  s = SampleSealed(15);
  EXPECT_EQ(EncodeFrame(Update{s}).error(), errc::invalid_argument);
  EXPECT_EQ(EncodeFrame(UpdateRelay{0, 1, SampleSealed()}).error(), errc::invalid_argument);
  EXPECT_EQ(EncodeFrame(Welcome{Counting<16>(0), 0, 1, 0}).error(), errc::invalid_argument);
  EXPECT_EQ(EncodeFrame(Welcome{Counting<16>(0), 1, 1, 2}).error(), errc::invalid_argument);
  Ack ack{MessageType::presence, Counting<16>(0), 1, 1, 1};
  EXPECT_EQ(EncodeFrame(ack).error(), errc::invalid_argument);
  Error e = SampleError();
  e.message = std::string(256, 'x');
  EXPECT_EQ(EncodeFrame(e).error(), errc::invalid_argument);
  e = SampleError();
  e.message = "tab\there";
  EXPECT_EQ(EncodeFrame(e).error(), errc::invalid_argument);
  SnapshotRelay relay{kMaxU64Field + 1, SampleSnapshot()};
  EXPECT_EQ(EncodeFrame(relay).error(), errc::invalid_argument);
}

TEST(CollabWire, UserIdRule) {
  EXPECT_TRUE(IsValidUserId("a"));
  EXPECT_TRUE(IsValidUserId(std::string(255, '~')));
  EXPECT_FALSE(IsValidUserId(""));
  EXPECT_FALSE(IsValidUserId(std::string(256, 'a')));
  EXPECT_FALSE(IsValidUserId("a b"));
  EXPECT_FALSE(IsValidUserId(std::string("a\0b", 3)));
  EXPECT_FALSE(IsValidUserId("\xc3\xa4"));
}

// Random frames with a valid version byte and a known type: decoding never crashes, and
// whatever decodes has exactly one encoding (the input).
TEST(CollabWire, GarbageNeverCrashesAndDecodedFramesAreCanonical) {
  std::mt19937 rng(7);
  const std::uint8_t types[] = {0x01, 0x02, 0x03, 0x04, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16};
  int decoded = 0;
  for (int i = 0; i < 20000; ++i) {
    Buffer b(rng() % 200);
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    if (b.size() >= 1) b[0] = 1;
    if (b.size() >= 2) b[1] = types[rng() % std::size(types)];
    // Small ciphertext lengths so that sealed frames sometimes fit.
    for (Direction d : {Direction::to_server, Direction::to_client}) {
      auto m = DecodeFrame(b, d);
      if (!m) continue;
      ++decoded;
      auto again = EncodeFrame(*m);
      ASSERT_TRUE(again);
      ASSERT_EQ(*again, b);
    }
  }
  // Mutations of valid frames decode sometimes: exercise the success path too.
  for (const Message& m : EveryType()) {
    const Buffer good = Encode(m);
    for (int i = 0; i < 2000; ++i) {
      Buffer b = good;
      b[rng() % b.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
      auto r = DecodeFrame(b, DirectionOf(TypeOf(m)));
      if (!r) continue;
      ++decoded;
      auto again = EncodeFrame(*r);
      ASSERT_TRUE(again);
      ASSERT_EQ(*again, b);
    }
  }
  EXPECT_GT(decoded, 1000);
}

}  // namespace
}  // namespace strongroom::collab

namespace strongroom::collab {
namespace {

// docs/collab.md section 10 names every code; the names are what logs and the CLI print.
TEST(CollabWire, ErrorCodeNamesAreTheSpecsAndDistinct) {
  const std::vector<std::pair<int, std::string_view>> spec = {
      {1, "malformed"},       {2, "unsupported_version"}, {3, "too_large"},
      {4, "not_joined"},      {5, "wrong_file"},          {6, "stale_epoch"},
      {7, "forbidden"},       {8, "not_found"},           {9, "resume_unavailable"},
      {10, "wrong_author"},   {11, "bad_signature"},      {12, "duplicate"},
      {13, "out_of_order"},   {14, "snapshot_rejected"},  {15, "rate_limited"},
      {16, "tail_full"},      {17, "slow_consumer"},      {18, "shutting_down"},
      {19, "internal"}};
  for (const auto& [value, name] : spec) {
    EXPECT_EQ(ErrorCodeName(static_cast<ErrorCode>(value)), name) << value;
  }
  EXPECT_EQ(ErrorCodeName(static_cast<ErrorCode>(0)), "unknown");
  EXPECT_EQ(ErrorCodeName(static_cast<ErrorCode>(20)), "unknown");
}

}  // namespace
}  // namespace strongroom::collab
