// strongroom: the Strongroom client command line (docs/cli.md).
//
// Offline commands (no server): keygen, encrypt, decrypt, inspect, add-recipient,
// remove-recipient, rekey. Commands that talk to a server: account_commands.h,
// room_commands.h, admin_commands.h, collab_commands.h.
// Exit status: 0 on complete success, 1 on failure, 2 on misuse (the offline commands keep
// CLI11's own statuses for option errors, as they always had). Errors go to standard error
// and never contain key material.
#include "strongroom/account_commands.h"
#include "strongroom/admin_commands.h"
#include "strongroom/collab_commands.h"
#include "strongroom/two_factor_commands.h"
#include "strongroom/client/identity_file.h"
#include "strongroom/crypto/container.h"
#include "strongroom/crypto/identity.h"
#include "strongroom/io.h"
#include "strongroom/room_commands.h"
#include "strongroom/version.h"

#include <CLI/CLI.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace strongroom;

int Fail(std::string_view what, const boost::system::error_code& ec) {
  std::cerr << "strongroom: " << what << ": " << ec.message() << "\n";
  return 1;
}

int Fail(std::string_view what) {
  std::cerr << "strongroom: " << what << "\n";
  return 1;
}

std::string Hex(std::span<const std::uint8_t> b) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (auto c : b) {
    s += d[c >> 4];
    s += d[c & 15];
  }
  return s;
}

// Where an operation reads from: a named file or standard input.
class Input {
 public:
  result<void> Open(const std::string& path) {
    if (path.empty() || path == "-") {
      source_ = std::make_unique<io::FdSource>(STDIN_FILENO);
      return {};
    }
    auto f = io::InputFile::Open(path);
    if (!f) return f.error();
    file_.emplace(std::move(*f));
    return {};
  }
  io::Source& source() { return file_ ? file_->source() : *source_; }

 private:
  std::optional<io::InputFile> file_;
  std::unique_ptr<io::FdSource> source_;
};

// Where an operation writes to. A regular file is written atomically (temporary file, then
// rename on success), so a failed decryption never leaves partial plaintext behind. Standard
// output and devices (/dev/null, pipes) are streamed: there, each chunk is released only
// after it authenticates, and failure is reported by the exit status.
class Output {
 public:
  result<void> Open(const std::string& path, bool binary, unsigned mode) {
    if (path.empty() || path == "-") {
      if (binary && isatty(STDOUT_FILENO)) return errc::invalid_argument;
      sink_ = std::make_unique<io::FdSink>(STDOUT_FILENO);
      return {};
    }
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
      fd_ = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd_ < 0) return errc::io_error;
      sink_ = std::make_unique<io::FdSink>(fd_);
      return {};
    }
    auto f = io::AtomicFile::Create(path, mode);
    if (!f) return f.error();
    atomic_ = std::make_unique<io::AtomicFile>(std::move(*f));
    return {};
  }
  ~Output() {
    if (fd_ >= 0) ::close(fd_);
  }
  io::Sink& sink() { return atomic_ ? static_cast<io::Sink&>(*atomic_) : *sink_; }
  result<void> Commit() {
    if (atomic_) return atomic_->Commit();
    if (fd_ >= 0 && ::close(std::exchange(fd_, -1)) != 0) return errc::io_error;
    return {};
  }

 private:
  std::unique_ptr<io::AtomicFile> atomic_;
  std::unique_ptr<io::FdSink> sink_;
  int fd_ = -1;
};

std::string DefaultUserId() {
  std::random_device rd;
  std::string id = "user-";
  static const char* d = "0123456789abcdef";
  for (int i = 0; i < 16; ++i) id += d[rd() & 15];
  return id;
}

