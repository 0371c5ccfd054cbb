// Container header parsing, without keys: container::ParseFixedPrefix, container::ParseHeader
// and crypto::InspectContainer.
//
// Properties on success:
//  - a parsed header re-serializes, field by field, to exactly the input bytes (the grammar
//    has one encoding per header), and every field is within its documented bounds;
//  - InspectContainer agrees with ParseHeader on the same header bytes, and gives the same
//    answer whether the source is random-access memory or a stream of short reads.
#include "crypto/container_format.h"
#include "fuzz_common.h"
#include "strongroom/crypto/container.h"

using namespace strongroom;
using namespace strongroom::crypto;
using strongroom::fuzz::Span;

namespace {

// Serializes a parsed header following the grammar (container.cc, SealHeader), MAC included.
std::vector<std::uint8_t> Reserialize(const container::Header& h) {
  ByteWriter w;
  w.Raw(container::kMagic);
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
  for (const container::Stanza& s : h.stanzas) {
    w.U8(static_cast<std::uint8_t>(s.user_id.size()));
    w.Raw(s.user_id);
    w.Raw(s.fingerprint);
    w.Raw(s.ephemeral);
    w.Raw(s.wrapped);
  }
  w.Raw(h.mac);
  std::vector<std::uint8_t> out = w.Take();
  StoreBigEndian32(static_cast<std::uint32_t>(out.size()), out.data() + 9);
  return out;
}

void CheckHeader(const container::Header& h, std::span<const std::uint8_t> bytes) {
  FUZZ_CHECK(h.raw.size() == bytes.size() && std::equal(h.raw.begin(), h.raw.end(), bytes.begin()));
  FUZZ_CHECK(Reserialize(h) == h.raw);
  FUZZ_CHECK(container::IsValidChunkSize(h.chunk_size));
  FUZZ_CHECK(container::IsValidContentType(h.content_type));
  FUZZ_CHECK(!h.stanzas.empty() && h.stanzas.size() <= kMaxRecipients);
  for (const auto& s : h.stanzas) FUZZ_CHECK(IsValidUserId(s.user_id));
  FUZZ_CHECK(IsValidUserId(h.author.user_id()));
  FUZZ_CHECK(h.author.Serialize() == h.author_bytes);
  FUZZ_CHECK(std::equal(h.mac.begin(), h.mac.end(), bytes.end() - container::kHeaderMacSize));
  auto len = container::ParseFixedPrefix(bytes);
  FUZZ_CHECK(len && *len == bytes.size());
}

void CheckInfoMatchesHeader(const ContainerInfo& info, const container::Header& h) {
  FUZZ_CHECK(info.version == kContainerVersion);
  FUZZ_CHECK(info.file_id == h.file_id);
  FUZZ_CHECK(info.chunk_size == h.chunk_size);
  FUZZ_CHECK(info.content_type == h.content_type);
  FUZZ_CHECK(info.author.fingerprint() == h.author.fingerprint());
  FUZZ_CHECK(info.header_size == h.raw.size());
  FUZZ_CHECK(info.recipients.size() == h.stanzas.size());
  for (std::size_t i = 0; i < h.stanzas.size(); ++i) {
    FUZZ_CHECK(info.recipients[i].user_id == h.stanzas[i].user_id);
    FUZZ_CHECK(info.recipients[i].fingerprint == h.stanzas[i].fingerprint);
  }
}

bool SameInfo(const ContainerInfo& a, const ContainerInfo& b) {
  if (a.recipients.size() != b.recipients.size()) return false;
  for (std::size_t i = 0; i < a.recipients.size(); ++i) {
    if (a.recipients[i].user_id != b.recipients[i].user_id ||
        a.recipients[i].fingerprint != b.recipients[i].fingerprint) {
      return false;
    }
  }
  return a.version == b.version && a.file_id == b.file_id && a.chunk_size == b.chunk_size &&
         a.content_type == b.content_type && a.author == b.author && a.header_size == b.header_size;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  strongroom::fuzz::InitFixedKeys();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto in = Span(data, size);

  // The fixed prefix alone.
  auto len = container::ParseFixedPrefix(in);
  if (len) {
    FUZZ_CHECK(size >= container::kFixedPrefixSize);
    FUZZ_CHECK(*len >= container::kFixedPrefixSize + container::kHeaderMacSize);
    FUZZ_CHECK(*len <= kMaxHeaderSize);
  }

  // The whole input as one header.
  if (auto h = container::ParseHeader(in)) CheckHeader(*h, in);

  // The header the prefix announces, when the input is a whole container.
  if (len && size > *len) {
    const auto bytes = in.first(*len);
    if (auto h = container::ParseHeader(bytes)) CheckHeader(*h, bytes);
  }

  // InspectContainer: random-access memory, then a stream of short reads.
  io::MemorySource mem(in);
  auto info = InspectContainer(mem);
  strongroom::fuzz::TrickleSource trickle(in);
  auto streamed = InspectContainer(trickle);
  FUZZ_CHECK(info.has_value() == streamed.has_value());
  if (!info) {
    FUZZ_CHECK(info.error() == streamed.error());
    return 0;
  }
  FUZZ_CHECK(SameInfo(*info, *streamed));
  FUZZ_CHECK(!streamed->plaintext_size.has_value());  // A stream has no size.
  FUZZ_CHECK(len && info->header_size == *len && info->header_size <= size);
  auto h = container::ParseHeader(in.first(static_cast<std::size_t>(info->header_size)));
  FUZZ_CHECK(h.has_value());
  CheckInfoMatchesHeader(*info, *h);
  constexpr std::uint64_t kMinPayload = kContainerSignatureSize + 16;  // Tag of one chunk.
  const bool room_for_payload = size >= info->header_size + kMinPayload;
  FUZZ_CHECK(info->plaintext_size.has_value() == room_for_payload);
  if (info->plaintext_size) {
    FUZZ_CHECK(*info->plaintext_size <= size - info->header_size - kMinPayload);
  }
  return 0;
}
