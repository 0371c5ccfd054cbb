// Co-editing relay wire format (include/strongroom/collab/wire.h; grammar in docs/collab.md).
//
// Kept free of crypto and I/O so strongroomd can route frames without any key. It has its own
// small reader rather than crypto's ByteReader: strongroom_common must not depend on
// strongroom_crypto.
#include "strongroom/collab/wire.h"

#include <algorithm>
#include <iterator>

namespace strongroom::collab {
namespace {

using ErrorCodeValue = boost::system::error_code;

// Ciphertext bounds per kind: a tag at least, a tag plus the plaintext limit at most.
struct CiphertextBounds {
  std::size_t min;
  std::size_t max;
};
constexpr CiphertextBounds kUpdateBounds{kTagSize, kMaxUpdatePayload + kTagSize};
constexpr CiphertextBounds kPresenceBounds{kTagSize, kMaxPresencePayload + kTagSize};
constexpr CiphertextBounds kSnapshotBounds{kMinSnapshotPlaintext + kTagSize,
                                           kMaxSnapshotPlaintext + kTagSize};

constexpr std::uint8_t kJoinResumeFlag = 0x01;

// Never reads past its input: every accessor returns false on underflow (-> truncated).
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> in) : in_(in) {}
  [[nodiscard]] bool U8(std::uint8_t& v) { return Int(v, 1); }
  [[nodiscard]] bool U16(std::uint16_t& v) { return Int(v, 2); }
  [[nodiscard]] bool U32(std::uint32_t& v) { return Int(v, 4); }
  [[nodiscard]] bool U64(std::uint64_t& v) { return Int(v, 8); }
  template <std::size_t N>
  [[nodiscard]] bool Copy(std::array<std::uint8_t, N>& out) {
    if (remaining() < N) return false;
    std::copy_n(in_.begin() + static_cast<std::ptrdiff_t>(pos_), N, out.begin());
    pos_ += N;
    return true;
  }
  [[nodiscard]] bool View(std::size_t n, std::span<const std::uint8_t>& out) {
    if (remaining() < n) return false;
    out = in_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  [[nodiscard]] std::size_t remaining() const { return in_.size() - pos_; }
  [[nodiscard]] bool done() const { return pos_ == in_.size(); }

 private:
  template <class T>
  bool Int(T& v, std::size_t n) {
    if (remaining() < n) return false;
    std::uint64_t x = 0;
    for (std::size_t i = 0; i < n; ++i) x = (x << 8) | in_[pos_++];
    v = static_cast<T>(x);
    return true;
  }
  std::span<const std::uint8_t> in_;
  std::size_t pos_ = 0;
};

class Writer {
 public:
  explicit Writer(std::size_t reserve) { out_.reserve(reserve); }
  void U8(std::uint8_t v) { out_.push_back(v); }
  void U16(std::uint16_t v) { Int(v, 2); }
  void U32(std::uint32_t v) { Int(v, 4); }
  void U64(std::uint64_t v) { Int(v, 8); }
  void Raw(std::span<const std::uint8_t> b) { out_.insert(out_.end(), b.begin(), b.end()); }
  void Raw(std::string_view s) { out_.insert(out_.end(), s.begin(), s.end()); }
  [[nodiscard]] std::vector<std::uint8_t> Take() { return std::move(out_); }