int Keygen(const std::string& out, const std::string& show, const std::string& user_id) {
  if (!show.empty()) {
    auto id = client::ReadIdentityFile(show);
    if (!id) return Fail("cannot read identity '" + show + "'", id.error());
    std::cout << id->public_bundle().ToText() << "\n";
    return 0;
  }
  auto id = crypto::Identity::Generate(user_id.empty() ? DefaultUserId() : user_id);
  if (!id) {
    return Fail(
        "cannot create identity (user id must be 1-255 printable characters without spaces)",
        id.error());
  }
  if (out.empty()) {
    if (isatty(STDOUT_FILENO)) {
      return Fail("refusing to print secret keys to a terminal; use -o FILE");
    }
    std::cout << id->ToText();
    std::cerr << "Public key: " << id->public_bundle().ToText() << "\n";
  } else {
    if (auto r = client::WriteIdentityFile(out, *id); !r) {
      return Fail("cannot write identity '" + out + "'", r.error());
    }
    std::cout << id->public_bundle().ToText() << "\n";
  }
  std::cerr << "User id: " << id->user_id() << "\n"
            << "Fingerprint: " << id->public_bundle().DisplayFingerprint() << "\n";
  return 0;
}

result<std::vector<crypto::PublicBundle>> Recipients(const std::vector<std::string>& args,
                                                     std::string& bad) {
  std::vector<crypto::PublicBundle> out;
  for (const auto& a : args) {
    auto b = client::ParseRecipient(a);
    if (!b) {
      bad = a.size() > 40 ? a.substr(0, 40) + "..." : a;
      return b.error();
    }
    out.push_back(std::move(*b));
  }
  return out;
}

int Encrypt(const std::vector<std::string>& recipient_args, const std::string& identity_path,
            const std::string& in_path, const std::string& out_path,
            const std::string& content_type, std::uint32_t chunk_size, unsigned threads) {
  auto author = client::ReadIdentityFile(identity_path);
  if (!author) return Fail("cannot read identity '" + identity_path + "'", author.error());
  std::string bad;
  auto recipients = Recipients(recipient_args, bad);
  if (!recipients) return Fail("bad recipient '" + bad + "'", recipients.error());
  // The author is always a recipient: you can read what you wrote.
  recipients->insert(recipients->begin(), author->public_bundle());
  Input in;
  if (auto r = in.Open(in_path); !r) return Fail("cannot open '" + in_path + "'", r.error());
  Output out;
  if (auto r = out.Open(out_path, true, 0644); !r) {
    if (r.error() == errc::invalid_argument) {
      return Fail("refusing to write binary output to a terminal; use -o FILE or a pipe");
    }
    return Fail("cannot create '" + out_path + "'", r.error());
  }
  crypto::EncryptOptions options;
  options.content_type = content_type;
  options.chunk_size = chunk_size;
  options.threads = threads;
  auto info = crypto::EncryptContainer(in.source(), out.sink(), *author, *recipients, options);
  if (!info) return Fail("encrypt", info.error());
  if (auto r = out.Commit(); !r) return Fail("cannot write output", r.error());
  return 0;
}

int Decrypt(const std::string& identity_path, const std::string& in_path,
            const std::string& out_path, unsigned threads, bool quiet) {
  auto identity = client::ReadIdentityFile(identity_path);
  if (!identity) return Fail("cannot read identity '" + identity_path + "'", identity.error());
  Input in;
  if (auto r = in.Open(in_path); !r) return Fail("cannot open '" + in_path + "'", r.error());
  Output out;
  if (auto r = out.Open(out_path, false, 0600); !r) {
    return Fail("cannot create '" + out_path + "'", r.error());
  }
  auto info = crypto::DecryptContainer(in.source(), out.sink(), *identity, threads);
  if (!info) return Fail("decrypt", info.error());
  if (auto r = out.Commit(); !r) return Fail("cannot write output", r.error());
  if (!quiet) {
    std::cerr << "strongroom: verified; signed by " << info->author.user_id() << " ("
              << info->author.DisplayFingerprint() << ")\n";
  }
  return 0;
}

