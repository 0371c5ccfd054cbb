// Co-editing relay, the end-to-end part: session keys, sealing and opening of updates,
// snapshots and presence (include/strongroom/crypto/collab.h; docs/collab.md). The
// receiver's order checks, which need no key, are in collab_order.cc.
#include "crypto/collab_format.h"
#include "crypto/primitives.h"
#include "crypto/wire.h"
#include "strongroom/crypto/init.h"

#include <algorithm>
#include <tuple>

namespace strongroom::crypto {

namespace collab_detail {
namespace {

// Ciphertext bounds per kind, as the wire codec checks them (wire.h, "Limits").
struct Bounds {
  std::size_t min_plaintext;
  std::size_t max_plaintext;
};
Bounds BoundsOf(Kind kind) noexcept {
  switch (kind) {
    case Kind::update:
      return {0, collab::kMaxUpdatePayload};
    case Kind::snapshot:
      return {collab::kMinSnapshotPlaintext, collab::kMaxSnapshotPlaintext};
    case Kind::presence:
      return {0, collab::kMaxPresencePayload};
  }
  return {0, 0};
}

bool IsValidCounter(std::uint64_t v) noexcept {
  return v >= 1 && v <= collab::kMaxU64Field;
}

// Wipes a plaintext buffer on every path out of a scope.
class WipeOnExit {
 public:
  explicit WipeOnExit(std::vector<std::uint8_t>& buffer) : buffer_(buffer) {}
  ~WipeOnExit() { Wipe(buffer_); }
  WipeOnExit(const WipeOnExit&) = delete;
  WipeOnExit& operator=(const WipeOnExit&) = delete;

