// Writes the test vectors in tests/vectors/ (one case per file, see README.md there).
//
//   build/sanitize/bin/vector_generator tests/vectors
//
// Randomness is deterministic (strongroom_crypto_testing), so a given build of the library
// regenerates identical files. The committed files are frozen: they are the compatibility
// contract, and the unit tests check that every one of them still gives its expected result.
#include "crypto/collab_format.h"
#include "crypto/container_format.h"
#include "crypto/primitives.h"
#include "crypto/room_format.h"
#include "crypto/wire.h"
#include "strongroom/collab/wire.h"
#include "strongroom/crypto/collab.h"
#include "strongroom/crypto/container.h"
#include "strongroom/crypto/password.h"
#include "strongroom/crypto/room.h"
#include "strongroom/crypto/testing.h"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
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

// --- co-editing relay (docs/collab.md) -----------------------------------------------------------
// No randomness here: sealing at a given session id and counter is deterministic, and the keys
// and session ids are fixed hashes, so these files do not depend on the random stream above.

void CollabVector(const std::string& name, const std::string& operation, const std::string& expect,
                  const std::string& comment, Head more, const Buffer& body) {
  Head head = {{"expect", expect}, {"comment", comment}, {"operation", operation}};
  head.insert(head.end(), more.begin(), more.end());
  Write("collab", name, head, body);
}

Buffer Frame(const collab::Message& m) {
  return Must(collab::EncodeFrame(m));
}

template <std::size_t N>
std::array<std::uint8_t, N> Fixed(std::string_view label) {
  const Sha256Digest d = Sha256(AsBytes(label));
  std::array<std::uint8_t, N> out{};
  std::copy_n(d.begin(), N, out.begin());
  return out;
}

Buffer TextBytes(std::string_view s) {
  return Buffer(s.begin(), s.end());
}

std::string StreamsText(const std::vector<StreamPosition>& streams) {
  if (streams.empty()) return "none";
  std::string out;
  for (const auto& s : streams) {
    if (!out.empty()) out += ",";
    out += s.author + "/" + Hex(s.session_id) + "/" + std::to_string(s.last_counter);
  }
  return out;
}

// One event of an order vector: what the test does, and the outcome the checker must give.
struct OrderEvent {
  std::string text;     // "update SEQ AUTHOR SESSION COUNTER EPOCH", "presence AUTHOR SESSION
                        // COUNTER EPOCH", "snapshot THROUGH EPOCH STREAMS", "raise-floor EPOCH",
                        // "reconnect"
  std::string outcome;  // success | an error name | for reconnect, the sequence number returned
};

// Runs `events` on a fresh checker, aborting if any outcome differs from the one written down
// (the file states the rules, the checker must follow them), and writes the vector.
void OrderVector(const std::string& name, const std::string& comment,
                 const std::vector<OrderEvent>& events) {
  UpdateOrderChecker checker;
  auto outcome = [](const result<void>& r) {
    return r ? std::string("success")
             : std::string(error_name(static_cast<errc>(r.error().value())));
  };
  auto session = [](const std::string& hex) {
    auto b = HexDecode(hex);
    if (!b || b->size() != 16) std::abort();
    collab::SessionId s{};
    std::copy(b->begin(), b->end(), s.begin());
    return s;
  };
  Head head;
  for (std::size_t i = 0; i < events.size(); ++i) {
    std::istringstream in(events[i].text);
    std::string op;
    in >> op;
    std::string got;
    if (op == "update" || op == "presence") {
      std::uint64_t seq = 0;
      if (op == "update") in >> seq;
      collab::SealedHead h;
      std::string sess;
      in >> h.author >> sess >> h.counter >> h.epoch;
      h.session_id = session(sess);
      got = outcome(op == "update" ? checker.AcceptUpdate(seq, h) : checker.AcceptPresence(h));
    } else if (op == "snapshot") {
      OpenedSnapshot snap;
      std::string streams;
      in >> snap.through_seq >> snap.head.epoch >> streams;
      snap.head.author = "snapshot-author";
      snap.head.counter = 1;
      if (streams != "none") {
        std::istringstream list(streams);
        std::string item;
        while (std::getline(list, item, ',')) {
          const auto a = item.find('/'), b = item.rfind('/');
          snap.contents.streams.push_back({item.substr(0, a),
                                           session(item.substr(a + 1, b - a - 1)),
                                           std::stoull(item.substr(b + 1))});
        }
      }
      got = outcome(checker.AcceptSnapshot(snap));
    } else if (op == "raise-floor") {
      std::uint64_t e = 0;
      in >> e;
      checker.RaiseEpochFloor(e);
      got = "success";
    } else if (op == "reconnect") {
      got = std::to_string(checker.Reconnect());
    } else {
      std::abort();
    }
    if (got != events[i].outcome) {
      std::cerr << name << ": event " << i + 1 << " (" << events[i].text << ") gives " << got
                << ", not " << events[i].outcome << "\n";
      std::exit(1);
    }
    head.push_back({"event-" + std::to_string(i + 1), events[i].text + " -> " + events[i].outcome});
  }
  CollabVector(name, "order", events.back().outcome, comment, head, {});
}

