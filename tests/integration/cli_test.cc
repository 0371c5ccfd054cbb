// The offline CLI end to end: real binary, real files, exit codes, no partial output.
#include "support/process.h"
#include "support/text_util.h"

#include "strongroom/client/profile.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

namespace strongroom::testing {
namespace {

namespace fs = std::filesystem;

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

// --- Account commands, without a server ------------------------------------------------
// (End-to-end account tests against a real server are in accounts_test.cc.)

class AccountCliTest : public ::testing::Test {
 protected:
  // Runs the CLI with STRONGROOM_HOME pointing into the test's directory.
  RunResult Cli(std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), {"/usr/bin/env", "STRONGROOM_HOME=" + Home(), STRONGROOM_CLI_PATH});
    return RunProcess(args, input);
  }
  std::string Home() const { return (fs::path(dir_.path()) / "home").string(); }

  TempDir dir_;
};

TEST_F(AccountCliTest, UsageErrorsExitTwo) {
  RunResult r = Cli({"register", "--invite", "x", "--email", "a@example.com"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("strongroom: --server is required"), std::string::npos) << r.err;
  r = Cli({"login", "--server", "http://127.0.0.1:1"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  r = Cli({"sessions", "--revoke", "abc", "--revoke-others"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  r = Cli({"logins", "--limit", "0"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  r = Cli({"whoami", "--no-such-option"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  r = Cli({"whoami", "--profile", "../elsewhere"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("bad profile name"), std::string::npos) << r.err;
  r = Cli({"login", "--server", "ftp://127.0.0.1", "--email", "a@example.com"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  // Help is not an error.
  r = Cli({"register", "--help"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("--password-stdin"), std::string::npos) << r.out;
}

TEST_F(AccountCliTest, CommandsNeedingASessionSayHowToSignIn) {
  for (const char* command : {"whoami", "logout", "passwd", "sessions", "logins"}) {
    const RunResult r = Cli({command});
    EXPECT_EQ(r.exit_code, 1) << command;
    EXPECT_EQ(r.err, "strongroom: not signed in (run strongroom login)\n") << command;
  }
  const RunResult r = Cli({"key", "bob@example.com"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_FALSE(fs::exists(Home())) << "a read-only command created the profile directory";
}

TEST_F(AccountCliTest, ShortPasswordsAreRefusedBeforeContactingTheServer) {
  // Port 1 on loopback: nothing listens, so reaching the network would fail differently.
  RunResult r = Cli({"register", "--server", "http://127.0.0.1:1", "--invite", "tok", "--email",
                     "a@example.com", "--password-stdin"},
                    "short7!\n");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("too short"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("short7!"), std::string::npos) << "the password was printed";
  // Eight characters, counted as characters rather than bytes ("é" is two bytes).
  r = Cli({"register", "--server", "http://127.0.0.1:1", "--invite", "tok", "--email",
           "a@example.com", "--password-stdin"},
          "abcdéfg\n");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  // A long enough password gets as far as the (absent) server: a failure, not a usage error.
  r = Cli({"register", "--server", "http://127.0.0.1:1", "--invite", "tok", "--email",
           "a@example.com", "--password-stdin"},
          "correct horse battery\n");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.err.find("correct horse"), std::string::npos) << "the password was printed";
  // No input at all is a usage error too.
  r = Cli(
      {"login", "--server", "http://127.0.0.1:1", "--email", "a@example.com", "--password-stdin"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("standard input"), std::string::npos) << r.err;
}

TEST_F(AccountCliTest, RecoverWithAMistypedCodeExitsTwo) {
  const RunResult r =
      Cli({"recover", "--server", "http://127.0.0.1:1", "--email", "a@example.com",
           "--recovery-code-stdin", "--password-stdin"},
          "AAAAA-BBBBB-CCCCC-DDDDD-EEEEE-FFFFF-GGGGG-HHHHH-IIIII-JJJJJ-KKKKK\nlong enough pw\n");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("recovery code is mistyped"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("AAAAA"), std::string::npos) << "the code was printed";
}

TEST_F(AccountCliTest, PlainHttpOnlyToLoopback) {
  for (const char* url : {"http://example.com", "http://10.0.0.1:8443", "http://[2001:db8::1]"}) {
    const RunResult r =
        Cli({"login", "--server", url, "--email", "a@example.com", "--password-stdin"},
            "correct horse battery\n");
    EXPECT_EQ(r.exit_code, 2) << url;
    EXPECT_NE(r.err.find("refusing http://"), std::string::npos) << r.err;
  }
  // Loopback is allowed (and fails only because nothing listens there).
  for (const char* url : {"http://127.0.0.1:1", "http://[::1]:1", "http://localhost:1"}) {
    const RunResult r =
        Cli({"login", "--server", url, "--email", "a@example.com", "--password-stdin"},
            "correct horse battery\n");
    EXPECT_EQ(r.exit_code, 1) << url << ": " << r.err;
  }
}

TEST_F(AccountCliTest, ProfileFilesArePrivateAndUsed) {
  // Writes a profile the way login does, with a permissive umask to show modes do not
  // depend on it, then checks the CLI uses it.
  const mode_t old_umask = ::umask(0);
  ASSERT_EQ(::setenv("STRONGROOM_HOME", Home().c_str(), 1), 0);
  {
    auto store = client::ProfileStore::Open("work");
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->SaveProfile(
        {.server = "http://127.0.0.1:1", .email = "a@example.com", .user_id = "u-1"}));
    ASSERT_TRUE(store->SaveSession("token-value"));
    ASSERT_TRUE(store->SavePins({}));
  }
  ::unsetenv("STRONGROOM_HOME");
  ::umask(old_umask);
  const fs::path dir = fs::path(Home()) / "profiles" / "work";
  for (const fs::path& d : {fs::path(Home()), fs::path(Home()) / "profiles", dir}) {
    struct stat st {};
    ASSERT_EQ(::stat(d.c_str(), &st), 0) << d;
    EXPECT_EQ(st.st_mode & 0777, 0700u) << d;
  }
  for (const char* file : {"profile.json", "session", "pins.json"}) {
    struct stat st {};
    ASSERT_EQ(::stat((dir / file).c_str(), &st), 0) << file;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << file;
  }
  EXPECT_EQ(ReadFile(dir / "session"), "token-value\n");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), {}), 3) << "a temporary file was left";

  // The profile is used: the command reaches for the (absent) server, and says so.
  RunResult r = Cli({"whoami", "--profile", "work"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot connect to 127.0.0.1:1"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("token-value"), std::string::npos);
  // The default profile is still signed out.
  r = Cli({"whoami"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not signed in"), std::string::npos) << r.err;
  // A failed logout keeps the session, so it can be retried.
  r = Cli({"logout", "--profile", "work"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(fs::exists(dir / "session"));
}

}  // namespace
}  // namespace strongroom::testing
