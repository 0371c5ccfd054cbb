// The client's error type: what went wrong talking to a server, in words a person can act on.
//
// The crypto and file layers speak `strongroom::errc` (fixed strings, no data). Talking to a
// server needs more: the HTTP status, the server's stable error `code` ("invalid_credentials")
// and its human message. `client::Error` carries those, plus a `Kind` that decides the CLI's
// exit status (usage errors are 2, every other failure 1).
//
// Messages never contain a password, key, token or bundle: they are built from fixed strings,
// host names, file names and the server's own message (which docs/api.md promises is free of
// secrets, and which is sanitised for control characters before it is shown).
#pragma once

#include "strongroom/error.h"

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

#include <string>
#include <string_view>

namespace strongroom::client {

struct Error {
  enum class Kind {
    usage,    // The caller's input is unusable (bad URL, short password, mistyped code).
    local,    // Something on this machine failed (profile files, terminal).
    network,  // No usable HTTP exchange: DNS, connect, TLS, timeout, malformed response.
    server,   // The server answered with an error status (see `status` and `code`).
    refused,  // The client refused what the server sent (weak KDF parameters, wrong keys).
  };

  Kind kind = Kind::local;
  int status = 0;        // HTTP status for Kind::server, else 0.
  std::string code;      // The server's machine-readable code ("locked_out"), may be empty.
  std::string message;   // For people. Never holds a secret.
  int retry_after = -1;  // Seconds from a Retry-After header, or -1.

  [[nodiscard]] static Error Usage(std::string message);
  [[nodiscard]] static Error Local(std::string message);
  [[nodiscard]] static Error Local(std::string_view what, const boost::system::error_code& ec);
  [[nodiscard]] static Error Network(std::string message);
  [[nodiscard]] static Error Refused(std::string message);

  // "MESSAGE" or "MESSAGE (CODE)": the CLI prints this after "strongroom: ".
  [[nodiscard]] std::string ToString() const;
};

template <class T>
using Result = boost::system::result<T, Error>;

// Found by argument-dependent lookup when `.value()` is called on a failed Result.
[[noreturn]] void throw_exception_from_error(const Error& e, const boost::source_location& loc);

// Makes untrusted text (a server's message, a field echoed back) safe to print on a terminal:
// control characters become '?', and the text is cut to `max` bytes.
[[nodiscard]] std::string Printable(std::string_view text, std::size_t max = 300);

}  // namespace strongroom::client