 private:
  void Int(std::uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  std::vector<std::uint8_t> out_;
};

bool InRange(std::uint64_t v) noexcept {
  return v <= kMaxU64Field;
}
bool InRangeNonZero(std::uint64_t v) noexcept {
  return v >= 1 && v <= kMaxU64Field;
}

bool IsValidErrorMessage(std::string_view m) noexcept {
  return m.size() <= kMaxErrorMessageSize &&
         std::all_of(m.begin(), m.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

bool IsValidCiphertext(const std::vector<std::uint8_t>& ct, CiphertextBounds b) noexcept {
  return ct.size() >= b.min && ct.size() <= b.max;
}

// --- decoding -------------------------------------------------------------------------------

ErrorCodeValue ReadHead(Reader& r, SealedHead& h) {
  if (!r.Copy(h.file_id) || !r.U64(h.epoch)) return errc::truncated;
  if (!InRangeNonZero(h.epoch)) return errc::malformed;
  std::uint8_t len = 0;
  std::span<const std::uint8_t> author;
  if (!r.U8(len) || !r.View(len, author)) return errc::truncated;
  h.author.assign(author.begin(), author.end());
  if (!IsValidUserId(h.author)) return errc::malformed;
  if (!r.Copy(h.session_id) || !r.U64(h.counter)) return errc::truncated;
  if (!InRangeNonZero(h.counter)) return errc::malformed;
  return {};
}

// u32 ct_len ‖ ciphertext ‖ signature[64]
ErrorCodeValue ReadCiphertextAndSignature(Reader& r, CiphertextBounds bounds,
                                          std::vector<std::uint8_t>& ciphertext,
                                          Signature& signature) {
  std::uint32_t len = 0;
  if (!r.U32(len)) return errc::truncated;
  if (len > bounds.max) return errc::too_large;
  if (len < bounds.min) return errc::malformed;
  std::span<const std::uint8_t> ct;
  if (!r.View(len, ct) || !r.Copy(signature)) return errc::truncated;
  ciphertext.assign(ct.begin(), ct.end());
  return {};
}

ErrorCodeValue ReadSealed(Reader& r, CiphertextBounds bounds, Sealed& s) {
  if (auto ec = ReadHead(r, s.head); ec) return ec;
  return ReadCiphertextAndSignature(r, bounds, s.ciphertext, s.signature);
}

ErrorCodeValue ReadSealedSnapshot(Reader& r, SealedSnapshot& s) {
  if (auto ec = ReadHead(r, s.head); ec) return ec;
  if (!r.U64(s.through_seq)) return errc::truncated;
  if (!InRange(s.through_seq)) return errc::malformed;
  return ReadCiphertextAndSignature(r, kSnapshotBounds, s.ciphertext, s.signature);
}

ErrorCodeValue ReadServerTime(Reader& r, std::uint64_t& t) {
  if (!r.U64(t)) return errc::truncated;
  if (!InRange(t)) return errc::malformed;
  return {};
}

// Reads the body of `type` into `out`.
ErrorCodeValue ReadBody(Reader& r, MessageType type, Message& out) {
  switch (type) {
    case MessageType::join: {
      Join m;
      std::uint8_t flags = 0;
      std::uint64_t after = 0;
      if (!r.Copy(m.file_id) || !r.U64(m.epoch)) return errc::truncated;
      if (!InRangeNonZero(m.epoch)) return errc::malformed;
      if (!r.U8(flags)) return errc::truncated;
      if (flags != 0 && flags != kJoinResumeFlag) return errc::malformed;
      if (!r.U64(after)) return errc::truncated;
      if (!InRange(after) || (flags == 0 && after != 0)) return errc::malformed;
      if (flags == kJoinResumeFlag) m.resume_after = after;
      out = m;
      return {};
    }
    case MessageType::update: {
      Update m;
      if (auto ec = ReadSealed(r, kUpdateBounds, m.sealed); ec) return ec;
      out = std::move(m);
      return {};
    }
    case MessageType::snapshot: {
      Snapshot m;
      if (auto ec = ReadSealedSnapshot(r, m.sealed); ec) return ec;
      out = std::move(m);
      return {};
    }
    case MessageType::presence: {
      Presence m;
      if (auto ec = ReadSealed(r, kPresenceBounds, m.sealed); ec) return ec;
      out = std::move(m);
      return {};
    }
    case MessageType::welcome: {
      Welcome m;
      if (!r.Copy(m.file_id) || !r.U64(m.epoch)) return errc::truncated;
      if (!InRangeNonZero(m.epoch)) return errc::malformed;
      if (!r.U64(m.head_seq)) return errc::truncated;
      if (!InRange(m.head_seq)) return errc::malformed;
      if (!r.U64(m.snapshot_seq)) return errc::truncated;
      if (m.snapshot_seq > m.head_seq) return errc::malformed;
      out = m;
      return {};
    }
    case MessageType::update_relay: {
      UpdateRelay m;
      if (!r.U64(m.seq)) return errc::truncated;
      if (!InRangeNonZero(m.seq)) return errc::malformed;
      if (auto ec = ReadServerTime(r, m.server_time_ms); ec) return ec;
      if (auto ec = ReadSealed(r, kUpdateBounds, m.sealed); ec) return ec;
      out = std::move(m);
      return {};
    }
    case MessageType::snapshot_relay: {
      SnapshotRelay m;
      if (auto ec = ReadServerTime(r, m.server_time_ms); ec) return ec;
      if (auto ec = ReadSealedSnapshot(r, m.sealed); ec) return ec;
      out = std::move(m);
      return {};
    }
    case MessageType::presence_relay: {
      PresenceRelay m;
      if (auto ec = ReadServerTime(r, m.server_time_ms); ec) return ec;
      if (auto ec = ReadSealed(r, kPresenceBounds, m.sealed); ec) return ec;
      out = std::move(m);
      return {};
    }
    case MessageType::ack: {
      Ack m;
      std::uint8_t of = 0;
      if (!r.U8(of)) return errc::truncated;
      if (of != static_cast<std::uint8_t>(MessageType::update) &&
          of != static_cast<std::uint8_t>(MessageType::snapshot)) {
        return errc::malformed;
      }
      m.of = static_cast<MessageType>(of);
      if (!r.Copy(m.session_id) || !r.U64(m.counter)) return errc::truncated;
      if (!InRangeNonZero(m.counter)) return errc::malformed;
      if (!r.U64(m.seq)) return errc::truncated;
      // An update's sequence number starts at 1; a snapshot may cover nothing (0).
      if (m.of == MessageType::update ? !InRangeNonZero(m.seq) : !InRange(m.seq)) {
        return errc::malformed;
      }
      if (auto ec = ReadServerTime(r, m.server_time_ms); ec) return ec;
      out = m;
      return {};
    }
    case MessageType::error: {
      Error m;
      std::uint16_t code = 0;
      if (!r.U16(code)) return errc::truncated;
      if (code == 0) return errc::malformed;
      m.code = static_cast<ErrorCode>(code);
      if (!r.U64(m.epoch)) return errc::truncated;
      if (!InRange(m.epoch)) return errc::malformed;
      if (!r.Copy(m.session_id) || !r.U64(m.counter)) return errc::truncated;
      if (!InRange(m.counter)) return errc::malformed;
      std::uint8_t len = 0;
      std::span<const std::uint8_t> text;
      if (!r.U8(len) || !r.View(len, text)) return errc::truncated;
      m.message.assign(text.begin(), text.end());
      if (!IsValidErrorMessage(m.message)) return errc::malformed;
      out = std::move(m);
      return {};
    }
  }
  return errc::malformed;  // Not a known type (the caller checked; kept for -Wreturn-type).
}

bool IsKnownType(std::uint8_t t) noexcept {
  return (t >= 0x01 && t <= 0x04) || (t >= 0x11 && t <= 0x16);
}

// --- encoding -------------------------------------------------------------------------------

void WriteHead(Writer& w, const SealedHead& h) {
  w.Raw(h.file_id);
  w.U64(h.epoch);
  w.U8(static_cast<std::uint8_t>(h.author.size()));
  w.Raw(h.author);
  w.Raw(h.session_id);
  w.U64(h.counter);
}

void WriteCiphertextAndSignature(Writer& w, const std::vector<std::uint8_t>& ct,
                                 const Signature& sig) {
  w.U32(static_cast<std::uint32_t>(ct.size()));
  w.Raw(ct);
  w.Raw(sig);
}

bool IsValidSealed(const Sealed& s, CiphertextBounds b) noexcept {
  return IsValidHead(s.head) && IsValidCiphertext(s.ciphertext, b);
}

bool IsValidSealedSnapshot(const SealedSnapshot& s) noexcept {
  return IsValidHead(s.head) && InRange(s.through_seq) &&
         IsValidCiphertext(s.ciphertext, kSnapshotBounds);
}

// Whether DecodeFrame would accept the encoding of `m`.
struct Validator {
  bool operator()(const Join& m) const {
    return InRangeNonZero(m.epoch) && (!m.resume_after || InRange(*m.resume_after));
  }
  bool operator()(const Update& m) const { return IsValidSealed(m.sealed, kUpdateBounds); }
  bool operator()(const Snapshot& m) const { return IsValidSealedSnapshot(m.sealed); }
  bool operator()(const Presence& m) const { return IsValidSealed(m.sealed, kPresenceBounds); }
  bool operator()(const Welcome& m) const {
    return InRangeNonZero(m.epoch) && InRange(m.head_seq) && m.snapshot_seq <= m.head_seq;
  }
  bool operator()(const UpdateRelay& m) const {
    return InRangeNonZero(m.seq) && InRange(m.server_time_ms) &&
           IsValidSealed(m.sealed, kUpdateBounds);
  }
  bool operator()(const SnapshotRelay& m) const {
    return InRange(m.server_time_ms) && IsValidSealedSnapshot(m.sealed);
  }
  bool operator()(const PresenceRelay& m) const {
    return InRange(m.server_time_ms) && IsValidSealed(m.sealed, kPresenceBounds);
  }
  bool operator()(const Ack& m) const {
    if (m.of != MessageType::update && m.of != MessageType::snapshot) return false;
    return InRangeNonZero(m.counter) && InRange(m.server_time_ms) &&
           (m.of == MessageType::update ? InRangeNonZero(m.seq) : InRange(m.seq));
  }
  bool operator()(const Error& m) const {
    return static_cast<std::uint16_t>(m.code) != 0 && InRange(m.epoch) && InRange(m.counter) &&
           IsValidErrorMessage(m.message);
  }
};

// An upper bound of the body size, to reserve once.
std::size_t SizeHint(const Message& m) {
  return std::visit(
      [](const auto& v) -> std::size_t {
        if constexpr (requires { v.sealed.ciphertext; }) {
          return v.sealed.ciphertext.size() + 512;
        } else {
          return 512;
        }
      },
      m);
}

struct BodyWriter {
  Writer& w;
  void operator()(const Join& m) const {
    w.Raw(m.file_id);
    w.U64(m.epoch);
    w.U8(m.resume_after ? kJoinResumeFlag : 0);
    w.U64(m.resume_after.value_or(0));
  }
  void operator()(const Update& m) const { SealedPart(m.sealed); }
  void operator()(const Snapshot& m) const { SnapshotPart(m.sealed); }
  void operator()(const Presence& m) const { SealedPart(m.sealed); }
  void operator()(const Welcome& m) const {
    w.Raw(m.file_id);
    w.U64(m.epoch);
    w.U64(m.head_seq);
    w.U64(m.snapshot_seq);
  }
  void operator()(const UpdateRelay& m) const {
    w.U64(m.seq);
    w.U64(m.server_time_ms);
    SealedPart(m.sealed);
  }
  void operator()(const SnapshotRelay& m) const {
    w.U64(m.server_time_ms);
    SnapshotPart(m.sealed);
  }
  void operator()(const PresenceRelay& m) const {
    w.U64(m.server_time_ms);
    SealedPart(m.sealed);
  }
  void operator()(const Ack& m) const {
    w.U8(static_cast<std::uint8_t>(m.of));
    w.Raw(m.session_id);
    w.U64(m.counter);
    w.U64(m.seq);
    w.U64(m.server_time_ms);
  }
  void operator()(const Error& m) const {
    w.U16(static_cast<std::uint16_t>(m.code));
    w.U64(m.epoch);
    w.Raw(m.session_id);
    w.U64(m.counter);
    w.U8(static_cast<std::uint8_t>(m.message.size()));
    w.Raw(m.message);
  }

 private:
  void SealedPart(const Sealed& s) const {
    WriteHead(w, s.head);
    WriteCiphertextAndSignature(w, s.ciphertext, s.signature);
  }
  void SnapshotPart(const SealedSnapshot& s) const {
    WriteHead(w, s.head);
    w.U64(s.through_seq);
    WriteCiphertextAndSignature(w, s.ciphertext, s.signature);
  }
};

}  // namespace

bool IsValidUserId(std::string_view id) noexcept {
  return !id.empty() && id.size() <= kMaxUserIdSize &&
         std::all_of(id.begin(), id.end(), [](char c) { return c >= 0x21 && c <= 0x7e; });
}

bool IsValidHead(const SealedHead& head) noexcept {
  return InRangeNonZero(head.epoch) && IsValidUserId(head.author) && InRangeNonZero(head.counter);
}

MessageType TypeOf(const Message& message) noexcept {
  // In the order of the variant's alternatives.
  static constexpr MessageType kTypes[] = {
      MessageType::join,           MessageType::update,         MessageType::snapshot,
      MessageType::presence,       MessageType::welcome,        MessageType::update_relay,
      MessageType::snapshot_relay, MessageType::presence_relay, MessageType::ack,
      MessageType::error};
  static_assert(std::size(kTypes) == std::variant_size_v<Message>);
  return kTypes[message.index()];
}

Direction DirectionOf(MessageType type) noexcept {
  return static_cast<std::uint8_t>(type) < 0x10 ? Direction::to_server : Direction::to_client;
}

result<Message> DecodeFrame(std::span<const std::uint8_t> frame, Direction direction) {
  if (frame.size() > kMaxFrameSize) return errc::too_large;
  Reader r(frame);
  std::uint8_t version = 0;
  std::uint8_t type = 0;
  if (!r.U8(version)) return errc::truncated;
  if (version != kProtocolVersion) return errc::unsupported_version;
  if (!r.U8(type)) return errc::truncated;
  if (!IsKnownType(type) || DirectionOf(static_cast<MessageType>(type)) != direction) {
    return errc::malformed;
  }
  Message out;
  if (auto ec = ReadBody(r, static_cast<MessageType>(type), out); ec) return ec;
  if (!r.done()) return errc::malformed;
  return out;
}

result<std::vector<std::uint8_t>> EncodeFrame(const Message& message) {
  if (!std::visit(Validator{}, message)) return errc::invalid_argument;
  Writer w(2 + SizeHint(message));
  w.U8(kProtocolVersion);
  w.U8(static_cast<std::uint8_t>(TypeOf(message)));
  std::visit(BodyWriter{w}, message);
  return w.Take();
}

std::vector<std::uint8_t> EncodeHead(const SealedHead& head) {
  Writer w(kMaxHeadSize);
  WriteHead(w, head);
  return w.Take();
}

std::vector<std::uint8_t> EncodeHead(const SealedSnapshot& snapshot) {
  Writer w(kMaxHeadSize + 8);
  WriteHead(w, snapshot.head);
  w.U64(snapshot.through_seq);
  return w.Take();
}

std::string_view ErrorCodeName(ErrorCode code) noexcept {
  using C = ErrorCode;
  switch (code) {
    case C::malformed: return "malformed";
    case C::unsupported_version: return "unsupported_version";
    case C::too_large: return "too_large";
    case C::not_joined: return "not_joined";
    case C::wrong_file: return "wrong_file";
    case C::stale_epoch: return "stale_epoch";
    case C::forbidden: return "forbidden";
    case C::not_found: return "not_found";
    case C::resume_unavailable: return "resume_unavailable";
    case C::wrong_author: return "wrong_author";
    case C::bad_signature: return "bad_signature";
    case C::duplicate: return "duplicate";
    case C::out_of_order: return "out_of_order";
    case C::snapshot_rejected: return "snapshot_rejected";
    case C::rate_limited: return "rate_limited";
    case C::tail_full: return "tail_full";
    case C::slow_consumer: return "slow_consumer";
    case C::shutting_down: return "shutting_down";
    case C::internal: return "internal";
  }
  return "unknown";
}

}  // namespace strongroom::collab
