#include "strongroom/cli_output.h"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <iostream>

namespace strongroom::cli {

int Report(const client::Error& error) {
  std::cerr << "strongroom: " << error.ToString() << "\n";
  return error.kind == client::Error::Kind::usage ? kExitUsage : kExitFailed;
}

int UsageError(std::string_view message) {
  std::cerr << "strongroom: " << message << "\n";
  return kExitUsage;
}

void PrintJson(const boost::json::object& object) {
  std::cout << boost::json::serialize(object) << "\n";
}

void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::vector<std::string>> all;
  all.push_back(header);
  for (const auto& row : rows) {
    std::vector<std::string> cells;
    for (const auto& cell : row) cells.push_back(client::Printable(cell, 120));
    all.push_back(std::move(cells));
  }
  std::vector<std::size_t> width(header.size(), 0);
  for (const auto& row : all) {
    for (std::size_t i = 0; i < row.size() && i < width.size(); ++i) {
      width[i] = std::max(width[i], row[i].size());
    }
  }
  for (const auto& row : all) {
    std::string line;
    for (std::size_t i = 0; i < row.size() && i < width.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::cout << line << "\n";
  }
}

}  // namespace strongroom::cli
