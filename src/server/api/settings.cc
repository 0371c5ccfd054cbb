// Portal settings: the admin endpoints that read and change them, and the password policy
// everyone may read. The keys, types and bounds are in server/portal_settings.h.
// docs/api.md, "Settings".
#include "server/api/handlers.h"
#include "server/api/json.h"
#include "server/services.h"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>

namespace strongroom::server::api {

std::shared_ptr<const PortalSettings> CurrentSettings(Services& s) {
  auto settings = s.settings->Get();
  if (!settings) ThrowUnavailable();
  return std::move(*settings);
}

Response AdminGetSettings(const Request& request, HandlerContext& context) {
  (void)AuthenticateAdmin(request, context);
  return Json(request, http::status::ok, PortalSettingsJson(*CurrentSettings(Svc(context))));
}

Response AdminPutSetting(const Request& request, HandlerContext& context) {
  const Caller caller = AuthenticateAdmin(request, context);
  Services& s = Svc(context);
  const auto body = ParseObject(request);
  const std::string key = GetString(body, "key", 64);
  const auto* value = body.if_contains("value");
  if (value == nullptr) ThrowInvalid("field 'value' is missing");
  PortalSettings after = *CurrentSettings(s);
  std::string error;
  const auto stored = EncodeSetting(key, *value, error, &after);
  if (!stored) ThrowInvalid(error);
  // An allow-list that would shut out the administrator making it is almost always a
  // mistake, and one they could not undo from here.
  if (!after.ip_allowlist.Admits(context.info.remote_ip, caller.user.role)) {
    throw ApiError(http::status::conflict, "would_lock_out",
                   "this allow-list does not admit your own address (" + context.info.remote_ip +
                       ") for your role; include it, or change the list from an address it admits");
  }
  Must(s.store->PutSetting(key, *stored));
  s.settings->Invalidate();
  Audit(context, caller.user.id, "settings.change", key, "success",
        boost::json::serialize(boost::json::object{{"key", key}, {"value", *value}}));
  return Json(request, http::status::ok, PortalSettingsJson(after));
}

Response PasswordPolicyPublic(const Request& request, HandlerContext& context) {
  const auto settings = CurrentSettings(Svc(context));
  const PasswordPolicy& p = settings->password;
  boost::json::object out;
  out["min_length"] = static_cast<std::int64_t>(std::max(p.min_length, kPasswordMinLengthFloor));
  boost::json::array classes;
  for (const auto c : p.required_classes) classes.emplace_back(CharacterClassName(c));
  out["required_classes"] = std::move(classes);
  out["not_email"] = p.not_email;
  return Json(request, http::status::ok, out);
}

}  // namespace strongroom::server::api
