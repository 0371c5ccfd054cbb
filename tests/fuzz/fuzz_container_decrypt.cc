// Container decryption with a fixed recipient identity: crypto::DecryptContainer (threads=1)
// and crypto::DecryptContainerRange over the input. Seed corpus: fuzz_make_corpus writes
// valid containers for FixedIdentity() (scripts/run-fuzzers runs it).
//
// Properties:
//  - a random-access source (memory) and a plain stream of short reads give the same result:
//    the same plaintext, or the same error (set STRONGROOM_FUZZ_LENIENT_ERRORS=1 to only log
//    error-code mismatches; success/failure must agree regardless);
//  - DecryptContainer succeeds exactly when DecryptContainerRange over the whole plaintext
//    succeeds, with the same plaintext and the same container information;
//  - on success: the plaintext size is what ContainerInfo says, the header MAC and final tag
//    it reports are the bytes the format puts them at (the same from every path, and from
//    OpenFileKey, which also gives a file key), the fixed identity is among the recipients, a
//    sub-range (chosen from a hash of the input) is exactly that slice of the plaintext, an offset
//    past the end is invalid_argument, and a source that fails before the end (stream or
//    random-access) makes decryption fail.
#include "fuzz_common.h"
#include "strongroom/crypto/container.h"

#include <set>
#include <utility>

using namespace strongroom;
using namespace strongroom::crypto;
using strongroom::fuzz::SameInfo;
using strongroom::fuzz::Span;

namespace {

std::string Describe(const result<ContainerInfo>& r) {
  return r ? std::string("ok") : std::string(error_name(static_cast<errc>(r.error().value())));
}

// The same bytes should fail with the same error whatever kind of source they come from.
// Strict by default (a mismatch is a finding); STRONGROOM_FUZZ_LENIENT_ERRORS=1 only logs
// each distinct mismatch once, to keep fuzzing the other properties past a known one.
void ErrorMismatch(const boost::system::error_code& memory,
                   const boost::system::error_code& stream) {
  static const bool lenient = [] {
    const char* v = std::getenv("STRONGROOM_FUZZ_LENIENT_ERRORS");
    return v != nullptr && std::string_view(v) == "1";
  }();
  static std::set<std::pair<int, int>> seen;
  if (seen.insert({memory.value(), stream.value()}).second || !lenient) {
    std::fprintf(stderr, "==fuzz== same bytes, different errors: memory source %s, stream %s\n",
                 error_name(static_cast<errc>(memory.value())).data(),
                 error_name(static_cast<errc>(stream.value())).data());
  }
  if (!lenient) FUZZ_CHECK(memory == stream);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  strongroom::fuzz::InitFixedKeys();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto in = Span(data, size);
  const Identity& me = strongroom::fuzz::FixedIdentity();

  io::MemorySource mem(in);
  io::MemorySink out;
  auto r = DecryptContainer(mem, out, me, 1);

  {
    // Memory is random-access (positional chunk reads); a TrickleSource is a plain stream.
    strongroom::fuzz::TrickleSource trickle(in);
    io::MemorySink out2;
    auto r2 = DecryptContainer(trickle, out2, me, 1);
    if (r.has_value() != r2.has_value()) {
      std::fprintf(stderr, "==fuzz== memory source: %s; stream of short reads: %s\n",
                   Describe(r).c_str(), Describe(r2).c_str());
    }
    FUZZ_CHECK(r.has_value() == r2.has_value());
    if (r) {
      FUZZ_CHECK(SameInfo(*r, *r2) && r->plaintext_size == r2->plaintext_size);
      FUZZ_CHECK(r->final_tag == r2->final_tag);
      FUZZ_CHECK(out.data() == out2.data());
    } else if (r.error() != r2.error()) {
      ErrorMismatch(r.error(), r2.error());
    }
  }

  io::MemorySource mem_range(in);
  io::MemorySink whole;
  auto full =
      DecryptContainerRange(mem_range, 0, std::numeric_limits<std::uint64_t>::max(), whole, me);
  if (r.has_value() != full.has_value()) {
    std::fprintf(stderr, "==fuzz== DecryptContainer: %s; DecryptContainerRange(0, max): %s\n",
                 Describe(r).c_str(), Describe(full).c_str());
  }
  FUZZ_CHECK(r.has_value() == full.has_value());
  if (!r) return 0;

  // Success: the whole container authenticated.
  const std::vector<std::uint8_t>& plain = out.data();
  FUZZ_CHECK(r->plaintext_size && *r->plaintext_size == plain.size());
  FUZZ_CHECK(SameInfo(*r, *full) && r->plaintext_size == full->plaintext_size);
  FUZZ_CHECK(r->final_tag && r->final_tag == full->final_tag);
  FUZZ_CHECK(std::equal(r->final_tag->begin(), r->final_tag->end(),
                        in.end() - kContainerSignatureSize - kFinalTagSize));
  FUZZ_CHECK(std::equal(r->header_mac.begin(), r->header_mac.end(),
                        in.begin() + static_cast<std::ptrdiff_t>(r->header_size - kHeaderMacSize)));
  {
    io::MemorySource header(in);
    auto key = OpenFileKey(header, me);
    FUZZ_CHECK(key.has_value() && SameInfo(key->info, *r) && !key->info.final_tag);
    FUZZ_CHECK(header.Tell() == r->header_size);
  }
  FUZZ_CHECK(whole.data() == plain);
  const bool listed = std::any_of(
      r->recipients.begin(), r->recipients.end(),
      [&](const RecipientEntry& e) { return e.fingerprint == me.public_bundle().fingerprint(); });
  FUZZ_CHECK(listed);
  FUZZ_CHECK(r->header_size < size);

  // A sub-range chosen from the input.
  const std::uint64_t h = strongroom::fuzz::Hash(in);
  const std::uint64_t n = plain.size();
  const std::uint64_t offset = (h & 0xffffffffu) % (n + 1);
  const std::uint64_t length = (h >> 32) % (n + 2);  // May reach past the end: clamped.
  {
    io::MemorySource src(in);
    io::MemorySink part;
    auto pr = DecryptContainerRange(src, offset, length, part, me);
    FUZZ_CHECK(pr.has_value());
    const std::uint64_t take = std::min(length, n - offset);
    FUZZ_CHECK(part.data().size() == take);
    FUZZ_CHECK(std::equal(part.data().begin(), part.data().end(),
                          plain.begin() + static_cast<std::ptrdiff_t>(offset)));
  }
  {
    io::MemorySource src(in);
    io::MemorySink part;
    auto past = DecryptContainerRange(src, n + 1, 1, part, me);
    FUZZ_CHECK(!past && past.error() == errc::invalid_argument);
  }

  // A source that fails before the end (a stream, then a file with a bad byte): decryption
  // must not report success, since success means every byte was read and authenticated.
  const std::size_t fail_at = static_cast<std::size_t>(h % size);
  {
    strongroom::fuzz::TrickleSource failing(in, fail_at);
    io::MemorySink sink;
    FUZZ_CHECK(!DecryptContainer(failing, sink, me, 1));
  }
  {
    strongroom::fuzz::FlakyFileSource failing(in, fail_at);
    io::MemorySink sink;
    FUZZ_CHECK(!DecryptContainer(failing, sink, me, 1));
  }
  return 0;
}
