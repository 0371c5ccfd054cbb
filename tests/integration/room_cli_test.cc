// The Private Room end to end through the real `strongroom` CLI and the real strongroomd
// (issue 5; docs/cli.md "Private Room", docs/private-room.md): a fresh portal on loopback
// per test, one STRONGROOM_HOME per simulated user (A the owner, B and C invited), every room
// command with --password-stdin.
//
// Covered: uploads and downloads of 0 B, 1 MiB and 100 MiB; sharing, "shared with me",
// download by id, denial of access (and that it re-encrypts the stored container); name
// conflicts, moves, the refused copy, deletes (blobs go with their rows); that no name or
// content reaches the server's disk or log; and a malicious server, played by the test
// editing the SQLite database and the blob directory under the running strongroomd: a
// rename or move, a blob swap, a rollback, a flipped byte, a truncation, a key substitution
// and an email mapped to another user id, each of which the CLI must refuse (exit 1, a clear
// error naming its code as docs/cli.md lists them, no output file); `info` and `keys show`.
//
// Cost: every room command derives the password key with Argon2id (~0.3 s), so tests keep
// their command counts low; B and C are registered only by the tests that use them.
#include "support/cli_machine.h"
#include "support/cutting_proxy.h"
#include "support/database.h"
#include "support/json_util.h"
#include "support/portal.h"
#include "support/process.h"
#include "support/text_util.h"

#include "strongroom/crypto/container.h"
#include "strongroom/crypto/encoding.h"
#include "strongroom/crypto/identity.h"
#include "strongroom/io.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <variant>

namespace strongroom::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

constexpr std::uint64_t kMiB = 1024 * 1024;

// --- small utilities ---------------------------------------------------------------------

std::string RandomString(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

// Writes `size` pseudo-random bytes to `path` in 1 MiB pieces (for the 100 MiB file).
void WriteRandomFile(const fs::path& path, std::uint64_t size, std::uint64_t seed) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  std::mt19937_64 rng(seed);
  std::vector<std::uint64_t> block(kMiB / 8);
  std::uint64_t left = size;
  while (left > 0) {
    for (auto& w : block) w = rng();
    const auto n = static_cast<std::streamsize>(std::min<std::uint64_t>(left, kMiB));
    f.write(reinterpret_cast<const char*>(block.data()), n);
    left -= static_cast<std::uint64_t>(n);
  }
  ASSERT_TRUE(f.good()) << path;
}

// Byte-identical files, compared in pieces (without holding 100 MiB twice).
::testing::AssertionResult SameContent(const fs::path& a, const fs::path& b) {
  if (!fs::exists(a)) return ::testing::AssertionFailure() << a << " does not exist";
  if (!fs::exists(b)) return ::testing::AssertionFailure() << b << " does not exist";
  if (fs::file_size(a) != fs::file_size(b)) {
    return ::testing::AssertionFailure() << a << " has " << fs::file_size(a) << " bytes, " << b
                                         << " has " << fs::file_size(b);
  }
  std::ifstream fa(a, std::ios::binary), fb(b, std::ios::binary);
  std::vector<char> ba(kMiB), bb(kMiB);
  std::uint64_t offset = 0;
  while (fa && fb) {
    fa.read(ba.data(), static_cast<std::streamsize>(ba.size()));
    fb.read(bb.data(), static_cast<std::streamsize>(bb.size()));
    const auto na = fa.gcount(), nb = fb.gcount();
    if (na != nb || !std::equal(ba.begin(), ba.begin() + na, bb.begin())) {
      return ::testing::AssertionFailure() << a << " and " << b << " differ after byte " << offset;
    }
    offset += static_cast<std::uint64_t>(na);
  }
  return ::testing::AssertionSuccess();
}

std::size_t EntriesIn(const fs::path& dir) {
  return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir), {}));
}

// The payload of a container: between the header (its length from the header itself,
// unauthenticated) and the 64-byte signature (docs/format.md section 7).
std::string PayloadOf(const std::string& container) {
  io::MemorySource in(
      std::span(reinterpret_cast<const std::uint8_t*>(container.data()), container.size()));
  auto info = crypto::InspectContainer(in);
  if (!info || info->header_size + crypto::kContainerSignatureSize > container.size()) {
    ADD_FAILURE() << "not a container";
    return {};
  }
  const auto header = static_cast<std::size_t>(info->header_size);
  return container.substr(header, container.size() - header - crypto::kContainerSignatureSize);
}

std::size_t CommonPrefix(const std::string& a, const std::string& b) {
  const auto n = std::min(a.size(), b.size());
  std::size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

// --- JSON --------------------------------------------------------------------------------

// The item of a `--json` listing with this name, or nullptr.
const json::value* ItemNamed(const json::array& items, std::string_view name) {
  for (const auto& item : items) {
    const json::value* n = At(item, "/name");
    if (n != nullptr && n->is_string() && n->as_string() == name) return &item;
  }
  return nullptr;
}

// --- the users ---------------------------------------------------------------------------

// A user and their machine: STRONGROOM_HOME, TMPDIR (the client's ciphertext temporaries) and
// a work directory for local files.
struct User : CliMachine {
  User() : CliMachine(600s) { AddEnv("TMPDIR=" + Tmp()); }

  std::string email;
  std::string password;
  std::string user_id;
  std::string fingerprint;  // Display form, as register printed it.

  std::string Tmp() const { return home() + "/tmp"; }
  std::string Work() const { return home() + "/work"; }
  std::string Local(const std::string& name) const { return Work() + "/" + name; }

  // A room command: the password on standard input.
  RunResult Room(std::vector<std::string> args, const std::string& cwd = "") const {
    args.push_back("--password-stdin");
    return Cli(args, password + "\n", cwd);
  }
};

// --- the fixture -------------------------------------------------------------------------

class RoomCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PortalOptions options;
    options.rate_limits = false;
    ASSERT_NO_FATAL_FAILURE(portal_.Start(options));
    ASSERT_NO_FATAL_FAILURE(Register(a_, "a@example.com", portal_.setup_token()));
  }

  void TearDown() override { portal_.FinishTest(6000); }

  void Register(User& u, const std::string& email, std::string invitation = "") {
    if (invitation.empty()) invitation = portal_.Invite(email);
    u.email = email;
    u.password = "password of " + email;
    fs::create_directories(u.Tmp());
    fs::create_directories(u.Work());
    const json::value out =
        CliJson(u.Cli({"register", "--server", portal_.url(), "--invite", invitation, "--email",
                       email, "--password-stdin", "--json"},
                      u.password + "\n"));
    u.user_id = JStr(out, "/user_id");
    u.fingerprint = JStr(out, "/fingerprint");
    ASSERT_TRUE(u.user_id.starts_with("u-")) << u.user_id;
  }
  // B and C exist only in tests that use them (registration costs Argon2id twice).
  User& B() {
    if (b_.user_id.empty()) Register(b_, "b@example.com");
    return b_;
  }
  User& C() {
    if (c_.user_id.empty()) Register(c_, "c@example.com");
    return c_;
  }

  // Writes `content` to `owner`'s work directory as `name`; uploads it into `dir` (--json);
  // returns the new file's id.
  std::string Upload(const User& owner, const std::string& name, const std::string& content,
                     const std::string& dir = "/") {
    WriteFile(owner.Local(name), content);
    const json::value e = CliJson(owner.Room({"upload", owner.Local(name), dir, "--json"}));
    EXPECT_EQ(JStr(e, "/name"), name);
    EXPECT_EQ(JInt(e, "/size"), static_cast<std::int64_t>(content.size()));
    EXPECT_EQ(JInt(e, "/version"), 1);
    const std::string id = JStr(e, "/id");
    EXPECT_EQ(id.size(), 32u) << id;
    return id;
  }

  // Every blob file in the blob directory (not the staging or temporary areas).
  std::vector<fs::path> AllBlobs() const {
    std::vector<fs::path> out;
    for (const auto& fan : fs::directory_iterator(portal_.blob_dir())) {
      const std::string name = fan.path().filename().string();
      if (!fan.is_directory() || name == "tmp" || name == "staging") continue;
      for (const auto& f : fs::directory_iterator(fan.path())) out.push_back(f.path());
    }
    return out;
  }
  // The blobs of file `id` (named "f<id>-<upload id>", docs/private-room.md section 5).
  std::vector<fs::path> BlobsOf(const std::string& id) const {
    std::vector<fs::path> out;
    for (const auto& p : AllBlobs()) {
      if (p.filename().string().starts_with("f" + id + "-")) out.push_back(p);
    }
    return out;
  }
  // The one blob of file `id`, checked against the row's blob_id.
  fs::path BlobOf(const std::string& id) {
    const auto blobs = BlobsOf(id);
    EXPECT_EQ(blobs.size(), 1u) << "blobs of " << id;
    if (blobs.size() != 1) return {};
    Database db(portal_.db_path());
    EXPECT_EQ(db.Text("SELECT blob_id FROM room_items WHERE id = ?1", {id}),
              blobs[0].filename().string());
    EXPECT_EQ(blobs[0].parent_path().filename().string(), blobs[0].filename().string().substr(0, 2))
        << "blobs are stored under <data>/blobs/<first two characters>/<id>";
    return blobs[0];
  }

  Portal portal_;
  User a_, b_, c_;
};

