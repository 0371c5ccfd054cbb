// Private Room records: ParseFolderRecordPublic and ParseFileRecordPublic over the input;
// OpenFolderRecord and OpenFileRecord over (input minus its last 64 bytes, those 64 bytes as
// the signature) with fixed keys and the fixed identity as owner/author; OpenFolderKey over
// the input; ValidateRoomName, ComputeNameHmac and the metadata parser over the input.
// Seed corpus: fuzz_make_corpus writes valid records signed by FixedIdentity().
//
// Properties:
//  - a parsed record has exactly one encoding: its public fields re-serialized, followed by
//    the nonce and ciphertext the parser split off, are the input; every field is within its
//    bounds, parent and name_hmac are both set or both unset, and the size is at most
//    kMax{Folder,File}RecordSize; no input is both a folder and a file record;
//  - an opened record parses (publicly) to the same fields, is signed by and names the fixed
//    identity, and sealing it again gives a record that opens to the same record;
//  - a name is valid exactly when its name_hmac can be computed; its normalised form is valid
//    too, has the same length and the same name_hmac;
//  - metadata that parses re-serializes to the input;
//  - a folder key that opens seals again to one that opens to the same key.
#include "crypto/room_format.h"
#include "fuzz_common.h"
#include "strongroom/crypto/room.h"

using namespace strongroom;
using namespace strongroom::crypto;
using strongroom::fuzz::Span;

