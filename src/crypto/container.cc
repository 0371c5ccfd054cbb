#include "strongroom/crypto/container.h"

#include "crypto/chunk_pipeline.h"
#include "crypto/container_format.h"
#include "crypto/primitives.h"
#include "crypto/wire.h"
#include "strongroom/crypto/init.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>

namespace strongroom::crypto {

using namespace container;

namespace {

using Nonce = std::array<std::uint8_t, kAeadNonceSize>;

Nonce ChunkNonce(const Header& h, std::uint64_t index, bool final) {
  Nonce n{};
  std::copy(h.nonce_prefix.begin(), h.nonce_prefix.end(), n.begin());
  StoreBigEndian32(static_cast<std::uint32_t>(index), n.data() + kNoncePrefixSize);
  n[11] = final ? 1 : 0;
  return n;
}

// Key that wraps the file key for one recipient.
result<void> WrapKey(std::span<const std::uint8_t, 32> shared,
                     std::span<const std::uint8_t, 32> ephemeral,
                     std::span<const std::uint8_t, 32> recipient_key, const FileId& file_id,
                     std::string_view user_id, std::span<std::uint8_t, 32> out) {
  ByteWriter salt;
  salt.Raw(ephemeral);
  salt.Raw(recipient_key);
  ByteWriter info;
  info.Raw(kWrapLabel);
  info.Raw(file_id);
  info.U8(static_cast<std::uint8_t>(user_id.size()));
  info.Raw(user_id);
  return HkdfSha256(shared, salt.buffer(), info.buffer(), out);
}

result<void> HeaderMacKey(const Secret<32>& file_key, const FileId& file_id,
                          std::span<std::uint8_t, 32> out) {
  return HkdfSha256(file_key.bytes(), file_id, AsBytes(kHeaderMacLabel), out);
}

result<void> PayloadKey(const Secret<32>& file_key, const Header& h,
                        std::span<std::uint8_t, 32> out) {
  ByteWriter info;
  info.Raw(kPayloadLabel);
  info.Raw(h.nonce_prefix);
  return HkdfSha256(file_key.bytes(), h.file_id, info.buffer(), out);
}

std::vector<std::uint8_t> SignatureMessage(std::span<const std::uint8_t, 32> mac,
                                           std::span<const std::uint8_t, 16> final_tag) {
  ByteWriter w;
  w.Raw(kSignatureLabel);
  w.Raw(mac);
  w.Raw(final_tag);
  return w.Take();
}

result<Stanza> MakeStanza(const Secret<32>& file_key, const FileId& file_id,
                          const PublicBundle& recipient) {
  Stanza s;
  s.user_id = recipient.user_id();
  s.fingerprint = recipient.fingerprint();
  Secret<32> ephemeral_secret;
  RandomBytes(ephemeral_secret.bytes());
  X25519PublicFromSecret(ephemeral_secret.bytes(), s.ephemeral);
  Secret<32> shared;
  if (auto r = X25519(ephemeral_secret.bytes(), recipient.encryption_key(), shared.bytes()); !r) {
    return errc::invalid_argument;  // A bundle with a low-order key: not a usable recipient.
  }
  Secret<32> wrap_key;
  if (auto r = WrapKey(shared.bytes(), s.ephemeral, recipient.encryption_key(), file_id, s.user_id,
                       wrap_key.bytes());
      !r) {
    return r.error();
  }
  // The nonce is fixed: each wrap key is used exactly once, being derived from a fresh
  // ephemeral key pair.
  const Nonce zero{};
  if (auto r = AeadSeal(wrap_key.bytes(), zero, {}, file_key.bytes(), s.wrapped); !r) {
    return r.error();
  }
  return s;
}

// Serializes the header, computes the MAC under the file key and fills h.raw and h.mac.
result<void> SealHeader(Header& h, const Secret<32>& file_key) {
  auto bytes = SerializeHeaderWithoutMac(h);
  if (!bytes) return bytes.error();
  Secret<32> mac_key;
  if (auto r = HeaderMacKey(file_key, h.file_id, mac_key.bytes()); !r) return r.error();
  h.mac = HmacSha256(mac_key.bytes(), *bytes);
  bytes->insert(bytes->end(), h.mac.begin(), h.mac.end());
  h.raw = std::move(*bytes);
  return {};
}

// Finds this identity's stanza, unwraps the file key and verifies the header MAC.
result<Secret<32>> OpenHeader(const Header& h, const Identity& identity) {
  const Fingerprint& mine = identity.public_bundle().fingerprint();
  bool matched = false;
  for (const Stanza& s : h.stanzas) {
    if (s.fingerprint != mine) continue;
    matched = true;
    Secret<32> shared;
    if (!identity.Agree(s.ephemeral, shared.bytes())) continue;
    Secret<32> wrap_key;
    if (!WrapKey(shared.bytes(), s.ephemeral, identity.public_bundle().encryption_key(), h.file_id,
                 s.user_id, wrap_key.bytes())) {
      continue;
    }
    Secret<32> file_key;
    const Nonce zero{};
    if (!AeadOpen(wrap_key.bytes(), zero, {}, s.wrapped, file_key.bytes())) continue;
    Secret<32> mac_key;
    if (auto r = HeaderMacKey(file_key, h.file_id, mac_key.bytes()); !r) return r.error();
    if (!HmacSha256Verify(mac_key.bytes(), std::span(h.raw).first(h.raw.size() - kHeaderMacSize),
                          h.mac)) {
      return errc::header_tampered;
    }
    return file_key;
  }
  return matched ? errc::header_tampered : errc::not_a_recipient;
}

// A header read from `in` and opened as `identity`: the file key, with the MAC verified.
struct OpenedHeader {
  Header header;
  Secret<32> file_key;
};

result<OpenedHeader> ReadAndOpenHeader(Lookahead& in, const Identity& identity) {
  auto h = ReadHeader(in);
  if (!h) return h.error();
  auto file_key = OpenHeader(*h, identity);
  if (!file_key) return file_key.error();
  return OpenedHeader{std::move(*h), std::move(*file_key)};
}

// Builds a fresh header (new nonce prefix) for `recipients`, signed later by `signer`.
result<Header> NewHeader(const FileId& file_id, std::uint32_t chunk_size,
                         const std::string& content_type, const Identity& signer,
                         std::span<const PublicBundle> recipients, const Secret<32>& file_key) {
  if (recipients.empty()) return errc::invalid_argument;
  Header h;
  h.file_id = file_id;
  h.chunk_size = chunk_size;
  h.content_type = content_type;
  RandomBytes(h.nonce_prefix);
  h.author = signer.public_bundle();
  h.author_bytes = h.author.Serialize();
  std::vector<Fingerprint> seen;
  for (const PublicBundle& r : recipients) {
    if (std::find(seen.begin(), seen.end(), r.fingerprint()) != seen.end()) continue;
    if (r.user_id().empty()) return errc::invalid_argument;
    seen.push_back(r.fingerprint());
    auto s = MakeStanza(file_key, file_id, r);
    if (!s) return s.error();
    h.stanzas.push_back(std::move(*s));
  }
  if (h.stanzas.size() > kMaxRecipients) return errc::too_large;
  if (auto r = SealHeader(h, file_key); !r) return r.error();
  return h;
}

// Per-worker AES contexts, made lazily on the worker's first chunk.
class Contexts {
 public:
  Contexts(std::span<const std::uint8_t, 32> key, unsigned workers) : slots_(workers) {
    std::copy(key.begin(), key.end(), key_.data());
  }
  AeadContext& For(unsigned worker) {
    if (!slots_[worker]) slots_[worker] = std::make_unique<AeadContext>(key_.bytes());
    return *slots_[worker];
  }

