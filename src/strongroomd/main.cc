// strongroomd: the Strongroom server.
#include "strongroom/server/config.h"
#include "strongroom/server/server.h"
#include "strongroom/version.h"

#include <spdlog/sinks/stdout_color_sinks.h>
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
  const std::string listen = config.listen;
  const strongroom::server::ServerOptions& options = config.server;
  std::error_code fs_ec;
  std::filesystem::create_directories(data_dir, fs_ec);
  if (fs_ec) {
    std::cerr << "strongroomd: cannot create data directory '" << data_dir
              << "': " << fs_ec.message() << "\n";
    return 1;
  }
  std::filesystem::permissions(data_dir, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, fs_ec);

  // Block the shutdown signals in every thread; one thread waits for them with sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  strongroom::server::Server server(options);
  auto bound = server.Listen();
  if (!bound) {
    std::cerr << "strongroomd: cannot listen on " << listen << ": " << bound.error().message()
              << "\n";
    return 1;
  }
  const std::string host =
      bound->host.find(':') != std::string::npos ? "[" + bound->host + "]" : bound->host;
  // Tests and scripts read this line to learn the port; keep its shape stable.
  std::cout << "strongroomd " << strongroom::kVersion << " listening on http://" << host << ":"
            << bound->port << "\n"
            << "  data directory: " << std::filesystem::absolute(data_dir).string() << "\n"
            << "  try: curl http://" << host << ":" << bound->port << "/healthz\n"
            << "  stop with Ctrl-C (SIGINT) or SIGTERM" << std::endl;

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

  CLI11_PARSE(app, argc, argv);
  // Logs go to standard error; standard output carries only what scripts read (the address).
  spdlog::set_default_logger(spdlog::stderr_color_mt("strongroomd"));
  try {
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
      spdlog::set_level(spdlog::level::from_str(config->log_level));
      return Serve(*config);
    }
  } catch (const std::exception& e) {
    std::cerr << "strongroomd: fatal: " << e.what() << "\n";
    return 1;
  }
  return 2;
}