namespace {

std::vector<std::uint8_t> Join(std::vector<std::uint8_t> head, std::span<const std::uint8_t> a,
                               std::span<const std::uint8_t> b) {
  head.insert(head.end(), a.begin(), a.end());
  head.insert(head.end(), b.begin(), b.end());
  return head;
}

bool SameBytes(const std::vector<std::uint8_t>& a, std::span<const std::uint8_t> b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

void CheckFolderParse(std::span<const std::uint8_t> in) {
  auto p = room::ParseFolderRecord(in);
  auto pub = ParseFolderRecordPublic(in);
  FUZZ_CHECK(p.has_value() == pub.has_value());
  if (!p) {
    FUZZ_CHECK(p.error() == pub.error());
    return;
  }
  const FolderRecordPublic& f = p->fields;
  FUZZ_CHECK(f == *pub);
  FUZZ_CHECK(IsValidUserId(f.owner_id));
  FUZZ_CHECK(f.parent_id.has_value() == f.name_hmac.has_value());
  FUZZ_CHECK(f.revision >= 1 && f.revision <= kMaxRecordVersion);
  FUZZ_CHECK(p->nonce.size() == room::kNonceSize);
  const std::size_t name = p->ciphertext.size() - room::kTagSize;
  FUZZ_CHECK(p->ciphertext.size() >= room::kTagSize);
  FUZZ_CHECK(f.parent_id ? name >= 1 && name <= kMaxRoomNameSize : name == 0);
  FUZZ_CHECK(in.size() <= kMaxFolderRecordSize);
  FUZZ_CHECK(SameBytes(Join(room::SerializeFolderRecordPublic(f), p->nonce, p->ciphertext), in));
  FUZZ_CHECK(!ParseFileRecordPublic(in));
}

void CheckFileParse(std::span<const std::uint8_t> in) {
  auto p = room::ParseFileRecord(in);
  auto pub = ParseFileRecordPublic(in);
  FUZZ_CHECK(p.has_value() == pub.has_value());
  if (!p) {
    FUZZ_CHECK(p.error() == pub.error());
    return;
  }
  const FileRecordPublic& f = p->fields;
  FUZZ_CHECK(f == *pub);
  FUZZ_CHECK(IsValidUserId(f.owner_id) && IsValidUserId(f.author_id));
  FUZZ_CHECK(f.version >= 1 && f.version <= kMaxRecordVersion);
  FUZZ_CHECK(p->nonce.size() == room::kNonceSize);
  FUZZ_CHECK(p->ciphertext.size() >= room::kMinMetadataSize + room::kTagSize);
  FUZZ_CHECK(p->ciphertext.size() <= room::kMaxMetadataSize + room::kTagSize);
  FUZZ_CHECK(in.size() <= kMaxFileRecordSize);
  FUZZ_CHECK(SameBytes(Join(room::SerializeFileRecordPublic(f), p->nonce, p->ciphertext), in));
  FUZZ_CHECK(!ParseFolderRecordPublic(in));
}

void CheckOpen(std::span<const std::uint8_t> record, std::span<const std::uint8_t> signature) {
  const Identity& me = strongroom::fuzz::FixedIdentity();
  const PublicBundle& pub = me.public_bundle();

  if (auto r = OpenFolderRecord(record, signature, strongroom::fuzz::FixedFolderKey(), pub)) {
    auto fields = ParseFolderRecordPublic(record);
    FUZZ_CHECK(fields && *fields == static_cast<const FolderRecordPublic&>(*r));
    FUZZ_CHECK(r->owner_id == me.user_id());
    FUZZ_CHECK(r->parent_id ? ValidateRoomName(r->name).has_value() : r->name.empty());
    auto again = SealFolderRecord(*r, strongroom::fuzz::FixedFolderKey(), me);
    FUZZ_CHECK(again.has_value() && again->record.size() == record.size());
    auto reopened =
        OpenFolderRecord(again->record, again->signature, strongroom::fuzz::FixedFolderKey(), pub);
    FUZZ_CHECK(reopened && *reopened == *r);
  }

  if (auto r = OpenFileRecord(record, signature, strongroom::fuzz::FixedFileKey(), pub)) {
    auto fields = ParseFileRecordPublic(record);
    FUZZ_CHECK(fields && *fields == static_cast<const FileRecordPublic&>(*r));
    FUZZ_CHECK(r->author_id == me.user_id());
    FUZZ_CHECK(ValidateRoomName(r->metadata.name).has_value());
    auto again = SealFileRecord(*r, strongroom::fuzz::FixedFileKey(), me);
    FUZZ_CHECK(again.has_value() && again->record.size() == record.size());
    auto reopened =
        OpenFileRecord(again->record, again->signature, strongroom::fuzz::FixedFileKey(), pub);
    FUZZ_CHECK(reopened && *reopened == *r);
  }
}

void CheckName(std::string_view name) {
  const bool valid = ValidateRoomName(name).has_value();
  auto mac =
      ComputeNameHmac(strongroom::fuzz::FixedFolderKey(), strongroom::fuzz::FixedFolderId(), name);
  FUZZ_CHECK(mac.has_value() == valid);
  if (!valid) {
    FUZZ_CHECK(mac.error() == errc::invalid_argument);
    return;
  }
  FUZZ_CHECK(!name.empty() && name.size() <= kMaxRoomNameSize);
  FUZZ_CHECK(name.find('/') == std::string_view::npos);
  FUZZ_CHECK(name.find('\0') == std::string_view::npos);
  const std::string normal = NormaliseRoomName(name);
  FUZZ_CHECK(normal.size() == name.size());
  FUZZ_CHECK(NormaliseRoomName(normal) == normal);
  FUZZ_CHECK(ValidateRoomName(normal).has_value());
  auto same = ComputeNameHmac(strongroom::fuzz::FixedFolderKey(), strongroom::fuzz::FixedFolderId(),
                              normal);
  FUZZ_CHECK(same && *same == *mac);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  strongroom::fuzz::InitFixedKeys();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto in = Span(data, size);

  // The whole input as a record.
  CheckFolderParse(in);
  CheckFileParse(in);

  // record || signature.
  if (size >= kRecordSignatureSize) {
    const auto record = in.first(size - kRecordSignatureSize);
    const auto signature = in.last(kRecordSignatureSize);
    CheckFolderParse(record);
    CheckFileParse(record);
    CheckOpen(record, signature);
  }

  // A sealed folder key for the fixed identity and folder id.
  if (auto key =
          OpenFolderKey(in, strongroom::fuzz::FixedFolderId(), strongroom::fuzz::FixedIdentity())) {
    FUZZ_CHECK(size == kSealedFolderKeySize);
    auto sealed = SealFolderKey(*key, strongroom::fuzz::FixedFolderId(),
                                strongroom::fuzz::FixedIdentity().public_bundle());
    FUZZ_CHECK(sealed.has_value());
    auto again = OpenFolderKey(*sealed, strongroom::fuzz::FixedFolderId(),
                               strongroom::fuzz::FixedIdentity());
    FUZZ_CHECK(again &&
               std::equal(again->bytes().begin(), again->bytes().end(), key->bytes().begin()));
  }

  // Names and metadata.
  CheckName(strongroom::fuzz::Text(data, size));
  if (auto m = room::ParseMetadata(in)) {
    FUZZ_CHECK(room::IsValidMetadata(*m));
    FUZZ_CHECK(SameBytes(room::SerializeMetadata(*m), in));
  }
  return 0;
}