 private:
  std::vector<std::uint8_t>& buffer_;
};

struct SealedParts {
  std::vector<std::uint8_t> ciphertext;
  Signature signature{};
};

// AEAD(key, Nonce(counter), AssociatedData(kind, head), plaintext), then the author's
// signature over SignedMessage(kind, head, ciphertext).
result<SealedParts> SealParts(Kind kind, const Secret<32>& key, const Identity& author,
                              std::span<const std::uint8_t> head, std::uint64_t counter,
                              std::span<const std::uint8_t> plaintext) {
  const Bounds b = BoundsOf(kind);
  if (plaintext.size() > b.max_plaintext) return errc::too_large;
  if (plaintext.size() < b.min_plaintext) return errc::invalid_argument;
  SealedParts out;
  out.ciphertext.resize(plaintext.size() + kAeadTagSize);
  const auto ad = AssociatedData(kind, head);
  if (auto r = AeadSeal(key.bytes(), Nonce(counter), ad, plaintext, out.ciphertext); !r) {
    return r.error();
  }
  out.signature = author.Sign(SignedMessage(kind, head, out.ciphertext));
  return out;
}

result<void> CheckAuthor(const Identity& author, std::string_view expected_user_id,
                         const Fingerprint& expected_fingerprint) {
  if (author.user_id() != expected_user_id ||
      author.public_bundle().fingerprint() != expected_fingerprint) {
    return errc::invalid_argument;
  }
  return {};
}

// The checks every Open* makes before decrypting, in the documented order.
result<void> CheckAndVerify(Kind kind, const CollabKey& key, const PublicBundle& author,
                            const collab::SealedHead& head,
                            std::span<const std::uint8_t> head_bytes,
                            std::span<const std::uint8_t> ciphertext,
                            std::span<const std::uint8_t, 64> signature) {
  const Bounds b = BoundsOf(kind);
  if (!collab::IsValidHead(head) || ciphertext.size() < b.min_plaintext + kAeadTagSize ||
      ciphertext.size() > b.max_plaintext + kAeadTagSize) {
    return errc::malformed;
  }
  if (head.file_id != key.file_id() || head.epoch != key.epoch()) return errc::record_mismatch;
  if (author.user_id().empty() || head.author != author.user_id()) return errc::untrusted_signer;
  if (!author.VerifySignature(SignedMessage(kind, head_bytes, ciphertext), signature)) {
    return errc::bad_signature;
  }
  return {};
}

// Opens an authentic ciphertext into `plaintext`; record_mismatch when it was sealed under
// another key (the signature already said who sealed it and that nothing changed).
result<void> Decrypt(Kind kind, const CollabKey& key, const collab::SealedHead& head,
                     std::span<const std::uint8_t> head_bytes,
                     std::span<const std::uint8_t> ciphertext,
                     std::vector<std::uint8_t>& plaintext) {
  Secret<32> session_key;
  if (auto r = DeriveSessionKey(key, kind, head.session_id, session_key); !r) return r.error();
  plaintext.resize(ciphertext.size() - kAeadTagSize);
  if (!AeadOpen(session_key.bytes(), Nonce(head.counter), AssociatedData(kind, head_bytes),
                ciphertext, plaintext)) {
    return errc::record_mismatch;
  }
  return {};
}

result<OpenedMessage> OpenMessage(Kind kind, const collab::Sealed& sealed, const CollabKey& key,
                                  const PublicBundle& author) {
  if (auto r = Init(); !r) return r.error();
  // EncodeHead is only defined for valid heads: check the head before encoding it.
  if (!collab::IsValidHead(sealed.head)) return errc::malformed;
  const auto head_bytes = collab::EncodeHead(sealed.head);
  if (auto r = CheckAndVerify(kind, key, author, sealed.head, head_bytes, sealed.ciphertext,
                              sealed.signature);
      !r) {
    return r.error();
  }
  OpenedMessage out;
  if (auto r = Decrypt(kind, key, sealed.head, head_bytes, sealed.ciphertext, out.payload); !r) {
    return r.error();
  }
  out.head = sealed.head;
  return out;
}

result<collab::Sealed> SealMessageWith(Kind kind, const Secret<32>& session_key,
                                       const Identity& author, collab::SealedHead head,
                                       std::span<const std::uint8_t> payload) {
  if (!collab::IsValidHead(head)) return errc::invalid_argument;
  const auto head_bytes = collab::EncodeHead(head);
  auto parts = SealParts(kind, session_key, author, head_bytes, head.counter, payload);
  if (!parts) return parts.error();
  collab::Sealed out;
  out.head = std::move(head);
  out.ciphertext = std::move(parts->ciphertext);
  out.signature = parts->signature;
  return out;
}

result<collab::SealedSnapshot> SealSnapshotWith(const Secret<32>& session_key,
                                                const Identity& author, collab::SealedHead head,
                                                std::uint64_t through_seq,
                                                std::span<const std::uint8_t> plaintext) {
  collab::SealedSnapshot out;
  out.head = std::move(head);
  out.through_seq = through_seq;
  if (!collab::IsValidHead(out.head) || through_seq > collab::kMaxU64Field) {
    return errc::invalid_argument;
  }
  const auto head_bytes = collab::EncodeHead(out);
  auto parts =
      SealParts(Kind::snapshot, session_key, author, head_bytes, out.head.counter, plaintext);
  if (!parts) return parts.error();
  out.ciphertext = std::move(parts->ciphertext);
  out.signature = parts->signature;
  return out;
}

// The snapshot plaintext of `contents`, or invalid_argument / too_large.
result<std::vector<std::uint8_t>> SnapshotPlaintext(const SnapshotContents& contents) {
  auto sorted = SortStreams(contents.streams);
  if (!sorted) return sorted.error();
  // Refuse before building a buffer that could not be sealed anyway.
  std::size_t size = 4 + contents.state.size();
  for (const auto& s : *sorted) size += 1 + s.author.size() + collab::kSessionIdSize + 8;
  if (size > collab::kMaxSnapshotPlaintext) return errc::too_large;
  return EncodeSnapshotPlaintext(*sorted, contents.state);
}

collab::SealedHead HeadFor(const CollabKey& key, const Identity& author,
                           const collab::SessionId& session_id, std::uint64_t counter) {
  collab::SealedHead head;
  head.file_id = key.file_id();
  head.epoch = key.epoch();
  head.author = author.user_id();
  head.session_id = session_id;
  head.counter = counter;
  return head;
}

bool StreamLess(const StreamPosition& a, const StreamPosition& b) {
  return std::tie(a.author, a.session_id) < std::tie(b.author, b.session_id);
}

}  // namespace

std::string_view Label(Kind kind) noexcept {
  switch (kind) {
    case Kind::update:
      return kUpdateLabel;
    case Kind::snapshot:
      return kSnapshotLabel;
    case Kind::presence:
      return kPresenceLabel;
  }
  return {};
}

std::string_view SignatureLabel(Kind kind) noexcept {
  switch (kind) {
    case Kind::update:
      return kUpdateSignatureLabel;
    case Kind::snapshot:
      return kSnapshotSignatureLabel;
    case Kind::presence:
      return kPresenceSignatureLabel;
  }
  return {};
}

result<void> DeriveSessionKey(const CollabKey& key, Kind kind, const collab::SessionId& session_id,
                              Secret<32>& out) {
  ByteWriter salt;
  salt.Raw(key.file_id());
  salt.U64(key.epoch());
  salt.Raw(session_id);
  return HkdfSha256(KeyAccess::FileKey(key).bytes(), salt.buffer(), AsBytes(Label(kind)),
                    out.bytes());
}

std::array<std::uint8_t, 12> Nonce(std::uint64_t counter) noexcept {
  std::array<std::uint8_t, 12> nonce{};
  for (int i = 0; i < 8; ++i) nonce[4 + i] = static_cast<std::uint8_t>(counter >> (56 - 8 * i));
  return nonce;
}

std::vector<std::uint8_t> AssociatedData(Kind kind, std::span<const std::uint8_t> head) {
  ByteWriter w;
  w.Raw(Label(kind));
  w.Raw(head);
  return w.Take();
}

std::vector<std::uint8_t> SignedMessage(Kind kind, std::span<const std::uint8_t> head,
                                        std::span<const std::uint8_t> ciphertext) {
  ByteWriter w;
  w.buffer().reserve(SignatureLabel(kind).size() + head.size() + 4 + ciphertext.size());
  w.Raw(SignatureLabel(kind));
  w.Raw(head);
  w.U32(static_cast<std::uint32_t>(ciphertext.size()));
  w.Raw(ciphertext);
  return w.Take();
}

result<std::vector<StreamPosition>> SortStreams(std::vector<StreamPosition> streams) {
  if (streams.size() > kMaxSnapshotStreams) return errc::too_large;
  for (const auto& s : streams) {
    if (!collab::IsValidUserId(s.author) || !IsValidCounter(s.last_counter)) {
      return errc::invalid_argument;
    }
  }
  std::sort(streams.begin(), streams.end(), StreamLess);
  const auto dup = std::adjacent_find(streams.begin(), streams.end(),
                                      [](const StreamPosition& a, const StreamPosition& b) {
                                        return !StreamLess(a, b) && !StreamLess(b, a);
                                      });
  if (dup != streams.end()) return errc::invalid_argument;
  return streams;
}

std::vector<std::uint8_t> EncodeSnapshotPlaintext(std::span<const StreamPosition> sorted_streams,
                                                  std::span<const std::uint8_t> state) {
  ByteWriter w;
  w.buffer().reserve(4 + sorted_streams.size() * (1 + 32 + collab::kSessionIdSize + 8) +
                     state.size());
  w.U32(static_cast<std::uint32_t>(sorted_streams.size()));
  for (const auto& s : sorted_streams) {
    w.U8(static_cast<std::uint8_t>(s.author.size()));
    w.Raw(s.author);
    w.Raw(s.session_id);
    w.U64(s.last_counter);
  }
  w.Raw(state);
  return w.Take();
}

result<SnapshotContents> ParseSnapshotPlaintext(std::span<const std::uint8_t> bytes) {
  ByteReader r(bytes);
  std::uint32_t count = 0;
  if (!r.U32(count) || count > kMaxSnapshotStreams) return errc::malformed;
  // Each stream takes at least 1 + 1 + 16 + 8 bytes: refuse a count the input cannot hold
  // before reserving for it.
  if (count > r.remaining() / (1 + 1 + collab::kSessionIdSize + 8)) return errc::malformed;
  SnapshotContents out;
  out.streams.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    StreamPosition s;
    std::uint8_t len = 0;
    std::span<const std::uint8_t> author;
    if (!r.U8(len) || !r.View(len, author) || !r.Copy(s.session_id) || !r.U64(s.last_counter)) {
      return errc::malformed;
    }
    s.author.assign(author.begin(), author.end());
    if (!collab::IsValidUserId(s.author) || !IsValidCounter(s.last_counter)) {
      return errc::malformed;
    }
    // Strictly ascending: sorted and no duplicates, so one encoding per set of streams.
    if (!out.streams.empty() && !StreamLess(out.streams.back(), s)) return errc::malformed;
    out.streams.push_back(std::move(s));
  }
  std::span<const std::uint8_t> state;
  if (!r.View(r.remaining(), state)) return errc::malformed;
  out.state.assign(state.begin(), state.end());
  return out;
}

result<collab::Sealed> SealUpdateAt(const CollabKey& key, const Identity& author,
                                    const collab::SessionId& session_id, std::uint64_t counter,
                                    std::span<const std::uint8_t> payload) {
  if (auto r = Init(); !r) return r.error();
  if (!IsValidCounter(counter)) return errc::invalid_argument;
  Secret<32> session_key;
  if (auto r = DeriveSessionKey(key, Kind::update, session_id, session_key); !r) return r.error();
  return SealMessageWith(Kind::update, session_key, author,
                         HeadFor(key, author, session_id, counter), payload);
}

result<collab::Sealed> SealPresenceAt(const CollabKey& key, const Identity& author,
                                      const collab::SessionId& session_id, std::uint64_t counter,
                                      std::span<const std::uint8_t> payload) {
  if (auto r = Init(); !r) return r.error();
  if (!IsValidCounter(counter)) return errc::invalid_argument;
  Secret<32> session_key;
  if (auto r = DeriveSessionKey(key, Kind::presence, session_id, session_key); !r) {
    return r.error();
  }
  return SealMessageWith(Kind::presence, session_key, author,
                         HeadFor(key, author, session_id, counter), payload);
}

result<collab::SealedSnapshot> SealSnapshotPlaintextAt(const CollabKey& key, const Identity& author,
                                                       const collab::SessionId& session_id,
                                                       std::uint64_t counter,
                                                       std::uint64_t through_seq,
                                                       std::span<const std::uint8_t> plaintext) {
  if (auto r = Init(); !r) return r.error();
  if (!IsValidCounter(counter)) return errc::invalid_argument;
  Secret<32> session_key;
  if (auto r = DeriveSessionKey(key, Kind::snapshot, session_id, session_key); !r) {
    return r.error();
  }
  return SealSnapshotWith(session_key, author, HeadFor(key, author, session_id, counter),
                          through_seq, plaintext);
}

result<collab::SealedSnapshot> SealSnapshotAt(const CollabKey& key, const Identity& author,
                                              const collab::SessionId& session_id,
                                              std::uint64_t counter, std::uint64_t through_seq,
                                              const SnapshotContents& contents) {
  auto plaintext = SnapshotPlaintext(contents);
  if (!plaintext) return plaintext.error();
  WipeOnExit wipe(*plaintext);
  return SealSnapshotPlaintextAt(key, author, session_id, counter, through_seq, *plaintext);
}

}  // namespace collab_detail

