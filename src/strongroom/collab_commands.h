// The co-editing commands: `collab log PATH`, the verified history of a document's updates.
// Specified in docs/cli.md, "Co-editing"; the protocol is docs/collab.md.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <optional>
#include <string_view>

namespace strongroom::cli {

class CollabCommands {
 public:
  // Adds `collab` and its subcommands to `app`. Keep the object alive until Run().
  explicit CollabCommands(CLI::App& app);
  ~CollabCommands();
  CollabCommands(const CollabCommands&) = delete;
  CollabCommands& operator=(const CollabCommands&) = delete;

  // True for "collab": its usage errors exit with status 2.
  [[nodiscard]] static bool IsCollabCommand(std::string_view name);

  // Runs the chosen command and returns the exit status; nullopt when none was chosen.
  [[nodiscard]] std::optional<int> Run();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace strongroom::cli