int Inspect(const std::string& path) {
  Input in;
  if (auto r = in.Open(path); !r) return Fail("cannot open '" + path + "'", r.error());
  auto info = crypto::InspectContainer(in.source());
  if (!info) return Fail("inspect", info.error());
  std::cout << "format:        strongroom container v" << int(info->version) << "\n"
            << "file id:       " << Hex(info->file_id) << "\n"
            << "content type:  " << info->content_type << "\n"
            << "chunk size:    " << info->chunk_size << " bytes\n"
            << "header size:   " << info->header_size << " bytes\n";
  if (info->plaintext_size) {
    std::cout << "length:        " << *info->plaintext_size << " bytes (plaintext)\n";
  }
  std::cout << "author:        " << info->author.user_id() << "\n"
            << "  fingerprint: " << info->author.DisplayFingerprint() << "\n"
            << "recipients:    " << info->recipients.size() << "\n";
  for (const auto& r : info->recipients) {
    std::cout << "  " << r.user_id << "  " << Hex(r.fingerprint) << "\n";
  }
  std::cout << "(unauthenticated: inspect reads the header without a key)\n";
  return 0;
}

enum class Rewrite { add, remove, rekey };

int RewriteRecipients(Rewrite kind, const std::vector<std::string>& recipient_args,
                      const std::string& identity_path, const std::string& in_path,
                      const std::string& out_path) {
  auto signer = client::ReadIdentityFile(identity_path);
  if (!signer) return Fail("cannot read identity '" + identity_path + "'", signer.error());
  std::string bad;
  auto recipients = Recipients(recipient_args, bad);
  if (!recipients) return Fail("bad recipient '" + bad + "'", recipients.error());
  Input in;
  if (auto r = in.Open(in_path); !r) return Fail("cannot open '" + in_path + "'", r.error());
  Output out;
  if (auto r = out.Open(out_path, true, 0644); !r) {
    return Fail("cannot create '" + out_path + "'", r.error());
  }
  result<crypto::ContainerInfo> info = errc::internal;
  switch (kind) {
    case Rewrite::add:
      info = crypto::AddRecipients(in.source(), out.sink(), *signer, *recipients);
      break;
    case Rewrite::remove: {
      std::vector<crypto::Fingerprint> fps;
      for (const auto& r : *recipients) fps.push_back(r.fingerprint());
      info = crypto::RemoveRecipients(in.source(), out.sink(), *signer, fps);
      break;
    }
    case Rewrite::rekey:
      recipients->insert(recipients->begin(), signer->public_bundle());
      info = crypto::RekeyContainer(in.source(), out.sink(), *signer, *recipients);
      break;
  }
  if (!info) return Fail("update recipients", info.error());
  if (auto r = out.Commit(); !r) return Fail("cannot write output", r.error());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"strongroom: the Strongroom client (end-to-end encrypted document workspace)"};
  app.set_version_flag("-V,--version", std::string("strongroom ") + strongroom::kVersion);
  app.require_subcommand(0, 1);

  std::string out, show, user_id, identity, in, content_type = "application/octet-stream";
  std::vector<std::string> recipients;
  std::uint32_t chunk_size = crypto::kDefaultChunkSize;
  unsigned threads = 0;
  bool quiet = false;

  auto* keygen = app.add_subcommand("keygen", "Make a new identity (X25519 + Ed25519 key pairs)");
  keygen->add_option("-o,--output", out, "Identity file to create (mode 0600; never replaced)");
  keygen->add_option("-y", show, "Print the public key of an existing identity file");
  keygen->add_option("--user-id", user_id, "User id to bind into the public bundle");
  keygen->footer("Without -o the identity is written to standard output.");

  auto* encrypt = app.add_subcommand("encrypt", "Encrypt a file for recipients");
  encrypt->add_option("-r,--recipient", recipients, "Recipient public key (srpub1:...) or file")
      ->required();
  encrypt->add_option("-i,--identity", identity, "Author identity file (signs the file)")
      ->required();
  encrypt->add_option("-o,--output", out, "Output file (default: standard output)");
  encrypt->add_option("--content-type", content_type, "Content type recorded in the header")
      ->capture_default_str();
  encrypt->add_option("--chunk-size", chunk_size, "Payload chunk size (power of two, 4 KiB-16 MiB)")
      ->capture_default_str();
  encrypt->add_option("--threads", threads, "Worker threads (0: one per core)");
  encrypt->add_option("input", in, "Input file (default: standard input)");
  encrypt->footer("The author is always added as a recipient.");

  auto* decrypt = app.add_subcommand("decrypt", "Decrypt and verify a file");
  decrypt->add_option("-i,--identity", identity, "Identity file")->required();
  decrypt->add_option("-o,--output", out, "Output file (written only if everything verifies)");
  decrypt->add_option("--threads", threads, "Worker threads (0: one per core)");
  decrypt->add_flag("-q,--quiet", quiet, "Do not print who signed the file");
  decrypt->add_option("input", in, "Input file (default: standard input)");

  auto* inspect = app.add_subcommand("inspect", "Print a container's header without any key");
  inspect->add_option("file", in, "Container file (default: standard input)");

  auto* add =
      app.add_subcommand("add-recipient", "Give more recipients access (payload unchanged)");
  add->add_option("-r,--recipient", recipients, "Recipient public key or file")->required();
  add->add_option("-i,--identity", identity, "Your identity (must be a recipient)")->required();
  add->add_option("-o,--output", out, "Output file (default: standard output)");
  add->add_option("input", in, "Container (default: standard input)");

  auto* remove = app.add_subcommand(
      "remove-recipient", "Drop recipient stanzas (does not revoke a kept key: use rekey)");
  remove->add_option("-r,--recipient", recipients, "Recipient public key or file")->required();
  remove->add_option("-i,--identity", identity, "Your identity (must be a recipient)")->required();
  remove->add_option("-o,--output", out, "Output file (default: standard output)");
  remove->add_option("input", in, "Container (default: standard input)");

  auto* rekey = app.add_subcommand(
      "rekey", "Re-encrypt under a new file key for exactly these recipients (and you)");
  rekey->add_option("-r,--recipient", recipients, "Recipient public key or file");
  rekey->add_option("-i,--identity", identity, "Your identity (must be a recipient)")->required();
  rekey->add_option("-o,--output", out, "Output file (default: standard output)");
  rekey->add_option("input", in, "Container (default: standard input)");

  strongroom::cli::AccountCommands account_commands(app);
  strongroom::cli::RoomCommands room_commands(app);
  strongroom::cli::TwoFactorCommands two_factor_commands(app);
  strongroom::cli::AdminCommands admin_commands(app);
  strongroom::cli::CollabCommands collab_commands(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Usage errors of the account commands exit 2 (docs/cli.md); help and version exit 0.
    std::string command;
    for (int i = 1; i < argc && command.empty(); ++i) {
      if (argv[i][0] != '-') command = argv[i];
    }
    if (e.get_exit_code() != 0 &&
        (strongroom::cli::AccountCommands::IsAccountCommand(command) ||
         strongroom::cli::RoomCommands::IsRoomCommand(command) ||
         strongroom::cli::TwoFactorCommands::IsTwoFactorCommand(command) ||
         strongroom::cli::AdminCommands::IsAdminCommand(command) ||
         strongroom::cli::CollabCommands::IsCollabCommand(command))) {
      std::cerr << "strongroom: " << e.what() << "\nRun 'strongroom " << command
                << " --help' for the options.\n";
      return 2;
    }
    return app.exit(e);
  }
  try {
    if (auto status = account_commands.Run()) return *status;
    if (auto status = room_commands.Run()) return *status;
    if (auto status = two_factor_commands.Run()) return *status;
    if (auto status = admin_commands.Run()) return *status;
    if (auto status = collab_commands.Run()) return *status;
    if (keygen->parsed()) return Keygen(out, show, user_id);
    if (encrypt->parsed()) {
      return Encrypt(recipients, identity, in, out, content_type, chunk_size, threads);
    }
    if (decrypt->parsed()) return Decrypt(identity, in, out, threads, quiet);
    if (inspect->parsed()) return Inspect(in);
    if (add->parsed()) return RewriteRecipients(Rewrite::add, recipients, identity, in, out);
    if (remove->parsed()) return RewriteRecipients(Rewrite::remove, recipients, identity, in, out);
    if (rekey->parsed()) return RewriteRecipients(Rewrite::rekey, recipients, identity, in, out);
  } catch (const std::exception& e) {
    return Fail(std::string("internal error: ") + e.what());
  }
  std::cout << app.help();
  return 0;
}