using namespace collab_detail;

// --- CollabKey ------------------------------------------------------------------------------

result<CollabKey> CollabKey::Make(const Secret<32>& file_key, const collab::FileId& file_id,
                                  std::uint64_t epoch) {
  if (epoch == 0 || epoch > collab::kMaxU64Field) return errc::invalid_argument;
  return CollabKey(file_key.Clone(), file_id, epoch);
}

CollabKey CollabKey::Clone() const {
  return CollabKey(file_key_.Clone(), file_id_, epoch_);
}

// --- CollabSession --------------------------------------------------------------------------

result<CollabSession> CollabSession::Start(const CollabKey& key, const Identity& author) {
  if (auto r = Init(); !r) return r.error();
  CollabSession s;
  s.file_id_ = key.file_id();
  s.epoch_ = key.epoch();
  s.author_ = author.user_id();
  s.author_fingerprint_ = author.public_bundle().fingerprint();
  // 128 random bits: two sessions of one epoch share an id (and so their keys and nonces)
  // with probability about n^2 / 2^129 for n sessions.
  RandomBytes(s.session_id_);
  if (auto r = DeriveSessionKey(key, Kind::update, s.session_id_, s.update_key_); !r) {
    return r.error();
  }
  if (auto r = DeriveSessionKey(key, Kind::snapshot, s.session_id_, s.snapshot_key_); !r) {
    return r.error();
  }
  if (auto r = DeriveSessionKey(key, Kind::presence, s.session_id_, s.presence_key_); !r) {
    return r.error();
  }
  return s;
}

