// Container header encoding and the lookahead reader. Internal to strongroom_crypto;
// exposed to the fuzzers and unit tests. Grammar: docs/format.md, "Container".
#pragma once

#include "crypto/primitives.h"
#include "strongroom/crypto/container.h"
#include "strongroom/io.h"

#include <array>
#include <vector>

namespace strongroom::crypto::container {

inline constexpr std::string_view kMagic = "STRONGRM";
inline constexpr std::size_t kFixedPrefixSize = 8 + 1 + 4;  // magic, version, header_len
inline constexpr std::size_t kNoncePrefixSize = 7;
inline constexpr std::size_t kWrappedKeySize = 32 + kAeadTagSize;
using crypto::kHeaderMacSize;  // container.h: public, so ContainerInfo can carry the MAC.

inline constexpr std::string_view kWrapLabel = "strongroom-v1-file-key-wrap";
inline constexpr std::string_view kHeaderMacLabel = "strongroom-v1-header-mac";
inline constexpr std::string_view kPayloadLabel = "strongroom-v1-payload";
inline constexpr std::string_view kSignatureLabel = "strongroom-v1-container-signature";

struct Stanza {
  std::string user_id;
  Fingerprint fingerprint{};
  std::array<std::uint8_t, 32> ephemeral{};
  std::array<std::uint8_t, kWrappedKeySize> wrapped{};
};

struct Header {
  FileId file_id{};
  std::uint32_t chunk_size = 0;
  std::array<std::uint8_t, kNoncePrefixSize> nonce_prefix{};
  std::string content_type;
  PublicBundle author;
  std::vector<std::uint8_t> author_bytes;
  std::vector<Stanza> stanzas;
  HeaderMac mac{};
  // The exact bytes, MAC included. For a parsed header, what was read; for a built one,
  // what Serialize produced.
  std::vector<std::uint8_t> raw;
};

// Checks a chunk size: a power of two in [kMinChunkSize, kMaxChunkSize].
[[nodiscard]] bool IsValidChunkSize(std::uint32_t size) noexcept;
[[nodiscard]] bool IsValidContentType(std::string_view type) noexcept;

// The header's bytes up to (not including) the MAC, with header_len counting the MAC.
// errc::too_large beyond kMaxHeaderSize. SealHeader appends the MAC; parsers can check a
// parsed header re-serializes to what they read.
[[nodiscard]] result<std::vector<std::uint8_t>> SerializeHeaderWithoutMac(const Header& h);

// Parses a complete header (exactly header_len bytes). Does not authenticate.
[[nodiscard]] result<Header> ParseHeader(std::span<const std::uint8_t> bytes);
// The header length a fixed prefix announces, after checking magic, version and bounds.
[[nodiscard]] result<std::size_t> ParseFixedPrefix(std::span<const std::uint8_t> prefix);

class Lookahead;

// Reads exactly one header (its fixed prefix, then header_len bytes, nothing more) and parses
// it, without any key. Fewer bytes than the prefix: truncated when they match the magic so
// far, else malformed; fewer than header_len: truncated.
[[nodiscard]] result<Header> ReadHeader(Lookahead& in);

// What a parsed header says, as ContainerInfo (plaintext_size and final_tag unset).
[[nodiscard]] ContainerInfo InfoOf(const Header& h);

// A Source wrapper that can look ahead without consuming.
class Lookahead {
 public:
  explicit Lookahead(io::Source& source) : source_(source) {}
  // Reads exactly out.size() bytes unless the input ends first; returns the count.
  [[nodiscard]] result<std::size_t> ReadFull(std::span<std::uint8_t> out);
  // Makes up to n bytes available to Peeked() without consuming them; returns how many.
  [[nodiscard]] result<std::size_t> Peek(std::size_t n);
  [[nodiscard]] std::span<const std::uint8_t> Peeked() const {
    return std::span(pending_).subspan(pending_pos_);
  }

 private:
  io::Source& source_;
  std::vector<std::uint8_t> pending_;
  std::size_t pending_pos_ = 0;
};

}  // namespace strongroom::crypto::container
