#include "strongroom/client/client_error.h"

#include <boost/throw_exception.hpp>

#include <stdexcept>

namespace strongroom::client {
namespace {

Error Make(Error::Kind kind, std::string message) {
  Error e;
  e.kind = kind;
  e.message = std::move(message);
  return e;
}

}  // namespace

Error Error::Usage(std::string message) {
  return Make(Kind::usage, std::move(message));
}

Error Error::Local(std::string message) {
  return Make(Kind::local, std::move(message));
}

Error Error::Local(std::string_view what, const boost::system::error_code& ec) {
  return Local(std::string(what) + ": " + ec.message());
}

Error Error::Network(std::string message) {
  return Make(Kind::network, std::move(message));
}

Error Error::Refused(std::string message) {
  return Make(Kind::refused, std::move(message));
}

std::string Error::ToString() const {
  std::string out = message;
  if (!code.empty()) out += " (" + code + ")";
  return out;
}

void throw_exception_from_error(const Error& e, const boost::source_location& loc) {
  boost::throw_exception(std::runtime_error(e.ToString()), loc);
}

std::string Printable(std::string_view text, std::size_t max) {
  std::string out;
  for (const char ch : text.substr(0, max)) {
    const auto c = static_cast<unsigned char>(ch);
    // Bytes >= 0x80 pass: UTF-8 text stays readable; C1 controls need a lead byte 0xc2,
    // which a terminal does not interpret as a control on its own.
    out += (c < 0x20 || c == 0x7f) ? '?' : ch;
  }
  if (text.size() > max) out += "...";
  return out;
}

}  // namespace strongroom::client
