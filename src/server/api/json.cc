#include "server/api/json.h"

#include "server/router.h"
#include "strongroom/crypto/encoding.h"
#include "strongroom/crypto/password.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/pct_string_view.hpp>
#include <boost/url/url_view.hpp>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace strongroom::server::api {
namespace {

const boost::json::value* Find(const boost::json::object& o, std::string_view field) {
  auto it = o.find(field);
  return it == o.end() || it->value().is_null() ? nullptr : &it->value();
}

std::string Named(std::string_view field, std::string_view what) {
  return "field '" + std::string(field) + "' " + std::string(what);
}

bool IsValidUtf8WithoutControls(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      n = 1;
      cp = c;
    } else if ((c & 0xe0) == 0xc0) {
      n = 2;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 3;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, surrogates, out of range.
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) return false;
    i += n;
  }
  return true;
}

}  // namespace

void ThrowInvalid(std::string message) {
  throw ApiError(http::status::bad_request, "invalid_request", std::move(message));
}

void ThrowUnavailable() {
  throw ApiError(http::status::service_unavailable, "unavailable",
                 "the database is unavailable; try again");
}

boost::json::object ParseObject(const Request& request) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(request.body(), ec);
  if (ec || !v.is_object()) ThrowInvalid("the request body must be a JSON object");
  return std::move(v.as_object());
}

std::string GetString(const boost::json::object& o, std::string_view field, std::size_t max_size) {
  auto v = GetOptionalString(o, field, max_size);
  if (!v) ThrowInvalid(Named(field, "is required"));
  return *v;
}

std::optional<std::string> GetOptionalString(const boost::json::object& o, std::string_view field,
                                             std::size_t max_size) {
  const auto* v = Find(o, field);
  if (v == nullptr) return std::nullopt;
  if (!v->is_string()) ThrowInvalid(Named(field, "must be a string"));
  const auto& s = v->as_string();
  if (s.empty() || s.size() > max_size) {
    ThrowInvalid(Named(field, "must be 1 to " + std::to_string(max_size) + " bytes"));
  }
  return std::string(s.data(), s.size());
}

std::vector<std::uint8_t> GetBytes(const boost::json::object& o, std::string_view field,
                                   std::size_t max_size, std::size_t exact) {
  // base64url text is at most 4/3 the size of the bytes it encodes.
  const std::string text = GetString(o, field, (std::max(max_size, exact) * 4 + 2) / 3);
  auto bytes = crypto::Base64UrlDecode(text);
  if (!bytes) ThrowInvalid(Named(field, "must be base64url without padding"));
  if (exact != 0 && bytes->size() != exact) {
    ThrowInvalid(Named(field, "must be exactly " + std::to_string(exact) + " bytes"));
  }
  if (bytes->empty() || bytes->size() > max_size) {
    ThrowInvalid(Named(field, "must be 1 to " + std::to_string(max_size) + " bytes"));
  }
  return std::move(*bytes);
}

storage::KdfRecord GetKdf(const boost::json::object& o, std::string_view field) {
  const auto* v = Find(o, field);
  if (v == nullptr || !v->is_object()) ThrowInvalid(Named(field, "must be an object"));
  const auto& k = v->as_object();
  storage::KdfRecord kdf;
  kdf.algorithm = GetString(k, "algorithm", 32);
  if (kdf.algorithm != "argon2id13") ThrowInvalid(Named(field, "algorithm must be argon2id13"));
  const auto* ops = Find(k, "opslimit");
  const auto* mem = Find(k, "memlimit");
  if (ops == nullptr || !ops->is_int64() || mem == nullptr || !mem->is_int64()) {
    ThrowInvalid(Named(field, "needs whole-number opslimit and memlimit"));
  }
  kdf.opslimit = ops->as_int64();
  kdf.memlimit = mem->as_int64();
  // The same floor and ceiling the client enforces (crypto/password.h): a stored parameter
  // set below the floor would be refused by every client at sign-in.
  if (kdf.opslimit < crypto::kKdfMinOpsLimit || kdf.opslimit > crypto::kKdfMaxOpsLimit ||
      kdf.memlimit < static_cast<std::int64_t>(crypto::kKdfMinMemLimit) ||
      kdf.memlimit > static_cast<std::int64_t>(crypto::kKdfMaxMemLimit)) {
    ThrowInvalid(Named(field, "has parameters outside the accepted range"));
  }
  kdf.salt = GetBytes(k, "salt", crypto::kKdfSaltSize, crypto::kKdfSaltSize);
  return kdf;
}

