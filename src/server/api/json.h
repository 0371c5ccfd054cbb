// Helpers shared by the API handlers: reading JSON requests strictly, writing JSON responses,
// times, emails, query strings. Internal header.
//
// Handlers report a client mistake by throwing ApiError; Dispatch turns it into the JSON error
// shape of docs/api.md. Any other exception is a bug and becomes 500 `internal` (logged with
// the request id, never echoed).
#pragma once

#include "server/http_types.h"
#include "strongroom/storage/metadata_store.h"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace strongroom::server::api {

struct ApiError : std::runtime_error {
  ApiError(http::status s, std::string c, std::string message)
      : std::runtime_error(std::move(message)), status(s), code(std::move(c)) {}
  http::status status;
  std::string code;
  // Seconds for a Retry-After header (429), or 0 for none.
  std::int64_t retry_after_s = 0;
};

[[noreturn]] void ThrowInvalid(std::string message);  // 400 invalid_request
[[noreturn]] void ThrowUnavailable();                 // 503 unavailable (a store failed)

// The request body as a JSON object, or 400 invalid_request.
[[nodiscard]] boost::json::object ParseObject(const Request& request);

// Field readers: each throws 400 invalid_request naming the field when it is missing,
// mistyped or out of range.
[[nodiscard]] std::string GetString(const boost::json::object& o, std::string_view field,
                                    std::size_t max_size);
[[nodiscard]] std::optional<std::string> GetOptionalString(const boost::json::object& o,
                                                           std::string_view field,
                                                           std::size_t max_size);
// base64url bytes; `exact` > 0 requires that size, else 1..max_size bytes.
[[nodiscard]] std::vector<std::uint8_t> GetBytes(const boost::json::object& o,
                                                 std::string_view field, std::size_t max_size,
                                                 std::size_t exact = 0);
// The KDF parameters object, checked against the client's floor and ceiling.
[[nodiscard]] storage::KdfRecord GetKdf(const boost::json::object& o, std::string_view field);

// Normalises (trim, lower-case) and validates an email; 400 invalid_request if not valid.
[[nodiscard]] std::string NormalizeEmail(std::string_view email);
// 1..100 bytes of valid UTF-8 without control characters.
[[nodiscard]] bool IsValidDisplayName(std::string_view name);
// 1..64 of a-z 0-9 - _
[[nodiscard]] bool IsValidUserIdText(std::string_view id);

// RFC 3339 UTC with milliseconds: "2026-11-23T10:15:00.000Z". Parse accepts that form and
// the same without fraction.
[[nodiscard]] std::string FormatTime(storage::TimeMs t);
[[nodiscard]] std::optional<storage::TimeMs> ParseTime(std::string_view text);

// Decoded query parameters of the request target (later duplicates win). 400 on bad encoding.
[[nodiscard]] std::map<std::string, std::string> QueryParams(const Request& request);
// Readers of one query parameter, unset when absent; 400 invalid_request naming the parameter
// when it is not a whole number in [min, max], or is empty.
[[nodiscard]] std::optional<std::int64_t> IntQueryParam(
    const std::map<std::string, std::string>& params, const std::string& name, std::int64_t min,
    std::int64_t max);
[[nodiscard]] std::optional<std::string> TextQueryParam(
    const std::map<std::string, std::string>& params, const std::string& name);
// `limit` (1..1000, default 100) and `after` (the key the previous page ended with) of the
// listings sorted by a text key (users, groups).
[[nodiscard]] storage::PageQuery PageQueryParams(const std::map<std::string, std::string>& params);

// A route parameter ({name} segment) as text: route parameters arrive as sent, so an email or
// a name with spaces arrives percent-encoded. nullopt when the encoding is broken.
[[nodiscard]] std::optional<std::string> DecodePathSegment(std::string_view segment);

// A short JSON object for an audit event's detail: {"key": value, ...}.
[[nodiscard]] std::string DetailJson(
    std::initializer_list<std::pair<std::string_view, boost::json::value>> fields);

[[nodiscard]] boost::json::value KdfJson(const storage::KdfRecord& kdf);
[[nodiscard]] std::string B64(const std::vector<std::uint8_t>& bytes);

// A 200/201 JSON response from an object.
[[nodiscard]] Response Json(const Request& request, http::status status,
                            const boost::json::object& body);

}  // namespace strongroom::server::api
