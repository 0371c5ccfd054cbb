// Reading the JSON answers of the server (internal to strongroom_client): one reader that
// remembers the first missing or mistyped field, so call sites stay flat and the error names
// the field. Every answer is the server's claim; nothing here trusts it beyond its shape.
//
//   JsonReader r(o);
//   x.a = r.String("a");
//   x.b = r.Int("b");
//   if (!r.ok()) return r.error();
#pragma once

#include "strongroom/client/client_error.h"
#include "strongroom/crypto/encoding.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace strongroom::client::detail {

// "unexpected response from the server (WHAT)": an answer that does not have the shape the
// API promises.
inline Error Unexpected(std::string_view what) {
  return Error::Network("unexpected response from the server (" + std::string(what) + ")");
}

class JsonReader {
 public:
  explicit JsonReader(const boost::json::object& o) : o_(o) {}

  // The field, or nullptr (and it is marked bad) when missing.
  const boost::json::value* Field(std::string_view name) {
    const boost::json::value* v = o_.if_contains(name);
    if (v == nullptr) Fail(name);
    return v;
  }
  std::string String(std::string_view name) {
    const auto* v = Field(name);
    if (v == nullptr) return {};
    if (!v->is_string()) return Fail(name), std::string();
    return std::string(v->get_string());
  }
  // For fields the contract allows to be missing or null.
  std::string OptionalString(std::string_view name) {
    const boost::json::value* v = o_.if_contains(name);
    return v == nullptr || v->is_null() ? std::string() : String(name);
  }
  std::int64_t Int(std::string_view name) {
    const auto* v = Field(name);
    if (v == nullptr) return 0;
    if (v->is_int64()) return v->get_int64();
    if (v->is_uint64() && v->get_uint64() <= INT64_MAX) {
      return static_cast<std::int64_t>(v->get_uint64());
    }
    return Fail(name), 0;
  }
  std::uint64_t Uint(std::string_view name) {
    const auto* v = Field(name);
    if (v == nullptr) return 0;
    if (v->is_uint64()) return v->get_uint64();
    if (v->is_int64() && v->get_int64() >= 0) return static_cast<std::uint64_t>(v->get_int64());
    return Fail(name), 0;
  }
  // A boolean that must be there.
  bool Bool(std::string_view name) {
    const auto* v = Field(name);
    if (v == nullptr) return false;
    if (!v->is_bool()) return Fail(name), false;
    return v->get_bool();
  }
  // A boolean the contract allows to be missing (then false).
  bool OptionalBool(std::string_view name) {
    return o_.contains(name) ? Bool(name) : false;
  }
  // Base64url without padding.
  std::vector<std::uint8_t> Binary(std::string_view name) {
    const std::string text = String(name);
    if (!ok()) return {};
    auto bytes = crypto::Base64UrlDecode(text);
    if (!bytes) return Fail(name), std::vector<std::uint8_t>();
    return std::move(*bytes);
  }
  const boost::json::object& Object(std::string_view name) {
    static const boost::json::object kEmpty;
    const auto* v = Field(name);
    if (v == nullptr || !v->is_object()) return Fail(name), kEmpty;
    return v->get_object();
  }
  const boost::json::array& Array(std::string_view name) {
    static const boost::json::array kEmpty;
    const auto* v = Field(name);
    if (v == nullptr || !v->is_array()) return Fail(name), kEmpty;
    return v->get_array();
  }
  // Each element of array `name`, which must be an object, through `read(JsonReader&)`.
  template <class T, class Read>
  std::vector<T> Objects(std::string_view name, Read read) {
    std::vector<T> out;
    for (const boost::json::value& v : Array(name)) {
      if (!v.is_object()) return Fail(name), out;
      JsonReader inner(v.get_object());
      out.push_back(read(inner));
      Merge(inner);
    }
    return out;
  }
  // Takes over the first bad field of a reader of a nested object (unless one is marked).
  void Merge(const JsonReader& inner) {
    if (ok() && !inner.ok()) bad_ = inner.bad_;
  }
  // Marks `name` as the first bad field (unless one is already marked).
  void Fail(std::string_view name) {
    if (bad_.empty()) bad_ = std::string(name);
  }

  [[nodiscard]] bool ok() const { return bad_.empty(); }
  [[nodiscard]] Error error() const { return Unexpected("field '" + bad_ + "'"); }

 private:
  const boost::json::object& o_;
  std::string bad_;
};

}  // namespace strongroom::client::detail
