// Writes seed corpora for the fuzzers: valid inputs for the fixed keys of fuzz_common.h,
// which a fuzzer could never find by itself (they need a valid signature, MAC or AEAD tag).
//
// Usage: fuzz_make_corpus CORPUS_ROOT
// Writes CORPUS_ROOT/<fuzzer>/seed-* (creating the directories); existing seed files are
// replaced, other files (what the fuzzers added) are left alone.
#include "crypto/collab_format.h"
#include "fuzz_common.h"
#include "strongroom/collab/wire.h"
#include "strongroom/crypto/collab.h"
#include "strongroom/crypto/container.h"
#include "strongroom/crypto/room.h"

#include <filesystem>
#include <fstream>
#include <iostream>

using namespace strongroom;
using namespace strongroom::crypto;
namespace fs = std::filesystem;

namespace {

fs::path root;
int written = 0;

void Write(const std::string& fuzzer, const std::string& name,
           std::span<const std::uint8_t> bytes) {
  const fs::path dir = root / fuzzer;
  fs::create_directories(dir);
  const fs::path path = dir / ("seed-" + name);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) {
    std::cerr << "fuzz_make_corpus: cannot write " << path << "\n";
    std::exit(1);
  }
  ++written;
}

void Write(const std::string& fuzzer, const std::string& name, std::string_view text) {
  Write(fuzzer, name, fuzz::Span(text));
}

std::vector<std::uint8_t> Plaintext(std::size_t size) {
  std::vector<std::uint8_t> p(size);
  for (std::size_t i = 0; i < size; ++i) p[i] = static_cast<std::uint8_t>((i * 131 + 7) >> 3);
  return p;
}

std::vector<std::uint8_t> Encrypt(std::size_t size, const Identity& author,
                                  std::vector<PublicBundle> recipients,
                                  std::string content_type = "application/octet-stream") {
  const std::vector<std::uint8_t> plain = Plaintext(size);
  io::MemorySource in(plain);
  io::MemorySink out;
  EncryptOptions options;
  options.chunk_size = 4096;
  options.threads = 1;
  options.content_type = std::move(content_type);
  auto r = EncryptContainer(in, out, author, recipients, options);
  if (!r) {
    std::cerr << "fuzz_make_corpus: EncryptContainer failed: " << r.error().message() << "\n";
    std::exit(1);
  }
  return std::move(out.data());
}

