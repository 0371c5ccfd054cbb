// Container header parsing, without keys: container::ParseFixedPrefix, container::ParseHeader
// and crypto::InspectContainer.
//
// Properties on success:
//  - a parsed header re-serializes, field by field, to exactly the input bytes (the grammar
//    has one encoding per header), and every field is within its documented bounds;
//  - InspectContainer agrees with ParseHeader on the same header bytes, and gives the same
//    answer whether the source is random-access memory or a stream of short reads; it
//    reports the header MAC (the header's last 32 bytes) and, only for a source of known
//    size, the final tag (the 16 bytes before the last 64).
#include "crypto/container_format.h"
#include "fuzz_common.h"
#include "strongroom/crypto/container.h"

using namespace strongroom;
using namespace strongroom::crypto;
using strongroom::fuzz::SameInfo;
using strongroom::fuzz::Span;

namespace {

// The parsed header serialized again (the library's serializer), MAC included.
std::vector<std::uint8_t> Reserialize(const container::Header& h) {
  auto out = container::SerializeHeaderWithoutMac(h);
  FUZZ_CHECK(out.has_value());
  out->insert(out->end(), h.mac.begin(), h.mac.end());
  return std::move(*out);
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
  FUZZ_CHECK(info.header_mac == h.mac);
  FUZZ_CHECK(info.recipients.size() == h.stanzas.size());
  for (std::size_t i = 0; i < h.stanzas.size(); ++i) {
    FUZZ_CHECK(info.recipients[i].user_id == h.stanzas[i].user_id);
    FUZZ_CHECK(info.recipients[i].fingerprint == h.stanzas[i].fingerprint);
  }
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
  FUZZ_CHECK(!streamed->final_tag.has_value());
  FUZZ_CHECK(len && info->header_size == *len && info->header_size <= size);
  auto h = container::ParseHeader(in.first(static_cast<std::size_t>(info->header_size)));
  FUZZ_CHECK(h.has_value());
  CheckInfoMatchesHeader(*info, *h);
  constexpr std::uint64_t kMinPayload = kContainerSignatureSize + 16;  // Tag of one chunk.
  const bool room_for_payload = size >= info->header_size + kMinPayload;
  FUZZ_CHECK(info->plaintext_size.has_value() == room_for_payload);
  FUZZ_CHECK(info->final_tag.has_value() == room_for_payload);
  if (info->final_tag) {
    FUZZ_CHECK(std::equal(info->final_tag->begin(), info->final_tag->end(),
                          in.end() - kContainerSignatureSize - kFinalTagSize));
  }
  if (info->plaintext_size) {
    FUZZ_CHECK(*info->plaintext_size <= size - info->header_size - kMinPayload);
  }
  return 0;
}
