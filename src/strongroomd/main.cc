// strongroomd: the Strongroom server.
// Internal header of strongroom_server, whose src/ include directory strongroomd does not see.
#include "server/logging.h"
#include "strongroom/server/config.h"
#include "strongroom/server/portal.h"
#include "strongroom/server/server.h"
#include "strongroom/version.h"

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <thread>

namespace {

int Serve(const strongroom::server::Config& config) {
  const std::string& data_dir = config.data_dir;
  strongroom::server::ServerOptions options = config.server;
  options.tls_cert_file = config.tls_cert_file;
  options.tls_key_file = config.tls_key_file;
  // Block the shutdown signals in every thread; one thread waits for them with sigwait. First
  // of all: a thread inherits the mask of the one that starts it, and opening the portal
  // already starts some (the store's checkpoint thread); one that left SIGTERM unblocked could
  // be handed it, and its default action ends the process without draining.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::string why;
  auto portal = strongroom::server::OpenPortal(config, &why);
  if (!portal) {
    std::cerr << "strongroomd: " << why << "\n";
    return 1;
  }

  strongroom::server::Server server(options, portal->services);
  std::string listen_why;
  auto bound = server.Listen(&listen_why);
  if (!bound) {
    // Names the file or address that failed, never key material.
    std::cerr << "strongroomd: " << listen_why << "\n";
    return 1;
  }
  const std::string scheme = server.tls() ? "https" : "http";
  const std::string host =
      bound->host.find(':') != std::string::npos ? "[" + bound->host + "]" : bound->host;
  // Tests and scripts read this line to learn the port; keep its shape stable.
  std::cout << "strongroomd " << strongroom::kVersion << " listening on " << scheme << "://" << host
            << ":" << bound->port << "\n"
            << "  data directory: " << std::filesystem::absolute(data_dir).string() << "\n"
            << "  try: curl " << scheme << "://" << host << ":" << bound->port << "/healthz\n"
            << "  stop with Ctrl-C (SIGINT) or SIGTERM" << std::endl;
  if (portal->owner_setup_token) {
    // Shown once: the database keeps only its hash. Tests and scripts read this line.
    std::cout << "  new portal: register its owner with this one-time token (valid 7 days):\n"
              << "  owner setup token: " << *portal->owner_setup_token << "\n"
              << "  e.g. strongroom register --server " << scheme << "://" << host << ":" << bound->port
              << " --invite TOKEN --email YOU@EXAMPLE.ORG" << std::endl;
    portal->owner_setup_token.reset();
  }

  std::thread signal_waiter([&server, signals] {
    int received = 0;
    sigwait(&signals, &received);
    spdlog::info("received signal {}, draining", received);
    server.Stop();
  });
  server.Run();
  // Run() may also end without a signal (drain after a fatal error): wake the waiter.
  pthread_kill(signal_waiter.native_handle(), SIGTERM);
  signal_waiter.join();
  spdlog::info("stopped");
  return 0;
}

int Invite(const strongroom::server::Config& config, const std::string& email, bool admin) {
  std::string why;
  auto invitation = strongroom::server::InviteFromCommandLine(
      config, email,
      admin ? strongroom::server::InviteRole::admin : strongroom::server::InviteRole::user, &why);
  if (!invitation) {
    std::cerr << "strongroomd: " << why << "\n";
    return 1;
  }
  // Only the token on stdout, so scripts can capture it; the rest on stderr.
  std::cout << invitation->token << std::endl;
  std::cerr << "invitation for " << email << (admin ? " (administrator)" : "")
            << "; single use; expires in " << config.auth.invitation_lifetime_s / 3600
            << " hour(s)\n";
  return 0;
}

int Check(const strongroom::server::Config& config) {
  std::string why;
  auto problems = strongroom::server::CheckPortal(config, &why);
  if (!problems) {
    std::cerr << "strongroomd: check failed to run: " << why << "\n";
    return 2;
  }
  for (const auto& p : *problems) std::cout << "problem: " << p << "\n";
  if (problems->empty()) {
    std::cout << "ok: " << config.data_dir << " is consistent\n";
    return 0;
  }
  std::cout << problems->size() << " problem(s) found in " << config.data_dir << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"strongroomd: the Strongroom server (end-to-end encrypted document workspace)"};
  app.set_version_flag("-V,--version", std::string("strongroomd ") + strongroom::kVersion);
  app.require_subcommand(1);

  std::optional<std::string> config_file, listen, data_dir;
  auto* serve = app.add_subcommand("serve", "Run the server");
  serve->add_option("--config", config_file, "TOML configuration file (docs/configuration.md)");
  serve->add_option(
      "--listen", listen,
      "Address to listen on, HOST:PORT (port 0: any free port); default 127.0.0.1:8080");
  serve->add_option("--data-dir", data_dir, "Directory for the database and blobs; default ./var");
  serve->footer("Precedence: defaults < --config file < STRONGROOM_* environment < flags.");

  std::string invite_email;
  bool invite_admin = false;
  auto* invite = app.add_subcommand(
      "invite", "Make a one-time invitation; prints only the token (safe while serving)");
  invite->add_option("--config", config_file, "TOML configuration file");
  invite->add_option("--data-dir", data_dir, "The portal's data directory; default ./var");
  invite->add_option("--email", invite_email, "The email the invitation admits")->required();
  invite->add_flag("--admin", invite_admin, "Invite an administrator (default: a user)");

  auto* check = app.add_subcommand(
      "check", "Check the data directory (database integrity, blobs vs rows); exit 1 on problems");
  check->add_option("--config", config_file, "TOML configuration file");
  check->add_option("--data-dir", data_dir, "The portal's data directory; default ./var");

  CLI11_PARSE(app, argc, argv);
  // Logs go to standard error; standard output carries only what scripts read (the address).
  // Defaults until the configuration is loaded (and for the subcommands that only warn).
  strongroom::server::ConfigureLogging(strongroom::server::Config{});
  try {
    if (invite->parsed() || check->parsed()) {
      strongroom::server::ConfigSources sources;
      sources.file = config_file;
      sources.environment = strongroom::server::ProcessEnvironment();
      if (data_dir) sources.flags["data_dir"] = *data_dir;
      std::string why;
      auto config = strongroom::server::LoadConfig(sources, &why);
      if (!config) {
        std::cerr << "strongroomd: configuration error: " << why << "\n";
        return 2;
      }
      spdlog::set_level(spdlog::level::warn);
      return invite->parsed() ? Invite(*config, invite_email, invite_admin) : Check(*config);
    }
    if (serve->parsed()) {
      strongroom::server::ConfigSources sources;
      sources.file = config_file;
      sources.environment = strongroom::server::ProcessEnvironment();
      if (listen) sources.flags["listen"] = *listen;
      if (data_dir) sources.flags["data_dir"] = *data_dir;
      std::string why;
      auto config = strongroom::server::LoadConfig(sources, &why);
      if (!config) {
        std::cerr << "strongroomd: configuration error: " << why << "\n";
        return 2;
      }
      strongroom::server::ConfigureLogging(*config);
      return Serve(*config);
    }
  } catch (const std::exception& e) {
    std::cerr << "strongroomd: fatal: " << e.what() << "\n";
    return 1;
  }
  return 2;
}
