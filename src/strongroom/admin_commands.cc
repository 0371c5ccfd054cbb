#include "strongroom/admin_commands.h"

#include "strongroom/account_commands.h"
#include "strongroom/cli_output.h"
#include "strongroom/client/admin.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <iostream>

namespace strongroom::cli {
namespace {

using client::AdminClient;
using client::Error;
using client::Printable;
using client::Result;

// Every option of every admin command; each command reads the ones it declares.
struct Options {
  std::string profile = std::string(client::kDefaultProfile);
  std::string ca_file;
  bool json = false;
  std::string a;  // First positional argument (an email or a group name).
  std::string b;  // Second.
  client::AuditFilter audit;
  client::LoginFilter logins;
};

std::string Status(bool active) {
  return active ? "active" : "deactivated";
}

std::string Joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::string OnOff(bool on) {
  return on ? "on" : "off";
}

std::vector<std::string> UserRow(const client::AdminUser& u) {
  return {u.email,           u.display_name,   u.role,      Status(u.active),
          OnOff(u.two_factor), Joined(u.groups), u.created_at};
}

const std::vector<std::string> kUserHeader = {"EMAIL", "NAME",   "ROLE",   "STATUS",
                                              "2FA",   "GROUPS", "CREATED"};

// A setting's value for people: lists comma-separated, everything else as JSON.
std::string SettingText(const boost::json::value& v) {
  if (!v.is_array()) return boost::json::serialize(v);
  std::string out;
  for (const auto& item : v.get_array()) {
    out += (out.empty() ? "" : ",") +
           (item.is_string() ? std::string(item.get_string()) : boost::json::serialize(item));
  }
  return out;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string Trimmed(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

// The JSON value to send for `text`, given the setting's current value (null: a key the
// server did not list, which it will refuse with its own message). JSON of the setting's type
// is taken as it is; otherwise the text is read as that type: a boolean as true/false (or
// on/off, yes/no), a number as a whole number, a list as comma-separated items ("" is empty).
// nullopt when the text cannot be a value of the type.
std::optional<boost::json::value> SettingValue(const std::string& text,
                                               const boost::json::value& current) {
  boost::system::error_code ec;
  boost::json::value parsed = boost::json::parse(text, ec);
  const bool is_json = !ec;
  if (current.is_null()) return is_json ? parsed : boost::json::value(boost::json::string(text));
  if (is_json && parsed.kind() == current.kind()) return parsed;
  if (is_json && parsed.is_number() && current.is_number()) return parsed;
  if (current.is_bool()) {
    const std::string word = Lower(Trimmed(text));
    if (word == "true" || word == "on" || word == "yes") return boost::json::value(true);
    if (word == "false" || word == "off" || word == "no") return boost::json::value(false);
    return std::nullopt;
  }
  if (current.is_array()) {
    boost::json::array items;
    std::string_view rest = text;
    while (!Trimmed(rest).empty()) {
      const auto comma = rest.find(',');
      const std::string item = Trimmed(rest.substr(0, comma));
      if (item.empty()) return std::nullopt;  // "a,,b" or a trailing comma: a typo.
      items.emplace_back(item);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
      if (Trimmed(rest).empty()) return std::nullopt;
    }
    return boost::json::value(std::move(items));
  }
  return std::nullopt;  // A number the text is not.
}

std::string TypeHelp(const boost::json::value& current) {
  if (current.is_bool()) return "true or false";
  if (current.is_array()) return "a comma-separated list (or a JSON array; \"\" for none)";
  return "a whole number";
}

// One administration command with its session: the runner of every subcommand.
class Admin {
 public:
  Admin(const Options& o, SignedInSession session)
      : o_(o), session_(std::move(session)), admin_(session_.api) {}

  int Fail(Error error) { return ReportSessionFailure(session_, std::move(error)); }

  // A user id for a filter given as an email (anything with '@') or as an id.
  Result<std::string> UserIdOf(const std::string& ref) {
    if (ref.find('@') == std::string::npos) return ref;
    auto detail = admin_.GetUser(ref);
    if (!detail) return detail.error();
    return detail->user.id;
  }

  int UsersList() {
    auto list = admin_.ListUsers();
    if (!list) return Fail(list.error());
    if (o_.json) return Json(list->raw);
    std::vector<std::vector<std::string>> rows;
    for (const auto& u : list->users) rows.push_back(UserRow(u));
    PrintTable(kUserHeader, rows);
    return kExitOk;
  }

  int UsersShow() {
    auto d = admin_.GetUser(o_.a);
    if (!d) return Fail(d.error());
    if (o_.json) return Json(d->raw);
    const auto& u = d->user;
    std::cout << "email: " << Printable(u.email) << "\n"
              << "name: " << Printable(u.display_name) << "\n"
              << "user id: " << Printable(u.id) << "\n"
              << "role: " << Printable(u.role) << "\n"
              << "status: " << Status(u.active) << "\n"
              << "two-factor: " << OnOff(u.two_factor) << "\n"
              << "created: " << Printable(u.created_at) << "\n"
              << "updated: " << Printable(u.updated_at) << "\n"
              << "groups: " << (u.groups.empty() ? "(none)" : Printable(Joined(u.groups))) << "\n"
              << "sessions: " << d->sessions.size() << "\n";
    if (!d->sessions.empty()) {
      std::vector<std::vector<std::string>> rows;
      for (const auto& s : d->sessions) {
        rows.push_back({s.id, s.created_at, s.last_seen_at, s.ip, s.user_agent});
      }
      PrintTable({"ID", "CREATED", "LAST SEEN", "IP", "USER AGENT"}, rows);
    }
    return kExitOk;
  }

  int UsersChange(const std::string& what) {
    Result<client::AdminUserChange> r = Error::Local("no such command");
    if (what == "deactivate") r = admin_.Deactivate(o_.a);
    if (what == "reactivate") r = admin_.Reactivate(o_.a);
    if (what == "role") r = admin_.SetRole(o_.a, o_.b);
    if (what == "revoke-sessions") r = admin_.RevokeSessions(o_.a);
    if (what == "reset-2fa") r = admin_.ResetTwoFactor(o_.a);
    if (!r) return Fail(r.error());
    if (o_.json) return Json(r->raw);
    const std::string email = Printable(r->user.email.empty() ? o_.a : r->user.email, 254);
    if (what == "deactivate") {
      std::cout << "Deactivated " << email << "; " << r->revoked_sessions
                << " session(s) signed out.\n";
    } else if (what == "reactivate") {
      std::cout << "Reactivated " << email << ".\n";
    } else if (what == "role") {
      std::cout << "Role of " << email << ": " << Printable(r->user.role) << ".\n";
    } else if (what == "reset-2fa") {
      std::cout << "Two-factor sign-in of " << email
                << " removed; they enrol again with strongroom 2fa enable.\n";
    } else {
      std::cout << "Revoked " << r->revoked_sessions << " session(s) of " << email << ".\n";
    }
    return kExitOk;
  }

  int GroupsList() {
    auto list = admin_.ListGroups();
    if (!list) return Fail(list.error());
    if (o_.json) return Json(list->raw);
    std::vector<std::vector<std::string>> rows;
    for (const auto& g : list->groups) {
      rows.push_back({g.name, std::to_string(g.members), g.created_at});
    }
    PrintTable({"NAME", "MEMBERS", "CREATED"}, rows);
    return kExitOk;
  }

  int GroupsShow() {
    auto d = admin_.GetGroup(o_.a);
    if (!d) return Fail(d.error());
    if (o_.json) return Json(d->raw);
    std::cout << "group: " << Printable(d->group.name) << "\n"
              << "members: " << d->group.members << "\n"
              << "created: " << Printable(d->group.created_at) << " by "
              << Printable(d->group.created_by) << "\n";
    if (!d->members.empty()) {
      std::vector<std::vector<std::string>> rows;
      for (const auto& u : d->members) rows.push_back(UserRow(u));
      PrintTable(kUserHeader, rows);
    }
    return kExitOk;
  }

  int GroupsChange(const std::string& what) {
    if (what == "delete") {
      auto r = admin_.DeleteGroup(o_.a);
      if (!r) return Fail(r.error());
      if (o_.json) return Json(*r);
      std::cout << "Deleted group " << Printable(o_.a) << ".\n";
      return kExitOk;
    }
    Result<client::AdminGroupDetail> r = Error::Local("no such command");
    if (what == "create") r = admin_.CreateGroup(o_.a);
    if (what == "add") r = admin_.AddMember(o_.a, o_.b);
    if (what == "remove") r = admin_.RemoveMember(o_.a, o_.b);
    if (!r) return Fail(r.error());
    if (o_.json) return Json(r->raw);
    const std::string group = Printable(r->group.name);
    const std::string count = " (" + std::to_string(r->group.members) + " members)";
    if (what == "create") std::cout << "Created group " << group << ".\n";
    if (what == "add")
      std::cout << "Added " << Printable(o_.b) << " to " << group << count << ".\n";
    if (what == "remove") {
      std::cout << "Removed " << Printable(o_.b) << " from " << group << count << ".\n";
    }
    return kExitOk;
  }

  int SettingsShow() {
    auto settings = admin_.Settings();
    if (!settings) return Fail(settings.error());
    if (o_.json) return Json(*settings);
    std::vector<std::vector<std::string>> rows;
    for (const auto& [key, value] : *settings) rows.push_back({key, SettingText(value)});
    std::sort(rows.begin(), rows.end());
    PrintTable({"KEY", "VALUE"}, rows);
    return kExitOk;
  }

  int SettingsSet() {
    auto settings = admin_.Settings();  // For the setting's type.
    if (!settings) return Fail(settings.error());
    const boost::json::value* current = settings->if_contains(o_.a);
    const auto value = SettingValue(o_.b, current ? *current : boost::json::value());
    if (!value) {
      return UsageError("admin settings set: " + Printable(o_.a) + " takes " +
                        TypeHelp(*current) + ", not '" + Printable(o_.b, 200) + "'");
    }
    auto after = admin_.SetSetting(o_.a, *value);
    if (!after) return Fail(after.error());
    if (o_.json) return Json(*after);
    const boost::json::value* stored = after->if_contains(o_.a);
    std::cout << "Set " << Printable(o_.a) << " = "
              << Printable(SettingText(stored ? *stored : *value), 4096) << "\n";
    return kExitOk;
  }

  int Audit() {
    client::AuditFilter filter = o_.audit;
    if (!filter.actor.empty()) {
      auto id = UserIdOf(filter.actor);
      if (!id) return Fail(id.error());
      filter.actor = *id;
    }
    auto list = admin_.Audit(filter);
    if (!list) return Fail(list.error());
    if (o_.json) return Json(list->raw);
    std::vector<std::vector<std::string>> rows;
    for (const auto& e : list->events) {
      rows.push_back({std::to_string(e.id), e.time, e.actor, e.action, e.target, e.result, e.ip,
                      e.detail == "{}" ? "" : e.detail});
    }
    PrintTable({"ID", "TIME", "ACTOR", "ACTION", "TARGET", "RESULT", "IP", "DETAIL"}, rows);
    return kExitOk;
  }

  int Logins() {
    client::LoginFilter filter = o_.logins;
    if (!filter.user_id.empty()) {
      auto id = UserIdOf(filter.user_id);
      if (!id) return Fail(id.error());
      filter.user_id = *id;
    }
    auto list = admin_.Logins(filter);
    if (!list) return Fail(list.error());
    if (o_.json) return Json(list->raw);
    std::vector<std::vector<std::string>> rows;
    for (const auto& l : list->logins) {
      rows.push_back({l.time, l.email, l.user_id, l.result, l.reason, l.ip, l.user_agent});
    }
    PrintTable({"TIME", "EMAIL", "USER ID", "RESULT", "REASON", "IP", "USER AGENT"}, rows);
    return kExitOk;
  }

 private:
  static int Json(const boost::json::object& raw) {
    PrintJson(raw);
    return kExitOk;
  }

  const Options& o_;
  SignedInSession session_;
  AdminClient admin_;
};

}  // namespace

struct AdminCommands::State {
  Options o;
  CLI::App* admin = nullptr;
  // Leaf commands by group, each with the name Run() dispatches on.
  std::vector<std::pair<CLI::App*, std::string>> users;
  std::vector<std::pair<CLI::App*, std::string>> groups;
  CLI::App* audit = nullptr;
  CLI::App* logins = nullptr;
  CLI::App* settings_show = nullptr;
  CLI::App* settings_set = nullptr;
};

AdminCommands::AdminCommands(CLI::App& app) : state_(std::make_unique<State>()) {
  Options& o = state_->o;
  State& s = *state_;
  const auto common = [&o](CLI::App* c) {
    c->add_option("--profile", o.profile, "Profile name (default: default)");
    c->add_option("--ca-file", o.ca_file, "PEM file of CA certificates to trust");
    c->add_flag("--json", o.json, "Print one JSON object to standard output");
  };
  const auto user_arg = [&o](CLI::App* c) {
    c->add_option("email", o.a, "The user's email (or user id)")->required();
  };
  const auto group_arg = [&o](CLI::App* c) {
    c->add_option("name", o.a, "The group's name")->required();
  };

  s.admin = app.add_subcommand("admin", "Administer the portal (owner and admins)");
  s.admin->require_subcommand(1);

  CLI::App* users = s.admin->add_subcommand("users", "List, show and change user accounts");
  users->require_subcommand(1);
  const auto user_command = [&](const char* name, const char* help) {
    CLI::App* c = users->add_subcommand(name, help);
    common(c);
    s.users.emplace_back(c, name);
    return c;
  };
  user_command("list", "Every user: email, name, role, status, groups");
  user_arg(user_command("show", "One user, with groups and sessions"));
  user_arg(user_command("deactivate", "Block sign-in and end every session of a user"));
  user_arg(user_command("reactivate", "Allow a deactivated user to sign in again"));
  CLI::App* role = user_command("role", "Make a user an admin or a user (owner only)");
  user_arg(role);
  role->add_option("role", o.b, "admin or user")
      ->required()
      ->check(CLI::IsMember({"admin", "user"}));
  user_arg(user_command("revoke-sessions", "End every session of a user"));
  user_arg(user_command("reset-2fa",
                        "Remove a user's two-factor sign-in (lost authenticator and codes)"));

  CLI::App* groups = s.admin->add_subcommand("groups", "Manage groups of users");
  groups->require_subcommand(1);
  const auto group_command = [&](const char* name, const char* help) {
    CLI::App* c = groups->add_subcommand(name, help);
    common(c);
    s.groups.emplace_back(c, name);
    return c;
  };
  group_command("list", "Every group with its number of members");
  group_arg(group_command("create", "Create a group (names are unique, ignoring case)"));
  group_arg(group_command("delete", "Delete a group (its members stay users)"));
  group_arg(group_command("show", "A group and its members"));
  CLI::App* add = group_command("add", "Add a user to a group");
  group_arg(add);
  add->add_option("email", o.b, "The user's email (or user id)")->required();
  CLI::App* remove = group_command("remove", "Remove a user from a group");
  group_arg(remove);
  remove->add_option("email", o.b, "The user's email (or user id)")->required();

  CLI::App* settings = s.admin->add_subcommand("settings", "Show and change portal settings");
  settings->require_subcommand(1);
  s.settings_show = settings->add_subcommand("show", "Every portal setting with its value");
  common(s.settings_show);
  s.settings_set = settings->add_subcommand("set", "Change one portal setting (audited)");
  s.settings_set->add_option("key", o.a, "The setting, e.g. password.min_length")->required();
  s.settings_set
      ->add_option("value", o.b,
                   "The value: true/false, a number, or a comma-separated list (or JSON)")
      ->required();
  common(s.settings_set);

  s.audit = s.admin->add_subcommand("audit", "The portal's audit trail, newest first");
  s.audit->add_option("--from", o.audit.from, "Events at or after this time (RFC 3339 UTC)");
  s.audit->add_option("--to", o.audit.to, "Events before this time (RFC 3339 UTC)");
  s.audit->add_option("--actor", o.audit.actor, "Events by this user (email or id), or system");
  s.audit->add_option("--action", o.audit.action, "Events of this action, e.g. session.login");
  s.audit->add_option("--limit", o.audit.limit, "At most this many events (1-1000)")
      ->check(CLI::Range(1, 1000));
  common(s.audit);

  s.logins = s.admin->add_subcommand("logins", "Every user's sign-in history, newest first");
  s.logins->add_option("--from", o.logins.from, "Attempts at or after this time (RFC 3339 UTC)");
  s.logins->add_option("--to", o.logins.to, "Attempts before this time (RFC 3339 UTC)");
  s.logins->add_option("--user", o.logins.user_id, "Attempts on this user (email or id)");
  s.logins->add_option("--ip", o.logins.ip, "Attempts from this address");
  s.logins->add_option("--limit", o.logins.limit, "At most this many attempts (1-1000)")
      ->check(CLI::Range(1, 1000));
  common(s.logins);
}

AdminCommands::~AdminCommands() = default;

bool AdminCommands::IsAdminCommand(std::string_view name) {
  return name == "admin";
}

std::optional<int> AdminCommands::Run() {
  const State& s = *state_;
  if (!s.admin->parsed()) return std::nullopt;
  auto session = OpenSignedInSession(s.o.profile, s.o.ca_file);
  if (!session) return Report(session.error());
  Admin admin(s.o, std::move(*session));
  for (const auto& [command, name] : s.users) {
    if (!command->parsed()) continue;
    if (name == "list") return admin.UsersList();
    if (name == "show") return admin.UsersShow();
    return admin.UsersChange(name);
  }
  for (const auto& [command, name] : s.groups) {
    if (!command->parsed()) continue;
    if (name == "list") return admin.GroupsList();
    if (name == "show") return admin.GroupsShow();
    return admin.GroupsChange(name);
  }
  if (s.settings_show->parsed()) return admin.SettingsShow();
  if (s.settings_set->parsed()) return admin.SettingsSet();
  if (s.audit->parsed()) return admin.Audit();
  if (s.logins->parsed()) return admin.Logins();
  return UsageError("admin: choose a command (strongroom admin --help)");
}

}  // namespace strongroom::cli
