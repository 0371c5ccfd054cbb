// The Private Room commands: ls, mkdir, upload, download, mv, rm, share, unshare, shared,
// info, and keys (show, trust). Specified in docs/cli.md, "Private Room"; each opens the
// user's keys with their password (they live on the server only sealed under it).
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <optional>
#include <string_view>

namespace strongroom::cli {

class RoomCommands {
 public:
  explicit RoomCommands(CLI::App& app);
  ~RoomCommands();
  RoomCommands(const RoomCommands&) = delete;
  RoomCommands& operator=(const RoomCommands&) = delete;

  [[nodiscard]] static bool IsRoomCommand(std::string_view name);
  [[nodiscard]] std::optional<int> Run();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace strongroom::cli