// --- 1. upload, list, download ---------------------------------------------------------------

TEST_F(RoomCliTest, UploadListAndDownloadByteIdenticalFilesOfZeroOneAndHundredMiB) {
  const User& a = a_;
  ASSERT_EQ(a.Room({"mkdir", "/Sizes"}).exit_code, 0);
  const std::map<std::string, std::uint64_t> files = {
      {"empty.docx", 0}, {"one.xlsx", kMiB}, {"big.pptx", 100 * kMiB}};
  std::map<std::string, std::string> ids;
  std::uint64_t seed = 1;
  for (const auto& [name, size] : files) {
    ASSERT_NO_FATAL_FAILURE(WriteRandomFile(a.Local(name), size, ++seed));
    const RunResult r = a.Room({"upload", a.Local(name), "/Sizes", "--json"});
    const json::value e = CliJson(r);
    EXPECT_EQ(JStr(e, "/name"), name);
    EXPECT_EQ(JInt(e, "/size"), static_cast<std::int64_t>(size));
    EXPECT_GT(JInt(e, "/encrypted_size"), static_cast<std::int64_t>(size));
    ids[name] = JStr(e, "/id");
    EXPECT_TRUE(r.err.empty()) << "no progress bar when stderr is not a terminal: " << r.err;
  }

  // ls --json: exactly the three, with the sizes and types they were uploaded with.
  const json::value listing = CliJson(a.Room({"ls", "/Sizes", "--json"}));
  const json::array items = JArr(listing, "/items");
  EXPECT_EQ(items.size(), 3u) << json::serialize(listing);
  for (const auto& [name, size] : files) {
    const json::value* item = ItemNamed(items, name);
    ASSERT_NE(item, nullptr) << name << " missing from " << json::serialize(listing);
    EXPECT_EQ(JStr(*item, "/type"), "file");
    EXPECT_EQ(JStr(*item, "/id"), ids[name]);
    EXPECT_EQ(JInt(*item, "/size"), static_cast<std::int64_t>(size));
    EXPECT_EQ(JInt(*item, "/version"), 1);
    EXPECT_EQ(JStr(*item, "/owner_id"), a.user_id);
    EXPECT_EQ(JArr(*item, "/recipients").size(), 1u) << "private until shared";
    // The blob on the server is the container: larger than the plaintext.
    const fs::path blob = BlobOf(ids[name]);
    if (!blob.empty()) {
      EXPECT_EQ(JInt(*item, "/encrypted_size"), static_cast<std::int64_t>(fs::file_size(blob)));
    }
  }
  // The root lists the folder.
  const json::value root = CliJson(a.Room({"ls", "--json"}));
  ASSERT_EQ(JArr(root, "/items").size(), 1u) << json::serialize(root);
  EXPECT_EQ(JStr(root, "/items/0/type"), "folder");
  EXPECT_EQ(JStr(root, "/items/0/name"), "Sizes");

  // Downloads are byte-identical.
  fs::create_directories(a.Local("out"));
  for (const auto& [name, size] : files) {
    const std::string out = a.Local("out/" + name);
    const RunResult r = a.Room({"download", "/Sizes/" + name, out});
    ASSERT_EQ(r.exit_code, 0) << Describe(r);
    EXPECT_NE(r.out.find("Downloaded " + name + " (version 1"), std::string::npos) << r.out;
    EXPECT_TRUE(SameContent(a.Local(name), out)) << name;
  }
  // Without LOCAL, into the working directory under the file's name.
  fs::create_directories(a.Local("cwd"));
  const RunResult r = a.Room({"download", "/Sizes/one.xlsx"}, a.Local("cwd"));
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_TRUE(SameContent(a.Local("one.xlsx"), a.Local("cwd/one.xlsx")));
  EXPECT_EQ(EntriesIn(a.Tmp()), 0u) << "the client left temporary files behind";
}

// --- 2. share, shared, download by id, unshare --------------------------------------------------