namespace {

collab::SealedHead SessionHead(const collab::FileId& file_id, std::uint64_t epoch,
                               const std::string& author, const collab::SessionId& session_id,
                               std::uint64_t counter) {
  collab::SealedHead head;
  head.file_id = file_id;
  head.epoch = epoch;
  head.author = author;
  head.session_id = session_id;
  head.counter = counter;
  return head;
}

}  // namespace

result<collab::Sealed> CollabSession::SealUpdate(const Identity& author,
                                                 std::span<const std::uint8_t> payload) {
  if (auto r = CheckAuthor(author, author_, author_fingerprint_); !r) return r.error();
  if (next_update_ > collab::kMaxU64Field) return errc::too_large;
  auto sealed =
      SealMessageWith(Kind::update, update_key_, author,
                      SessionHead(file_id_, epoch_, author_, session_id_, next_update_), payload);
  if (sealed) ++next_update_;
  return sealed;
}

result<collab::Sealed> CollabSession::SealPresence(const Identity& author,
                                                   std::span<const std::uint8_t> payload) {
  if (auto r = CheckAuthor(author, author_, author_fingerprint_); !r) return r.error();
  if (next_presence_ > collab::kMaxU64Field) return errc::too_large;
  auto sealed =
      SealMessageWith(Kind::presence, presence_key_, author,
                      SessionHead(file_id_, epoch_, author_, session_id_, next_presence_), payload);
  if (sealed) ++next_presence_;
  return sealed;
}

