#include "strongroom/account_commands.h"

#include "strongroom/cli_output.h"
#include "strongroom/two_factor_commands.h"
#include "strongroom/client/account.h"
#include "strongroom/client/api_client.h"
#include "strongroom/client/http_transport.h"
#include "strongroom/client/key_pins.h"
#include "strongroom/client/profile.h"
#include "strongroom/client/secret_input.h"
#include "strongroom/version.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <iostream>

#include <unistd.h>

namespace strongroom::cli {
namespace {

namespace json = boost::json;
using client::Error;
using client::Result;
using client::SecretString;

constexpr std::array<std::string_view, 9> kCommands = {
    "register", "login", "logout", "whoami", "passwd", "sessions", "recover", "logins", "key"};

// Every option of every account command; each command reads the ones it declares.
struct Options {
  std::string profile = std::string(client::kDefaultProfile);
  std::string ca_file;
  std::string server;
  std::string email;
  std::string invite;
  std::string name;
  std::string revoke;
  std::string totp;           // login --totp
  std::string recovery_code;  // login --recovery-code (a two-factor recovery code)
  bool revoke_others = false;
  bool password_stdin = false;
  bool recovery_code_stdin = false;
  bool json = false;
  int limit = 0;
};

std::string Lower(std::string_view s) {
  std::string out(s);
  std::ranges::transform(out, out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

client::TransportOptions Transport(const Options& o) {
  client::TransportOptions t;
  t.ca_file = EffectiveCaFile(o.ca_file);
  t.user_agent = std::string("strongroom/") + kVersion;
  return t;
}

Result<client::ApiClient> Connect(std::string_view server, const Options& o) {
  auto url = client::ServerUrl::Parse(server);
  if (!url) return url.error();
  auto transport = client::HttpTransport::Create(*url, Transport(o));
  if (!transport) return transport.error();
  return client::ApiClient(std::move(*transport));
}

using Session = SignedInSession;

Error NotSignedIn() {
  return Error::Local("not signed in (run strongroom login)");
}

Result<Session> OpenSession(const Options& o) {
  auto store = client::ProfileStore::Open(o.profile);
  if (!store) return store.error();
  auto profile = store->LoadProfile();
  if (!profile) return profile.error();
  if (!*profile) return NotSignedIn();
  auto token = store->LoadSession();
  if (!token) return token.error();
  if (!*token) return NotSignedIn();
  auto api = Connect((*profile)->server, o);
  if (!api) return api.error();
  api->set_token(std::move(**token));
  return Session{std::move(*store), std::move(**profile), std::move(*api)};
}

// Reports a failed call made with a session. A 401 means the token is dead (expired or
// revoked elsewhere): the session file is removed so the next command says "not signed in".
int SessionFailure(Session& s, Error error) {
  if (error.kind == Error::Kind::server && error.code == "unauthenticated") {
    (void)s.store.DeleteSession();
    error.message = "the session has expired or was revoked; run strongroom login";
  }
  return Report(error);
}

// A new password for `email`: from stdin (one line), or typed twice on the terminal. The
// built-in floor is checked before anything is sent anywhere; then the portal's password
// policy (the server never sees the password, so this is where the policy is enforced;
// docs/threat-model.md, "Password policy").
Result<SecretString> ReadNewPassword(bool from_stdin, std::string_view prompt,
                                     client::ApiClient& api, std::string_view email) {
  auto read = [&]() -> Result<SecretString> {
    if (from_stdin) {
      auto p = client::ReadSecretFromStdin("the new password");
      if (!p) return p.error();
      if (auto ok = client::ValidateNewPassword(*p); !ok) return ok.error();
      return std::move(*p);
    }
    auto first = client::ReadSecretFromTerminal(std::string(prompt) + ": ");
    if (!first) return first.error();
    if (auto ok = client::ValidateNewPassword(*first); !ok) return ok.error();
    auto second = client::ReadSecretFromTerminal(std::string(prompt) + " (again): ");
    if (!second) return second.error();
    if (!(*first == *second)) return Error::Usage("the passwords do not match");
    return std::move(*first);
  };
  auto password = read();
  if (!password) return password.error();
  auto policy = api.GetPasswordPolicy();
  if (!policy) return policy.error();
  if (auto ok = client::ValidateNewPassword(*password, *policy, email); !ok) return ok.error();
  return std::move(*password);
}

Result<SecretString> ReadPassword(bool from_stdin, std::string_view prompt) {
  if (from_stdin) return client::ReadSecretFromStdin("the password");
  return client::ReadSecretFromTerminal(std::string(prompt) + ": ");
}

// Saves what a successful sign-in (register, login, recover) leaves on disk.
Result<void> SaveSignIn(client::ProfileStore& store, const client::ApiClient& api,
                        const client::SignedIn& signed_in) {
  if (auto r = store.SaveProfile({.server = api.url().ToString(),
                                  .email = signed_in.user.email,
                                  .user_id = signed_in.user.id});
      !r) {
    return r;
  }
  return store.SaveSession(signed_in.session.token.view());
}

// The pin for one's own key must match: a different key means the server (or someone who
// controls it) is substituting keys.
Error OwnKeyChanged(std::string_view email, const client::PinResult& pin,
                    const crypto::PublicBundle& offered) {
  return Error::Refused(
      "WARNING: the server offered a DIFFERENT key for your account " +
      client::Printable(email, 254) + " than the one pinned in this profile.\n" +
      "  pinned:  " + pin.pinned_fingerprint + "\n  offered: " + offered.DisplayFingerprint() +
      "\nThe pin was kept and nothing was saved. Someone may be impersonating the server");
}

// Best effort: ends a session the client decided not to keep.
void DiscardSession(client::ApiClient& api, const client::SignedIn& signed_in) {
  api.set_token(SecretString(std::string(signed_in.session.token.view())));
  (void)api.Logout();
}

// Says, after a sign-in, that the session can only enrol until the account has 2FA.
void NoteEnrolmentRequired(const client::SignedIn& signed_in) {
  if (!signed_in.totp_enrolment_required) return;
  std::cerr << "This portal requires two-factor authentication: run strongroom 2fa enable now;"
               " until then this account can do nothing else.\n";
}

// Asked when the account turns out to have 2FA and no code was given: typed on the terminal
// when standard input is one; otherwise there is no one to ask.
client::Result<client::SecondFactor> AskSecondFactor() {
  if (::isatty(STDIN_FILENO) == 0) {
    Error e;
    e.kind = Error::Kind::server;
    e.status = 401;
    e.code = "totp_required";
    e.message =
        "this account has two-factor authentication: give the code from the authenticator app "
        "with --totp CODE (or a recovery code with --recovery-code CODE)";
    return e;
  }
  auto typed =
      client::ReadSecretFromTerminal("Code from the authenticator app (or a recovery code): ");
  if (!typed) return typed.error();
  return SecondFactorFromText(typed->view());
}

// --- commands -------------------------------------------------------------------------

int Register(const Options& o) {
  auto store = client::ProfileStore::Open(o.profile);
  if (!store) return Report(store.error());
  auto api = Connect(o.server, o);
  if (!api) return Report(api.error());
  auto password = ReadNewPassword(o.password_stdin, "Password", *api, o.email);
  if (!password) return Report(password.error());
  auto created = client::CreateAccount(
      *api, {.invitation = o.invite, .email = o.email, .display_name = o.name}, password->view());
  password->clear();
  if (!created) return Report(created.error());
  const auto& user = created->signed_in.user;
  if (auto r = SaveSignIn(*store, *api, created->signed_in); !r) return Report(r.error());
  if (auto pin = client::TrustOnFirstUse(*store, created->public_bundle, user.email); !pin) {
    return Report(pin.error());
  }
  const std::string fingerprint = created->public_bundle.DisplayFingerprint();
  if (o.json) {
    PrintJson({{"user_id", user.id},
               {"email", user.email},
               {"recovery_code", created->recovery_code.view()},
               {"fingerprint", fingerprint}});
  } else {
    std::cout << "Registered " << user.email << " (user id " << user.id << ").\n"
              << "Recovery code (shown only once; keep it offline):\n"
              << "  " << created->recovery_code.view() << "\n"
              << "Fingerprint: " << fingerprint << "\n";
  }
  NoteEnrolmentRequired(created->signed_in);
  return kExitOk;
}

int Login(const Options& o) {
  auto store = client::ProfileStore::Open(o.profile);
  if (!store) return Report(store.error());
  auto api = Connect(o.server, o);
  if (!api) return Report(api.error());
  auto factor = SecondFactorFromOptions(o.totp, o.recovery_code);
  if (!factor) return Report(factor.error());
  auto password = ReadPassword(o.password_stdin, "Password");
  if (!password) return Report(password.error());
  auto opened = client::SignIn(*api, o.email, password->view(), *factor, &AskSecondFactor);
  password->clear();
  if (!opened) return Report(opened.error());
  const auto& signed_in = opened->signed_in;
  auto pin = client::TrustOnFirstUse(*store, opened->public_bundle, signed_in.user.email);
  if (!pin) {
    DiscardSession(*api, signed_in);
    return Report(pin.error());
  }
  if (pin->status == client::PinStatus::mismatch) {
    DiscardSession(*api, signed_in);
    return Report(OwnKeyChanged(signed_in.user.email, *pin, opened->public_bundle));
  }
  if (auto r = SaveSignIn(*store, *api, signed_in); !r) return Report(r.error());
  if (o.json) {
    PrintJson({{"user_id", signed_in.user.id},
               {"email", signed_in.user.email},
               {"session_id", signed_in.session.id},
               {"expires_at", signed_in.session.expires_at}});
  } else {
    std::cout << "Signed in as " << signed_in.user.email << ".\n";
  }
  NoteEnrolmentRequired(signed_in);
  return kExitOk;
}

int Logout(const Options& o) {
  auto s = OpenSession(o);
  if (!s) return Report(s.error());
  auto r = s->api.Logout();
  const bool already_gone =
      !r && r.error().kind == Error::Kind::server && r.error().code == "unauthenticated";
  if (!r && !already_gone) return Report(r.error());
  if (auto d = s->store.DeleteSession(); !d) return Report(d.error());
  std::cout << "Signed out.\n";
  return kExitOk;
}

int Whoami(const Options& o) {
  auto s = OpenSession(o);
  if (!s) return Report(s.error());
  auto me = s->api.GetMe();
  if (!me) return SessionFailure(*s, me.error());
  if (o.json) {
    json::object out = me->raw;
    out["server"] = s->profile.server;
    PrintJson(out);
    return kExitOk;
  }
  using client::Printable;
  std::cout << "email: " << Printable(me->user.email) << "\n"
            << "name: " << Printable(me->user.display_name) << "\n"
            << "user id: " << Printable(me->user.id) << "\n"
            << "role: " << Printable(me->user.role) << "\n"
            << "server: " << s->profile.server << "\n"
            << "session: " << Printable(me->session.id) << " (expires "
            << Printable(me->session.expires_at) << ")\n";
  return kExitOk;
}

int Passwd(const Options& o) {
  auto s = OpenSession(o);
  if (!s) return Report(s.error());
  auto current = ReadPassword(o.password_stdin, "Current password");
  if (!current) return Report(current.error());
  auto replacement = ReadNewPassword(o.password_stdin, "New password", s->api, s->profile.email);
  if (!replacement) return Report(replacement.error());
  auto revoked =
      client::ChangePassword(s->api, s->profile.user_id, current->view(), replacement->view());
  current->clear();
  replacement->clear();
  if (!revoked) return SessionFailure(*s, revoked.error());
  std::cout << "Password changed; " << *revoked << " other session(s) signed out.\n";
  return kExitOk;
}

int Sessions(const Options& o) {
  auto s = OpenSession(o);
  if (!s) return Report(s.error());
  if (!o.revoke.empty()) {
    if (auto r = s->api.RevokeSession(o.revoke); !r) return SessionFailure(*s, r.error());
    std::cout << "Revoked session " << client::Printable(o.revoke, 64) << ".\n";
    return kExitOk;
  }
  if (o.revoke_others) {
    auto n = s->api.RevokeOtherSessions();
    if (!n) return SessionFailure(*s, n.error());
    std::cout << "Revoked " << *n << " session(s).\n";
    return kExitOk;
  }
  auto list = s->api.ListSessions();
  if (!list) return SessionFailure(*s, list.error());
  if (o.json) {
    PrintJson(list->raw);
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& x : list->sessions) {
    rows.push_back({x.current ? "*" : "", x.id, x.created_at, x.last_seen_at, x.ip, x.user_agent});
  }
  PrintTable({"", "ID", "CREATED", "LAST SEEN", "IP", "USER AGENT"}, rows);
  return kExitOk;
}

int Recover(const Options& o) {
  auto store = client::ProfileStore::Open(o.profile);
  if (!store) return Report(store.error());
  auto api = Connect(o.server, o);
  if (!api) return Report(api.error());
  auto code = o.recovery_code_stdin ? client::ReadSecretFromStdin("the recovery code")
                                    : client::ReadSecretFromTerminal("Recovery code: ");
  if (!code) return Report(code.error());
  auto key = crypto::RecoveryKey::FromCode(code->view());
  code->clear();
  if (!key) {
    return UsageError(
        "the recovery code is mistyped (its checksum does not match); check it and try again");
  }
  auto password = ReadNewPassword(o.password_stdin, "New password", *api, o.email);
  if (!password) return Report(password.error());
  // Refuse before changing anything if the server presents a key other than the pinned one.
  const client::KeyCheck check = [&](const crypto::PublicBundle& bundle) -> Result<void> {
    auto pins = store->LoadPins();
    if (!pins) return pins.error();
    auto it = pins->find(bundle.user_id());
    if (it == pins->end()) return {};
    auto pinned = crypto::PublicBundle::Parse(it->second.public_bundle);
    if (pinned && *pinned == bundle) return {};
    client::PinResult mismatch{.status = client::PinStatus::mismatch,
                               .pinned_fingerprint = it->second.fingerprint};
    if (pinned) mismatch.pinned_fingerprint = pinned->DisplayFingerprint();
    return OwnKeyChanged(o.email, mismatch, bundle);
  };
  auto recovered = client::RecoverAccount(*api, o.email, *key, password->view(), check);
  password->clear();
  if (!recovered) return Report(recovered.error());
  const auto& signed_in = recovered->account.signed_in;
  const auto& code_text = recovered->new_recovery_code;
  // Show the new code before anything else can fail: the old one no longer works.
  if (o.json) {
    PrintJson({{"user_id", signed_in.user.id},
               {"email", signed_in.user.email},
               {"recovery_code", code_text.view()}});
  } else {
    std::cout << "Password reset for " << signed_in.user.email
              << "; all other sessions signed out.\n"
              << "New recovery code (the old one no longer works):\n"
              << "  " << code_text.view() << "\n";
  }
  std::cout.flush();
  if (auto r = SaveSignIn(*store, *api, signed_in); !r) return Report(r.error());
  auto pin =
      client::TrustOnFirstUse(*store, recovered->account.public_bundle, signed_in.user.email);
  if (!pin) return Report(pin.error());
  return kExitOk;
}

int Logins(const Options& o) {
  auto s = OpenSession(o);
  if (!s) return Report(s.error());
  auto list = s->api.ListLogins(o.limit);
  if (!list) return SessionFailure(*s, list.error());
  if (o.json) {
    PrintJson(list->raw);
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& x : list->logins) {
    rows.push_back({x.time, x.result, x.reason, x.ip, x.user_agent});
  }
  PrintTable({"TIME", "RESULT", "REASON", "IP", "USER AGENT"}, rows);
  return kExitOk;
}

int Key(const Options& o) {
  auto s = OpenSession(o);
  if (!s) return Report(s.error());
  auto info = s->api.PublicKeyByEmail(o.email);
  if (!info) return SessionFailure(*s, info.error());
  auto bundle = client::VerifyPublicBundle(info->public_bundle, info->user_id);
  if (!bundle) return Report(bundle.error());
  // The email is not inside the signed bundle, so at least hold the server to the question.
  if (Lower(info->email) != Lower(o.email)) {
    return Report(Error::Refused("the server answered with a key for another email (" +
                                 client::Printable(info->email, 254) + ")"));
  }
  const std::string fingerprint = bundle->DisplayFingerprint();
  if (!info->fingerprint.empty() && info->fingerprint != fingerprint) {
    return Report(Error::Refused("the server's fingerprint does not match the key it sent"));
  }
  auto pin = client::TrustOnFirstUse(s->store, *bundle, info->email);
  if (!pin) return Report(pin.error());
  const std::string email = client::Printable(info->email, 254);
  if (pin->status == client::PinStatus::mismatch) {
    return Report(
        Error::Refused("WARNING: the key of " + email + " has CHANGED since you pinned it.\n" +
                       "  pinned:  " + pin->pinned_fingerprint + "\n  offered: " + fingerprint +
                       "\nThe pin was kept; do not share with " + email +
                       " until you have compared fingerprints with them in person or by phone"));
  }
  const bool is_new = pin->status == client::PinStatus::new_pin;
  if (o.json) {
    PrintJson({{"user_id", bundle->user_id()},
               {"email", info->email},
               {"display_name", info->display_name},
               {"fingerprint", fingerprint},
               {"pinned", is_new ? "new" : "match"}});
  } else if (is_new) {
    std::cout << "Pinned " << email << ": fingerprint " << fingerprint << "\n"
              << "Compare this fingerprint with " << email
              << " in person or by phone before sharing with them.\n";
  } else {
    std::cout << email << ": fingerprint " << fingerprint << " (pinned)\n";
  }
  return kExitOk;
}

}  // namespace

struct AccountCommands::State {
  Options o;
  CLI::App* register_ = nullptr;
  CLI::App* login = nullptr;
  CLI::App* logout = nullptr;
  CLI::App* whoami = nullptr;
  CLI::App* passwd = nullptr;
  CLI::App* sessions = nullptr;
  CLI::App* recover = nullptr;
  CLI::App* logins = nullptr;
  CLI::App* key = nullptr;
};

AccountCommands::AccountCommands(CLI::App& app) : state_(std::make_unique<State>()) {
  Options& o = state_->o;
  State& s = *state_;
  const auto common = [&o](CLI::App* c) {
    c->add_option("--profile", o.profile, "Profile name (default: default)");
    c->add_option("--ca-file", o.ca_file,
                  "PEM file of CA certificates to trust (default: $STRONGROOM_CA_FILE, else the "
                  "system store)");
  };
  const auto json_flag = [&o](CLI::App* c) {
    c->add_flag("--json", o.json, "Print one JSON object to standard output");
  };
  const auto password_stdin = [&o](CLI::App* c) {
    c->add_flag("--password-stdin", o.password_stdin,
                "Read passwords from standard input, one per line");
  };

  s.register_ = app.add_subcommand("register", "Create an account with an invitation");
  s.register_->add_option("--server", o.server, "Server URL (https://...)")->required();
  s.register_->add_option("--invite", o.invite,
                          "Invitation token (not needed for an email in a trusted domain)");
  s.register_->add_option("--email", o.email, "Your email address")->required();
  s.register_->add_option("--name", o.name, "Display name (default: the part before @)");
  password_stdin(s.register_);
  json_flag(s.register_);
  common(s.register_);

  s.login = app.add_subcommand("login", "Sign in and open your keys");
  s.login->add_option("--server", o.server, "Server URL (https://...)")->required();
  s.login->add_option("--email", o.email, "Your email address")->required();
  auto* totp = s.login->add_option(
      "--totp", o.totp,
      "The code from your authenticator app, if the account has two-factor authentication "
      "(asked for on a terminal when needed)");
  auto* recovery = s.login->add_option(
      "--recovery-code", o.recovery_code,
      "One of your two-factor recovery codes, instead of --totp (not the account recovery code "
      "of strongroom recover)");
  totp->excludes(recovery);
  password_stdin(s.login);
  json_flag(s.login);
  common(s.login);

  s.logout = app.add_subcommand("logout", "End this session");
  common(s.logout);

  s.whoami = app.add_subcommand("whoami", "Show the signed-in account and session");
  json_flag(s.whoami);
  common(s.whoami);

  s.passwd = app.add_subcommand("passwd", "Change your password (signs other sessions out)");
  password_stdin(s.passwd);
  common(s.passwd);

  s.sessions = app.add_subcommand("sessions", "List or revoke your sessions");
  auto* revoke = s.sessions->add_option("--revoke", o.revoke, "Revoke the session with this id");
  auto* others = s.sessions->add_flag("--revoke-others", o.revoke_others,
                                      "Revoke every session except this one");
  revoke->excludes(others);
  json_flag(s.sessions);
  common(s.sessions);

  s.recover = app.add_subcommand("recover", "Set a new password with your recovery code");
  s.recover->add_option("--server", o.server, "Server URL (https://...)")->required();
  s.recover->add_option("--email", o.email, "Your email address")->required();
  s.recover->add_flag("--recovery-code-stdin", o.recovery_code_stdin,
                      "Read the recovery code from the first line of standard input");
  password_stdin(s.recover);
  json_flag(s.recover);
  common(s.recover);

  s.logins = app.add_subcommand("logins", "Show your sign-in history");
  s.logins->add_option("--limit", o.limit, "At most this many entries (1-1000)")
      ->check(CLI::Range(1, 1000));
  json_flag(s.logins);
  common(s.logins);

  s.key = app.add_subcommand("key", "Fetch, verify and pin another user's public key");
  s.key->add_option("email", o.email, "Their email address")->required();
  json_flag(s.key);
  common(s.key);
}

AccountCommands::~AccountCommands() = default;

bool AccountCommands::IsAccountCommand(std::string_view name) {
  return std::ranges::find(kCommands, name) != kCommands.end();
}

std::optional<int> AccountCommands::Run() {
  const State& s = *state_;
  const Options& o = s.o;
  if (s.register_->parsed()) return Register(o);
  if (s.login->parsed()) return Login(o);
  if (s.logout->parsed()) return Logout(o);
  if (s.whoami->parsed()) return Whoami(o);
  if (s.passwd->parsed()) return Passwd(o);
  if (s.sessions->parsed()) return Sessions(o);
  if (s.recover->parsed()) return Recover(o);
  if (s.logins->parsed()) return Logins(o);
  if (s.key->parsed()) return Key(o);
  return std::nullopt;
}

client::Result<SignedInSession> OpenSignedInSession(const std::string& profile,
                                                   const std::string& ca_file) {
  Options o;
  o.profile = profile;
  o.ca_file = ca_file;
  return OpenSession(o);
}

int ReportSessionFailure(SignedInSession& session, client::Error error) {
  return SessionFailure(session, std::move(error));
}

std::string EffectiveCaFile(const std::string& flag) {
  if (!flag.empty()) return flag;
  const char* env = std::getenv("STRONGROOM_CA_FILE");
  return env != nullptr ? env : "";
}

client::Result<client::SecretString> ReadExistingPassword(bool from_stdin) {
  return ReadPassword(from_stdin, "Password");
}

}  // namespace strongroom::cli