std::size_t HeaderSize(std::span<const std::uint8_t> container) {
  io::MemorySource in(container);
  auto info = InspectContainer(in);
  if (!info) {
    std::cerr << "fuzz_make_corpus: InspectContainer failed\n";
    std::exit(1);
  }
  return static_cast<std::size_t>(info->header_size);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fuzz_make_corpus CORPUS_ROOT\n";
    return 2;
  }
  root = argv[1];
  fuzz::InitFixedKeys();
  const Identity& me = fuzz::FixedIdentity();
  const Identity& other = fuzz::OtherIdentity();
  const PublicBundle& me_pub = me.public_bundle();
  const PublicBundle& other_pub = other.public_bundle();

  // Containers for the fixed identity: chunk size 4096, plaintext 0, 1, 5000, 70000 bytes,
  // plus exactly two full chunks, two recipients with another author, and one the fixed
  // identity cannot open.
  struct Seed {
    std::string name;
    std::vector<std::uint8_t> bytes;
  };
  std::vector<Seed> containers;
  for (std::size_t size : {0, 1, 5000, 70000}) {
    containers.push_back({"container-" + std::to_string(size), Encrypt(size, me, {me_pub})});
  }
  containers.push_back({"container-8192", Encrypt(8192, me, {me_pub}, "text/plain")});
  containers.push_back(
      {"container-2rcpt-5000", Encrypt(5000, other, {other_pub, me_pub}, "application/pdf")});
  containers.push_back({"container-foreign-100", Encrypt(100, other, {other_pub})});

  for (const Seed& s : containers) {
    Write("fuzz_container_decrypt", s.name, s.bytes);
    const std::size_t header = HeaderSize(s.bytes);
    Write("fuzz_container_header", s.name + "-header", std::span(s.bytes).first(header));
    if (s.bytes.size() <= 64 * 1024) Write("fuzz_container_header", s.name, s.bytes);
  }

  // Public bundles, binary and text.
  for (const auto* id : {&me, &other}) {
    const std::string name = id == &me ? "me" : "other";
    Write("fuzz_public_bundle", "bundle-" + name, id->public_bundle().Serialize());
    Write("fuzz_public_bundle", "text-" + name, id->public_bundle().ToText());
    Write("fuzz_public_bundle", "text-nl-" + name, id->public_bundle().ToText() + "\r\n");
  }

  // Private bundles: recovery (fixed recovery key) and password (fixed derived keys).
  for (const auto* id : {&me, &other}) {
    const std::string name = id == &me ? "me" : "other";
    auto recovery = SealRecoveryBundle(*id, fuzz::FixedRecoveryKey());
    auto password = SealPrivateBundle(*id, fuzz::FixedPasswordKeys(), fuzz::FixedKdfParams());
    if (!recovery || !password) {
      std::cerr << "fuzz_make_corpus: sealing a private bundle failed\n";
      return 1;
    }
    Write("fuzz_private_bundle", "recovery-" + name, *recovery);
    Write("fuzz_private_bundle", "password-" + name, *password);
  }

  // Identity files, secret encodings, recovery codes and wire encodings.
  for (const auto* id : {&me, &other}) {
    const std::string name = id == &me ? "me" : "other";
    Write("fuzz_identity_text", "identity-" + name, id->ToText());
    std::vector<std::uint8_t> secret = id->ExportSecret();
    Write("fuzz_identity_text", "secret-" + name, secret);
    Write("fuzz_identity_text", "hex-" + name, HexEncode(secret));
    Write("fuzz_identity_text", "base32-" + name, Base32Encode(secret));
    Wipe(secret);
  }
  const std::string code = fuzz::FixedRecoveryKey().ToCode();
  Write("fuzz_identity_text", "recovery-code", code);
  std::string lower = code;
  for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  Write("fuzz_identity_text", "recovery-code-lower", lower);
  Write("fuzz_identity_text", "recovery-code-plain", fuzz::FixedRecoveryCode());
  Write("fuzz_identity_text", "base64", Base64UrlEncode(Plaintext(100)));

  // Private Room records signed by the fixed identity under the fixed keys, each alone and
  // followed by its signature (the layout fuzz_room_records opens); a sealed folder key;
  // names and metadata.
  {
    auto must = [](auto r) {
      if (!r) {
        std::cerr << "fuzz_make_corpus: sealing a room record failed\n";
        std::exit(1);
      }
      return std::move(*r);
    };
    auto write_record = [&](const std::string& name, const SignedRecord& s) {
      Write("fuzz_room_records", name, s.record);
      std::vector<std::uint8_t> signed_bytes = s.record;
      signed_bytes.insert(signed_bytes.end(), s.signature.begin(), s.signature.end());
      Write("fuzz_room_records", name + "-signed", signed_bytes);
    };
    FolderRecord root_folder;
    root_folder.folder_id = fuzz::FixedFolderId();
    root_folder.owner_id = me.user_id();
    write_record("folder-root", must(SealFolderRecord(root_folder, fuzz::FixedFolderKey(), me)));
    FolderRecord child = root_folder;
    child.folder_id[0] ^= 0xff;
    child.parent_id = root_folder.folder_id;
    child.name = "Contracts";
    child.name_hmac =
        must(ComputeNameHmac(fuzz::FixedFolderKey(), root_folder.folder_id, child.name));
    child.revision = 7;
    write_record("folder-child", must(SealFolderRecord(child, fuzz::FixedFolderKey(), me)));
    FileRecord file;
    file.file_id = root_folder.folder_id;
    file.owner_id = other.user_id();
    file.author_id = me.user_id();
    file.parent_id = child.folder_id;
    file.name_hmac = *child.name_hmac;
    file.version = 2;
    file.metadata.name = "NDA.docx";
    file.metadata.plaintext_size = 5000;
    file.metadata.content_type = "application/octet-stream";
    file.metadata.modified_ms = 1700000000000;
    const SignedRecord file_rec = must(SealFileRecord(file, fuzz::FixedFileKey(), me));
    write_record("file", file_rec);
    const SealedFolderKey sealed =
        must(SealFolderKey(fuzz::FixedFolderKey(), fuzz::FixedFolderId(), me_pub));
    Write("fuzz_room_records", "sealed-folder-key", sealed);
    Write("fuzz_room_records", "name-ascii", std::string_view("NDA.docx"));
    Write("fuzz_room_records", "name-utf8", std::string_view("\xc3\x84rger \xe2\x82\xac.xlsx"));
    std::vector<std::uint8_t> metadata = {0, 3, 'a', '.', 'b', 0, 0, 0, 0, 0, 0, 0,
                                          9, 0, 1,   'x', 0,   0, 0, 0, 0, 0, 0, 1};
    Write("fuzz_room_records", "metadata", metadata);
  }

  // Co-editing frames of every type: sealed ones by the fixed identity under the fixed
  // co-editing key and session (what fuzz_collab_wire opens), and one by the other identity.
  {
    auto must = [](auto r) {
      if (!r) {
        std::cerr << "fuzz_make_corpus: sealing a co-editing frame failed\n";
        std::exit(1);
      }
      return std::move(*r);
    };
    auto frame = [&](const std::string& name, const collab::Message& m) {
      Write("fuzz_collab_wire", name, must(collab::EncodeFrame(m)));
    };
    const CollabKey& key = fuzz::FixedCollabKey();
    const collab::SessionId session = fuzz::FixedCollabSessionId();
    const std::uint64_t time = 1700000000000;
    const collab::Sealed u1 = must(collab_detail::SealUpdateAt(key, me, session, 1, Plaintext(40)));
    const collab::Sealed u2 = must(collab_detail::SealUpdateAt(key, me, session, 2, {}));
    const collab::Sealed p1 =
        must(collab_detail::SealPresenceAt(key, me, session, 1, Plaintext(12)));
    SnapshotContents contents;
    contents.streams.push_back({me.user_id(), session, 2});
    contents.streams.push_back({other.user_id(), session, 7});
    contents.state = Plaintext(100);
    const collab::SealedSnapshot s1 =
        must(collab_detail::SealSnapshotAt(key, me, session, 1, 9, contents));
    const collab::SealedSnapshot s0 =
        must(collab_detail::SealSnapshotAt(key, me, session, 2, 0, SnapshotContents{}));
    const collab::Sealed foreign =
        must(collab_detail::SealUpdateAt(key, other, session, 1, Plaintext(5)));
    frame("update-1", collab::Update{u1});
    frame("update-2-empty", collab::Update{u2});
    frame("update-relay", collab::UpdateRelay{9, time, u1});
    frame("update-foreign", collab::Update{foreign});
    frame("presence", collab::Presence{p1});
    frame("presence-relay", collab::PresenceRelay{time, p1});
    frame("snapshot", collab::Snapshot{s1});
    frame("snapshot-empty", collab::Snapshot{s0});
    frame("snapshot-relay", collab::SnapshotRelay{time, s1});
    frame("join", collab::Join{fuzz::FixedCollabFileId(), fuzz::kFixedCollabEpoch, std::nullopt});
    frame("join-resume", collab::Join{fuzz::FixedCollabFileId(), fuzz::kFixedCollabEpoch, 9});
    frame("welcome", collab::Welcome{fuzz::FixedCollabFileId(), fuzz::kFixedCollabEpoch, 12, 9});
    frame("ack", collab::Ack{collab::MessageType::update, session, 2, 10, time});
    frame("error", collab::Error{collab::ErrorCode::stale_epoch, 6, session, 3, "moved"});
  }

  std::cout << "fuzz_make_corpus: wrote " << written << " seed files under " << root.string()
            << "\n";
  return 0;
}