 private:
  Secret<32> key_;
  std::vector<std::unique_ptr<AeadContext>> slots_;
};

// Reads ciphertext chunks of a container payload from a stream, finding the final chunk by
// looking ahead for the 64-byte trailer.
class CiphertextChunkReader {
 public:
  CiphertextChunkReader(Lookahead& in, std::uint32_t chunk_size)
      : in_(in), chunk_(chunk_size + kAeadTagSize) {}

  result<std::size_t> operator()(std::uint64_t index, std::span<std::uint8_t> buffer, bool& final) {
    auto got = in_.ReadFull(buffer.first(chunk_));
    if (!got) return got.error();
    auto avail = in_.Peek(kContainerSignatureSize + 1);
    if (!avail) return avail.error();
    if (*got == chunk_ && *avail == kContainerSignatureSize + 1) {
      final = false;
      return chunk_;
    }
    final = true;
    const std::size_t total = *got + *avail;
    if (total < kAeadTagSize + kContainerSignatureSize) return errc::truncated;
    const std::size_t len = total - kContainerSignatureSize;
    if (index > 0 && len == kAeadTagSize) return errc::malformed;  // Empty non-first final chunk.
    // The trailer is the last 64 bytes of buffer[0, got) ‖ peeked[0, avail).
    std::vector<std::uint8_t> joined(buffer.begin() + static_cast<std::ptrdiff_t>(len),
                                     buffer.begin() + static_cast<std::ptrdiff_t>(*got));
    const auto peeked = in_.Peeked().first(*avail);
    joined.insert(joined.end(), peeked.begin(), peeked.end());
    std::copy(joined.begin(), joined.end(), trailer_.begin());
    return len;
  }

