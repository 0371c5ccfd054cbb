#include "strongroom/collab_commands.h"

#include "strongroom/account_commands.h"
#include "strongroom/cli_output.h"
#include "strongroom/client/collab.h"
#include "strongroom/client/room.h"
#include "strongroom/crypto/encoding.h"
#include "strongroom/version.h"

#include <boost/json.hpp>

#include <ctime>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace strongroom::cli {
namespace {

using client::CollabError;
using client::CollabFault;
using client::Error;

struct Options {
  std::string profile = std::string(client::kDefaultProfile);
  std::string ca_file;
  bool password_stdin = false;
  bool json = false;
  int timeout_seconds = 60;
  std::string path;
};

// Unix milliseconds as UTC ISO 8601 ("2026-03-01T09:30:00.250Z"): the server's claim.
std::string IsoTime(std::uint64_t ms) {
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  std::ostringstream out;
  out << std::put_time(&tm, "%Y-%m-%dT%H:%M:%S") << '.' << std::setw(3) << std::setfill('0')
      << (ms % 1000) << 'Z';
  return out.str();
}

std::string Who(const client::CollabDocument& doc, const std::string& user_id) {
  const auto it = doc.emails.find(user_id);
  return it == doc.emails.end() || it->second.empty() ? user_id : it->second;
}

client::Result<client::CollabOptions> OptionsFor(const SignedInSession& s,
                                                 client::CollabDocument& doc,
                                                 std::string_view ca_file) {
  auto token = s.store.LoadSession();
  if (!token) return token.error();
  if (!*token) return Error::Local("not signed in (run strongroom login)");
  auto url = client::ServerUrl::Parse(s.profile.server);
  if (!url) return url.error();
  client::CollabOptions o;
  o.server = *url;
  // The WebSocket trusts what the API connection trusts (--ca-file, STRONGROOM_CA_FILE).
  o.ca_file = EffectiveCaFile(std::string(ca_file));
  o.token = std::move(**token);
  o.user_agent = std::string("strongroom/") + kVersion;
  o.file_id = doc.file_id;
  o.epoch = doc.epoch;
  o.file_key = doc.file_key.Clone();
  o.members = doc.members;
  o.identity = nullptr;  // Read-only: the log never writes to the document.
  return o;
}

int Log(const Options& o) {
  auto s = OpenSignedInSession(o.profile, o.ca_file);
  if (!s) return Report(s.error());
  auto password = ReadExistingPassword(o.password_stdin);
  if (!password) return Report(password.error());
  auto identity = client::UnlockIdentity(s->api, s->store, s->profile.user_id, password->view());
  if (!identity) return ReportSessionFailure(*s, identity.error());
  client::Room room(s->api, s->store, *identity);
  auto doc = room.OpenForCollab(o.path);
  if (!doc) return ReportSessionFailure(*s, doc.error());

  boost::json::array updates;
  std::optional<boost::json::object> snapshot;
  bool header = false;
  const auto on_snapshot = [&](const client::CollabSnapshot& snap) {
    if (o.json) {
      snapshot = boost::json::object{{"through_seq", snap.through_seq},
                                     {"time", IsoTime(snap.server_time_ms)},
                                     {"author_id", snap.author},
                                     {"author", Who(*doc, snap.author)},
                                     {"epoch", snap.epoch},
                                     {"size", snap.state.size()}};
      return;
    }
    std::cout << "snapshot through seq " << snap.through_seq << " by "
              << client::Printable(Who(*doc, snap.author)) << " (" << snap.state.size()
              << " bytes; the server discarded the updates it covers)\n";
  };
  const auto on_update = [&](const client::CollabUpdate& u) {
    if (o.json) {
      updates.push_back(boost::json::object{
          {"seq", u.seq},
          {"time", IsoTime(u.server_time_ms)},
          {"server_time_ms", u.server_time_ms},
          {"author_id", u.author},
          {"author", Who(*doc, u.author)},
          {"session", crypto::HexEncode(std::span(u.session_id))},
          {"counter", u.counter},
          {"epoch", u.epoch},
          {"size", u.payload.size()}});
      return;
    }
    if (!header) {
      std::cout << std::left << std::setw(8) << "SEQ" << std::setw(26) << "TIME" << std::setw(32)
                << "AUTHOR" << "SIZE\n";
      header = true;
    }
    // Printed as each update verifies: a failure later does not unsay these lines.
    std::cout << std::left << std::setw(8) << u.seq << std::setw(26) << IsoTime(u.server_time_ms)
              << std::setw(32) << client::Printable(Who(*doc, u.author)) << u.payload.size()
              << "\n"
              << std::flush;
  };

  const auto timeout = std::chrono::seconds(o.timeout_seconds);
  auto options = OptionsFor(*s, *doc, o.ca_file);
  if (!options) return Report(options.error());
  options->resume_after = 0;  // Every update the server still has.
  auto c = client::CollabClient::Create(std::move(*options));
  if (!c) return Report(c.error().ToClientError());
  auto end = client::ReadHistory(*c, timeout, on_update, on_snapshot);
  if (!end && end.error().server_code == collab::ErrorCode::resume_unavailable) {
    // The server discarded old updates behind a snapshot: start from it instead.
    auto again = OptionsFor(*s, *doc, o.ca_file);
    if (!again) return Report(again.error());
    again->resume_after = std::nullopt;
    c = client::CollabClient::Create(std::move(*again));
    if (!c) return Report(c.error().ToClientError());
    end = client::ReadHistory(*c, timeout, on_update, on_snapshot);
  }
  if (!end) {
    Error e = end.error().ToClientError();
    if (end.error().IsServerMisbehaviour()) {
      e.message = "the server's history of " + client::Printable(o.path) +
                  " failed verification; nothing after the last line printed is trusted: " +
                  e.message;
    }
    return Report(e);
  }
  if (o.json) {
    boost::json::object out{{"id", doc->id},
                            {"name", doc->name},
                            {"epoch", doc->epoch},
                            {"head_seq", end->head_seq},
                            {"updates", std::move(updates)}};
    if (snapshot) out["snapshot"] = std::move(*snapshot);
    PrintJson(out);
  } else if (end->updates == 0 && !end->from_snapshot) {
    std::cout << "no updates\n";
  }
  return kExitOk;
}

}  // namespace