std::string NormalizeEmail(std::string_view email) {
  while (!email.empty() && (email.front() == ' ' || email.front() == '\t')) email.remove_prefix(1);
  while (!email.empty() && (email.back() == ' ' || email.back() == '\t')) email.remove_suffix(1);
  std::string out;
  out.reserve(email.size());
  std::size_t at_count = 0;
  for (const char c : email) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) ThrowInvalid("field 'email' must not contain spaces or controls");
    if (c == '@') ++at_count;
    out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  const auto at = out.find('@');
  if (out.size() < 3 || out.size() > 254 || at_count != 1 || at == 0 || at + 1 == out.size() ||
      !IsValidUtf8WithoutControls(out)) {
    ThrowInvalid("field 'email' is not a valid email address");
  }
  return out;
}

bool IsValidDisplayName(std::string_view name) {
  return !name.empty() && name.size() <= 100 && IsValidUtf8WithoutControls(name);
}

bool IsValidUserIdText(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (const char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return false;
  }
  return true;
}

std::string FormatTime(storage::TimeMs t) {
  const std::time_t seconds = static_cast<std::time_t>(t / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[64];  // Room for any int year, so the format cannot truncate.
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(t % 1000));
  return buffer;
}

std::optional<storage::TimeMs> ParseTime(std::string_view text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, ms = 0;
  char z = 0;
  const std::string copy(text);
  int consumed = 0;
  if (text.size() == 24) {
    if (std::sscanf(copy.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c%n", &y, &mo, &d, &h, &mi, &s, &ms,
                    &z, &consumed) != 8) {
      return std::nullopt;
    }
  } else if (text.size() == 20) {
    if (std::sscanf(copy.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c%n", &y, &mo, &d, &h, &mi, &s, &z,
                    &consumed) != 7) {
      return std::nullopt;
    }
  } else {
    return std::nullopt;
  }
  if (z != 'Z' || consumed != static_cast<int>(text.size())) return std::nullopt;
  if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) {
    return std::nullopt;
  }
  using namespace std::chrono;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  const auto days = sys_days(ymd).time_since_epoch();
  const auto total = duration_cast<milliseconds>(days) + hours(h) + minutes(mi) + seconds(s) +
                     milliseconds(ms);
  return total.count();
}

std::map<std::string, std::string> QueryParams(const Request& request) {
  std::map<std::string, std::string> out;
  auto url = boost::urls::parse_origin_form(request.target());
  if (!url) ThrowInvalid("the request target is not a valid URL");
  for (const auto& param : url->params()) {
    if (param.key.size() > 64 || param.value.size() > 1024) ThrowInvalid("query too long");
    out[std::string(param.key)] = std::string(param.value);
  }
  return out;
}

std::optional<std::int64_t> IntQueryParam(const std::map<std::string, std::string>& params,
                                          const std::string& name, std::int64_t min,
                                          std::int64_t max) {
  const auto it = params.find(name);
  if (it == params.end()) return std::nullopt;
  std::int64_t v = 0;
  const auto& s = it->second;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < min || v > max) {
    ThrowInvalid("query parameter '" + name + "' must be a whole number from " +
                 std::to_string(min) + " to " + std::to_string(max));
  }
  return v;
}

std::optional<std::string> TextQueryParam(const std::map<std::string, std::string>& params,
                                          const std::string& name) {
  const auto it = params.find(name);
  if (it == params.end()) return std::nullopt;
  if (it->second.empty()) ThrowInvalid("query parameter '" + name + "' must not be empty");
  return it->second;
}

storage::PageQuery PageQueryParams(const std::map<std::string, std::string>& params) {
  storage::PageQuery page;
  page.limit = static_cast<std::size_t>(IntQueryParam(params, "limit", 1, 1000).value_or(100));
  page.after = TextQueryParam(params, "after").value_or("");
  return page;
}

std::optional<std::string> DecodePathSegment(std::string_view segment) {
  auto encoded = boost::urls::make_pct_string_view(segment);
  if (!encoded) return std::nullopt;
  return encoded->decode();
}

std::string DetailJson(
    std::initializer_list<std::pair<std::string_view, boost::json::value>> fields) {
  boost::json::object o;
  for (const auto& [key, value] : fields) o[key] = value;
  return boost::json::serialize(o);
}

boost::json::value KdfJson(const storage::KdfRecord& kdf) {
  boost::json::object o;
  o["algorithm"] = kdf.algorithm;
  o["opslimit"] = kdf.opslimit;
  o["memlimit"] = kdf.memlimit;
  o["salt"] = crypto::Base64UrlEncode(kdf.salt);
  return o;
}

std::string B64(const std::vector<std::uint8_t>& bytes) {
  return crypto::Base64UrlEncode(bytes);
}

Response Json(const Request& request, http::status status, const boost::json::object& body) {
  return JsonResponse(request, status, boost::json::serialize(body));
}

}  // namespace strongroom::server::api