  const std::array<std::uint8_t, kContainerSignatureSize>& trailer() const { return trailer_; }

 private:
  Lookahead& in_;
  std::size_t chunk_;
  std::array<std::uint8_t, kContainerSignatureSize> trailer_{};
};

// Payload geometry of a container whose payload starts at `start` in a source of `size`
// bytes. A bad final chunk length is not an error here but `tail_error`, reported only when
// the final chunk is reached: a streaming reader, which cannot see the end coming, first
// tries the chunk before it as non-final, and the positional reader must conclude the same
// error for the same bytes.
struct Geometry {
  std::uint64_t start = 0;
  std::uint64_t chunks = 0;
  std::uint64_t last_len = 0;  // Ciphertext bytes of the final chunk, tag included.
  std::uint64_t full = 0;      // Ciphertext bytes of a non-final chunk.
  errc tail_error{};           // Set when the final chunk cannot be valid.
};

result<Geometry> PayloadGeometry(std::uint64_t start, std::uint64_t size,
                                 std::uint32_t chunk_size) {
  Geometry g;
  g.start = start;
  g.full = chunk_size + kAeadTagSize;
  if (size < start || size - start < kAeadTagSize + kContainerSignatureSize) return errc::truncated;
  const std::uint64_t payload = size - start - kContainerSignatureSize;
  g.chunks = (payload + g.full - 1) / g.full;
  g.last_len = payload - (g.chunks - 1) * g.full;
  if (g.chunks - 1 > 0xffffffffull) return errc::too_large;
  if (g.last_len < kAeadTagSize) {
    g.tail_error = errc::truncated;
  } else if (g.chunks > 1 && g.last_len == kAeadTagSize) {
    g.tail_error = errc::malformed;  // An empty final chunk after full ones is never written.
  }
  return g;
}

// Reads ciphertext chunks with positioned reads, so workers read in parallel. For sources
// of known size (regular files, memory).
class PositionalChunkReader {
 public:
  PositionalChunkReader(io::Source& in, const Geometry& g) : in_(in), g_(g) {}

  result<std::size_t> operator()(std::uint64_t index, std::span<std::uint8_t>, bool& final) const {
    if (index >= g_.chunks) return errc::internal;
    final = index + 1 == g_.chunks;
    if (final && g_.tail_error != errc{}) return g_.tail_error;
    return static_cast<std::size_t>(final ? g_.last_len : g_.full);
  }
  result<void> Fill(const PipelineChunk& c, std::span<std::uint8_t> buffer) const {
    auto n = in_.ReadAt(g_.start + c.index * g_.full, buffer);
    if (!n) return n.error();
    if (*n != buffer.size()) return errc::io_error;  // The file shrank while being read.
    return {};
  }
  result<void> ReadTrailer(std::uint64_t size, std::array<std::uint8_t, 64>& trailer) const {
    auto n = in_.ReadAt(size - kContainerSignatureSize, trailer);
    if (!n) return n.error();
    if (*n != trailer.size()) return errc::io_error;
    return {};
  }