TEST_F(RoomCliTest, ShareDownloadByIdAndUnshareReencryptsTheStoredContainer) {
  const User& a = a_;
  const User& b = B();
  const User& c = C();
  const std::string content = RandomString(600'000, 21);
  const std::string id = Upload(a, "report.docx", content);
  const fs::path blob_v1 = BlobOf(id);
  const std::string v1 = ReadFile(blob_v1);
  ASSERT_GT(v1.size(), content.size());

  const json::value shared_entry = CliJson(a.Room({"share", "/report.docx", b.email, "--json"}));
  EXPECT_EQ(JInt(shared_entry, "/version"), 2);
  EXPECT_EQ(JArr(shared_entry, "/recipients").size(), 2u) << json::serialize(shared_entry);
  // Sharing re-wraps the file key only: the payload is unchanged (a new header), and the
  // previous version's blob is gone.
  const fs::path blob_v2 = BlobOf(id);
  const std::string v2 = ReadFile(blob_v2);
  EXPECT_FALSE(fs::exists(blob_v1)) << "the old version's blob was kept";
  const std::string payload_v1 = PayloadOf(v1);
  const std::string payload_v2 = PayloadOf(v2);
  ASSERT_GT(payload_v1.size(), content.size());
  EXPECT_GT(v2.size(), v1.size()) << "a second stanza";
  EXPECT_TRUE(payload_v2 == payload_v1) << "sharing changed the payload";

  // B sees it in `shared`, with its id and owner, and downloads it by id.
  const json::value b_shared = CliJson(b.Room({"shared", "--json"}));
  const json::array b_items = JArr(b_shared, "/items");
  ASSERT_EQ(b_items.size(), 1u) << json::serialize(b_shared);
  EXPECT_EQ(JStr(b_items[0], "/id"), id);
  EXPECT_EQ(JStr(b_items[0], "/name"), "report.docx");
  EXPECT_EQ(JStr(b_items[0], "/owner_id"), a.user_id);
  EXPECT_EQ(JStr(b_items[0], "/owner"), a.email);
  EXPECT_EQ(JInt(b_items[0], "/size"), static_cast<std::int64_t>(content.size()));
  RunResult r = b.Room({"download", id, b.Local("report.docx")});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(ReadFile(b.Local("report.docx")), content);

  // C, not a recipient, cannot tell the file exists.
  r = c.Room({"download", id, c.Local("report.docx")});
  ExpectCliFailure(r, "(not_found)");
  EXPECT_FALSE(fs::exists(c.Local("report.docx")));
  ExpectCliFailure(c.Room({"info", id}), "(not_found)");
  EXPECT_TRUE(JArr(CliJson(c.Room({"shared", "--json"})), "/items").empty());

  // A denies B: a new container under a new key for A alone.
  const json::value unshared = CliJson(a.Room({"unshare", "/report.docx", b.email, "--json"}));
  EXPECT_EQ(JInt(unshared, "/version"), 3);
  ASSERT_EQ(JArr(unshared, "/recipients").size(), 1u) << json::serialize(unshared);
  EXPECT_EQ(JStr(unshared, "/recipients/0/user_id"), a.user_id);
  r = b.Room({"download", id, b.Local("again.docx")});
  ExpectCliFailure(r, "(not_found)");
  EXPECT_FALSE(fs::exists(b.Local("again.docx")));
  EXPECT_TRUE(JArr(CliJson(b.Room({"shared", "--json"})), "/items").empty());

  // The stored container was re-encrypted: a payload of the same length with nothing in
  // common with the old one beyond chance (first 4 KiB: no common prefix; overall: about
  // 1 byte in 256 equal at the same offset).
  const fs::path blob_v3 = BlobOf(id);
  const std::string v3 = ReadFile(blob_v3);
  EXPECT_FALSE(fs::exists(blob_v2));
  const std::string payload_v3 = PayloadOf(v3);
  ASSERT_EQ(payload_v3.size(), payload_v2.size());
  EXPECT_LT(CommonPrefix(payload_v3, payload_v2), 8u);
  EXPECT_NE(payload_v3.substr(0, 4096), payload_v2.substr(0, 4096));
  std::size_t equal = 0;
  for (std::size_t i = 0; i < payload_v3.size(); ++i) equal += payload_v3[i] == payload_v2[i] ? 1 : 0;
  EXPECT_LT(equal, payload_v3.size() / 128) << "the payload after unshare is largely the old one";
  EXPECT_NE(v3.substr(0, 4096), v2.substr(0, 4096));

  // A still reads it.
  r = a.Room({"download", "/report.docx", a.Local("back.docx")});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_NE(r.out.find("version 3"), std::string::npos) << r.out;
  EXPECT_EQ(ReadFile(a.Local("back.docx")), content);
}

// --- 3. names, moves, copy, delete --------------------------------------------------------------

TEST_F(RoomCliTest, NameConflictsMovesCopyAndRemove) {
  const User& a = a_;
  Database db(portal_.db_path());
  ASSERT_EQ(a.Room({"mkdir", "/Dir"}).exit_code, 0);
  RunResult r = a.Room({"mkdir", "/Dir"});
  ExpectCliFailure(r, "(name_taken)");
  EXPECT_NE(r.err.find("already exists"), std::string::npos) << Describe(r);
  ExpectCliFailure(a.Room({"mkdir", "/Nowhere/Sub"}), "no such folder");

  // Only office documents: a name without a known extension is a usage error; a type the
  // portal does not allow (.txt) is refused by the server, and nothing of it stays on disk.
  WriteFile(a.Local("notes"), "x");
  r = a.Room({"upload", a.Local("notes")});
  EXPECT_EQ(r.exit_code, 2) << Describe(r);
  WriteFile(a.Local("notes.txt"), "plain text");
  ExpectCliFailure(a.Room({"upload", a.Local("notes.txt")}), "(type_not_allowed)");
  EXPECT_TRUE(AllBlobs().empty());
  EXPECT_EQ(EntriesIn(fs::path(portal_.blob_dir()) / "staging"), 0u);
  EXPECT_EQ(db.Int("SELECT count(*) FROM room_uploads"), 0);

  const std::string x_content = RandomString(20'000, 31);
  const std::string x_id = Upload(a, "x.docx", x_content, "/Dir");
  // The same name again: never overwritten, also when the case differs (NDA.docx = nda.docx).
  ExpectCliFailure(a.Room({"upload", a.Local("x.docx"), "/Dir"}), "(name_taken)");
  fs::create_directories(a.Local("upper"));
  WriteFile(a.Local("upper/X.DOCX"), "other content");
  ExpectCliFailure(a.Room({"upload", a.Local("upper/X.DOCX"), "/Dir"}), "(name_taken)");
  // Files and folders share one namespace per folder.
  ExpectCliFailure(a.Room({"mkdir", "/Dir/x.docx"}), "(name_taken)");
  EXPECT_EQ(db.Int("SELECT count(*) FROM room_items WHERE owner_id = ?1", {a.user_id}), 3)
      << "root, /Dir and /Dir/x.docx only";

  // mv never lands on an existing name: a file of that name, or a folder that holds one.
  const std::string y_id = Upload(a, "y.docx", RandomString(5000, 32));
  fs::create_directories(a.Local("second"));
  WriteFile(a.Local("second/x.docx"), "a different x");
  const json::value x2 = CliJson(a.Room({"upload", a.Local("second/x.docx"), "/", "--json"}));
  const std::string x2_id = JStr(x2, "/id");
  ExpectCliFailure(a.Room({"mv", "/y.docx", "/Dir/x.docx"}), "(name_taken)");
  ExpectCliFailure(a.Room({"mv", "/x.docx", "/Dir"}), "(name_taken)");  // The server's refusal.
  // Both files are still where they were, unchanged.
  EXPECT_EQ(db.Int("SELECT revision FROM room_items WHERE id = ?1", {x_id}), 1);
  EXPECT_EQ(db.Int("SELECT revision FROM room_items WHERE id = ?1", {x2_id}), 1);
  EXPECT_EQ(db.Int("SELECT revision FROM room_items WHERE id = ?1", {y_id}), 1);

  // A folder cannot move into itself.
  ASSERT_EQ(a.Room({"mkdir", "/Dir/Inner"}).exit_code, 0);
  ExpectCliFailure(a.Room({"mv", "/Dir", "/Dir/Inner"}), "(invalid_move)");
  ASSERT_EQ(a.Room({"rm", "/Dir/Inner"}).exit_code, 0);

  // A move with a rename works, and the file keeps its id.
  const json::value moved = CliJson(a.Room({"mv", "/y.docx", "/Dir/z.docx", "--json"}));
  EXPECT_EQ(JStr(moved, "/id"), y_id);
  EXPECT_EQ(JStr(moved, "/name"), "z.docx");
  EXPECT_EQ(JInt(moved, "/version"), 2);

  // B cannot move a file shared with them: only own items move (a usage error, exit 2).
  const User& b = B();
  ASSERT_EQ(a.Room({"share", "/Dir/z.docx", b.email}).exit_code, 0);
  r = b.Room({"mv", y_id, "/mine.docx"});
  EXPECT_EQ(r.exit_code, 2) << Describe(r);
  EXPECT_NE(r.err.find("only items of your own room"), std::string::npos) << Describe(r);
  EXPECT_EQ(db.Text("SELECT parent_id FROM room_items WHERE id = ?1", {y_id}),
            db.Text("SELECT id FROM room_items WHERE owner_id = ?1 AND kind = 'folder' AND "
                    "parent_id IS NOT NULL",
                    {a.user_id}))
      << "z.docx left /Dir";

  // No copy in the Private Room.
  ExpectCliFailure(a.Room({"cp", "/Dir/x.docx", "/Dir/copy.docx"}), "(not_supported)");
  EXPECT_EQ(db.Int("SELECT count(*) FROM room_items WHERE kind = 'file'"), 3);

  // rm of a file: row and blob go.
  ASSERT_EQ(BlobsOf(y_id).size(), 1u);
  r = a.Room({"rm", "/Dir/z.docx"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_TRUE(BlobsOf(y_id).empty()) << "the deleted file's blob is still on disk";
  EXPECT_EQ(db.Int("SELECT count(*) FROM room_items WHERE id = ?1", {y_id}), 0);
  EXPECT_EQ(db.Int("SELECT count(*) FROM room_recipients WHERE file_id = ?1", {y_id}), 0);

  // rm of a folder removes everything in it, depth first.
  ASSERT_EQ(a.Room({"mkdir", "/Dir/Sub"}).exit_code, 0);
  const std::string deep_id = Upload(a, "deep.pptx", RandomString(70'000, 33), "/Dir/Sub");
  const std::size_t blobs_before = AllBlobs().size();
  r = a.Room({"rm", "/Dir"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_TRUE(BlobsOf(x_id).empty());
  EXPECT_TRUE(BlobsOf(deep_id).empty());
  EXPECT_EQ(AllBlobs().size(), blobs_before - 2);
  EXPECT_EQ(db.Int("SELECT count(*) FROM room_items WHERE owner_id = ?1", {a.user_id}), 2)
      << "only the root and /x.docx remain";
  const json::value root = CliJson(a.Room({"ls", "/", "--json"}));
  const json::array items = JArr(root, "/items");
  ASSERT_EQ(items.size(), 1u) << json::serialize(root);
  EXPECT_EQ(JStr(items[0], "/id"), x2_id);
}

// --- 4. zero knowledge -----------------------------------------------------------------------

TEST_F(RoomCliTest, NoNameOrContentReachesTheServersDiskOrLog) {
  const User& a = a_;
  const User& b = B();
  const std::string content_canary = "CANARY-CONTENT-5b9e41d2c7";
  const std::string file_canary = "canary-name-7f3a.docx";
  const std::string moved_canary = "canary-moved-1d8e.docx";
  const std::string folder_canary = "canary-folder-c41d";
  std::string content = content_canary + RandomString(200'000, 41) + content_canary +
                        RandomString(100'000, 42) + content_canary;

  ASSERT_EQ(a.Room({"mkdir", "/" + folder_canary}).exit_code, 0);
  const std::string id = Upload(a, file_canary, content, "/" + folder_canary);
  ASSERT_EQ(a.Room({"share", "/" + folder_canary + "/" + file_canary, b.email}).exit_code, 0);
  const json::value shared = CliJson(b.Room({"shared", "--json"}));
  EXPECT_EQ(JStr(shared, "/items/0/name"), file_canary);
  ASSERT_EQ(b.Room({"download", id, b.Local("got.docx")}).exit_code, 0);
  EXPECT_EQ(ReadFile(b.Local("got.docx")), content);
  ASSERT_EQ(a.Room({"mv", "/" + folder_canary + "/" + file_canary,
                    "/" + folder_canary + "/" + moved_canary})
                .exit_code,
            0);
  const json::value listing = CliJson(a.Room({"ls", "/" + folder_canary, "--json"}));
  EXPECT_EQ(JStr(listing, "/items/0/name"), moved_canary);

  const std::vector<std::string> canaries = {content_canary, file_canary, moved_canary,
                                             folder_canary, "canary-"};
  // Every file under the data directory (database, WAL, blobs, lock), and the log.
  const auto scan = [&](const std::string& when) {
    std::size_t files = 0;
    bool saw_email = false;
    for (const auto& entry : fs::recursive_directory_iterator(portal_.data_dir())) {
      if (!entry.is_regular_file()) continue;
      ++files;
      const std::string bytes = ReadFile(entry.path());
      saw_email = saw_email || bytes.find(b.email) != std::string::npos;
      for (const auto& canary : canaries) {
        EXPECT_EQ(bytes.find(canary), std::string::npos)
            << "'" << canary << "' is in " << entry.path() << " (" << when << ")";
      }
    }
    // The control: the scan reads the database (emails are stored in the clear).
    EXPECT_TRUE(saw_email) << "the scan did not read the database (" << when << ")";
    EXPECT_GE(files, 3u);
    const std::string log = portal_.Log();
    EXPECT_NE(log.find("/api/v1/room/"), std::string::npos) << "the log has no room requests";
    for (const auto& canary : canaries) {
      EXPECT_EQ(log.find(canary), std::string::npos) << "'" << canary << "' is in the log";
    }
  };
  scan("while running");
  // After a clean shutdown (the WAL checkpointed into the database).
  ASSERT_EQ(portal_.Stop(), 0);
  scan("after shutdown");
}

// --- 5. a malicious server ------------------------------------------------------------------

// The server renames (swaps two files' name_hmac), moves a file into another folder, and
// swaps two folders' names; each time it puts things back afterwards.
TEST_F(RoomCliTest, ServerRenamingOrMovingItemsIsDetected) {
  const User& a = a_;
  ASSERT_EQ(a.Room({"mkdir", "/Folder"}).exit_code, 0);
  ASSERT_EQ(a.Room({"mkdir", "/Other"}).exit_code, 0);
  const std::string a_id = Upload(a, "a.docx", RandomString(30'000, 51), "/Folder");
  const std::string b_id = Upload(a, "b.docx", RandomString(40'000, 52), "/Folder");
  Database db(portal_.db_path());
  // UNIQUE(parent_id, name_hmac): a swap goes through a temporary value.
  const auto swap = [&](const std::string& column, const std::string& x, const std::string& y) {
    const std::string vx = db.Text("SELECT " + column + " FROM room_items WHERE id = ?1", {x});
    const std::string vy = db.Text("SELECT " + column + " FROM room_items WHERE id = ?1", {y});
    ASSERT_NE(vx, vy);
    db.Exec("BEGIN IMMEDIATE");
    db.Exec("UPDATE room_items SET " + column + " = 'swapping' WHERE id = ?1", {x});
    db.Exec("UPDATE room_items SET " + column + " = ?2 WHERE id = ?1", {y, vx});
    db.Exec("UPDATE room_items SET " + column + " = ?2 WHERE id = ?1", {x, vy});
    db.Exec("COMMIT");
  };

  // 1. /Folder/a.docx now answers with b.docx's row.
  ASSERT_NO_FATAL_FAILURE(swap("name_hmac", a_id, b_id));
  RunResult r = a.Room({"download", "/Folder/a.docx", a.Local("a.docx.out")});
  ExpectCliFailure(r, "record_mismatch");
  EXPECT_FALSE(fs::exists(a.Local("a.docx.out")));
  ExpectCliFailure(a.Room({"ls", "/Folder"}), "record_mismatch");
  // The control: put back, the same download works.
  ASSERT_NO_FATAL_FAILURE(swap("name_hmac", a_id, b_id));
  r = a.Room({"download", "/Folder/a.docx", a.Local("a.docx.out")});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(ReadFile(a.Local("a.docx.out")), ReadFile(a.Local("a.docx")));

  // 2. a.docx listed in /Other.
  const std::string folder_id =
      db.Text("SELECT parent_id FROM room_items WHERE id = ?1", {a_id});
  const std::string root_id = db.Text("SELECT parent_id FROM room_items WHERE id = ?1", {folder_id});
  const std::string other_id = db.Text(
      "SELECT id FROM room_items WHERE parent_id = ?1 AND kind = 'folder' AND id != ?2",
      {root_id, folder_id});
  db.Exec("UPDATE room_items SET parent_id = ?2 WHERE id = ?1", {a_id, other_id});
  ExpectCliFailure(a.Room({"ls", "/Other"}), "record_mismatch");
  db.Exec("UPDATE room_items SET parent_id = ?2 WHERE id = ?1", {a_id, folder_id});

  // 3. The two folders swap names: /Folder leads into Other.
  ASSERT_NO_FATAL_FAILURE(swap("name_hmac", folder_id, other_id));
  r = a.Room({"download", "/Folder/a.docx", a.Local("a2.docx.out")});
  ExpectCliFailure(r, "record_mismatch");
  EXPECT_FALSE(fs::exists(a.Local("a2.docx.out")));
}

// The server plants B's folder and B's file in A's room (rows moved, owner changed). A's
// listing still shows A's own items, flags the two planted ones by id without opening them
// (no name, nothing decrypted), and exits 1; fetching the planted file by id is refused.
TEST_F(RoomCliTest, ItemsTheServerInjectsAreFlaggedAndNeverOpened) {
  const User& a = a_;
  const User& b = B();
  Upload(a, "mine.docx", RandomString(20'000, 93));
  ASSERT_EQ(b.Room({"mkdir", "/PlantedFolder"}).exit_code, 0);
  const std::string planted_file = Upload(b, "planted.docx", RandomString(20'000, 94));
  Database db(portal_.db_path());
  const std::string a_root =
      db.Text("SELECT id FROM room_items WHERE owner_id = ?1 AND parent_id IS NULL", {a.user_id});
  const std::string planted_folder = db.Text(
      "SELECT id FROM room_items WHERE owner_id = ?1 AND kind = 'folder' AND parent_id IS NOT NULL",
      {b.user_id});
  ASSERT_FALSE(a_root.empty());
  ASSERT_FALSE(planted_folder.empty());
  for (const std::string& id : {planted_folder, planted_file}) {
    db.Exec("UPDATE room_items SET parent_id = ?2, owner_id = ?3 WHERE id = ?1",
            {id, a_root, a.user_id});
  }

  RunResult r = a.Room({"ls", "/"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_NE(r.out.find("mine.docx"), std::string::npos) << "A's own file is still listed\n"
                                                        << Describe(r);
  EXPECT_EQ(r.out.find("Planted"), std::string::npos) << Describe(r);
  EXPECT_EQ(r.out.find("planted"), std::string::npos) << Describe(r);
  for (const std::string& id : {planted_folder, planted_file}) {
    EXPECT_NE(r.out.find(id + ": failed verification"), std::string::npos) << id << "\n"
                                                                           << Describe(r);
    EXPECT_NE(r.err.find(id + " failed verification and was not opened"), std::string::npos)
        << id << "\n" << Describe(r);
  }

  r = a.Room({"ls", "/", "--json"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  const json::value listing = ParseJson(r.out);
  std::map<std::string, std::string> problems;
  std::set<std::string> names;
  for (const auto& item : listing.at("items").as_array()) {
    const auto& o = item.as_object();
    if (const auto* p = o.if_contains("problem")) {
      problems[std::string(o.at("id").as_string())] = std::string(p->as_string());
    } else {
      names.insert(std::string(o.at("name").as_string()));
    }
  }
  EXPECT_EQ(names, std::set<std::string>{"mine.docx"});
  ASSERT_EQ(problems.size(), 2u) << r.out;
  EXPECT_NE(problems[planted_folder].find("not your folder"), std::string::npos)
      << problems[planted_folder];
  EXPECT_NE(problems[planted_file].find("not_a_recipient"), std::string::npos)
      << problems[planted_file];

  r = a.Room({"download", planted_file, a.Local("planted.out")});
  ExpectCliFailure(r, "not_a_recipient");
  EXPECT_FALSE(fs::exists(a.Local("planted.out")));
}

TEST_F(RoomCliTest, ServerSwappingTwoFilesBlobsIsDetected) {
  const User& a = a_;
  ASSERT_EQ(a.Room({"mkdir", "/Folder"}).exit_code, 0);
  const std::string a_id = Upload(a, "a.docx", RandomString(50'000, 61), "/Folder");
  const std::string b_id = Upload(a, "b.docx", RandomString(50'000, 62), "/Folder");
  Database db(portal_.db_path());
  const auto ra = db.Query("SELECT blob_id, size FROM room_items WHERE id = ?1", {a_id});
  const auto rb = db.Query("SELECT blob_id, size FROM room_items WHERE id = ?1", {b_id});
  ASSERT_EQ(ra.size(), 1u);
  ASSERT_EQ(rb.size(), 1u);
  db.Exec("UPDATE room_items SET blob_id = ?2, size = ?3 WHERE id = ?1", {a_id, rb[0][0], rb[0][1]});
  db.Exec("UPDATE room_items SET blob_id = ?2, size = ?3 WHERE id = ?1", {b_id, ra[0][0], ra[0][1]});

  for (const char* name : {"a.docx", "b.docx"}) {
    const std::string out = a.Local(std::string(name) + ".out");
    const RunResult r = a.Room({"download", std::string("/Folder/") + name, out});
    ExpectCliFailure(r, "record_mismatch");
    EXPECT_FALSE(fs::exists(out)) << name;
  }
}

TEST_F(RoomCliTest, ServerRollingBackAFileIsDetected) {
  const User& a = a_;
  const User& b = B();
  const std::string content = RandomString(100'000, 71);
  const std::string id = Upload(a, "r.docx", content);
  RunResult r = a.Room({"download", "/r.docx", a.Local("v1.docx")});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_NE(r.out.find("version 1"), std::string::npos) << r.out;

  // The server keeps version 1 aside: its row and its blob.
  Database db(portal_.db_path());
  const auto saved = db.Query(
      "SELECT revision, blob_id, size, record, signature FROM room_items WHERE id = ?1", {id});
  ASSERT_EQ(saved.size(), 1u);
  const fs::path old_blob = BlobOf(id);
  const std::string old_bytes = ReadFile(old_blob);

  ASSERT_EQ(a.Room({"share", "/r.docx", b.email}).exit_code, 0);
  r = a.Room({"download", "/r.docx", a.Local("v2.docx")});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_NE(r.out.find("version 2"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(old_blob));

  // ... and serves it again.
  WriteFile(old_blob, old_bytes);
  db.Exec("UPDATE room_items SET revision = ?2, blob_id = ?3, size = ?4, record = ?5, "
          "signature = ?6 WHERE id = ?1",
          {id, saved[0][0], saved[0][1], saved[0][2], saved[0][3], saved[0][4]});
  r = a.Room({"download", "/r.docx", a.Local("v1-again.docx")});
  ExpectCliFailure(r, "(rolled_back)");
  EXPECT_NE(r.err.find("version 1"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(a.Local("v1-again.docx")));
}

// A folder's move is undone by the server (its old row and signed record put back): the
// client, having seen the newer revision, refuses the older one.
TEST_F(RoomCliTest, ServerRollingBackAFolderMoveIsDetected) {
  const User& a = a_;
  ASSERT_EQ(a.Room({"mkdir", "/Old"}).exit_code, 0);
  ASSERT_EQ(a.Room({"mkdir", "/Archive"}).exit_code, 0);
  Database db(portal_.db_path());
  const std::string root =
      db.Text("SELECT id FROM room_items WHERE owner_id = ?1 AND parent_id IS NULL", {a.user_id});
  const auto before = db.Query(
      "SELECT id, parent_id, name_hmac, revision, record, signature FROM room_items "
      "WHERE owner_id = ?1 AND kind = 'folder' AND parent_id = ?2 ORDER BY created_at, id",
      {a.user_id, root});
  ASSERT_EQ(before.size(), 2u);
  RunResult r = a.Room({"ls", "/"});  // Sees both at revision 1.
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  ASSERT_EQ(a.Room({"mv", "/Old", "/Archive"}).exit_code, 0);
  r = a.Room({"ls", "/Archive"});  // Sees Old at revision 2.
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  ASSERT_NE(r.out.find("Old/"), std::string::npos) << Describe(r);

  // The server puts the row of the folder that moved back as it was.
  for (const auto& row : before) {
    db.Exec("UPDATE room_items SET parent_id = ?2, name_hmac = ?3, revision = ?4, record = ?5, "
            "signature = ?6 WHERE id = ?1",
            {row[0], row[1], row[2], row[3], row[4], row[5]});
  }
  r = a.Room({"ls", "/"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_NE(r.err.find("rolled_back"), std::string::npos) << Describe(r);
  EXPECT_NE(r.out.find("Archive/"), std::string::npos) << Describe(r);
  EXPECT_EQ(r.out.find("Old/"), std::string::npos) << "the rolled-back folder is not shown by name\n"
                                                   << Describe(r);
  ExpectCliFailure(a.Room({"ls", "/Old"}), "rolled_back");
}

TEST_F(RoomCliTest, TamperedOrTruncatedBlobFailsAndLeavesNoOutput) {
  const User& a = a_;
  const std::string content = RandomString(kMiB, 81);
  const std::string id = Upload(a, "t.docx", content);
  const fs::path blob = BlobOf(id);
  ASSERT_FALSE(blob.empty());
  const std::string original = ReadFile(blob);
  fs::create_directories(a.Local("out"));
  const std::string out = a.Local("out/t.docx");

  // One byte flipped in the middle of the payload.
  std::string flipped = original;
  flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 0x01);
  WriteFile(blob, flipped);
  RunResult r = a.Room({"download", "/t.docx", out});
  ExpectCliFailure(r, "tampered");
  EXPECT_NE(r.err.find("payload_tampered"), std::string::npos) << Describe(r);
  EXPECT_FALSE(fs::exists(out));
  EXPECT_EQ(EntriesIn(a.Local("out")), 0u) << "a partial or temporary file was left";

  // The last 1000 bytes cut off (and the row's size made to agree).
  WriteFile(blob, original.substr(0, original.size() - 1000));
  {
    Database db(portal_.db_path());
    db.Exec("UPDATE room_items SET size = ?2 WHERE id = ?1",
            {id, static_cast<std::int64_t>(original.size() - 1000)});
  }
  r = a.Room({"download", "/t.docx", out});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_TRUE(r.err.find("truncated") != std::string::npos ||
              r.err.find("tampered") != std::string::npos)
      << Describe(r);
  EXPECT_FALSE(fs::exists(out));
  EXPECT_EQ(EntriesIn(a.Local("out")), 0u);

  // The control: the original bytes download fine.
  WriteFile(blob, original);
  {
    Database db(portal_.db_path());
    db.Exec("UPDATE room_items SET size = ?2 WHERE id = ?1",
            {id, static_cast<std::int64_t>(original.size())});
  }
  r = a.Room({"download", "/t.docx", out});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(ReadFile(out), content);
}

// `download` decrypts while the container streams in: no copy of it is written anywhere (the
// user's TMPDIR is made unusable, and the download still works), a connection cut in the
// middle of the body is resumed with a Range request from where it broke (not from zero),
// and when the network keeps failing the command fails with nothing left behind.
TEST_F(RoomCliTest, DownloadDecryptsWhileStreamingAndResumesABrokenConnection) {
  const User& a = a_;
  const fs::path local = a.Local("big.docx");
  ASSERT_NO_FATAL_FAILURE(WriteRandomFile(local, 8 * kMiB, 91));
  ASSERT_EQ(a.Room({"upload", local.string()}).exit_code, 0);

  // TMPDIR becomes a regular file: any temporary file there would fail to be created.
  fs::rename(a.Tmp(), a.Tmp() + ".away");
  WriteFile(a.Tmp(), "not a directory");

  // A second profile for the same account, through a relay that cuts the first two content
  // responses after 3 MiB.
  const int port = std::stoi(portal_.url().substr(portal_.url().rfind(':') + 1));
  const auto login_through = [&a](const CuttingProxy& proxy, const std::string& profile) {
    const RunResult login = a.Cli({"login", "--server", proxy.url(), "--email", a.email,
                                   "--profile", profile, "--password-stdin"},
                                  a.password + "\n");
    ASSERT_EQ(login.exit_code, 0) << Describe(login);
  };
  CuttingProxy flaky(port, "/content HTTP/1.1", 3 * kMiB, 2);
  ASSERT_NO_FATAL_FAILURE(login_through(flaky, "flaky"));
  const std::string out = a.Local("out/big.docx");
  fs::create_directories(a.Local("out"));
  RunResult r = a.Room({"download", "/big.docx", out, "--profile", "flaky"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_TRUE(SameContent(local, out));
  EXPECT_EQ(flaky.cuts(), 2);
  // Whole-content requests (the client also reads headers alone, with a bounded range).
  std::vector<std::string> content_requests;
  for (const auto& q : flaky.Requests()) {
    if (q.find("/content HTTP/1.1") == std::string::npos) continue;
    const auto range = q.find("Range: bytes=");
    const auto end = q.find("\r\n", range);
    if (range != std::string::npos && q.substr(range, end - range).back() != '-') continue;
    content_requests.push_back(q);
  }
  ASSERT_EQ(content_requests.size(), 3u) << "one request, then one per cut";
  EXPECT_EQ(content_requests[0].find("Range:"), std::string::npos) << content_requests[0];
  // Each resumption starts after the bytes that arrived, never from zero.
  std::uint64_t previous = 0;
  for (std::size_t i = 1; i < 3; ++i) {
    const std::string& q = content_requests[i];
    const auto at = q.find("Range: bytes=");
    ASSERT_NE(at, std::string::npos) << q;
    const std::uint64_t from = std::stoull(q.substr(at + 13));
    EXPECT_GT(from, previous) << "resumed from the bytes that arrived:\n" << q;
    previous = from;
    EXPECT_NE(q.find("If-Range: \""), std::string::npos) << q;
  }

  // Every attempt cut: a network error, no output and no temporary file.
  CuttingProxy broken(port, "/content HTTP/1.1", kMiB, 100);
  ASSERT_NO_FATAL_FAILURE(login_through(broken, "broken"));
  const std::string out2 = a.Local("out/big2.docx");
  r = a.Room({"download", "/big.docx", out2, "--profile", "broken"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_EQ(r.err.find("tampered"), std::string::npos) << "a broken network is not tampering\n"
                                                       << Describe(r);
  EXPECT_FALSE(fs::exists(out2));
  EXPECT_EQ(EntriesIn(a.Local("out")), 1u) << "only big.docx";
  EXPECT_EQ(broken.cuts(), 4) << "one try and three resumptions";

  fs::remove(a.Tmp());
  fs::rename(a.Tmp() + ".away", a.Tmp());
}

// `download` never replaces an existing file unless told to (--force); without it, it
// refuses before transferring anything.
TEST_F(RoomCliTest, DownloadDoesNotOverwriteAnExistingFileWithoutForce) {
  const User& a = a_;
  const std::string content = RandomString(200'000, 92);
  Upload(a, "o.docx", content);
  const std::string out = a.Local("existing.docx");
  WriteFile(out, "precious local edits");
  RunResult r = a.Room({"download", "/o.docx", out});
  ExpectCliFailure(r, "(already_exists)");
  EXPECT_EQ(ReadFile(out), "precious local edits");
  // The default target (the file's name in the current directory) is protected the same way.
  r = a.Room({"download", "/o.docx"}, a.Work());
  ExpectCliFailure(r, "(already_exists)");
  EXPECT_EQ(ReadFile(a.Local("o.docx")), content) << "the uploaded original is untouched";
  r = a.Room({"download", "/o.docx", out, "--force"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(ReadFile(out), content);
}

TEST_F(RoomCliTest, ServerSubstitutingARecipientsKeyIsRefusedUntilTrusted) {
  const User& a = a_;
  const User& b = B();
  RunResult r = a.Cli({"key", b.email});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_NE(r.out.find(b.fingerprint), std::string::npos) << r.out;
  const std::string id = Upload(a, "s.docx", RandomString(10'000, 91));

  // The server hands out a key of its own making for B's user id.
  auto fake = crypto::Identity::Generate(b.user_id);
  ASSERT_TRUE(fake.has_value());
  const auto fake_bytes = fake->public_bundle().Serialize();
  const std::string fake_fingerprint = fake->public_bundle().DisplayFingerprint();
  ASSERT_NE(fake_fingerprint, b.fingerprint);
  Database db(portal_.db_path());
  db.Exec("UPDATE users SET public_bundle = ?2 WHERE id = ?1",
          {b.user_id, Database::Blob{std::string(fake_bytes.begin(), fake_bytes.end())}});

  r = a.Room({"share", "/s.docx", b.email});
  ExpectCliFailure(r, "WARNING");
  EXPECT_NE(r.err.find("DIFFERENT key"), std::string::npos) << Describe(r);
  EXPECT_NE(r.err.find(b.fingerprint), std::string::npos) << "the pinned fingerprint\n" << r.err;
  EXPECT_NE(r.err.find(fake_fingerprint), std::string::npos) << "the offered fingerprint\n" << r.err;
  EXPECT_NE(r.err.find("keys trust"), std::string::npos) << r.err;
  // Nothing was shared: same version, A the only recipient, and the pin is unchanged.
  EXPECT_EQ(db.Int("SELECT revision FROM room_items WHERE id = ?1", {id}), 1);
  EXPECT_EQ(db.Int("SELECT count(*) FROM room_recipients WHERE file_id = ?1", {id}), 1);
  EXPECT_EQ(db.Int("SELECT count(*) FROM room_recipients WHERE user_id = ?1", {b.user_id}), 0);
  const json::value pins = CliJson(a.Cli({"keys", "show", b.email, "--json"}));
  ASSERT_EQ(JArr(pins, "/keys").size(), 1u) << json::serialize(pins);
  EXPECT_EQ(JStr(pins, "/keys/0/fingerprint"), b.fingerprint);

  // Trusting needs the fingerprint of the key the server offers; a wrong one changes nothing.
  r = a.Cli({"keys", "trust", b.email, b.fingerprint});
  ExpectCliFailure(r, "nothing changed");
  r = a.Cli({"keys", "trust", b.email, fake_fingerprint});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  const json::value info = CliJson(a.Room({"share", "/s.docx", b.email, "--json"}));
  EXPECT_EQ(JArr(info, "/recipients").size(), 2u) << json::serialize(info);
  EXPECT_EQ(db.Int("SELECT count(*) FROM room_recipients WHERE user_id = ?1", {b.user_id}), 1);
  EXPECT_EQ(JStr(CliJson(a.Cli({"keys", "show", b.email, "--json"})), "/keys/0/fingerprint"),
            fake_fingerprint);
}

// The server answers the key lookup for b@example.com with a user id and key of its own
// making (B's account keeps its keys under another email). A pinned B's key before: the
// file key must not be wrapped for the server's key without a warning (docs/private-room.md
// section 1, "substitute a recipient's public key"; docs/cli.md: "a changed key when
// sharing ... nothing is shared until keys trust").
TEST_F(RoomCliTest, ServerMappingAnEmailToAnotherUserIdCannotRedirectAShare) {
  const User& a = a_;
  const User& b = B();
  RunResult r = a.Cli({"key", b.email});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  const std::string id = Upload(a, "s.docx", RandomString(10'000, 121));

  std::random_device device;
  std::vector<std::uint8_t> random_id(16);
  for (auto& x : random_id) x = static_cast<std::uint8_t>(device());
  const std::string fake_id = "u-" + crypto::HexEncode(random_id);
  auto fake = crypto::Identity::Generate(fake_id);
  ASSERT_TRUE(fake.has_value());
  const auto fake_bytes = fake->public_bundle().Serialize();
  Database db(portal_.db_path());
  db.Exec("BEGIN IMMEDIATE");
  db.Exec("UPDATE users SET email = 'moved-b@example.com' WHERE id = ?1", {b.user_id});
  db.Exec(
      "INSERT INTO users (id, email, display_name, role, active, auth_verifier, kdf_algorithm,"
      " kdf_opslimit, kdf_memlimit, kdf_salt, public_bundle, private_bundle, recovery_bundle,"
      " recovery_verifier, created_at, updated_at)"
      " SELECT ?1, ?2, display_name, role, active, auth_verifier, kdf_algorithm, kdf_opslimit,"
      " kdf_memlimit, kdf_salt, ?3, private_bundle, recovery_bundle, recovery_verifier,"
      " created_at, updated_at FROM users WHERE id = ?4",
      {fake_id, b.email, Database::Blob{std::string(fake_bytes.begin(), fake_bytes.end())},
       b.user_id});
  db.Exec("COMMIT");

  r = a.Room({"share", "/s.docx", b.email});
  EXPECT_EQ(r.exit_code, 1) << "the file was shared with a key the server made:\n" << Describe(r);
  EXPECT_NE(r.err.find("WARNING"), std::string::npos) << Describe(r);
  EXPECT_EQ(db.Int("SELECT count(*) FROM room_recipients WHERE file_id = ?1 AND user_id = ?2",
                   {id, fake_id}),
            0)
      << "the server's key is now a recipient of s.docx";
}

// The server swaps the emails of B and C, both recipients. "unshare FILE b@example.com"
// must take away B's access (or refuse), never C's while B keeps it.
TEST_F(RoomCliTest, ServerSwappingEmailsCannotRedirectAnUnshare) {
  const User& a = a_;
  const User& b = B();
  const User& c = C();
  const std::string id = Upload(a, "u.docx", RandomString(10'000, 131));
  ASSERT_EQ(a.Room({"share", "/u.docx", b.email}).exit_code, 0);
  ASSERT_EQ(a.Room({"share", "/u.docx", c.email}).exit_code, 0);
  Database db(portal_.db_path());
  db.Exec("BEGIN IMMEDIATE");
  db.Exec("UPDATE users SET email = 'swapping@example.com' WHERE id = ?1", {b.user_id});
  db.Exec("UPDATE users SET email = ?2 WHERE id = ?1", {c.user_id, b.email});
  db.Exec("UPDATE users SET email = ?2 WHERE id = ?1", {b.user_id, c.email});
  db.Exec("COMMIT");

  const RunResult r = a.Room({"unshare", "/u.docx", b.email});
  const std::int64_t b_left =
      db.Int("SELECT count(*) FROM room_recipients WHERE file_id = ?1 AND user_id = ?2",
             {id, b.user_id});
  EXPECT_TRUE(r.exit_code != 0 || b_left == 0)
      << "`unshare u.docx " << b.email << "` succeeded, but B is still a recipient and C was "
      << "removed instead:\n" << Describe(r);
}

// "/" is the room, the folder `upload` puts files into by default; `mv ITEM /` moves an item
// there like into any other folder (docs/cli.md: "into DST when it is a folder").
TEST_F(RoomCliTest, MoveIntoTheRootFolderBySlash) {
  const User& a = a_;
  ASSERT_EQ(a.Room({"mkdir", "/Dir"}).exit_code, 0);
  const std::string id = Upload(a, "m.docx", RandomString(3000, 141), "/Dir");
  const RunResult r = a.Room({"mv", "/Dir/m.docx", "/"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  Database db(portal_.db_path());
  EXPECT_EQ(db.Text("SELECT parent_id FROM room_items WHERE id = ?1", {id}),
            db.Text("SELECT id FROM room_items WHERE owner_id = ?1 AND parent_id IS NULL",
                    {a.user_id}))
      << "m.docx is not in the root folder";
}

// --- 6. info and keys show -----------------------------------------------------------------

// The binary fingerprint of `user_id`'s key as the server stores it, in hex.
// The fingerprint people compare (12 groups of 5 digits) of a user's registered key.
std::string DisplayFingerprintOf(Database& db, const std::string& user_id) {
  const auto rows = db.Query("SELECT public_bundle FROM users WHERE id = ?1", {user_id});
  if (rows.size() != 1 || !std::holds_alternative<Database::Blob>(rows[0][0])) {
    ADD_FAILURE() << "no public bundle for " << user_id;
    return {};
  }
  const std::string& bytes = std::get<Database::Blob>(rows[0][0]).bytes;
  auto bundle = crypto::PublicBundle::Parse(
      std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
  if (!bundle) {
    ADD_FAILURE() << "unparsable public bundle for " << user_id;
    return {};
  }
  return bundle->DisplayFingerprint();
}

TEST_F(RoomCliTest, InfoListsRecipientsWithFingerprintsAndKeysShowListsPins) {
  const User& a = a_;
  const User& b = B();
  const User& c = C();
  const std::string id = Upload(a, "i.docx", RandomString(12'345, 101));
  ASSERT_EQ(a.Room({"share", "/i.docx", b.email}).exit_code, 0);
  ASSERT_EQ(a.Room({"share", "/i.docx", c.email}).exit_code, 0);

  const json::value info = CliJson(a.Room({"info", "/i.docx", "--json"}));
  EXPECT_EQ(JStr(info, "/id"), id);
  EXPECT_EQ(JStr(info, "/name"), "i.docx");
  EXPECT_EQ(JInt(info, "/size"), 12'345);
  EXPECT_EQ(JInt(info, "/version"), 3);
  EXPECT_EQ(JStr(info, "/author_id"), a.user_id);
  EXPECT_EQ(JStr(info, "/content_type"),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document");
  const json::array recipients = JArr(info, "/recipients");
  ASSERT_EQ(recipients.size(), 3u) << json::serialize(info);
  Database db(portal_.db_path());
  std::map<std::string, std::string> email_of;
  for (const auto& rcp : recipients) {
    const std::string uid = JStr(rcp, "/user_id");
    email_of[uid] = JStr(rcp, "/email");
    const std::string fp = JStr(rcp, "/fingerprint");
    // Every recipient here is pinned (A shared with them), so info shows the full form.
    const std::string full = DisplayFingerprintOf(db, uid);
    EXPECT_FALSE(full.empty());
    EXPECT_EQ(fp, full) << uid << ": info shows " << fp << ", the key's fingerprint is " << full;
  }
  EXPECT_EQ(email_of.count(a.user_id), 1u);
  EXPECT_EQ(email_of[b.user_id], b.email);
  EXPECT_EQ(email_of[c.user_id], c.email);
  // The text form names every recipient too.
  const RunResult text = a.Room({"info", "/i.docx"});
  ASSERT_EQ(text.exit_code, 0) << Describe(text);
  EXPECT_NE(text.out.find("recipients"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find(b.email), std::string::npos) << text.out;
  EXPECT_NE(text.out.find(c.email), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("signature verified"), std::string::npos) << text.out;

  // keys show: B and C, pinned when A shared, with the fingerprints they registered with.
  const json::value pins = CliJson(a.Cli({"keys", "show", "--json"}));
  std::map<std::string, std::string> fingerprint_of;
  for (const auto& k : JArr(pins, "/keys")) {
    fingerprint_of[JStr(k, "/email")] = JStr(k, "/fingerprint");
    if (JStr(k, "/email") == b.email) {
      EXPECT_EQ(JStr(k, "/user_id"), b.user_id);
    }
  }
  EXPECT_EQ(fingerprint_of[b.email], b.fingerprint) << json::serialize(pins);
  EXPECT_EQ(fingerprint_of[c.email], c.fingerprint) << json::serialize(pins);
  const RunResult table = a.Cli({"keys", "show"});
  ASSERT_EQ(table.exit_code, 0) << Describe(table);
  EXPECT_NE(table.out.find(b.fingerprint), std::string::npos) << table.out;
  EXPECT_NE(table.out.find(c.fingerprint), std::string::npos) << table.out;
  const json::value only_c = CliJson(a.Cli({"keys", "show", c.email, "--json"}));
  EXPECT_EQ(JArr(only_c, "/keys").size(), 1u) << json::serialize(only_c);
  ExpectCliFailure(a.Cli({"keys", "show", "nobody@example.com"}), "no pinned key");
}

// docs/cli.md, `share`: "their key is pinned on first use (its fingerprint is shown by `info`
// and `keys show`)". A person compares what `info` shows with what `keys show` (and the
// recipient's own `register`/`whoami`) shows, so the two must be the same kind of
// fingerprint: the one `info` shows for B must be (a prefix of) B's pinned fingerprint.
TEST_F(RoomCliTest, InfoShowsTheSameFingerprintAsKeysShow) {
  const User& a = a_;
  const User& b = B();
  (void)Upload(a, "f.docx", RandomString(1000, 111));
  ASSERT_EQ(a.Room({"share", "/f.docx", b.email}).exit_code, 0);
  const json::value info = CliJson(a.Room({"info", "/f.docx", "--json"}));
  std::string shown;
  for (const auto& rcp : JArr(info, "/recipients")) {
    if (JStr(rcp, "/user_id") == b.user_id) shown = JStr(rcp, "/fingerprint");
  }
  ASSERT_FALSE(shown.empty()) << json::serialize(info);
  const json::value pins = CliJson(a.Cli({"keys", "show", b.email, "--json"}));
  const std::string pinned = JStr(pins, "/keys/0/fingerprint");
  const auto squash = [](std::string s) {
    s.erase(std::remove(s.begin(), s.end(), ' '), s.end());
    return s;
  };
  EXPECT_TRUE(!squash(shown).empty() && squash(pinned).starts_with(squash(shown)))
      << "info shows B's fingerprint as '" << shown << "', keys show (and register) as '"
      << pinned << "': a person cannot compare them";
}

// `strongroom open` with STRONGROOM_EDITOR standing in for the desktop application.
RunResult OpenWithEditor(const User& u, const std::string& ref, const std::string& editor) {
  return RunProcess(u.Argv({"open", ref, "--password-stdin"}, {"STRONGROOM_EDITOR=" + editor}),
                    u.password + "\n", 600s);
}

std::set<std::string> OpenWorkingDirectories() {
  std::set<std::string> out;
  for (const char* base : {"/dev/shm", "/tmp"}) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(base, ec)) {
      if (e.path().filename().string().starts_with("strongroom-open-")) out.insert(e.path());
    }
  }
  return out;
}

TEST_F(RoomCliTest, OpenEditsAsANewVersionForTheSameRecipientsAndWipesTheWorkingCopy) {
  const User& a = a_;
  const User& b = B();
  const std::string original = RandomString(70'000, 131);
  const std::string id = Upload(a, "e.docx", original);
  ASSERT_EQ(a.Room({"share", "/e.docx", b.email}).exit_code, 0);  // Version 2.
  const auto before = OpenWorkingDirectories();

  // B, a recipient, edits the shared file: the change is uploaded as version 3 by B.
  const RunResult edited = OpenWithEditor(b, id, "sh -c 'printf EDITED-BY-B >> \"$0\"'");
  ASSERT_EQ(edited.exit_code, 0) << Describe(edited);
  EXPECT_NE(edited.out.find("Uploaded the changes as version 3"), std::string::npos)
      << Describe(edited);
  ASSERT_EQ(a.Room({"download", "/e.docx", a.Local("e-after.docx")}).exit_code, 0);
  EXPECT_EQ(ReadFile(a.Local("e-after.docx")), original + "EDITED-BY-B");
  const json::value info = CliJson(a.Room({"info", "/e.docx", "--json"}));
  EXPECT_EQ(JInt(info, "/version"), 3);
  EXPECT_EQ(JStr(info, "/author_id"), b.user_id);
  EXPECT_EQ(JArr(info, "/recipients").size(), 2u) << "both keep access";

  // No change, or a failing application: nothing is uploaded.
  const RunResult unchanged = OpenWithEditor(a, "/e.docx", "true");
  ASSERT_EQ(unchanged.exit_code, 0) << Describe(unchanged);
  EXPECT_NE(unchanged.out.find("No changes"), std::string::npos) << Describe(unchanged);
  const RunResult failed = OpenWithEditor(a, "/e.docx", "sh -c 'printf x >> \"$0\"; exit 3'");
  EXPECT_EQ(failed.exit_code, 1) << Describe(failed);
  EXPECT_EQ(JInt(CliJson(a.Room({"info", "/e.docx", "--json"})), "/version"), 3);

  // Every working copy is gone, whatever happened.
  EXPECT_EQ(OpenWorkingDirectories(), before);
}

}  // namespace
}  // namespace strongroom::testing
