#include "strongroom/room_commands.h"

#include "strongroom/account_commands.h"
#include "strongroom/cli_output.h"
#include "strongroom/client/key_pins.h"
#include "strongroom/client/room.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <iostream>

namespace strongroom::cli {
namespace {

using client::Error;
using client::Result;
using client::RoomEntry;

constexpr std::array<std::string_view, 13> kCommands = {
    "ls", "mkdir", "upload", "download", "mv", "cp", "rm", "share", "unshare", "shared", "info",
    "keys", "open"};

struct Options {
  std::string profile = std::string(client::kDefaultProfile);
  std::string ca_file;
  bool password_stdin = false;
  bool json = false;
  bool force = false;
  std::string a;  // First positional argument.
  std::string b;  // Second.
};

// A progress bar on stderr, only when stderr is a terminal.
client::Progress Bar() {
  if (::isatty(2) == 0) return {};
  return [](std::uint64_t done, std::uint64_t total) {
    if (total > 0) {
      std::cerr << "\r" << (done * 100 / total) << "% (" << done / 1024 << " KiB of "
                << total / 1024 << " KiB)" << (done == total ? "\n" : "") << std::flush;
    } else {
      std::cerr << "\r" << done / 1024 << " KiB" << std::flush;
    }
  };
}

boost::json::object EntryJson(const RoomEntry& e) {
  boost::json::object o{{"type", e.is_folder ? "folder" : "file"}, {"id", e.id}, {"name", e.name}};
  if (!e.problem.empty()) {
    o["problem"] = e.problem;
    return o;
  }
  if (!e.is_folder) {
    o["owner_id"] = e.owner_id;
    o["owner"] = e.owner_email;
    o["author_id"] = e.author_id;
    o["version"] = e.version;
    o["size"] = e.plaintext_size;
    o["encrypted_size"] = e.container_size;
    o["content_type"] = e.content_type;
    o["modified_ms"] = e.modified_ms;
    boost::json::array recipients;
    for (const auto& r : e.recipients) {
      recipients.push_back(boost::json::object{
          {"user_id", r.user_id}, {"email", r.email}, {"fingerprint", r.fingerprint}});
    }
    o["recipients"] = std::move(recipients);
    o["created_at"] = e.created_at;
    o["updated_at"] = e.updated_at;
  }
  return o;
}

void PrintEntries(const std::vector<RoomEntry>& entries, bool json) {
  if (json) {
    boost::json::array items;
    for (const auto& e : entries) items.push_back(EntryJson(e));
    PrintJson({{"items", std::move(items)}});
    return;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& e : entries) {
    if (!e.problem.empty()) {
      rows.push_back({"!!", "(" + e.id + ": failed verification, not opened)", "", "", ""});
    } else if (e.is_folder) {
      rows.push_back({"dir", e.name + "/", "", "", ""});
    } else {
      rows.push_back({"enc", e.name, std::to_string(e.plaintext_size),
                      e.owner_email.empty() ? e.owner_id : e.owner_email,
                      e.recipients.size() > 1 ? "shared(" + std::to_string(e.recipients.size() - 1) + ")"
                                              : "private"});
    }
  }
  PrintTable({"KIND", "NAME", "SIZE", "OWNER", "SHARING"}, rows);
}

// After a listing: every flagged item on standard error, and the exit status that makes a
// script notice (1), even though the good items were printed.
int ReportFlagged(const std::vector<RoomEntry>& entries) {
  int flagged = 0;
  for (const auto& e : entries) {
    if (e.problem.empty()) continue;
    ++flagged;
    std::cerr << "strongroom: " << (e.is_folder ? "folder " : "file ") << e.id
              << " failed verification and was not opened: " << client::Printable(e.problem)
              << "\n";
  }
  if (flagged == 0) return kExitOk;
  std::cerr << "strongroom: " << flagged << (flagged == 1 ? " item" : " items")
            << " above may have been put here or altered by the server; nothing was opened\n";
  return kExitFailed;
}

void PrintEntry(const RoomEntry& e, bool json) {
  if (json) {
    PrintJson(EntryJson(e));
    return;
  }
  if (e.is_folder) {
    std::cout << "folder " << e.name << " (" << e.id << ")\n";
    return;
  }
  std::cout << "file:     " << e.name << "\n"
            << "id:       " << e.id << "\n"
            << "size:     " << e.plaintext_size << " bytes (" << e.container_size
            << " encrypted)\n"
            << "type:     " << e.content_type << "\n"
            << "owner:    " << (e.owner_email.empty() ? e.owner_id : e.owner_email) << "\n"
            << "author:   " << e.author_id << " (version " << e.version << ", signature verified)\n"
            << "created:  " << e.created_at << "\nupdated:  " << e.updated_at << "\n"
            << "recipients (end-to-end encrypted for):\n";
  for (const auto& r : e.recipients) {
    std::cout << "  " << (r.email.empty() ? r.user_id : r.email) << "  " << r.fingerprint << "\n";
  }
}

// Runs the user's application on the working copy and waits for it: $STRONGROOM_EDITOR (a
// shell command; the file is its last argument), else xdg-open, which returns at once, so
// the user confirms on the terminal when the document is saved and closed.
int RunEditor(const std::string& file) {
  const char* editor = std::getenv("STRONGROOM_EDITOR");
  const bool custom = editor != nullptr && *editor != '\0';
  const pid_t pid = ::fork();
  if (pid < 0) return 127;
  if (pid == 0) {
    if (custom) {
      const std::string script = std::string(editor) + " \"$1\"";
      ::execl("/bin/sh", "sh", "-c", script.c_str(), "sh", file.c_str(), static_cast<char*>(nullptr));
    } else {
      ::execlp("xdg-open", "xdg-open", file.c_str(), static_cast<char*>(nullptr));
    }
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  if (code == 0 && !custom && ::isatty(0) != 0) {
    std::cerr << "Save and close the document, then press Enter here to upload it... "
              << std::flush;
    std::string line;
    std::getline(std::cin, line);
  }
  return code;
}

// Everything a room command needs: the session and the opened identity.
struct Unlocked {
  SignedInSession session;
  crypto::Identity identity;
};

Result<Unlocked> Unlock(const Options& o) {
  auto s = OpenSignedInSession(o.profile, o.ca_file);
  if (!s) return s.error();
  auto password = ReadExistingPassword(o.password_stdin);
  if (!password) return password.error();
  auto identity =
      client::UnlockIdentity(s->api, s->store, s->profile.user_id, password->view());
  if (!identity) return identity.error();
  return Unlocked{std::move(*s), std::move(*identity)};
}

int Keys(const Options& o, bool trust) {
  auto s = OpenSignedInSession(o.profile, o.ca_file);
  if (!s) return Report(s.error());
  if (trust) {
    auto info = s->api.PublicKeyByEmail(o.a);
    if (!info) return ReportSessionFailure(*s, info.error());
    auto bundle = client::VerifyPublicBundle(info->public_bundle, info->user_id);
    if (!bundle) return Report(bundle.error());
    auto squash = [](std::string x) {
      x.erase(std::remove(x.begin(), x.end(), ' '), x.end());
      return x;
    };
    if (squash(bundle->DisplayFingerprint()) != squash(o.b)) {
      return Report(Error::Refused("the server's key for " + client::Printable(o.a) +
                                   " has fingerprint " + bundle->DisplayFingerprint() +
                                   ", not the one you gave; nothing changed"));
    }
    auto pins = s->store.LoadPins();
    if (!pins) return Report(pins.error());
    (*pins)[bundle->user_id()] = client::Pin{.email = info->email,
                                             .fingerprint = bundle->DisplayFingerprint(),
                                             .public_bundle = bundle->Serialize()};
    if (auto r = s->store.SavePins(*pins); !r) return Report(r.error());
    std::cout << "Trusted " << client::Printable(info->email) << ": fingerprint "
              << bundle->DisplayFingerprint() << "\n";
    return kExitOk;
  }
  auto pins = s->store.LoadPins();
  if (!pins) return Report(pins.error());
  std::vector<std::vector<std::string>> rows;
  boost::json::array items;
  for (const auto& [user_id, pin] : *pins) {
    if (!o.a.empty() && pin.email != o.a) continue;
    rows.push_back({pin.email, pin.fingerprint, user_id});
    items.push_back(boost::json::object{
        {"email", pin.email}, {"fingerprint", pin.fingerprint}, {"user_id", user_id}});
  }
  if (!o.a.empty() && rows.empty()) {
    return Report(Error::Local("no pinned key for " + client::Printable(o.a) +
                               " (strongroom key EMAIL fetches and pins it)"));
  }
  if (o.json) {
    PrintJson({{"keys", std::move(items)}});
  } else {
    PrintTable({"EMAIL", "FINGERPRINT", "USER ID"}, rows);
  }
  return kExitOk;
}

}  // namespace

struct RoomCommands::State {
  Options o;
  CLI::App* ls = nullptr;
  CLI::App* mkdir = nullptr;
  CLI::App* upload = nullptr;
  CLI::App* download = nullptr;
  CLI::App* open = nullptr;
  CLI::App* mv = nullptr;
  CLI::App* cp = nullptr;
  CLI::App* rm = nullptr;
  CLI::App* share = nullptr;
  CLI::App* unshare = nullptr;
  CLI::App* shared = nullptr;
  CLI::App* info = nullptr;
  CLI::App* keys = nullptr;
  CLI::App* keys_show = nullptr;
  CLI::App* keys_trust = nullptr;
};

RoomCommands::RoomCommands(CLI::App& app) : state_(std::make_unique<State>()) {
  Options& o = state_->o;
  State& s = *state_;
  const auto common = [&o](CLI::App* c, bool json) {
    c->add_option("--profile", o.profile, "Profile name (default: default)");
    c->add_option("--ca-file", o.ca_file, "PEM file of CA certificates to trust");
    c->add_flag("--password-stdin", o.password_stdin,
                "Read the password from standard input (first line)");
    if (json) c->add_flag("--json", o.json, "Print JSON to standard output");
  };
  s.ls = app.add_subcommand("ls", "List a folder of your Private Room");
  s.ls->add_option("path", o.a, "Folder (default: /)");
  common(s.ls, true);
  s.mkdir = app.add_subcommand("mkdir", "Create a folder");
  s.mkdir->add_option("path", o.a, "New folder, e.g. /Contracts/2026")->required();
  common(s.mkdir, true);
  s.upload = app.add_subcommand("upload", "Encrypt and upload an office file");
  s.upload->add_option("local", o.a, "Local file (.docx, .xlsx, .pptx)")->required();
  s.upload->add_option("dir", o.b, "Folder to upload into (default: /)");
  common(s.upload, true);
  s.download = app.add_subcommand("download", "Download, verify and decrypt a file");
  s.download->add_option("path", o.a, "File path, or the id of a file shared with you")->required();
  s.download->add_option("local", o.b, "Where to write it (default: its name, here)");
  s.download->add_flag("--force", o.force, "Replace LOCAL if it exists");
  common(s.download, true);
  s.open = app.add_subcommand("open", "Edit a file: decrypt, run your application, re-upload");
  s.open->add_option("path", o.a, "File path, or the id of a file shared with you")->required();
  common(s.open, true);
  s.mv = app.add_subcommand("mv", "Move or rename an item of your room (never overwrites)");
  s.mv->add_option("from", o.a, "Item")->required();
  s.mv->add_option("to", o.b, "New path, or an existing folder")->required();
  common(s.mv, true);
  s.cp = app.add_subcommand("cp", "Copy a file (the Private Room refuses; see docs)");
  s.cp->add_option("from", o.a, "File")->required();
  s.cp->add_option("to", o.b, "Copy")->required();
  common(s.cp, false);
  s.rm = app.add_subcommand("rm", "Delete permanently (a folder with everything in it)");
  s.rm->add_option("path", o.a, "Item")->required();
  common(s.rm, false);
  s.share = app.add_subcommand("share", "Give a user full access to a file");
  s.share->add_option("path", o.a, "File")->required();
  s.share->add_option("email", o.b, "Their email")->required();
  common(s.share, true);
  s.unshare = app.add_subcommand("unshare", "Deny a user access (re-encrypts under a new key)");
  s.unshare->add_option("path", o.a, "File")->required();
  s.unshare->add_option("email", o.b, "Their email")->required();
  common(s.unshare, true);
  s.shared = app.add_subcommand("shared", "List files others shared with you");
  common(s.shared, true);
  s.info = app.add_subcommand("info", "Show a file's recipients, author, size and dates");
  s.info->add_option("path", o.a, "File path, or the id of a file shared with you")->required();
  common(s.info, true);
  s.keys = app.add_subcommand("keys", "Pinned public keys");
  s.keys->require_subcommand(1);
  s.keys_show = s.keys->add_subcommand("show", "Print pinned fingerprints");
  s.keys_show->add_option("email", o.a, "Only this user");
  s.keys_show->add_option("--profile", o.profile, "Profile name (default: default)");
  s.keys_show->add_flag("--json", o.json, "Print JSON");
  s.keys_trust = s.keys->add_subcommand("trust", "Trust a user's new key after checking it");
  s.keys_trust->add_option("email", o.a, "Their email")->required();
  s.keys_trust->add_option("fingerprint", o.b, "The fingerprint they read to you")->required();
  s.keys_trust->add_option("--profile", o.profile, "Profile name (default: default)");
  s.keys_trust->add_option("--ca-file", o.ca_file, "PEM file of CA certificates to trust");
}

RoomCommands::~RoomCommands() = default;

bool RoomCommands::IsRoomCommand(std::string_view name) {
  return std::ranges::find(kCommands, name) != kCommands.end();
}

std::optional<int> RoomCommands::Run() {
  const State& s = *state_;
  const Options& o = s.o;
  if (s.keys->parsed()) return Keys(o, s.keys_trust->parsed());
  const bool any = s.ls->parsed() || s.mkdir->parsed() || s.upload->parsed() ||
                   s.download->parsed() || s.open->parsed() || s.mv->parsed() || s.cp->parsed() || s.rm->parsed() ||
                   s.share->parsed() || s.unshare->parsed() || s.shared->parsed() ||
                   s.info->parsed();
  if (!any) return std::nullopt;
  auto u = Unlock(o);
  if (!u) return Report(u.error());
  client::Room room(u->session.api, u->session.store, u->identity);
  auto fail = [&](const Error& e) { return ReportSessionFailure(u->session, e); };
  if (s.ls->parsed()) {
    auto list = room.List(o.a.empty() ? "/" : o.a);
    if (!list) return fail(list.error());
    PrintEntries(*list, o.json);
    return ReportFlagged(*list);
  } else if (s.mkdir->parsed()) {
    auto e = room.MakeFolder(o.a);
    if (!e) return fail(e.error());
    if (o.json) PrintEntry(*e, true);
  } else if (s.upload->parsed()) {
    auto e = room.Upload(o.a, o.b.empty() ? "/" : o.b, Bar());
    if (!e) return fail(e.error());
    PrintEntry(*e, o.json);
  } else if (s.download->parsed()) {
    std::string local = o.b;
    if (local.empty()) {
      auto info = room.Info(o.a);
      if (!info) return fail(info.error());
      local = info->name;
    }
    auto e = room.Download(o.a, local, o.force, Bar());
    if (!e) return fail(e.error());
    if (o.json) {
      PrintEntry(*e, true);
    } else {
      std::cout << "Downloaded " << e->name << " (version " << e->version << ", signed by "
                << e->author_id << ", verified) to " << local << "\n";
    }
  } else if (s.open->parsed()) {
    bool changed = false;
    auto e = room.Open(o.a, RunEditor, &changed);
    if (!e) return fail(e.error());
    if (o.json) {
      auto j = EntryJson(*e);
      j["uploaded"] = changed;
      PrintJson(j);
    } else {
      std::cout << (changed ? "Uploaded the changes as version " + std::to_string(e->version)
                            : std::string("No changes; nothing uploaded"))
                << ". The working copy was wiped.\n";
    }
  } else if (s.mv->parsed()) {
    auto e = room.Move(o.a, o.b);
    if (!e) return fail(e.error());
    if (o.json) PrintEntry(*e, true);
  } else if (s.cp->parsed()) {
    if (auto r = room.Copy(o.a, o.b); !r) return fail(r.error());
  } else if (s.rm->parsed()) {
    if (auto r = room.Remove(o.a); !r) return fail(r.error());
  } else if (s.share->parsed()) {
    auto e = room.Share(o.a, o.b);
    if (!e) return fail(e.error());
    PrintEntry(*e, o.json);
  } else if (s.unshare->parsed()) {
    auto e = room.Unshare(o.a, o.b);
    if (!e) return fail(e.error());
    PrintEntry(*e, o.json);
  } else if (s.shared->parsed()) {
    auto list = room.SharedWithMe();
    if (!list) return fail(list.error());
    if (o.json) {
      PrintEntries(*list, true);
    } else {
      std::vector<std::vector<std::string>> rows;
      for (const auto& e : *list) {
        if (!e.problem.empty()) {
          rows.push_back({e.id, "(failed verification, not opened)", "", ""});
          continue;
        }
        rows.push_back({e.id, e.name, std::to_string(e.plaintext_size),
                        e.owner_email.empty() ? e.owner_id : e.owner_email});
      }
      PrintTable({"ID", "NAME", "SIZE", "OWNER"}, rows);
    }
    return ReportFlagged(*list);
  } else if (s.info->parsed()) {
    auto e = room.Info(o.a);
    if (!e) return fail(e.error());
    PrintEntry(*e, o.json);
  }
  return kExitOk;
}

}  // namespace strongroom::cli