 private:
  io::Source& in_;
  Geometry g_;
};

// Decrypts one chunk with `ctx`; shared by streaming, range and rekey paths.
result<std::size_t> OpenChunk(AeadContext& ctx, const Header& h, const PipelineChunk& chunk,
                              std::span<const std::uint8_t> in, std::span<std::uint8_t> out) {
  if (chunk.index > 0xffffffffull) return errc::too_large;
  if (in.size() < kAeadTagSize) return errc::truncated;
  const std::size_t len = in.size() - kAeadTagSize;
  if (auto r = ctx.Open(ChunkNonce(h, chunk.index, chunk.final), in, out.first(len)); !r) {
    return errc::payload_tampered;
  }
  return len;
}

result<std::size_t> SealChunk(AeadContext& ctx, const Header& h, const PipelineChunk& chunk,
                              std::span<const std::uint8_t> in, std::span<std::uint8_t> out) {
  if (chunk.index > 0xffffffffull) return errc::too_large;
  if (auto r = ctx.Seal(ChunkNonce(h, chunk.index, chunk.final), in,
                        out.first(in.size() + kAeadTagSize));
      !r) {
    return r.error();
  }
  return in.size() + kAeadTagSize;
}

// Writes the trailer: the signer's signature over (header MAC ‖ final tag).
result<void> WriteSignature(io::Sink& out, const Identity& signer, const Header& h,
                            std::span<const std::uint8_t, 16> final_tag) {
  const Signature sig = signer.Sign(SignatureMessage(h.mac, final_tag));
  return out.Write(sig);
}

bool VerifySignature(const Header& h, std::span<const std::uint8_t, 16> final_tag,
                     std::span<const std::uint8_t, 64> signature) {
  return h.author.VerifySignature(SignatureMessage(h.mac, final_tag), signature);
}

// Copies the payload of `in` to `out` untouched, returning the final tag and the trailer.
result<void> CopyPayload(Lookahead& in, io::Sink& out, std::array<std::uint8_t, 16>& final_tag,
                         std::array<std::uint8_t, 64>& trailer) {
  constexpr std::size_t kHold = kAeadTagSize + kContainerSignatureSize;
  std::vector<std::uint8_t> held;
  std::vector<std::uint8_t> block(1 << 20);
  for (;;) {
    auto n = in.ReadFull(block);
    if (!n) return n.error();
    held.insert(held.end(), block.begin(), block.begin() + static_cast<std::ptrdiff_t>(*n));
    if (held.size() > kHold) {
      const std::size_t emit = held.size() - kHold;
      if (auto w = out.Write(std::span(held).first(emit)); !w) return w;
      held.erase(held.begin(), held.begin() + static_cast<std::ptrdiff_t>(emit));
    }
    if (*n < block.size()) break;
  }
  if (held.size() < kHold) return errc::truncated;
  std::copy_n(held.begin(), 16, final_tag.begin());
  std::copy_n(held.begin() + 16, 64, trailer.begin());
  return out.Write(std::span(held).first(16));
}

// Shared by AddRecipients and RemoveRecipients: writes `h` (already sealed with the same
// file key), copies the payload, checks the old signature and signs anew.
result<ContainerInfo> RewriteHeader(Lookahead& in, io::Sink& out, const Header& old_header,
                                    const Header& new_header, const Identity& signer) {
  if (auto w = out.Write(new_header.raw); !w) return w.error();
  std::array<std::uint8_t, 16> final_tag{};
  std::array<std::uint8_t, 64> trailer{};
  if (auto r = CopyPayload(in, out, final_tag, trailer); !r) return r.error();
  if (!VerifySignature(old_header, final_tag, trailer)) return errc::bad_signature;
  if (auto w = WriteSignature(out, signer, new_header, final_tag); !w) return w.error();
  ContainerInfo info = InfoOf(new_header);
  info.final_tag = final_tag;
  return info;
}

}  // namespace

result<ContainerKey> OpenFileKey(io::Source& in, const Identity& identity) {
  if (auto r = Init(); !r) return r.error();
  Lookahead look(in);  // ReadHeader reads exactly header_len bytes and never peeks beyond.
  auto opened = ReadAndOpenHeader(look, identity);
  if (!opened) return opened.error();
  return ContainerKey{InfoOf(opened->header), std::move(opened->file_key)};
}

result<ContainerInfo> EncryptContainer(io::Source& plaintext, io::Sink& out, const Identity& author,
                                       std::span<const PublicBundle> recipients,
                                       const EncryptOptions& options, Secret<32>* file_key_out) {
  if (auto r = Init(); !r) return r.error();
  if (!IsValidChunkSize(options.chunk_size) || !IsValidContentType(options.content_type)) {
    return errc::invalid_argument;
  }
  Secret<32> file_key;
  RandomBytes(file_key.bytes());
  FileId file_id{};
  if (options.file_id) {
    file_id = *options.file_id;
  } else {
    RandomBytes(file_id);
  }
  auto h =
      NewHeader(file_id, options.chunk_size, options.content_type, author, recipients, file_key);
  if (!h) return h.error();
  if (auto w = out.Write(h->raw); !w) return w.error();

  Secret<32> payload_key;
  if (auto r = PayloadKey(file_key, *h, payload_key.bytes()); !r) return r.error();
  const unsigned workers = WorkerCount(options.threads);
  Contexts contexts(payload_key.bytes(), workers);
  Lookahead look(plaintext);
  std::array<std::uint8_t, 16> final_tag{};
  std::uint64_t total = 0;
  auto read = [&](std::uint64_t, std::span<std::uint8_t> buf, bool& final) -> result<std::size_t> {
    auto n = look.ReadFull(buf.first(h->chunk_size));
    if (!n) return n.error();
    auto more = look.Peek(1);
    if (!more) return more.error();
    final = *more == 0;
    return *n;
  };
  auto transform = [&](unsigned w, const PipelineChunk& c, std::span<const std::uint8_t> in,
                       std::span<std::uint8_t> o) -> result<std::size_t> {
    auto n = SealChunk(contexts.For(w), *h, c, in, o);
    if (n && c.final)
      std::copy_n(o.begin() + static_cast<std::ptrdiff_t>(*n - 16), 16, final_tag.begin());
    return n;
  };
  auto write = [&](std::uint64_t, std::size_t count,
                   std::span<const std::uint8_t> o) -> result<void> {
    total += o.size() - count * kAeadTagSize;
    return out.Write(o);
  };
  result<void> run;
  const auto size = plaintext.Size();
  const auto start = plaintext.Tell();
  if (size && start && *start <= *size) {
    // Known size: workers pread their own chunks in parallel.
    const std::uint64_t length = *size - *start;
    const std::uint64_t cs = h->chunk_size;
    const std::uint64_t chunks = length == 0 ? 1 : (length + cs - 1) / cs;
    if (chunks - 1 > 0xffffffffull) return errc::too_large;
    auto geometry = [&](std::uint64_t index, std::span<std::uint8_t>,
                        bool& final) -> result<std::size_t> {
      if (index >= chunks) return errc::internal;
      final = index + 1 == chunks;
      return static_cast<std::size_t>(final ? length - index * cs : cs);
    };
    auto fill = [&](const PipelineChunk& c, std::span<std::uint8_t> buf) -> result<void> {
      auto n = plaintext.ReadAt(*start + c.index * cs, buf);
      if (!n) return n.error();
      if (*n != buf.size()) return errc::io_error;  // The file shrank while being read.
      return {};
    };
    run = RunPipeline(workers, h->chunk_size, h->chunk_size + kAeadTagSize, geometry, transform,
                      write, fill);
  } else {
    run = RunPipeline(workers, h->chunk_size, h->chunk_size + kAeadTagSize, read, transform, write);
  }
  if (!run) return run.error();
  if (auto w = WriteSignature(out, author, *h, final_tag); !w) return w.error();
  ContainerInfo info = InfoOf(*h);
  info.plaintext_size = total;
  info.final_tag = final_tag;
  if (file_key_out) *file_key_out = std::move(file_key);
  return info;
}

result<ContainerInfo> DecryptContainer(io::Source& in, io::Sink& plaintext,
                                       const Identity& identity, unsigned threads) {
  if (auto r = Init(); !r) return r.error();
  Lookahead look(in);
  auto opened = ReadAndOpenHeader(look, identity);
  if (!opened) return opened.error();
  const Header& h = opened->header;
  Secret<32> payload_key;
  if (auto r = PayloadKey(opened->file_key, h, payload_key.bytes()); !r) return r.error();

  const unsigned workers = WorkerCount(threads);
  Contexts contexts(payload_key.bytes(), workers);
  CiphertextChunkReader reader(look, h.chunk_size);
  std::array<std::uint8_t, 16> final_tag{};
  std::uint64_t total = 0;
  auto transform = [&](unsigned w, const PipelineChunk& c, std::span<const std::uint8_t> i,
                       std::span<std::uint8_t> o) -> result<std::size_t> {
    auto n = OpenChunk(contexts.For(w), h, c, i, o);
    if (n && c.final) std::copy_n(i.end() - 16, 16, final_tag.begin());
    return n;
  };
  auto write = [&](std::uint64_t, std::size_t, std::span<const std::uint8_t> o) -> result<void> {
    total += o.size();
    return plaintext.Write(o);
  };
  const auto size = in.Size();
  const auto start = in.Tell();
  std::array<std::uint8_t, 64> trailer{};
  if (size && start && look.Peeked().empty()) {
    auto g = PayloadGeometry(*start, *size, h.chunk_size);
    if (!g) return g.error();
    PositionalChunkReader positional(in, *g);
    if (auto r = positional.ReadTrailer(*size, trailer); !r) return r.error();
    auto fill = [&](const PipelineChunk& c, std::span<std::uint8_t> buf) {
      return positional.Fill(c, buf);
    };
    if (auto r = RunPipeline(workers, h.chunk_size + kAeadTagSize, h.chunk_size,
                             std::cref(positional), transform, write, fill);
        !r) {
      return r.error();
    }
  } else {
    if (auto r = RunPipeline(workers, h.chunk_size + kAeadTagSize, h.chunk_size, std::ref(reader),
                             transform, write);
        !r) {
      return r.error();
    }
    trailer = reader.trailer();
  }
  if (!VerifySignature(h, final_tag, trailer)) return errc::bad_signature;
  ContainerInfo info = InfoOf(h);
  info.plaintext_size = total;
  info.final_tag = final_tag;
  return info;
}

result<ContainerInfo> DecryptContainerRange(io::Source& in, std::uint64_t offset,
                                            std::uint64_t length, io::Sink& plaintext,
                                            const Identity& identity) {
  if (auto r = Init(); !r) return r.error();
  const auto size = in.Size();
  if (!size) return errc::invalid_argument;
  // Header through positioned reads.
  std::vector<std::uint8_t> prefix(kFixedPrefixSize);
  auto n = in.ReadAt(0, prefix);
  if (!n) return n.error();
  if (*n < kFixedPrefixSize) return *n == 0 ? errc::truncated : errc::malformed;
  auto len = ParseFixedPrefix(prefix);
  if (!len) return len.error();
  std::vector<std::uint8_t> header_bytes(*len);
  n = in.ReadAt(0, header_bytes);
  if (!n) return n.error();
  if (*n != *len) return errc::truncated;
  auto h = ParseHeader(header_bytes);
  if (!h) return h.error();
  auto file_key = OpenHeader(*h, identity);
  if (!file_key) return file_key.error();
  Secret<32> payload_key;
  if (auto r = PayloadKey(*file_key, *h, payload_key.bytes()); !r) return r.error();
  AeadContext ctx(payload_key.bytes());

  auto g = PayloadGeometry(*len, *size, h->chunk_size);
  if (!g) return g.error();
  if (g->tail_error != errc{}) return g->tail_error;
  const std::uint64_t chunks = g->chunks, last_len = g->last_len, full = g->full;
  const std::uint64_t plain_size = *size - *len - kContainerSignatureSize - chunks * kAeadTagSize;

  std::vector<std::uint8_t> cbuf(full), pbuf(h->chunk_size);
  auto read_chunk = [&](std::uint64_t index) -> result<std::size_t> {
    const bool final = index + 1 == chunks;
    const std::size_t clen = static_cast<std::size_t>(final ? last_len : full);
    auto got = in.ReadAt(*len + index * full, std::span(cbuf).first(clen));
    if (!got) return got.error();
    if (*got != clen) return errc::truncated;
    return OpenChunk(ctx, *h, PipelineChunk{index, final}, std::span(cbuf).first(clen), pbuf);
  };

  // Authenticate the end first: the final chunk, its tag and the author's signature.
  if (auto r = read_chunk(chunks - 1); !r) return r.error();
  std::array<std::uint8_t, 16> final_tag{};
  std::copy_n(cbuf.begin() + static_cast<std::ptrdiff_t>(last_len - 16), 16, final_tag.begin());
  std::array<std::uint8_t, 64> trailer{};
  n = in.ReadAt(*size - kContainerSignatureSize, trailer);
  if (!n) return n.error();
  if (*n != trailer.size()) return errc::truncated;
  if (!VerifySignature(*h, final_tag, trailer)) return errc::bad_signature;

  if (offset > plain_size) return errc::invalid_argument;
  const std::uint64_t end = length > plain_size - offset ? plain_size : offset + length;
  for (std::uint64_t pos = offset; pos < end;) {
    const std::uint64_t index = pos / h->chunk_size;
    auto plen = read_chunk(index);
    if (!plen) return plen.error();
    const std::uint64_t within = pos - index * h->chunk_size;
    const std::uint64_t take = std::min<std::uint64_t>(*plen - within, end - pos);
    if (auto w = plaintext.Write(std::span(pbuf).subspan(within, take)); !w) return w.error();
    pos += take;
  }
  ContainerInfo info = InfoOf(*h);
  info.plaintext_size = plain_size;
  info.final_tag = final_tag;
  return info;
}

namespace {

// Opens the container as `signer`, lets `edit` change the stanzas of the next version (same
// file key, `signer` as author), seals its header and rewrites the container around the
// untouched payload. Shared by AddRecipients and RemoveRecipients.
result<ContainerInfo> EditStanzas(
    io::Source& in, io::Sink& out, const Identity& signer,
    const std::function<result<void>(const Secret<32>& file_key, Header& next)>& edit) {
  if (auto r = Init(); !r) return r.error();
  Lookahead look(in);
  auto opened = ReadAndOpenHeader(look, signer);
  if (!opened) return opened.error();
  const Header& h = opened->header;
  const Secret<32>& file_key = opened->file_key;
  Header next = h;
  next.author = signer.public_bundle();
  next.author_bytes = next.author.Serialize();
  if (auto r = edit(file_key, next); !r) return r.error();
  if (next.stanzas.empty()) return errc::invalid_argument;
  if (next.stanzas.size() > kMaxRecipients) return errc::too_large;
  if (auto r = SealHeader(next, file_key); !r) return r.error();
  return RewriteHeader(look, out, h, next, signer);
}

}  // namespace

result<ContainerInfo> AddRecipients(io::Source& in, io::Sink& out, const Identity& signer,
                                    std::span<const PublicBundle> recipients) {
  return EditStanzas(
      in, out, signer, [&](const Secret<32>& file_key, Header& next) -> result<void> {
        for (const PublicBundle& r : recipients) {
          const bool present =
              std::any_of(next.stanzas.begin(), next.stanzas.end(),
                          [&](const Stanza& s) { return s.fingerprint == r.fingerprint(); });
          if (present) continue;
          auto s = MakeStanza(file_key, next.file_id, r);
          if (!s) return s.error();
          next.stanzas.push_back(std::move(*s));
        }
        return {};
      });
}

result<ContainerInfo> RemoveRecipients(io::Source& in, io::Sink& out, const Identity& signer,
                                       std::span<const Fingerprint> removed) {
  return EditStanzas(in, out, signer, [&](const Secret<32>&, Header& next) -> result<void> {
    for (const Fingerprint& fp : removed) {
      const auto it = std::find_if(next.stanzas.begin(), next.stanzas.end(),
                                   [&](const Stanza& s) { return s.fingerprint == fp; });
      if (it == next.stanzas.end()) return errc::not_found;
      next.stanzas.erase(it);
    }
    return {};
  });
}

result<ContainerInfo> RekeyContainer(io::Source& in, io::Sink& out, const Identity& signer,
                                     std::span<const PublicBundle> recipients, unsigned threads,
                                     Secret<32>* file_key_out) {
  if (auto r = Init(); !r) return r.error();
  Lookahead look(in);
  auto opened = ReadAndOpenHeader(look, signer);
  if (!opened) return opened.error();
  const Header& h = opened->header;
  const Secret<32>& old_key = opened->file_key;
  Secret<32> new_key;
  RandomBytes(new_key.bytes());
  auto next = NewHeader(h.file_id, h.chunk_size, h.content_type, signer, recipients, new_key);
  if (!next) return next.error();
  if (auto w = out.Write(next->raw); !w) return w.error();

  Secret<32> old_payload, new_payload;
  if (auto r = PayloadKey(old_key, h, old_payload.bytes()); !r) return r.error();
  if (auto r = PayloadKey(new_key, *next, new_payload.bytes()); !r) return r.error();
  const unsigned workers = WorkerCount(threads);
  Contexts old_contexts(old_payload.bytes(), workers);
  Contexts new_contexts(new_payload.bytes(), workers);
  CiphertextChunkReader reader(look, h.chunk_size);
  std::array<std::uint8_t, 16> old_tag{}, new_tag{};
  std::vector<std::vector<std::uint8_t>> scratch(workers);
  auto transform = [&](unsigned w, const PipelineChunk& c, std::span<const std::uint8_t> i,
                       std::span<std::uint8_t> o) -> result<std::size_t> {
    auto& plain = scratch[w];
    plain.resize(h.chunk_size);
    auto n = OpenChunk(old_contexts.For(w), h, c, i, plain);
    if (!n) return n.error();
    // `o` overlaps `i` (in-place pipeline): keep the old tag before sealing over it.
    if (c.final) std::copy_n(i.end() - 16, 16, old_tag.begin());
    auto m = SealChunk(new_contexts.For(w), *next, c, std::span(plain).first(*n), o);
    Wipe(plain);
    if (m && c.final) {
      std::copy_n(o.begin() + static_cast<std::ptrdiff_t>(*m - 16), 16, new_tag.begin());
    }
    return m;
  };
  auto write = [&](std::uint64_t, std::size_t, std::span<const std::uint8_t> o) {
    return out.Write(o);
  };
  if (auto r = RunPipeline(workers, h.chunk_size + kAeadTagSize, h.chunk_size + kAeadTagSize,
                           std::ref(reader), transform, write);
      !r) {
    return r.error();
  }
  if (!VerifySignature(h, old_tag, reader.trailer())) return errc::bad_signature;
  if (auto w = WriteSignature(out, signer, *next, new_tag); !w) return w.error();
  ContainerInfo info = InfoOf(*next);
  info.final_tag = new_tag;
  if (file_key_out) *file_key_out = std::move(new_key);
  return info;
}

}  // namespace strongroom::crypto
