// How the CLI reports: errors on stderr as "strongroom: MESSAGE (CODE)", exit statuses, JSON
// and tables on stdout. See docs/cli.md, "Output and exit status".
#pragma once

#include "strongroom/client/client_error.h"

#include <boost/json/object.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace strongroom::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

// Prints `error` to stderr and returns its exit status (2 for Kind::usage, else 1).
int Report(const client::Error& error);

// Prints "strongroom: MESSAGE" to stderr and returns kExitUsage.
int UsageError(std::string_view message);

// One JSON object on one line of stdout.
void PrintJson(const boost::json::object& object);

// A left-aligned table on stdout: a header row, then rows; cells are made printable.
void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows);

}  // namespace strongroom::cli
