#include "server/logging.h"

#include <spdlog/formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <ctime>
#include <memory>
#include <string>

namespace strongroom::server {
namespace {

// The formatter runs on the logging thread (the logger is synchronous), so thread-locals are
// how a record learns which request it belongs to without every call site passing it.
thread_local std::string_view t_request_id;
thread_local const AccessLogEntry* t_access = nullptr;

void Append(spdlog::memory_buf_t& dest, std::string_view s) {
  dest.append(s.data(), s.data() + s.size());
}

std::string_view LevelName(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
      return "trace";
    case spdlog::level::debug:
      return "debug";
    case spdlog::level::info:
      return "info";
    case spdlog::level::warn:
      return "warn";
    case spdlog::level::err:
      return "error";
    case spdlog::level::critical:
      return "critical";
    default:
      return "off";
  }
}

// RFC 3339 UTC with milliseconds, the form docs/api.md uses for times.
void AppendTime(spdlog::memory_buf_t& dest, spdlog::log_clock::time_point time) {
  const auto since_epoch = time.time_since_epoch();
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - seconds);
  const std::time_t t = seconds.count();
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  const int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                              tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                              tm.tm_sec, static_cast<int>(ms.count()));
  dest.append(buf, buf + n);
}

// Length of the well-formed UTF-8 sequence at the start of `s`, or 0 if it is not one.
std::size_t Utf8SequenceLength(std::string_view s) {
  const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char c = b(0);
  std::size_t n = 0;
  std::uint32_t cp = 0;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2, cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3, cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4, cp = c & 0x07;
  } else {
    return 0;
  }
  if (s.size() < n) return 0;
  for (std::size_t i = 1; i < n; ++i) {
    if ((b(i) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i) & 0x3F);
  }
  // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
      (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return n;
}

// A JSON string literal. Bytes that are not UTF-8 become U+FFFD, so every line stays JSON
// whatever a message contains.
void AppendJsonString(spdlog::memory_buf_t& dest, std::string_view s) {
  dest.push_back('"');
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      dest.push_back('\\');
      dest.push_back(static_cast<char>(c));
    } else if (c == '\n') {
      Append(dest, "\\n");
    } else if (c == '\r') {
      Append(dest, "\\r");
    } else if (c == '\t') {
      Append(dest, "\\t");
    } else if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      Append(dest, buf);
    } else if (c < 0x80) {
      dest.push_back(static_cast<char>(c));
    } else if (const std::size_t n = Utf8SequenceLength(s.substr(i)); n != 0) {
      Append(dest, s.substr(i, n));
      i += n;
      continue;
    } else {
      Append(dest, "\\ufffd");
    }
    ++i;
  }
  dest.push_back('"');
}

// Text values are written bare; anything that would make a line ambiguous (control
// characters, which include newlines) is replaced.
void AppendTextValue(spdlog::memory_buf_t& dest, std::string_view s) {
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    dest.push_back(c < 0x20 || c == 0x7F ? '?' : ch);
  }
}

class LineFormatter final : public spdlog::formatter {
 public:
  explicit LineFormatter(bool json) : json_(json) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const std::string_view text(msg.payload.data(), msg.payload.size());
    const AccessLogEntry* access = t_access;
    const std::string_view request_id = access != nullptr ? access->request_id : t_request_id;
    if (json_) {
      Append(dest, R"({"time":")");
      AppendTime(dest, msg.time);
      Append(dest, R"(","level":")");
      Append(dest, LevelName(msg.level));
      Append(dest, R"(","msg":)");
      AppendJsonString(dest, text);
      if (!request_id.empty()) {
        Append(dest, R"(,"request_id":)");
        AppendJsonString(dest, request_id);
      }
      if (access != nullptr) {
        Append(dest, R"(,"method":)");
        AppendJsonString(dest, access->method);
        Append(dest, R"(,"route":)");
        AppendJsonString(dest, access->route.empty() ? "unmatched" : access->route);
        Append(dest, R"(,"status":)");
        Append(dest, std::to_string(access->status));
        Append(dest, R"(,"duration_ms":)");
        AppendDuration(dest, access->duration_ms);
        Append(dest, R"(,"remote_ip":)");
        AppendJsonString(dest, access->remote_ip);
      }
      Append(dest, "}\n");
      return;
    }
    AppendTime(dest, msg.time);
    dest.push_back(' ');
    const std::string_view level = LevelName(msg.level);
    Append(dest, level);
    for (std::size_t i = level.size(); i < 5; ++i) dest.push_back(' ');
    if (!request_id.empty()) {
      Append(dest, " [req ");
      AppendTextValue(dest, request_id);
      dest.push_back(']');
    }
    dest.push_back(' ');
    AppendTextValue(dest, text);
    if (access != nullptr) {
      Append(dest, " method=");
      AppendTextValue(dest, access->method);
      Append(dest, " route=");
      AppendTextValue(dest, access->route.empty() ? "unmatched" : access->route);
      Append(dest, " status=");
      Append(dest, std::to_string(access->status));
      Append(dest, " duration_ms=");
      AppendDuration(dest, access->duration_ms);
      Append(dest, " remote_ip=");
      AppendTextValue(dest, access->remote_ip);
    }
    dest.push_back('\n');
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<LineFormatter>(json_);
  }

 private:
  static void AppendDuration(spdlog::memory_buf_t& dest, double ms) {
    char buf[32];
    const int n = std::snprintf(buf, sizeof buf, "%.3f", ms >= 0 && ms < 1e12 ? ms : 0.0);
    dest.append(buf, buf + n);
  }

  bool json_;
};

}  // namespace

void ConfigureLogging(const Config& config) {
  // Not the colour sink: colour codes would corrupt JSON and files, and the level is a word.
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  sink->set_formatter(std::make_unique<LineFormatter>(config.log_format == "json"));
  auto logger = std::make_shared<spdlog::logger>("strongroomd", std::move(sink));
  logger->set_level(spdlog::level::from_str(config.log_level));
  // Warnings and errors reach the file at once even if the process then dies. (The stderr
  // sink writes each record with one fwrite; stderr is unbuffered.)
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
}

RequestLogScope::RequestLogScope(std::string_view request_id) noexcept : previous_(t_request_id) {
  t_request_id = request_id;
}

RequestLogScope::~RequestLogScope() {
  t_request_id = previous_;
}

void LogRequest(const AccessLogEntry& entry) {
  const bool probe =
      entry.route == "/healthz" || entry.route == "/readyz" || entry.route == "/metrics";
  const auto level = probe ? spdlog::level::debug : spdlog::level::info;
  if (!spdlog::should_log(level)) return;
  t_access = &entry;
  spdlog::log(level, "request");
  t_access = nullptr;
}

}  // namespace strongroom::server
