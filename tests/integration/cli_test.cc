// The offline CLI end to end: real binary, real files, exit codes, no partial output.
#include "support/process.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <filesystem>
#include <fstream>
#include <random>

namespace strongroom::testing {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

void WriteFile(const fs::path& p, const std::string& data) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f << data;
}

std::string Random(std::size_t n) {
  std::mt19937 rng(7);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

class CliTest : public ::testing::Test {
 protected:
  RunResult Cli(std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), STRONGROOM_CLI_PATH);
    return RunProcess(args, input);
  }
  std::string Keygen(const std::string& name) {
    const RunResult r = Cli({"keygen", "-o", Path(name + ".id"), "--user-id", name});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(r.out.starts_with("srpub1:")) << r.out;
    WriteFile(Path(name + ".pub"), r.out);
    return r.out.substr(0, r.out.find('\n'));
  }
  std::string Path(const std::string& name) const {
    return (fs::path(dir_.path()) / name).string();
  }
  std::size_t FilesInDir() const {
    return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir_.path()), {}));
  }

  TempDir dir_;
};

TEST_F(CliTest, KeygenWritesAPrivateFileAndPrintsThePublicKey) {
  const std::string pub = Keygen("alice");
  struct stat st {};
  ASSERT_EQ(stat(Path("alice.id").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const RunResult again = Cli({"keygen", "-y", Path("alice.id")});
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_EQ(again.out, pub + "\n");
  // Never replaces an existing identity.
  const std::string before = ReadFile(Path("alice.id"));
  const RunResult clobber = Cli({"keygen", "-o", Path("alice.id")});
  EXPECT_EQ(clobber.exit_code, 1);
  EXPECT_NE(clobber.err.find("refusing to overwrite"), std::string::npos) << clobber.err;
  EXPECT_EQ(ReadFile(Path("alice.id")), before);
  // The identity file never appears in a log-like place: stderr shows only public data.
  EXPECT_EQ(clobber.err.find("SRSEC1:"), std::string::npos);
}

TEST_F(CliTest, EncryptDecryptFilesAndPipes) {
  Keygen("alice");
  const std::string bob = Keygen("bob");
  const std::string plain = Random(300'000);
  WriteFile(Path("doc.docx"), plain);
  RunResult r =
      Cli({"encrypt", "-r", bob, "-i", Path("alice.id"), "-o", Path("doc.sr"), Path("doc.docx")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Cli({"decrypt", "-i", Path("bob.id"), "-o", Path("out.docx"), Path("doc.sr")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFile(Path("out.docx")), plain);
  EXPECT_NE(r.err.find("signed by alice"), std::string::npos) << r.err;
  // The author can read it too (always a recipient).
  r = Cli({"decrypt", "-q", "-i", Path("alice.id"), Path("doc.sr")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, plain);
  EXPECT_TRUE(r.err.empty()) << r.err;
  // stdin to stdout both ways, recipient given as a file.
  r = Cli({"encrypt", "-r", Path("bob.pub"), "-i", Path("alice.id")}, plain);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string container = r.out;
  r = Cli({"decrypt", "-q", "-i", Path("bob.id")}, container);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, plain);
}

TEST_F(CliTest, FailedDecryptionLeavesNoOutputAtAll) {
  Keygen("alice");
  const std::string bob = Keygen("bob");
  Keygen("eve");
  WriteFile(Path("doc"), Random(200'000));
  ASSERT_EQ(Cli({"encrypt", "-r", bob, "-i", Path("alice.id"), "-o", Path("doc.sr"), Path("doc")})
                .exit_code,
            0);
  std::string tampered = ReadFile(Path("doc.sr"));
  tampered[tampered.size() - 1000] ^= 1;  // In the last chunk.
  WriteFile(Path("bad.sr"), tampered);
  const std::size_t files = FilesInDir();

  RunResult r = Cli({"decrypt", "-i", Path("eve.id"), "-o", Path("out"), Path("doc.sr")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not shared with you"), std::string::npos) << r.err;
  r = Cli({"decrypt", "-i", Path("bob.id"), "-o", Path("out"), Path("bad.sr")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("payload authentication failed"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(Path("out")));
  EXPECT_EQ(FilesInDir(), files) << "a temporary file was left behind";

  // An existing output file survives a failed decryption untouched.
  WriteFile(Path("keep"), "precious");
  r = Cli({"decrypt", "-i", Path("bob.id"), "-o", Path("keep"), Path("bad.sr")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(ReadFile(Path("keep")), "precious");

  // Truncated input through a pipe: failure reported by the exit status.
  r = Cli({"decrypt", "-i", Path("bob.id")}, tampered.substr(0, 70'000));
  EXPECT_EQ(r.exit_code, 1);
}

TEST_F(CliTest, ClearErrorsForBadInput) {
  Keygen("alice");
  RunResult r = Cli({"decrypt", "-i", Path("alice.id")}, "not a strongroom file at all");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("malformed"), std::string::npos) << r.err;
  r = Cli({"decrypt", "-i", Path("missing.id")}, "");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("missing.id"), std::string::npos) << r.err;
  r = Cli({"encrypt", "-r", "srpub1:AAAA", "-i", Path("alice.id")}, "x");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("bad recipient"), std::string::npos) << r.err;
  r = Cli({"encrypt", "-i", Path("alice.id")}, "x");  // -r is required
  EXPECT_EQ(r.exit_code, 106);                        // CLI11's RequiredError
}

TEST_F(CliTest, InspectShowsTheHeaderWithoutAKey) {
  Keygen("alice");
  const std::string bob = Keygen("bob");
  WriteFile(Path("doc"), Random(5000));
  ASSERT_EQ(Cli({"encrypt", "-r", bob, "-i", Path("alice.id"), "--content-type", "text/plain", "-o",
                 Path("doc.sr"), Path("doc")})
                .exit_code,
            0);
  const RunResult r = Cli({"inspect", Path("doc.sr")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("text/plain"), std::string::npos);
  EXPECT_NE(r.out.find("author:        alice"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("recipients:    2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("length:        5000 bytes"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("chunk size:    65536"), std::string::npos) << r.out;
}

TEST_F(CliTest, ShareUnshareAndRekey) {
  Keygen("alice");
  const std::string bob = Keygen("bob");
  const std::string carol = Keygen("carol");
  const std::string plain = Random(150'000);
  WriteFile(Path("doc"), plain);
  ASSERT_EQ(
      Cli({"encrypt", "-r", bob, "-i", Path("alice.id"), "-o", Path("v1"), Path("doc")}).exit_code,
      0);
  // Alice shares with Carol: re-wrap only.
  RunResult r =
      Cli({"add-recipient", "-r", carol, "-i", Path("alice.id"), "-o", Path("v2"), Path("v1")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Cli({"decrypt", "-q", "-i", Path("carol.id"), Path("v2")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, plain);
  // Alice denies Bob: rekey for Alice and Carol only.
  r = Cli({"rekey", "-r", carol, "-i", Path("alice.id"), "-o", Path("v3"), Path("v2")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Cli({"decrypt", "-i", Path("bob.id"), Path("v3")}).exit_code, 1);
  r = Cli({"decrypt", "-q", "-i", Path("carol.id"), Path("v3")});
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, plain);
  // Removing Carol's stanza.
  r = Cli({"remove-recipient", "-r", carol, "-i", Path("alice.id"), "-o", Path("v4"), Path("v3")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Cli({"decrypt", "-i", Path("carol.id"), Path("v4")}).exit_code, 1);
}

}  // namespace
}  // namespace strongroom::testing