result<collab::SealedSnapshot> CollabSession::SealSnapshot(const Identity& author,
                                                           std::uint64_t through_seq,
                                                           const SnapshotContents& contents) {
  if (auto r = CheckAuthor(author, author_, author_fingerprint_); !r) return r.error();
  if (next_snapshot_ > collab::kMaxU64Field) return errc::too_large;
  if (through_seq > collab::kMaxU64Field) return errc::invalid_argument;
  auto plaintext = SnapshotPlaintext(contents);
  if (!plaintext) return plaintext.error();
  WipeOnExit wipe(*plaintext);
  auto sealed = SealSnapshotWith(
      snapshot_key_, author, SessionHead(file_id_, epoch_, author_, session_id_, next_snapshot_),
      through_seq, *plaintext);
  if (sealed) ++next_snapshot_;
  return sealed;
}

// --- opening --------------------------------------------------------------------------------

result<OpenedMessage> OpenUpdate(const collab::Sealed& update, const CollabKey& key,
                                 const PublicBundle& author) {
  return OpenMessage(Kind::update, update, key, author);
}

result<OpenedMessage> OpenPresence(const collab::Sealed& presence, const CollabKey& key,
                                   const PublicBundle& author) {
  return OpenMessage(Kind::presence, presence, key, author);
}

result<OpenedSnapshot> OpenSnapshot(const collab::SealedSnapshot& snapshot, const CollabKey& key,
                                    const PublicBundle& author) {
  if (auto r = Init(); !r) return r.error();
  if (!collab::IsValidHead(snapshot.head) || snapshot.through_seq > collab::kMaxU64Field) {
    return errc::malformed;
  }
  const auto head_bytes = collab::EncodeHead(snapshot);
  if (auto r = CheckAndVerify(Kind::snapshot, key, author, snapshot.head, head_bytes,
                              snapshot.ciphertext, snapshot.signature);
      !r) {
    return r.error();
  }
  std::vector<std::uint8_t> plaintext;
  WipeOnExit wipe(plaintext);
  if (auto r =
          Decrypt(Kind::snapshot, key, snapshot.head, head_bytes, snapshot.ciphertext, plaintext);
      !r) {
    return r.error();
  }
  auto contents = ParseSnapshotPlaintext(plaintext);
  if (!contents) return contents.error();
  OpenedSnapshot out;
  out.head = snapshot.head;
  out.through_seq = snapshot.through_seq;
  out.contents = std::move(*contents);
  return out;
}

}  // namespace strongroom::crypto
