// Writes the test vectors in tests/vectors/ (one case per file, see README.md there).
//
//   build/sanitize/bin/vector_generator tests/vectors
//
// Randomness is deterministic (strongroom_crypto_testing), so a given build of the library
// regenerates identical files. The committed files are frozen: they are the compatibility
// contract, and the unit tests check that every one of them still gives its expected result.
#include "crypto/container_format.h"
#include "crypto/primitives.h"
#include "crypto/room_format.h"
#include "crypto/wire.h"
#include "strongroom/crypto/container.h"
#include "strongroom/crypto/password.h"
#include "strongroom/crypto/room.h"
#include "strongroom/crypto/testing.h"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <vector>

namespace {

using namespace strongroom;
using namespace strongroom::crypto;
using Buffer = std::vector<std::uint8_t>;
namespace fs = std::filesystem;

constexpr std::uint64_t kCreated = 1767225600;  // 2026-01-01T00:00:00Z
fs::path g_root;

void Write(const std::string& dir, const std::string& name,
           const std::vector<std::pair<std::string, std::string>>& head, const Buffer& body) {
  fs::create_directories(g_root / dir);
  std::ofstream f(g_root / dir / (name + ".txt"), std::ios::binary | std::ios::trunc);
  for (const auto& [k, v] : head) f << k << ": " << v << "\n";
  f << "\n";
  const std::string b64 = Base64UrlEncode(body);
  for (std::size_t i = 0; i < b64.size(); i += 76) f << b64.substr(i, 76) << "\n";
  if (!f) {
    std::cerr << "cannot write " << dir << "/" << name << "\n";
    std::exit(1);
  }
}

Identity MakeIdentity(const std::string& user) {
  ByteWriter w;
  w.Raw(std::string_view("SRSK"));
  w.U8(1);
  w.U8(static_cast<std::uint8_t>(user.size()));
  w.Raw(user);
  w.U64(kCreated);
  w.Raw(Sha256(AsBytes("vector x25519 " + user)));
  w.Raw(Sha256(AsBytes("vector ed25519 " + user)));
  auto id = Identity::ImportSecret(w.buffer());
  if (!id) std::abort();
  return std::move(*id);
}

std::string SecretText(const Identity& id) {
  Buffer s = id.ExportSecret();
  return std::string(kIdentityTextPrefix) + Base64UrlEncode(s);
}

Buffer Pattern(std::size_t n) {
  Buffer b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>((i * 31 + 7) & 0xff);
  return b;
}

Buffer Encrypt(const Buffer& plain, const Identity& author, const std::vector<PublicBundle>& to,
               std::uint32_t chunk = 4096) {
  io::MemorySource in(plain);
  io::MemorySink out;
  EncryptOptions o;
  o.chunk_size = chunk;
  o.threads = 1;
  o.content_type = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
  auto r = EncryptContainer(in, out, author, to, o);
  if (!r) std::abort();
  return out.data();
}

std::size_t HeaderSize(const Buffer& c) {
  io::MemorySource in(c);
  return InspectContainer(in)->header_size;
}

void Container(const std::string& name, const std::string& comment, const Identity& reader,
               const Buffer& container, const std::string& expect, const Buffer* plain = nullptr) {
  std::vector<std::pair<std::string, std::string>> head = {
      {"expect", expect}, {"comment", comment}, {"identity", SecretText(reader)}};
  if (plain) {
    head.push_back({"plaintext-size", std::to_string(plain->size())});
    head.push_back({"plaintext-sha256", HexEncode(Sha256(*plain))});
  }
  Write("container", name, head, container);
}

using Head = std::vector<std::pair<std::string, std::string>>;

std::string Hex(std::span<const std::uint8_t> b) {
  return HexEncode(b);
}

template <std::size_t N>
std::string HexOrNone(const std::optional<std::array<std::uint8_t, N>>& v) {
  return v ? HexEncode(*v) : "none";
}

void RoomVector(const std::string& name, const std::string& operation, const std::string& expect,
                const std::string& comment, Head more, const Buffer& body) {
  Head head = {{"expect", expect}, {"comment", comment}, {"operation", operation}};
  head.insert(head.end(), more.begin(), more.end());
  Write("room", name, head, body);
}

// The folder-record fields a successful open must give.
Head FolderFields(const FolderRecord& r) {
  return {{"folder-id", Hex(r.folder_id)},
          {"owner-id", r.owner_id},
          {"parent-id", HexOrNone(r.parent_id)},
          {"name-hmac", HexOrNone(r.name_hmac)},
          {"revision", std::to_string(r.revision)},
          {"name-hex", r.parent_id ? Hex(AsBytes(r.name)) : "none"}};
}

Head FileFields(const FileRecord& r) {
  return {{"file-id", Hex(r.file_id)},
          {"owner-id", r.owner_id},
          {"author-id", r.author_id},
          {"parent-id", Hex(r.parent_id)},
          {"name-hmac", Hex(r.name_hmac)},
          {"version", std::to_string(r.version)},
          {"header-mac", Hex(r.header_mac)},
          {"final-tag", Hex(r.final_tag)},
          {"name", r.metadata.name},
          {"plaintext-size", std::to_string(r.metadata.plaintext_size)},
          {"content-type", r.metadata.content_type},
          {"modified-ms", std::to_string(r.metadata.modified_ms)}};
}

Head Concat(Head a, const Head& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

template <class T>
T Must(result<T> r) {
  if (!r) std::abort();
  return std::move(*r);
}

void Room(const Identity& alice, const Identity& bob, const Identity& carol) {
  const std::string alice_pub = alice.public_bundle().ToText();
  const std::string bob_pub = bob.public_bundle().ToText();
  const std::string carol_pub = carol.public_bundle().ToText();

  // --- folder keys ---------------------------------------------------------------------------
  const Secret<32> root_key = GenerateFolderKey();
  const FolderId root_id = GenerateFolderId();
  const SealedFolderKey sealed = Must(SealFolderKey(root_key, root_id, alice.public_bundle()));
  const Buffer sealed_bytes(sealed.begin(), sealed.end());
  RoomVector("folder-key-ok", "open-folder-key", "success", "alice opens her root's key",
             {{"identity", SecretText(alice)},
              {"folder-id", Hex(root_id)},
              {"folder-key", Hex(root_key.bytes())}},
             sealed_bytes);
  RoomVector("folder-key-wrong-identity", "open-folder-key", "header_tampered",
             "bob tries alice's sealed folder key",
             {{"identity", SecretText(bob)}, {"folder-id", Hex(root_id)}}, sealed_bytes);
  FolderId other_id = root_id;
  other_id[15] ^= 0x01;
  RoomVector("folder-key-wrong-folder-id", "open-folder-key", "header_tampered",
             "the sealed key of another folder (folder id bound in the seal key)",
             {{"identity", SecretText(alice)}, {"folder-id", Hex(other_id)}}, sealed_bytes);
  RoomVector("folder-key-malformed", "open-folder-key", "malformed", "79 bytes, not 80",
             {{"identity", SecretText(alice)}, {"folder-id", Hex(root_id)}},
             Buffer(sealed_bytes.begin(), sealed_bytes.end() - 1));
  {
    // A container stanza for alice (E || wrapped key) offered as a sealed folder key with the
    // container's file id as folder id: it would open with one label for both.
    const Buffer c = Encrypt(Pattern(10), alice, {alice.public_bundle()});
    const auto h = Must(container::ParseHeader(std::span(c).first(HeaderSize(c))));
    Buffer stanza(h.stanzas[0].ephemeral.begin(), h.stanzas[0].ephemeral.end());
    stanza.insert(stanza.end(), h.stanzas[0].wrapped.begin(), h.stanzas[0].wrapped.end());
    RoomVector("folder-key-from-stanza", "open-folder-key", "header_tampered",
               "a container stanza is not a sealed folder key (label separation)",
               {{"identity", SecretText(alice)}, {"folder-id", Hex(h.file_id)}}, stanza);
  }

  // --- names ---------------------------------------------------------------------------------
  auto name = [&](const std::string& file, const std::string& comment, const std::string& n) {
    auto mac = ComputeNameHmac(root_key, root_id, n);
    Head head = {{"folder-key", Hex(root_key.bytes())},
                 {"folder-id", Hex(root_id)},
                 {"name-hex", Hex(AsBytes(n))}};
    if (mac) head.push_back({"name-hmac", Hex(*mac)});
    const std::string expect =
        mac ? "success" : std::string(error_name(static_cast<errc>(mac.error().value())));
    RoomVector(file, "name-hmac", expect, comment, head, {});
  };
  name("name-hmac-ok", "an office file name", "NDA.docx");
  name("name-hmac-lower-case", "same hmac as NDA.docx: ASCII is lower-cased", "nda.docx");
  name("name-hmac-non-ascii",
       "\xc3\x84rger.DOCX: only the ASCII letters are lower-cased, \xc3\x84 stays",
       "\xc3\x84rger.DOCX");
  name("name-hmac-dot-dot", "\"..\" is not a name", "..");
  name("name-hmac-slash", "no '/' in a name", "a/b");
  name("name-hmac-control", "no control character (U+0085)", "a\xc2\x85");
  name("name-hmac-bad-utf8", "overlong UTF-8 for '/'",
       "a\xc0\xaf"
       "b");
  name("name-hmac-too-long", "256 bytes", std::string(256, 'a'));

  // --- folder records ------------------------------------------------------------------------
  FolderRecord root;
  root.folder_id = root_id;
  root.owner_id = alice.user_id();
  root.revision = 1;
  const SignedRecord root_rec = Must(SealFolderRecord(root, root_key, alice));
  const Head root_keys = {{"signature", Hex(root_rec.signature)},
                          {"folder-key", Hex(root_key.bytes())},
                          {"owner", alice_pub}};
  RoomVector("folder-record-ok-root", "open-folder-record", "success",
             "alice's root: no parent, no name_hmac, empty name",
             Concat(root_keys, FolderFields(root)), root_rec.record);

  const Secret<32> sub_key = GenerateFolderKey();
  FolderRecord sub;
  sub.folder_id = GenerateFolderId();
  sub.owner_id = alice.user_id();
  sub.parent_id = root_id;
  sub.name = "Contracts 2026";
  sub.name_hmac = Must(ComputeNameHmac(root_key, root_id, sub.name));
  sub.revision = 2;
  const SignedRecord sub_rec = Must(SealFolderRecord(sub, sub_key, alice));
  const Head sub_keys = {{"signature", Hex(sub_rec.signature)},
                         {"folder-key", Hex(sub_key.bytes())},
                         {"owner", alice_pub}};
  RoomVector("folder-record-ok-child", "open-folder-record", "success",
             "a subfolder of alice's root, revision 2", Concat(sub_keys, FolderFields(sub)),
             sub_rec.record);
  Signature bad_sig = sub_rec.signature;
  bad_sig[63] ^= 0x01;
  RoomVector(
      "folder-record-bad-signature", "open-folder-record", "bad_signature",
      "last signature byte flipped",
      {{"signature", Hex(bad_sig)}, {"folder-key", Hex(sub_key.bytes())}, {"owner", alice_pub}},
      sub_rec.record);
  RoomVector("folder-record-wrong-key", "open-folder-record", "record_mismatch",
             "opened with the root's key instead of the subfolder's",
             {{"signature", Hex(sub_rec.signature)},
              {"folder-key", Hex(root_key.bytes())},
              {"owner", alice_pub}},
             sub_rec.record);
  RoomVector("folder-record-untrusted-signer", "open-folder-record", "untrusted_signer",
             "bob is expected as owner; the record names alice",
             {{"signature", Hex(sub_rec.signature)},
              {"folder-key", Hex(sub_key.bytes())},
              {"owner", bob_pub}},
             sub_rec.record);
  Buffer t = sub_rec.record;
  t[4] = 2;
  RoomVector("folder-record-unsupported-version", "open-folder-record", "unsupported_version",
             "version byte 2", sub_keys, t);
  t = root_rec.record;
  t.push_back(0);
  RoomVector("folder-record-root-plus-one-byte", "open-folder-record", "malformed",
             "a root record with one byte appended: 37 bytes after the owner id fit neither form",
             root_keys, t);
  t = sub_rec.record;
  t.push_back(0);
  RoomVector("folder-record-child-plus-one-byte", "open-folder-record", "bad_signature",
             "a child record with one byte appended parses (a longer name) but is not what was "
             "signed",
             sub_keys, t);
  {
    t = sub_rec.record;
    const std::size_t revision_at = 4 + 1 + 16 + 2 + alice.user_id().size() + 16 + 32;
    t[revision_at + 7] = 3;
    const Signature resigned = alice.Sign(room::FolderRecordSignedMessage(t));
    RoomVector(
        "folder-record-revision-resigned", "open-folder-record", "record_mismatch",
        "revision changed to 3 and re-signed by the owner: the name's associated data "
        "still says 2",
        {{"signature", Hex(resigned)}, {"folder-key", Hex(sub_key.bytes())}, {"owner", alice_pub}},
        t);
  }

  // --- file records --------------------------------------------------------------------------
  // A container by alice for alice and bob, its file key, and a record of version 1.
  const Buffer plain = Pattern(5000);
  io::MemorySource pin(plain);
  io::MemorySink pout;
  EncryptOptions o;
  o.chunk_size = 4096;
  o.threads = 1;
  o.content_type = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
  Secret<32> file_key;
  const std::vector<PublicBundle> to = {alice.public_bundle(), bob.public_bundle()};
  const ContainerInfo info = Must(EncryptContainer(pin, pout, alice, to, o, &file_key));
  const Buffer c1 = pout.data();
  auto record_for = [&](const ContainerInfo& i, const Identity& author, std::uint64_t version) {
    FileRecord r;
    r.file_id = i.file_id;
    r.owner_id = alice.user_id();
    r.author_id = author.user_id();
    r.parent_id = sub.folder_id;
    r.name_hmac = Must(ComputeNameHmac(sub_key, sub.folder_id, "NDA.docx"));
    r.version = version;
    r.header_mac = i.header_mac;
    r.final_tag = *i.final_tag;
    r.metadata.name = "NDA.docx";
    r.metadata.plaintext_size = plain.size();
    r.metadata.content_type = o.content_type;
    r.metadata.modified_ms = kCreated * 1000 + 123;
    return r;
  };
  const FileRecord v1 = record_for(info, alice, 1);
  const SignedRecord f1 = Must(SealFileRecord(v1, file_key, alice));
  const Head f1_keys = {
      {"signature", Hex(f1.signature)}, {"file-key", Hex(file_key.bytes())}, {"author", alice_pub}};
  RoomVector("file-record-ok", "open-file-record", "success", "version 1 by the owner",
             Concat(f1_keys, FileFields(v1)), f1.record);
  bad_sig = f1.signature;
  bad_sig[0] ^= 0x01;
  RoomVector(
      "file-record-bad-signature", "open-file-record", "bad_signature",
      "first signature byte flipped",
      {{"signature", Hex(bad_sig)}, {"file-key", Hex(file_key.bytes())}, {"author", alice_pub}},
      f1.record);
  RoomVector(
      "file-record-wrong-key", "open-file-record", "record_mismatch",
      "opened with another key (the subfolder's key stands in for a file key)",
      {{"signature", Hex(f1.signature)}, {"file-key", Hex(sub_key.bytes())}, {"author", alice_pub}},
      f1.record);
  RoomVector(
      "file-record-untrusted-signer", "open-file-record", "untrusted_signer",
      "bob is given as author; the record names alice",
      {{"signature", Hex(f1.signature)}, {"file-key", Hex(file_key.bytes())}, {"author", bob_pub}},
      f1.record);
  t = f1.record;
  t[4] = 0;
  RoomVector("file-record-unsupported-version", "open-file-record", "unsupported_version",
             "version byte 0", f1_keys, t);
  t.assign(f1.record.begin(), f1.record.begin() + 60);
  RoomVector("file-record-truncated", "open-file-record", "malformed",
             "cut to 60 bytes, inside the public fields", f1_keys, t);
  t.assign(f1.record.begin(), f1.record.end() - 1);
  RoomVector("file-record-last-byte-cut", "open-file-record", "bad_signature",
             "last byte cut: parses (a shorter ciphertext) but is not what was signed", f1_keys, t);
  {
    t = f1.record;
    const std::size_t version_at = 4 + 1 + 16 + 2 * (2 + alice.user_id().size()) + 16 + 32;
    t[version_at + 7] = 2;
    const Signature resigned = alice.Sign(room::FileRecordSignedMessage(t));
    RoomVector(
        "file-record-version-resigned", "open-file-record", "record_mismatch",
        "version changed to 2 and re-signed by the author: the metadata's associated "
        "data still says 1",
        {{"signature", Hex(resigned)}, {"file-key", Hex(file_key.bytes())}, {"author", alice_pub}},
        t);
  }

  // --- the reader's whole check: decrypt, open the record, check it ---------------------------
  auto check = [&](const std::string& file, const std::string& expect, const std::string& comment,
                   const Identity& reader, const Buffer& container, const Identity& author,
                   const SignedRecord& rec, std::optional<std::uint64_t> highest) {
    RoomVector(file, "check-file-record", expect, comment,
               {{"identity", SecretText(reader)},
                {"author", author.public_bundle().ToText()},
                {"signature", Hex(rec.signature)},
                {"highest-version", highest ? std::to_string(*highest) : "none"},
                {"container", Base64UrlEncode(container)}},
               rec.record);
  };
  check("check-ok-owner", "success", "bob reads version 1 written by alice, the owner", bob, c1,
        alice, f1, std::nullopt);
  check("check-ok-same-version", "success", "the version bob has already seen", bob, c1, alice, f1,
        1);
  check("check-rolled-back", "rolled_back", "bob has seen version 2 already", bob, c1, alice, f1,
        2);
  {
    // Bob saves an edit as version 2 (same container here: what matters is the author).
    const SignedRecord f2 = Must(SealFileRecord(record_for(info, bob, 2), file_key, bob));
    check("check-ok-recipient-author", "success",
          "alice reads version 2 written by bob, a recipient", alice, c1, bob, f2, 1);
    // Carol holds the file key (say, from before a rekey) but is not a recipient.
    const SignedRecord f3 = Must(SealFileRecord(record_for(info, carol, 3), file_key, carol));
    check("check-untrusted-signer", "untrusted_signer",
          "written by carol, who is neither the owner nor a recipient", alice, c1, carol, f3, 2);
  }
  {
    // Alice shares with carol: a new header (same file key and payload), so a new header MAC.
    io::MemorySource in(c1);
    io::MemorySink out;
    const std::vector<PublicBundle> add = {carol.public_bundle()};
    const ContainerInfo shared = Must(AddRecipients(in, out, alice, add));
    (void)shared;
    check("check-record-mismatch", "record_mismatch",
          "version 1's record against the container after sharing (header MAC differs)", bob,
          out.data(), alice, f1, std::nullopt);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: vector_generator OUTPUT_DIR\n";
    return 2;
  }
  g_root = argv[1];
  testing::UseDeterministicRandomnessForTesting(20261123);

  const Identity alice = MakeIdentity("alice@example.com");
  const Identity bob = MakeIdentity("bob@example.com");
  const Identity carol = MakeIdentity("carol@example.com");
  const std::vector<PublicBundle> to = {alice.public_bundle(), bob.public_bundle()};

  // --- containers ---------------------------------------------------------------------------
  const Buffer empty;
  const Buffer one = {0x42};
  const Buffer exact = Pattern(4096);
  const Buffer multi = Pattern(3 * 4096 + 100);
  const Buffer c_empty = Encrypt(empty, alice, to);
  const Buffer c_one = Encrypt(one, alice, to);
  const Buffer c_exact = Encrypt(exact, alice, to);
  const Buffer c_multi = Encrypt(multi, alice, to);
  const std::size_t h = HeaderSize(c_multi);
  const std::size_t w = 4096 + 16;

  Container("ok-empty", "empty plaintext: one empty final chunk", bob, c_empty, "success", &empty);
  Container("ok-one-byte", "one byte", bob, c_one, "success", &one);
  Container("ok-exact-chunk", "exactly one full chunk, which is final", bob, c_exact, "success",
            &exact);
  Container("ok-multi-chunk", "four chunks of 4096 bytes, the last partial", bob, c_multi,
            "success", &multi);
  Container("ok-author-reads", "the author is also a recipient", alice, c_multi, "success", &multi);
  Container("not-a-recipient", "carol has no stanza", carol, c_multi, "not_a_recipient");

  Buffer t = c_multi;
  t[8 + 1 + 4 + 16 + 4 + 7 + 1] ^= 0x01;  // First content-type byte: parses, MAC fails.
  Container("header-tampered-content-type", "content type changed after sealing", bob, t,
            "header_tampered");
  {
    // Bob's stanza is the second; its wrapped key ends 32 bytes before the MAC.
    t = c_multi;
    t[h - 32 - 1] ^= 0x01;
    Container("header-tampered-wrapped-key", "bob's wrapped key altered", bob, t,
              "header_tampered");
  }
  t = c_multi;
  t[h + w + 10] ^= 0x01;
  Container("payload-tampered", "one bit flipped in chunk 1", bob, t, "payload_tampered");
  t = c_multi;
  std::swap_ranges(t.begin() + static_cast<std::ptrdiff_t>(h),
                   t.begin() + static_cast<std::ptrdiff_t>(h + w),
                   t.begin() + static_cast<std::ptrdiff_t>(h + w));
  Container("payload-reordered", "chunks 0 and 1 swapped", bob, t, "payload_tampered");
  t.assign(c_multi.begin(), c_multi.begin() + static_cast<std::ptrdiff_t>(h + 3 * w));
  t.insert(t.end(), c_multi.end() - 64, c_multi.end());
  Container("payload-cut-at-chunk-boundary", "final chunk dropped, signature kept", bob, t,
            "payload_tampered");
  t = c_multi;
  t.push_back(0);
  Container("payload-extended", "one byte appended", bob, t, "payload_tampered");
  t.assign(c_multi.begin(), c_multi.begin() + 50);
  Container("truncated-in-header", "cut inside the header", bob, t, "truncated");
  t.assign(c_multi.begin(), c_multi.begin() + static_cast<std::ptrdiff_t>(h + 40));
  Container("truncated-payload", "fewer than 80 bytes after the header", bob, t, "truncated");
  t = c_multi;
  t[8] = 2;
  Container("unsupported-version", "version byte 2", bob, t, "unsupported_version");
  t = c_multi;
  t[0] = 'X';
  Container("malformed-magic", "not a Strongroom container", bob, t, "malformed");
  t = c_multi;
  t[8 + 1 + 4 + 16 + 3] = 0x88;  // chunk_size 4096 -> 0x1088
  Container("malformed-chunk-size", "chunk size not a power of two", bob, t, "malformed");
  t = c_multi;
  t[9] = 0x00;
  t[10] = 0x20;  // header_len 2 MiB
  Container("header-too-large", "declared header length over 1 MiB", bob, t, "too_large");
  t = c_multi;
  t.back() ^= 0x01;
  Container("bad-signature", "last signature byte flipped", bob, t, "bad_signature");
  {
    auto hdr = container::ParseHeader(std::span(c_multi).first(h));
    ByteWriter msg;
    msg.Raw(container::kSignatureLabel);
    msg.Raw(hdr->mac);
    msg.Raw(std::span(c_multi).subspan(c_multi.size() - 80, 16));
    const Signature forged = bob.Sign(msg.buffer());
    t = c_multi;
    std::copy(forged.begin(), forged.end(), t.end() - 64);
    Container("forged-author", "bob (a recipient) signs in alice's name", bob, t, "bad_signature");
  }

  // --- public bundles -----------------------------------------------------------------------
  auto bundle = [](const std::string& name, const std::string& comment, const Buffer& b,
                   const std::string& expect, const PublicBundle* ok) {
    std::vector<std::pair<std::string, std::string>> head = {{"expect", expect},
                                                             {"comment", comment}};
    if (ok) {
      head.push_back({"user-id", ok->user_id()});
      head.push_back({"fingerprint", HexEncode(ok->fingerprint())});
      head.push_back({"display-fingerprint", ok->DisplayFingerprint()});
      head.push_back({"text", ok->ToText()});
    }
    Write("public-bundle", name, head, b);
  };
  const Buffer pb = alice.public_bundle().Serialize();
  bundle("ok", "alice's bundle", pb, "success", &alice.public_bundle());
  Buffer pt = pb;
  pt.back() ^= 0x01;
  bundle("bad-signature", "signature altered", pt, "bad_signature", nullptr);
  pt = pb;
  const auto& mk = carol.public_bundle().encryption_key();
  std::copy(mk.begin(), mk.end(), pt.begin() + 6 + 17 + 8);
  bundle("substituted-key", "encryption key replaced, signature kept", pt, "bad_signature",
         nullptr);
  pt = pb;
  pt[4] = 2;
  bundle("unsupported-version", "version 2", pt, "unsupported_version", nullptr);
  pt = pb;
  pt.push_back(0);
  bundle("malformed-trailing-byte", "one byte too many", pt, "malformed", nullptr);
  pt = pb;
  pt[6 + 5] = ' ';
  bundle("malformed-user-id", "space in the user id", pt, "malformed", nullptr);

  // --- password-derived keys and bundles ------------------------------------------------------
  KdfParams params;
  for (std::size_t i = 0; i < params.salt.size(); ++i)
    params.salt[i] = static_cast<std::uint8_t>(i);
  const std::string password = "correct horse battery staple";
  auto keys = DerivePasswordKeys(password, params);
  if (!keys) std::abort();
  const std::string params_text = "opslimit=3 memlimit=67108864 salt=" + HexEncode(params.salt);
  Write("password", "derive-default",
        {{"expect", "success"},
         {"comment", "Argon2id t=3 m=64MiB p=1, then HKDF split"},
         {"password", password},
         {"params", params_text},
         {"auth-key", HexEncode(keys->auth_key.bytes())},
         {"key-encryption-key", HexEncode(keys->key_encryption_key.bytes())}},
        {});
  Write("password", "weak-memlimit",
        {{"expect", "weak_parameters"},
         {"comment", "memlimit 32 MiB: below the floor"},
         {"password", password},
         {"params", "opslimit=3 memlimit=33554432 salt=" + HexEncode(params.salt)}},
        {});
  Write("password", "weak-opslimit",
        {{"expect", "weak_parameters"},
         {"comment", "opslimit 2: below the floor"},
         {"password", password},
         {"params", "opslimit=2 memlimit=67108864 salt=" + HexEncode(params.salt)}},
        {});

  auto sealed = SealPrivateBundle(alice, *keys, params);
  if (!sealed) std::abort();
  const std::string alice_pub = alice.public_bundle().ToText();
  Write("private-bundle", "ok",
        {{"expect", "success"},
         {"comment", "password bundle"},
         {"password", password},
         {"public-key", alice_pub}},
        *sealed);
  Write("private-bundle", "wrong-password",
        {{"expect", "wrong_password"},
         {"comment", "one letter off"},
         {"password", "correct horse battery stapler"}},
        *sealed);
  Buffer st = *sealed;
  const std::size_t params_at = 4 + 1 + 1 + 1 + alice.user_id().size();
  st[params_at + 1 + 4 + 4] = 0x02;  // memlimit 64 MiB -> 32 MiB
  Write("private-bundle", "weak-parameters",
        {{"expect", "weak_parameters"},
         {"comment", "server lowered memlimit to 32 MiB"},
         {"password", password}},
        st);
  st = *sealed;
  st[params_at + 1 + 4 + 8] ^= 0x01;  // first salt byte
  Write("private-bundle", "tampered-salt",
        {{"expect", "wrong_password"},
         {"comment", "salt altered: a different key is derived"},
         {"password", password}},
        st);
  st = *sealed;
  st[4] = 2;
  Write("private-bundle", "unsupported-version",
        {{"expect", "unsupported_version"}, {"comment", "version 2"}, {"password", password}}, st);

  const RecoveryKey recovery = RecoveryKey::Generate();
  const RecoveryKey other = RecoveryKey::Generate();
  auto rb = SealRecoveryBundle(alice, recovery);
  if (!rb) std::abort();
  Write("recovery", "ok",
        {{"expect", "success"},
         {"comment", "recovery bundle opened by its code"},
         {"code", recovery.ToCode()},
         {"key", HexEncode(recovery.bytes())},
         {"recovery-auth-key", HexEncode(RecoveryAuthKey(recovery).bytes())},
         {"public-key", alice_pub}},
        *rb);
  Write("recovery", "wrong-code",
        {{"expect", "wrong_password"},
         {"comment", "a valid code, not this bundle's"},
         {"code", other.ToCode()}},
        *rb);
  std::string typo = recovery.ToCode();
  typo[0] = typo[0] == 'A' ? 'B' : 'A';
  Write("recovery", "typo",
        {{"expect", "malformed"},
         {"comment", "checksum catches a mistyped character"},
         {"code", typo}},
        *rb);
  // --- Private Room records (after everything else, so the earlier files stay identical) ---
  Room(alice, bob, carol);

  std::cout << "vectors written to " << g_root << "\n";
  return 0;
}