void Collab(const Identity& alice, const Identity& bob, const Identity& carol) {
  const auto key_bytes = Sha256(AsBytes("strongroom collab vector file key"));
  Secret<32> file_key;
  std::copy(key_bytes.begin(), key_bytes.end(), file_key.data());
  const collab::FileId file_id = Fixed<16>("strongroom collab vector file id");
  const std::uint64_t epoch = 3;
  const CollabKey key = Must(CollabKey::Make(file_key, file_id, epoch));
  const collab::SessionId s_alice = Fixed<16>("strongroom collab vector session alice");
  const collab::SessionId s_bob = Fixed<16>("strongroom collab vector session bob");
  const collab::SessionId s_carol = Fixed<16>("strongroom collab vector session carol");
  const std::string alice_pub = alice.public_bundle().ToText();
  const std::string bob_pub = bob.public_bundle().ToText();
  const std::string carol_pub = carol.public_bundle().ToText();
  const Head key_head = {
      {"file-key", Hex(file_key.bytes())}, {"file-id", Hex(file_id)}, {"epoch", "3"}};
  const std::uint64_t time = kCreated * 1000 + 123;

  // What a successful open must give, and what re-sealing needs (the author's identity).
  auto fields = [&](const Identity& author, const collab::SealedHead& h, const Buffer& payload) {
    return Concat(key_head, {{"author", author.public_bundle().ToText()},
                             {"identity", SecretText(author)},
                             {"author-id", h.author},
                             {"session-id", Hex(h.session_id)},
                             {"counter", std::to_string(h.counter)},
                             {"payload-hex", Hex(payload)}});
  };
  auto with = [](Head h, const std::string& k, const std::string& v) {
    for (auto& [key_name, value] : h) {
      if (key_name == k) value = v;
    }
    return h;
  };
  auto to_server = [](const Head& h) { return Concat({{"direction", "to-server"}}, h); };
  auto to_client = [](const Head& h) { return Concat({{"direction", "to-client"}}, h); };

  // --- updates -------------------------------------------------------------------------------
  const Buffer p1 = TextBytes("insert 'Hello, world' at 0");
  const collab::Sealed u1 = Must(collab_detail::SealUpdateAt(key, alice, s_alice, 1, p1));
  const Buffer f1 = Frame(collab::Update{u1});
  const Head u1_head = to_server(fields(alice, u1.head, p1));
  CollabVector("update-ok", "open-update", "success", "alice's first update, as she sends it",
               u1_head, f1);
  const collab::Sealed u2 = Must(collab_detail::SealUpdateAt(key, alice, s_alice, 2, {}));
  CollabVector("update-ok-empty", "open-update", "success", "an empty update (counter 2)",
               to_server(fields(alice, u2.head, {})), Frame(collab::Update{u2}));
  const Buffer p3 = Pattern(300);
  const collab::Sealed u3 = Must(collab_detail::SealUpdateAt(key, alice, s_alice, 3, p3));
  CollabVector("update-relay-ok", "open-update", "success",
               "alice's third update as the server relays it: sequence number 17",
               Concat(to_client(fields(alice, u3.head, p3)),
                      {{"seq", "17"}, {"server-time", std::to_string(time)}}),
               Frame(collab::UpdateRelay{17, time, u3}));
  const Head open_only = to_server(Concat(key_head, {{"author", alice_pub}}));
  // Byte offsets in f1: version, type, file id, epoch, author, session id, counter, ct_len.
  const std::size_t counter_at = 2 + 16 + 8 + 1 + alice.user_id().size() + 16;
  const std::size_t ct_at = counter_at + 8 + 4;
  Buffer t = f1;
  t[ct_at + 2] ^= 0x01;
  CollabVector("update-tampered-ciphertext", "open-update", "bad_signature",
               "one ciphertext bit flipped", open_only, t);
  t = f1;
  t[counter_at + 7] = 2;
  CollabVector("update-tampered-counter", "open-update", "bad_signature",
               "the server relabels counter 1 as 2", open_only, t);
  t = f1;
  t[2 + 16 + 7] = 4;
  CollabVector("update-tampered-epoch", "open-update", "bad_signature",
               "the server relabels epoch 3 as 4; opened with epoch 4's key",
               with(open_only, "epoch", "4"), t);
  t = f1;
  t.back() ^= 0x01;
  CollabVector("update-bad-signature", "open-update", "bad_signature",
               "last signature byte flipped", open_only, t);
  {
    collab::FileId other = file_id;
    other[0] ^= 0x01;
    CollabVector("update-wrong-file", "open-update", "record_mismatch",
                 "an update of this file offered to a reader of another file (cross-file copy)",
                 with(open_only, "file-id", Hex(other)), f1);
  }
  CollabVector("update-wrong-epoch", "open-update", "record_mismatch",
               "opened with the key of epoch 4", with(open_only, "epoch", "4"), f1);
  CollabVector("update-untrusted-signer", "open-update", "untrusted_signer",
               "bob's pinned key given for an update that names alice",
               with(open_only, "author", bob_pub), f1);
  {
    // Bob, a member, writes an update in alice's name: a correct AEAD under the session key,
    // signed with his own key.
    collab::Sealed forged;
    forged.head = collab::SealedHead{file_id, epoch, alice.user_id(), s_bob, 1};
    const Buffer head = collab::EncodeHead(forged.head);
    Secret<32> session_key;
    if (!collab_detail::DeriveSessionKey(key, collab_detail::Kind::update, s_bob, session_key)) {
      std::abort();
    }
    const Buffer plain = TextBytes("delete everything");
    forged.ciphertext.resize(plain.size() + kAeadTagSize);
    if (!AeadSeal(session_key.bytes(), collab_detail::Nonce(1),
                  collab_detail::AssociatedData(collab_detail::Kind::update, head), plain,
                  forged.ciphertext)) {
      std::abort();
    }
    forged.signature = bob.Sign(
        collab_detail::SignedMessage(collab_detail::Kind::update, head, forged.ciphertext));
    CollabVector("update-forged-author", "open-update", "bad_signature",
                 "bob (a member, holding the file key) writes in alice's name", open_only,
                 Frame(collab::Update{forged}));
  }
  {
    // Carol was removed by a rekey: the file key of epoch 3 is not the one she holds.
    const auto old = Sha256(AsBytes("strongroom collab vector old file key"));
    Secret<32> old_key;
    std::copy(old.begin(), old.end(), old_key.data());
    const CollabKey carols = Must(CollabKey::Make(old_key, file_id, epoch));
    const collab::Sealed c =
        Must(collab_detail::SealUpdateAt(carols, carol, s_carol, 1, TextBytes("x")));
    CollabVector("update-old-file-key", "open-update", "record_mismatch",
                 "carol, removed by a rekey, seals under the file key she still holds; her "
                 "signature verifies, the ciphertext does not open",
                 with(open_only, "author", carol_pub), Frame(collab::Update{c}));
  }
  t.assign(f1.begin(), f1.end() - 1);
  CollabVector("update-truncated", "open-update", "truncated", "last signature byte missing",
               open_only, t);
  t = f1;
  t.push_back(0);
  CollabVector("update-trailing-byte", "open-update", "malformed", "one byte after the signature",
               open_only, t);
  t = f1;
  t[ct_at - 4 + 1] = 0x04;  // ct_len 0x0000002a -> 0x0004002a
  CollabVector("update-too-large", "open-update", "too_large",
               "declared ciphertext length over 256 KiB + 16", open_only, t);
  t = f1;
  t[0] = 2;
  CollabVector("update-unsupported-version", "open-update", "unsupported_version", "version byte 2",
               open_only, t);
  t = f1;
  std::fill(t.begin() + static_cast<std::ptrdiff_t>(counter_at),
            t.begin() + static_cast<std::ptrdiff_t>(counter_at + 8), 0);
  CollabVector("update-counter-zero", "open-update", "malformed", "counter 0", open_only, t);
  t = f1;
  t[1] = 0x12;
  CollabVector("update-wrong-direction", "open-update", "malformed",
               "a client's update with the relay's type byte, read as a client frame", open_only,
               t);

  // --- presence ------------------------------------------------------------------------------
  const Buffer pp = TextBytes("{\"cursor\":12}");
  const collab::Sealed pr = Must(collab_detail::SealPresenceAt(key, bob, s_bob, 1, pp));
  CollabVector("presence-ok", "open-presence", "success", "bob's cursor",
               to_server(fields(bob, pr.head, pp)), Frame(collab::Presence{pr}));
  CollabVector("presence-relay-ok", "open-presence", "success", "bob's cursor, relayed",
               Concat(to_client(fields(bob, pr.head, pp)), {{"server-time", std::to_string(time)}}),
               Frame(collab::PresenceRelay{time, pr}));
  t = Frame(collab::Presence{pr});
  t[1] = 0x02;
  CollabVector("presence-as-update", "open-update", "bad_signature",
               "bob's presence message sent with the update type: separate keys and labels",
               with(open_only, "author", bob_pub), t);

  // --- snapshots -----------------------------------------------------------------------------
  SnapshotContents contents;
  contents.streams = {{bob.user_id(), s_bob, 2}, {alice.user_id(), s_alice, 3}};
  contents.state = Pattern(200);
  const collab::SealedSnapshot snap =
      Must(collab_detail::SealSnapshotAt(key, bob, s_bob, 1, 40, contents));
  const std::vector<StreamPosition> sorted = {{alice.user_id(), s_alice, 3},
                                              {bob.user_id(), s_bob, 2}};
  const Head snap_head = Concat(fields(bob, snap.head, {}), {{"through-seq", "40"},
                                                             {"streams", StreamsText(sorted)},
                                                             {"state-hex", Hex(contents.state)}});
  CollabVector("snapshot-ok", "open-snapshot", "success",
               "bob's snapshot of everything up to sequence number 40 (alice at 3, bob at 2)",
               to_server(snap_head), Frame(collab::Snapshot{snap}));
  CollabVector("snapshot-relay-ok", "open-snapshot", "success",
               "the same, as a late joiner gets it",
               Concat(to_client(snap_head), {{"server-time", std::to_string(time)}}),
               Frame(collab::SnapshotRelay{time, snap}));
  const Head snap_open = to_server(Concat(key_head, {{"author", bob_pub}}));
  t = Frame(collab::Snapshot{snap});
  t[2 + 16 + 8 + 1 + bob.user_id().size() + 16 + 8 + 7] = 41;  // through_seq 40 -> 41
  CollabVector("snapshot-tampered-through-seq", "open-snapshot", "bad_signature",
               "the server claims it covers one more update", snap_open, t);
  {
    collab::FileId other = file_id;
    other[15] ^= 0x80;
    CollabVector("snapshot-wrong-file", "open-snapshot", "record_mismatch",
                 "a snapshot of this file offered for another",
                 with(snap_open, "file-id", Hex(other)), Frame(collab::Snapshot{snap}));
  }
  {
    const std::vector<StreamPosition> unsorted = {{bob.user_id(), s_bob, 2},
                                                  {alice.user_id(), s_alice, 3}};
    const Buffer plain = collab_detail::EncodeSnapshotPlaintext(unsorted, contents.state);
    const collab::SealedSnapshot bad =
        Must(collab_detail::SealSnapshotPlaintextAt(key, bob, s_bob, 2, 40, plain));
    CollabVector("snapshot-unsorted-streams", "open-snapshot", "malformed",
                 "streams not in ascending order (authentic, but not the one encoding)", snap_open,
                 Frame(collab::Snapshot{bad}));
  }

  // --- the other messages --------------------------------------------------------------------
  auto decode = [&](const std::string& name, const std::string& comment, const std::string& dir,
                    const std::string& message, const Head& more, const Buffer& body,
                    const std::string& expect = "success") {
    CollabVector(name, "decode-frame", expect, comment,
                 Concat({{"direction", dir}, {"message", message}}, more), body);
  };
  collab::Join join{file_id, epoch, std::nullopt};
  decode("join-ok", "join without resuming", "to-server", "join",
         {{"file-id", Hex(file_id)}, {"epoch", "3"}, {"resume-after", "none"}}, Frame(join));
  join.resume_after = 17;
  const Buffer join_resume = Frame(join);
  decode("join-resume-ok", "join resuming after sequence number 17", "to-server", "join",
         {{"file-id", Hex(file_id)}, {"epoch", "3"}, {"resume-after", "17"}}, join_resume);
  t = join_resume;
  t[2 + 16 + 8] = 2;
  decode("join-bad-flag", "flags byte 2", "to-server", "join", {}, t, "malformed");
  const collab::Welcome welcome{file_id, epoch, 57, 40};
  decode("welcome-ok", "history up to 57, a snapshot through 40 follows", "to-client", "welcome",
         {{"file-id", Hex(file_id)}, {"epoch", "3"}, {"head-seq", "57"}, {"snapshot-seq", "40"}},
         Frame(welcome));
  t = Frame(welcome);
  t.back() = 58;
  decode("welcome-snapshot-after-head", "snapshot sequence number 58 beyond the head 57",
         "to-client", "welcome", {}, t, "malformed");
  const collab::Ack ack{collab::MessageType::update, s_alice, 3, 17, time};
  decode("ack-ok", "alice's update 3 stored as sequence number 17", "to-client", "ack",
         {{"of", "update"},
          {"session-id", Hex(s_alice)},
          {"counter", "3"},
          {"seq", "17"},
          {"server-time", std::to_string(time)}},
         Frame(ack));
  const collab::Ack snap_ack{collab::MessageType::snapshot, s_bob, 1, 40, time};
  decode("ack-snapshot-ok", "bob's snapshot through 40 stored", "to-client", "ack",
         {{"of", "snapshot"},
          {"session-id", Hex(s_bob)},
          {"counter", "1"},
          {"seq", "40"},
          {"server-time", std::to_string(time)}},
         Frame(snap_ack));
  const collab::Error error{collab::ErrorCode::stale_epoch, 4, s_alice, 4, "file is at epoch 4"};
  decode("error-ok", "stale_epoch: the file moved to epoch 4; alice's update 4 refused",
         "to-client", "error",
         {{"code", "6"},
          {"epoch", "4"},
          {"session-id", Hex(s_alice)},
          {"counter", "4"},
          {"text", error.message}},
         Frame(error));
  decode("frame-empty", "no bytes", "to-server", "none", {}, {}, "truncated");
  decode("frame-unknown-type", "type 0x05", "to-server", "none", {}, {0x01, 0x05}, "malformed");
  decode("frame-welcome-to-server", "a server message sent by a client", "to-server", "none", {},
         Frame(welcome), "malformed");

  // --- receiver order checks -----------------------------------------------------------------
  const std::string sa = Hex(s_alice), sb = Hex(s_bob);
  OrderVector("order-in-order", "two streams interleaved, sequence numbers with holes",
              {{"update 1 alice " + sa + " 1 3", "success"},
               {"update 2 bob " + sb + " 1 3", "success"},
               {"update 5 alice " + sa + " 2 3", "success"},
               {"update 6 bob " + sb + " 2 3", "success"}});
  OrderVector("order-replay", "alice's update 1 again under a new sequence number",
              {{"update 1 alice " + sa + " 1 3", "success"},
               {"update 2 alice " + sa + " 2 3", "success"},
               {"update 3 alice " + sa + " 1 3", "replayed"}});
  OrderVector("order-gap", "alice's update 2 (sequence number 2) dropped",
              {{"update 1 alice " + sa + " 1 3", "success"},
               {"update 3 alice " + sa + " 3 3", "update_gap"}});
  OrderVector("order-reordered-pair", "alice's updates 2 and 3 delivered in swapped order",
              {{"update 1 alice " + sa + " 1 3", "success"},
               {"update 3 alice " + sa + " 3 3", "update_gap"},
               {"update 2 alice " + sa + " 2 3", "reordered"}});
  OrderVector("order-resume-after-gap",
              "after a gap, a new connection resumes after the last accepted update",
              {{"update 1 alice " + sa + " 1 3", "success"},
               {"update 3 alice " + sa + " 3 3", "update_gap"},
               {"reconnect", "1"},
               {"update 2 alice " + sa + " 2 3", "success"},
               {"update 3 alice " + sa + " 3 3", "success"}});
  OrderVector("order-new-stream-not-at-one", "a stream first seen at counter 2",
              {{"update 1 bob " + sb + " 2 3", "update_gap"}});
  OrderVector("order-stale-epoch", "bob's epoch-3 update after alice's first of epoch 4",
              {{"update 1 bob " + sb + " 1 3", "success"},
               {"update 2 alice " + sa + " 1 4", "success"},
               {"update 3 bob " + sb + " 2 3", "stale_epoch"}});
  OrderVector("order-raised-floor", "the floor raised to 4 before any epoch-4 frame",
              {{"raise-floor 4", "success"}, {"update 1 bob " + sb + " 1 3", "stale_epoch"}});
  OrderVector("order-snapshot-baseline", "a late joiner: snapshot through 40, then the tail",
              {{"snapshot 40 3 alice/" + sa + "/3,bob/" + sb + "/2", "success"},
               {"update 40 carol " + Hex(s_carol) + " 1 3", "reordered"},
               {"update 41 alice " + sa + " 3 3", "replayed"},
               {"update 42 alice " + sa + " 4 3", "success"},
               {"update 43 bob " + sb + " 4 3", "update_gap"}});
  OrderVector("order-snapshot-rolled-back",
              "a snapshot that leaves out alice's update 2, accepted at sequence number 20",
              {{"update 10 alice " + sa + " 1 3", "success"},
               {"update 20 alice " + sa + " 2 3", "success"},
               {"snapshot 25 3 alice/" + sa + "/1", "rolled_back"}});
  OrderVector("order-snapshot-older", "a snapshot through 15 after sequence number 20",
              {{"update 20 alice " + sa + " 1 3", "success"},
               {"snapshot 15 3 alice/" + sa + "/1", "rolled_back"}});
  OrderVector("order-presence", "presence may skip counters, never repeat them",
              {{"presence bob " + sb + " 1 3", "success"},
               {"presence bob " + sb + " 4 3", "success"},
               {"presence bob " + sb + " 4 3", "replayed"}});
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
  // --- co-editing relay (no randomness: independent of everything above) ---------------------
  Collab(alice, bob, carol);

  std::cout << "vectors written to " << g_root << "\n";
  return 0;
}
