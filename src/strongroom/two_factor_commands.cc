#include "strongroom/two_factor_commands.h"

#include "strongroom/account_commands.h"
#include "strongroom/cli_output.h"
#include "strongroom/client/qr_code.h"
#include "strongroom/client/secret_input.h"

#include <unistd.h>

#include <algorithm>
#include <iostream>

namespace strongroom::cli {
namespace {

using client::Error;
using client::Result;
using client::SecretString;

struct Options {
  std::string profile = std::string(client::kDefaultProfile);
  std::string ca_file;
  std::string totp;
  std::string recovery_code;
  bool json = false;
};

// Surrounding spaces (and a stray newline) are not part of a code.
std::string Trimmed(std::string_view text) {
  const auto not_space = [](char c) { return c != ' ' && c != '\t' && c != '\r' && c != '\n'; };
  const auto first = std::find_if(text.begin(), text.end(), not_space);
  const auto last = std::find_if(text.rbegin(), text.rend(), not_space).base();
  return first < last ? std::string(first, last) : std::string();
}

// One code: typed on the terminal when standard input is one, else standard input's next line.
Result<SecretString> ReadCode(std::string_view prompt, std::string_view what) {
  if (::isatty(STDIN_FILENO) != 0) return client::ReadSecretFromTerminal(prompt);
  return client::ReadSecretFromStdin(what);
}

// The proof for disable and recovery-codes: the options, or one code read as above.
Result<client::SecondFactor> ReadProof(const Options& o) {
  auto given = SecondFactorFromOptions(o.totp, o.recovery_code);
  if (!given || !given->empty()) return given;
  auto typed = ReadCode("Code from the authenticator app (or a recovery code): ",
                        "a two-factor code or recovery code");
  if (!typed) return typed.error();
  return SecondFactorFromText(typed->view());
}

// "ABCDEFGH..." as "ABCD EFGH ...", as apps show keys for typing.
std::string Grouped(std::string_view key) {
  std::string out;
  for (std::size_t i = 0; i < key.size(); ++i) {
    if (i > 0 && i % 4 == 0) out += ' ';
    out += key[i];
  }
  return out;
}

void PrintRecoveryCodes(const std::vector<SecretString>& codes, bool json) {
  if (json) {
    boost::json::array list;
    for (const auto& c : codes) list.emplace_back(c.view());
    PrintJson({{"recovery_codes", std::move(list)}});
    return;
  }
  std::cout << "Recovery codes (each works once, instead of a code from the app; shown only now,"
               " keep them offline):\n";
  for (const auto& c : codes) std::cout << "  " << c.view() << "\n";
}

void WarnIfRequired(client::ApiClient& api) {
  auto status = api.GetTwoFactorStatus();
  if (status && status->required) {
    std::cerr << "This portal requires two-factor authentication: until you enrol again "
                 "(strongroom 2fa enable), this account can do nothing else.\n";
  }
}

// --- commands -------------------------------------------------------------------------

int Enable(const Options& o) {
  auto s = OpenSignedInSession(o.profile, o.ca_file);
  if (!s) return Report(s.error());
  auto enrolment = s->api.BeginTwoFactor();
  if (!enrolment) return ReportSessionFailure(*s, enrolment.error());
  const bool terminal = ::isatty(STDOUT_FILENO) != 0;
  if (terminal) {
    auto qr = client::DrawQrCode(enrolment->otpauth_uri.view(), true);
    if (qr) {
      std::cout << "Scan this QR code with your authenticator app:\n\n" << qr->view() << "\n";
    }
    std::cout << "Or add this URI or key to it by hand:\n";
  }
  // Scripts read this line: keep its shape.
  std::cout << enrolment->otpauth_uri.view() << "\n";
  if (terminal) std::cout << "Key: " << Grouped(enrolment->secret.view()) << "\n";
  std::cout.flush();  // A script must see the URI before it can answer with a code.

  auto code = ReadCode("Code from the app, to confirm: ", "the first code from the app");
  if (!code) return Report(code.error());
  const std::string digits = Trimmed(code->view());
  code->clear();
  auto recovery_codes = s->api.ConfirmTwoFactor(digits);
  if (!recovery_codes) {
    Error e = recovery_codes.error();
    if (e.code == "invalid_totp") {
      e.message +=
          "; two-factor authentication stays off (check the phone's clock, and run "
          "strongroom 2fa enable again)";
    }
    return ReportSessionFailure(*s, std::move(e));
  }
  std::cout << "Two-factor authentication is on: signing in now needs a code from the app.\n";
  PrintRecoveryCodes(*recovery_codes, false);
  return kExitOk;
}

int Status(const Options& o) {
  auto s = OpenSignedInSession(o.profile, o.ca_file);
  if (!s) return Report(s.error());
  auto status = s->api.GetTwoFactorStatus();
  if (!status) return ReportSessionFailure(*s, status.error());
  if (o.json) {
    PrintJson(status->raw);
    return kExitOk;
  }
  std::cout << "two-factor authentication: " << client::Printable(status->state, 20) << "\n";
  if (status->state == "enabled") {
    std::cout << "recovery codes left: " << status->recovery_codes_left << "\n";
  } else if (status->state == "pending") {
    std::cout << "(enrolment begun but not confirmed: run strongroom 2fa enable)\n";
  }
  std::cout << "required by this portal: " << (status->required ? "yes" : "no") << "\n";
  return kExitOk;
}

int Disable(const Options& o) {
  auto s = OpenSignedInSession(o.profile, o.ca_file);
  if (!s) return Report(s.error());
  auto proof = ReadProof(o);
  if (!proof) return Report(proof.error());
  if (auto r = s->api.DisableTwoFactor(*proof); !r) return ReportSessionFailure(*s, r.error());
  std::cout << "Two-factor authentication is off; its recovery codes no longer work.\n";
  WarnIfRequired(s->api);
  return kExitOk;
}

int RecoveryCodes(const Options& o) {
  auto s = OpenSignedInSession(o.profile, o.ca_file);
  if (!s) return Report(s.error());
  auto proof = ReadProof(o);
  if (!proof) return Report(proof.error());
  auto codes = s->api.NewRecoveryCodes(*proof);
  if (!codes) return ReportSessionFailure(*s, codes.error());
  if (!o.json) std::cout << "New recovery codes made; the old ones no longer work.\n";
  PrintRecoveryCodes(*codes, o.json);
  return kExitOk;
}

}  // namespace

Result<client::SecondFactor> SecondFactorFromOptions(const std::string& totp,
                                                     const std::string& recovery_code) {
  if (!totp.empty() && !recovery_code.empty()) {
    return Error::Usage("give --totp or --recovery-code, not both");
  }
  client::SecondFactor factor;
  factor.totp = Trimmed(totp);
  std::string code = Trimmed(recovery_code);
  factor.recovery_code = SecretString(std::move(code));
  return factor;
}

client::SecondFactor SecondFactorFromText(std::string_view text) {
  std::string code = Trimmed(text);
  client::SecondFactor factor;
  const bool digits = code.size() == 6 && std::all_of(code.begin(), code.end(),
                                                      [](char c) { return c >= '0' && c <= '9'; });
  if (digits) {
    factor.totp = std::move(code);
  } else {
    factor.recovery_code = SecretString(std::move(code));
  }
  return factor;
}

struct TwoFactorCommands::State {
  Options o;
  CLI::App* group = nullptr;
  CLI::App* enable = nullptr;
  CLI::App* disable = nullptr;
  CLI::App* status = nullptr;
  CLI::App* recovery_codes = nullptr;
};

TwoFactorCommands::TwoFactorCommands(CLI::App& app) : state_(std::make_unique<State>()) {
  Options& o = state_->o;
  State& s = *state_;
  const auto common = [&o](CLI::App* c) {
    c->add_option("--profile", o.profile, "Profile name (default: default)");
    c->add_option("--ca-file", o.ca_file,
                  "PEM file of CA certificates to trust (default: $STRONGROOM_CA_FILE, else the "
                  "system store)");
  };
  const auto proof = [&o](CLI::App* c) {
    auto* totp = c->add_option("--totp", o.totp, "The current code from the authenticator app");
    auto* recovery =
        c->add_option("--recovery-code", o.recovery_code, "One of your two-factor recovery codes");
    totp->excludes(recovery);
    c->footer(
        "Without --totp or --recovery-code the code is typed on the terminal, or read "
        "from standard input when that is not a terminal.");
  };

  s.group = app.add_subcommand("2fa", "Two-factor authentication (TOTP) for your account");
  s.group->require_subcommand(1);
  s.enable = s.group->add_subcommand(
      "enable", "Enrol an authenticator app: shows a QR code and URI, then asks for its code");
  common(s.enable);
  s.disable = s.group->add_subcommand("disable", "Turn two-factor authentication off");
  proof(s.disable);
  common(s.disable);
  s.status = s.group->add_subcommand("status", "Show whether two-factor authentication is on");
  s.status->add_flag("--json", o.json, "Print one JSON object to standard output");
  common(s.status);
  s.recovery_codes = s.group->add_subcommand(
      "recovery-codes", "Make ten new recovery codes (the old ones stop working)");
  proof(s.recovery_codes);
  s.recovery_codes->add_flag("--json", o.json, "Print one JSON object to standard output");
  common(s.recovery_codes);
}

TwoFactorCommands::~TwoFactorCommands() = default;

bool TwoFactorCommands::IsTwoFactorCommand(std::string_view name) {
  return name == "2fa";
}

std::optional<int> TwoFactorCommands::Run() {
  const State& s = *state_;
  if (!s.group->parsed()) return std::nullopt;
  if (s.enable->parsed()) return Enable(s.o);
  if (s.disable->parsed()) return Disable(s.o);
  if (s.status->parsed()) return Status(s.o);
  if (s.recovery_codes->parsed()) return RecoveryCodes(s.o);
  return std::nullopt;
}

}  // namespace strongroom::cli
