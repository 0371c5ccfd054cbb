// strongroomd: the Strongroom server.
#include "strongroom/server/server.h"
#include "strongroom/version.h"

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>

namespace {

// Parses "HOST:PORT" or "[V6]:PORT".
bool ParseListen(const std::string& text, std::string& host, std::uint16_t& port) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size()) return false;
  host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  try {
    std::size_t used = 0;
    const unsigned long value = std::stoul(text.substr(colon + 1), &used);
    if (used != text.size() - colon - 1 || value > 65535) return false;
    port = static_cast<std::uint16_t>(value);
  } catch (const std::exception&) {
    return false;
  }
  return !host.empty();
}

int Serve(const std::string& listen, const std::string& data_dir) {
  strongroom::server::ServerOptions options;
  if (!ParseListen(listen, options.listen_host, options.listen_port)) {
    std::cerr << "strongroomd: --listen expects HOST:PORT, got '" << listen << "'\n";
    return 2;
  }
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

  std::string listen = "127.0.0.1:8080";
  std::string data_dir = "./var";
  auto* serve = app.add_subcommand("serve", "Run the server");
  serve->add_option("--listen", listen, "Address to listen on, HOST:PORT (port 0: any free port)")
      ->capture_default_str();
  serve->add_option("--data-dir", data_dir, "Directory for the database and blobs")
      ->capture_default_str();

  CLI11_PARSE(app, argc, argv);
  try {
    if (serve->parsed()) return Serve(listen, data_dir);
  } catch (const std::exception& e) {
    std::cerr << "strongroomd: fatal: " << e.what() << "\n";
    return 1;
  }
  return 2;
}
