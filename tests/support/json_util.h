// Reading JSON in integration tests: parsing, typed accessors by JSON pointer, and the error
// bodies of the HTTP API ({"error": {"code": ..., "message": ...}}, docs/api.md).
//
// The accessors are for values a test expects to be there: a missing value or one of another
// type adds a (non-fatal) failure naming the pointer and the document, and yields a neutral
// value ("", -1, false, an empty array) so the test can go on and report more. Use At() to
// look for a value that may be absent.
#pragma once

#include "support/http_client.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <cstdint>
#include <set>
#include <string>
#include <string_view>

namespace strongroom::testing {

// `text` parsed, or an empty object (and a test failure quoting the start of `text`) when it
// is not JSON.
inline boost::json::value ParseJson(const std::string& text) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (ec) {
    constexpr std::size_t kShown = 1000;
    ADD_FAILURE() << "not JSON (" << ec.message() << "): " << text.substr(0, kShown)
                  << (text.size() > kShown ? "..." : "");
    return boost::json::object();
  }
  return v;
}

// The value at a JSON pointer ("/user/role"), or nullptr when there is none. Never fails.
inline const boost::json::value* At(const boost::json::value& v, std::string_view pointer) {
  boost::system::error_code ec;
  return v.find_pointer(pointer, ec);
}

// The string at `pointer` ("" and a failure unless there is one).
inline std::string JStr(const boost::json::value& v, std::string_view pointer) {
  const boost::json::value* p = At(v, pointer);
  if (p == nullptr || !p->is_string()) {
    ADD_FAILURE() << "no string at " << pointer << " in " << boost::json::serialize(v);
    return {};
  }
  return std::string(p->as_string());
}

// The integer at `pointer` (-1 and a failure unless there is one; doubles do not count).
inline std::int64_t JInt(const boost::json::value& v, std::string_view pointer) {
  const boost::json::value* p = At(v, pointer);
  if (p == nullptr || !(p->is_int64() || p->is_uint64())) {
    ADD_FAILURE() << "no integer at " << pointer << " in " << boost::json::serialize(v);
    return -1;
  }
  return p->is_int64() ? p->as_int64() : static_cast<std::int64_t>(p->as_uint64());
}

// The boolean at `pointer` (false and a failure unless there is one).
inline bool JBool(const boost::json::value& v, std::string_view pointer) {
  const boost::json::value* p = At(v, pointer);
  if (p == nullptr || !p->is_bool()) {
    ADD_FAILURE() << "no boolean at " << pointer << " in " << boost::json::serialize(v);
    return false;
  }
  return p->as_bool();
}

// A copy of the array at `pointer` (empty and a failure unless there is one).
inline boost::json::array JArr(const boost::json::value& v, std::string_view pointer) {
  const boost::json::value* p = At(v, pointer);
  if (p == nullptr || !p->is_array()) {
    ADD_FAILURE() << "no array at " << pointer << " in " << boost::json::serialize(v);
    return {};
  }
  return p->as_array();
}

// The member names of an object (none for anything else), to compare a whole key set.
inline std::set<std::string> Keys(const boost::json::value& v) {
  std::set<std::string> keys;
  if (v.is_object()) {
    for (const auto& kv : v.as_object()) keys.insert(std::string(kv.key()));
  }
  return keys;
}

// The error code of an API error answer ("<none>" when the body has none). A body that is not
// JSON at all is a test failure: every answer of the API is JSON.
inline std::string ErrorCode(const HttpReply& reply) {
  const boost::json::value body = ParseJson(reply.body);
  const boost::json::value* code = At(body, "/error/code");
  return code != nullptr && code->is_string() ? std::string(code->as_string()) : "<none>";
}

}  // namespace strongroom::testing

// Expects `reply_expr` (an HttpReply, evaluated once) to be an API error with this HTTP status
// and error code; the failure messages show the expression and the start of the body.
#define EXPECT_API_ERROR(reply_expr, http_status, error_code)                   \
  do {                                                                          \
    const ::strongroom::testing::HttpReply api_error_reply_ = (reply_expr);     \
    EXPECT_EQ(api_error_reply_.status, (http_status))                           \
        << #reply_expr << ": " << api_error_reply_.body.substr(0, 500);         \
    EXPECT_EQ(::strongroom::testing::ErrorCode(api_error_reply_), (error_code)) \
        << #reply_expr << ": " << api_error_reply_.body.substr(0, 500);         \
  } while (0)
