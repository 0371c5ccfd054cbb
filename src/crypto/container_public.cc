// Containers, the part that needs no key: header grammar, the lookahead reader and
// InspectContainer. Kept apart from container.cc (which wraps, unwraps and signs with an
// Identity) so the server can inspect an uploaded container's header without linking any
// private-key code, as public_bundle.cc does for bundles (a build test checks strongroomd
// for Identity and EncryptContainer/DecryptContainer symbols).
#include "crypto/container_format.h"
#include "crypto/primitives.h"
#include "crypto/wire.h"
#include "strongroom/crypto/container.h"
#include "strongroom/crypto/init.h"

#include <algorithm>
#include <cstring>

namespace strongroom::crypto {

using namespace container;

namespace container {

bool IsValidChunkSize(std::uint32_t size) noexcept {
  return size >= kMinChunkSize && size <= kMaxChunkSize && (size & (size - 1)) == 0;
}

bool IsValidContentType(std::string_view type) noexcept {
  if (type.empty() || type.size() > kMaxContentTypeSize) return false;
  return std::all_of(type.begin(), type.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

result<std::size_t> ParseFixedPrefix(std::span<const std::uint8_t> prefix) {
  if (prefix.size() < kFixedPrefixSize) return errc::truncated;
  if (std::memcmp(prefix.data(), kMagic.data(), kMagic.size()) != 0) return errc::malformed;
  if (prefix[8] != kContainerVersion) return errc::unsupported_version;
  const std::size_t len = (std::size_t{prefix[9]} << 24) | (std::size_t{prefix[10]} << 16) |
                          (std::size_t{prefix[11]} << 8) | prefix[12];
  if (len > kMaxHeaderSize) return errc::too_large;
  // Smallest possible header: prefix, file id, chunk size, nonce prefix, 1-byte content type,
  // a minimal author bundle, one minimal stanza and the MAC.
  if (len < kFixedPrefixSize + kFileIdSize + 4 + kNoncePrefixSize + 2 + 2 + 2 + kHeaderMacSize) {
    return errc::malformed;
  }
  return len;
}

result<Header> ParseHeader(std::span<const std::uint8_t> bytes) {
  auto len = ParseFixedPrefix(bytes);
  if (!len) return len.error();
  if (bytes.size() != *len) return bytes.size() < *len ? errc::truncated : errc::malformed;
  Header h;
  ByteReader r(bytes.subspan(kFixedPrefixSize, *len - kFixedPrefixSize - kHeaderMacSize));
  std::uint8_t type_len = 0;
  std::uint16_t author_len = 0, count = 0;
  std::span<const std::uint8_t> type, author;
  if (!r.Copy(h.file_id) || !r.U32(h.chunk_size) || !r.Copy(h.nonce_prefix) || !r.U8(type_len) ||
      !r.View(type_len, type) || !r.U16(author_len) || !r.View(author_len, author) ||
      !r.U16(count)) {
    return errc::malformed;
  }
  if (!IsValidChunkSize(h.chunk_size)) return errc::malformed;
  h.content_type.assign(type.begin(), type.end());
  if (!IsValidContentType(h.content_type)) return errc::malformed;
  if (count == 0 || count > kMaxRecipients) return errc::malformed;
  h.stanzas.reserve(count);
  for (std::uint16_t i = 0; i < count; ++i) {
    Stanza s;
    std::uint8_t id_len = 0;
    std::span<const std::uint8_t> id;
    if (!r.U8(id_len) || !r.View(id_len, id) || !r.Copy(s.fingerprint) || !r.Copy(s.ephemeral) ||
        !r.Copy(s.wrapped)) {
      return errc::malformed;
    }
    s.user_id.assign(id.begin(), id.end());
    if (!IsValidUserId(s.user_id)) return errc::malformed;
    h.stanzas.push_back(std::move(s));
  }
  if (!r.done()) return errc::malformed;
  std::copy_n(bytes.end() - kHeaderMacSize, kHeaderMacSize, h.mac.begin());
  auto bundle = PublicBundle::Parse(author);
  if (!bundle) return bundle.error();
  h.author = std::move(*bundle);
  h.author_bytes.assign(author.begin(), author.end());
  h.raw.assign(bytes.begin(), bytes.end());
  return h;
}

result<std::vector<std::uint8_t>> SerializeHeaderWithoutMac(const Header& h) {
  ByteWriter w;
  w.Raw(kMagic);
  w.U8(kContainerVersion);
  w.U32(0);  // header_len, patched below.
  w.Raw(h.file_id);
  w.U32(h.chunk_size);
  w.Raw(h.nonce_prefix);
  w.U8(static_cast<std::uint8_t>(h.content_type.size()));
  w.Raw(h.content_type);
  w.U16(static_cast<std::uint16_t>(h.author_bytes.size()));
  w.Raw(h.author_bytes);
  w.U16(static_cast<std::uint16_t>(h.stanzas.size()));
  for (const Stanza& s : h.stanzas) {
    w.U8(static_cast<std::uint8_t>(s.user_id.size()));
    w.Raw(s.user_id);
    w.Raw(s.fingerprint);
    w.Raw(s.ephemeral);
    w.Raw(s.wrapped);
  }
  const std::size_t total = w.size() + kHeaderMacSize;
  if (total > kMaxHeaderSize) return errc::too_large;
  std::vector<std::uint8_t> bytes = w.Take();
  StoreBigEndian32(static_cast<std::uint32_t>(total), bytes.data() + 9);
  return bytes;
}

result<std::size_t> Lookahead::ReadFull(std::span<std::uint8_t> out) {
  std::size_t got = 0;
  const auto pending = Peeked();
  if (!pending.empty()) {
    got = std::min(pending.size(), out.size());
    std::memcpy(out.data(), pending.data(), got);
    pending_pos_ += got;
    if (pending_pos_ == pending_.size()) {
      pending_.clear();
      pending_pos_ = 0;
    }
  }
  if (got < out.size()) {
    auto n = io::ReadFull(source_, out.subspan(got));
    if (!n) return n.error();
    got += *n;
  }
  return got;
}

result<std::size_t> Lookahead::Peek(std::size_t n) {
  if (pending_pos_ > 0) {
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(pending_pos_));
    pending_pos_ = 0;
  }
  if (pending_.size() < n) {
    const std::size_t have = pending_.size();
    pending_.resize(n);
    auto got = io::ReadFull(source_, std::span(pending_).subspan(have));
    if (!got) {
      pending_.resize(have);
      return got.error();
    }
    pending_.resize(have + *got);
  }
  return std::min(n, pending_.size());
}

result<Header> ReadHeader(Lookahead& in) {
  std::vector<std::uint8_t> bytes(kFixedPrefixSize);
  auto n = in.ReadFull(bytes);
  if (!n) return n.error();
  if (*n == 0) return errc::truncated;
  if (*n < kFixedPrefixSize) {
    // Report "not a Strongroom file" for short garbage, "truncated" for a short real prefix.
    const std::size_t m = std::min(*n, kMagic.size());
    return std::memcmp(bytes.data(), kMagic.data(), m) == 0 ? errc::truncated : errc::malformed;
  }
  auto len = ParseFixedPrefix(bytes);
  if (!len) return len.error();
  bytes.resize(*len);
  auto rest = in.ReadFull(std::span(bytes).subspan(kFixedPrefixSize));
  if (!rest) return rest.error();
  if (*rest != *len - kFixedPrefixSize) return errc::truncated;
  return ParseHeader(bytes);
}

ContainerInfo InfoOf(const Header& h) {
  ContainerInfo info;
  info.version = kContainerVersion;
  info.file_id = h.file_id;
  info.chunk_size = h.chunk_size;
  info.content_type = h.content_type;
  info.author = h.author;
  info.header_size = h.raw.size();
  info.header_mac = h.mac;
  for (const Stanza& s : h.stanzas) info.recipients.push_back({s.user_id, s.fingerprint});
  return info;
}

}  // namespace container

result<ContainerInfo> InspectContainer(io::Source& in) {
  if (auto r = Init(); !r) return r.error();
  Lookahead look(in);
  auto h = ReadHeader(look);
  if (!h) return h.error();
  ContainerInfo info = InfoOf(*h);
  if (auto size = in.Size()) {
    const std::uint64_t cs = h->chunk_size + kAeadTagSize;
    if (*size >= h->raw.size() + kAeadTagSize + kContainerSignatureSize) {
      const std::uint64_t payload = *size - h->raw.size() - kContainerSignatureSize;
      const std::uint64_t chunks = (payload + cs - 1) / cs;
      info.plaintext_size = payload - chunks * kAeadTagSize;
      // The final tag sits just before the signature (unauthenticated, like all of this).
      FinalTag tag{};
      auto n = in.ReadAt(*size - kContainerSignatureSize - kFinalTagSize, tag);
      if (!n) return n.error();
      if (*n != tag.size()) return errc::io_error;  // The source shrank while being read.
      info.final_tag = tag;
    }
  }
  return info;
}

}  // namespace strongroom::crypto
