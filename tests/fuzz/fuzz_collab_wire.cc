// Co-editing frames: collab::DecodeFrame over the input in both directions; every sealed
// update, presence or snapshot that decodes is opened with the fixed co-editing key
// (FixedCollabKey) and the fixed identity as author, and its head goes through an
// UpdateOrderChecker. Seed corpus: fuzz_make_corpus writes one valid frame of every type,
// sealed by FixedIdentity() at FixedCollabSessionId().
//
// Properties:
//  - decoding is total and canonical: whatever decodes encodes back to exactly the input,
//    its type travels the way it was decoded, and the input is at most kMaxFrameSize;
//  - no input decodes in both directions;
//  - every error is one of the documented decoding errors;
//  - a sealed part that opens names the fixed identity, file and epoch, is within its kind's
//    limits, and sealing its plaintext again at its session and counter gives the very same
//    sealed part (sealing is deterministic: the input was made with the fixed keys);
//  - the order checker accepts an opened update once: the same head again is replayed, the
//    next counter of its stream is accepted, a presence counter is accepted once.
#include "crypto/collab_format.h"
#include "fuzz_common.h"
#include "strongroom/collab/wire.h"
#include "strongroom/crypto/collab.h"

#include <variant>

using namespace strongroom;
using namespace strongroom::crypto;
using strongroom::fuzz::Span;

namespace {

bool IsDecodingError(const boost::system::error_code& ec) {
  return ec == errc::malformed || ec == errc::truncated || ec == errc::too_large ||
         ec == errc::unsupported_version;
}

void CheckOpenedHead(const collab::SealedHead& head) {
  FUZZ_CHECK(head.file_id == strongroom::fuzz::FixedCollabFileId());
  FUZZ_CHECK(head.epoch == strongroom::fuzz::kFixedCollabEpoch);
  FUZZ_CHECK(head.author == strongroom::fuzz::FixedIdentity().user_id());
}

void CheckUpdate(const collab::Sealed& sealed, std::uint64_t seq) {
  const Identity& me = strongroom::fuzz::FixedIdentity();
  const CollabKey& key = strongroom::fuzz::FixedCollabKey();
  auto opened = OpenUpdate(sealed, key, me.public_bundle());
  if (!opened) return;
  CheckOpenedHead(opened->head);
  FUZZ_CHECK(opened->payload.size() <= collab::kMaxUpdatePayload);
  auto again = collab_detail::SealUpdateAt(key, me, opened->head.session_id, opened->head.counter,
                                           opened->payload);
  FUZZ_CHECK(again && *again == sealed);

  UpdateOrderChecker checker;
  const auto first = checker.AcceptUpdate(seq, opened->head);
  FUZZ_CHECK(first.has_value() == (opened->head.counter == 1));
  if (!first) {
    FUZZ_CHECK(first.error() == errc::update_gap);
    return;
  }
  FUZZ_CHECK(checker.AcceptUpdate(seq + 1, opened->head).error() == errc::replayed);
  if (opened->head.counter < collab::kMaxU64Field) {
    collab::SealedHead next = opened->head;
    ++next.counter;
    FUZZ_CHECK(checker.AcceptUpdate(seq + 1, next).has_value());
    FUZZ_CHECK(checker.last_accepted_seq() == seq + 1);
  }
}

void CheckPresence(const collab::Sealed& sealed) {
  const Identity& me = strongroom::fuzz::FixedIdentity();
  const CollabKey& key = strongroom::fuzz::FixedCollabKey();
  auto opened = OpenPresence(sealed, key, me.public_bundle());
  // Separate keys and labels: nothing opens as both.
  FUZZ_CHECK(!(opened && OpenUpdate(sealed, key, me.public_bundle())));
  if (!opened) return;
  CheckOpenedHead(opened->head);
  FUZZ_CHECK(opened->payload.size() <= collab::kMaxPresencePayload);
  auto again = collab_detail::SealPresenceAt(key, me, opened->head.session_id, opened->head.counter,
                                             opened->payload);
  FUZZ_CHECK(again && *again == sealed);
  UpdateOrderChecker checker;
  FUZZ_CHECK(checker.AcceptPresence(opened->head).has_value());
  FUZZ_CHECK(checker.AcceptPresence(opened->head).error() == errc::replayed);
}

void CheckSnapshot(const collab::SealedSnapshot& sealed) {
  const Identity& me = strongroom::fuzz::FixedIdentity();
  const CollabKey& key = strongroom::fuzz::FixedCollabKey();
  auto opened = OpenSnapshot(sealed, key, me.public_bundle());
  if (!opened) return;
  CheckOpenedHead(opened->head);
  FUZZ_CHECK(opened->through_seq == sealed.through_seq);
  FUZZ_CHECK(opened->contents.streams.size() <= kMaxSnapshotStreams);
  // The stream list is canonical, so sealing the contents again gives the same bytes.
  auto again = collab_detail::SealSnapshotAt(key, me, opened->head.session_id, opened->head.counter,
                                             opened->through_seq, opened->contents);
  FUZZ_CHECK(again && *again == sealed);
  // A late joiner adopts it; every listed stream continues at its next counter.
  UpdateOrderChecker checker;
  FUZZ_CHECK(checker.AcceptSnapshot(*opened).has_value());
  FUZZ_CHECK(checker.last_accepted_seq() == opened->through_seq);
  FUZZ_CHECK(checker.Positions() == opened->contents.streams);
}

void CheckDecoded(const collab::Message& m) {
  if (const auto* u = std::get_if<collab::Update>(&m)) CheckUpdate(u->sealed, 1);
  if (const auto* r = std::get_if<collab::UpdateRelay>(&m)) {
    if (r->seq < collab::kMaxU64Field) CheckUpdate(r->sealed, r->seq);
  }
  if (const auto* p = std::get_if<collab::Presence>(&m)) CheckPresence(p->sealed);
  if (const auto* r = std::get_if<collab::PresenceRelay>(&m)) CheckPresence(r->sealed);
  if (const auto* s = std::get_if<collab::Snapshot>(&m)) CheckSnapshot(s->sealed);
  if (const auto* r = std::get_if<collab::SnapshotRelay>(&m)) CheckSnapshot(r->sealed);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  strongroom::fuzz::InitFixedKeys();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto in = Span(data, size);
  int decoded = 0;
  for (collab::Direction d : {collab::Direction::to_server, collab::Direction::to_client}) {
    auto m = collab::DecodeFrame(in, d);
    if (!m) {
      FUZZ_CHECK(IsDecodingError(m.error()));
      continue;
    }
    ++decoded;
    FUZZ_CHECK(size <= collab::kMaxFrameSize);
    FUZZ_CHECK(collab::DirectionOf(collab::TypeOf(*m)) == d);
    auto bytes = collab::EncodeFrame(*m);
    FUZZ_CHECK(bytes && bytes->size() == size && std::equal(bytes->begin(), bytes->end(), data));
    CheckDecoded(*m);
  }
  FUZZ_CHECK(decoded <= 1);
  return 0;
}