struct CollabCommands::State {
  Options o;
  CLI::App* collab = nullptr;
  CLI::App* log = nullptr;
};

CollabCommands::CollabCommands(CLI::App& app) : state_(std::make_unique<State>()) {
  State& s = *state_;
  Options& o = s.o;
  s.collab = app.add_subcommand("collab", "Co-editing: a document's shared edit history");
  s.collab->require_subcommand(1);
  s.log = s.collab->add_subcommand(
      "log", "Print the verified history of a document's updates (seq, time, author, size)");
  s.log->add_option("path", o.path, "File path, or the id of a file shared with you")->required();
  s.log->add_option("--timeout", o.timeout_seconds,
                    "Seconds to wait for the whole history (default 60)")
      ->check(CLI::Range(1, 3600));
  s.log->add_option("--profile", o.profile, "Profile name (default: default)");
  s.log->add_option("--ca-file", o.ca_file, "PEM file of CA certificates to trust");
  s.log->add_flag("--password-stdin", o.password_stdin,
                  "Read the password from standard input (first line)");
  s.log->add_flag("--json", o.json, "Print JSON to standard output");
}

CollabCommands::~CollabCommands() = default;

bool CollabCommands::IsCollabCommand(std::string_view name) {
  return name == "collab";
}

std::optional<int> CollabCommands::Run() {
  if (!state_->log->parsed()) return std::nullopt;
  return Log(state_->o);
}

}  // namespace strongroom::cli
