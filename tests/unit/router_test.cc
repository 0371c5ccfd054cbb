#include "server/router.h"

#include "server/api/json.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace strongroom::server {
namespace {

Request Make(http::verb verb, std::string target) {
  Request r{verb, target, 11};
  return r;
}

TEST(Router, HealthzIsOk) {
  HandlerContext ctx;
  const Response r = Dispatch(Make(http::verb::get, "/healthz"), ctx);
  EXPECT_EQ(r.result(), http::status::ok);
  EXPECT_EQ(r[http::field::content_type], "application/json");
}

TEST(Router, QueryStringIgnoredForRouting) {
  HandlerContext ctx;
  EXPECT_EQ(Dispatch(Make(http::verb::get, "/healthz?x=1"), ctx).result(), http::status::ok);
}

TEST(Router, UnknownPathIs404WithJsonError) {
  HandlerContext ctx;
  const Response r = Dispatch(Make(http::verb::get, "/missing"), ctx);
  EXPECT_EQ(r.result(), http::status::not_found);
  EXPECT_EQ(r.body(), R"({"error":{"code":"not_found","message":"no such endpoint"}})");
}

TEST(Router, WrongMethodIs405) {
  HandlerContext ctx;
  const Response r = Dispatch(Make(http::verb::delete_, "/healthz"), ctx);
  EXPECT_EQ(r.result(), http::status::method_not_allowed);
  EXPECT_EQ(r[http::field::allow], "GET");
}

TEST(Router, PathParametersAreExtracted) {
  HandlerContext ctx;
  // Without services the handler answers 503, but routing has already matched.
  const Response r = Dispatch(Make(http::verb::delete_, "/api/v1/me/sessions/abc123"), ctx);
  EXPECT_EQ(r.result(), http::status::service_unavailable);
  EXPECT_EQ(ctx.route, "/api/v1/me/sessions/{id}");
  ASSERT_EQ(ctx.params.size(), 1u);
  EXPECT_EQ(ctx.params[0], "abc123");
}

TEST(Router, ParameterSegmentMustBeNonEmptyAndWhole) {
  HandlerContext ctx;
  EXPECT_EQ(Dispatch(Make(http::verb::delete_, "/api/v1/me/sessions/"), ctx).result(),
            http::status::not_found);
  EXPECT_EQ(Dispatch(Make(http::verb::delete_, "/api/v1/me/sessions/a/b"), ctx).result(),
            http::status::not_found);
  EXPECT_EQ(Dispatch(Make(http::verb::get, "/api/v1/users/x/public-key/extra"), ctx).result(),
            http::status::not_found);
}

TEST(Router, LiteralRouteIsNotTakenForAParameter) {
  HandlerContext ctx;
  // "revoke-others" is a POST route of its own; DELETE on it matches the {id} route.
  const Response r =
      Dispatch(Make(http::verb::post, "/api/v1/me/sessions/revoke-others"), ctx);
  EXPECT_EQ(ctx.route, "/api/v1/me/sessions/revoke-others");
  EXPECT_EQ(r.result(), http::status::service_unavailable);
}

TEST(Router, NoWriteRouteOnTheAuditTrail) {
  for (const auto verb : {http::verb::delete_, http::verb::put, http::verb::patch,
                          http::verb::post}) {
    HandlerContext ctx;
    const Response r = Dispatch(Make(verb, "/api/v1/admin/audit"), ctx);
    EXPECT_EQ(r.result(), http::status::method_not_allowed) << http::to_string(verb);
    EXPECT_EQ(r[http::field::allow], "GET");
  }
}

TEST(Router, RoutePatternsAreUniqueAndIncludeHealth) {
  const auto patterns = RoutePatterns();
  EXPECT_NE(std::find(patterns.begin(), patterns.end(), "/healthz"), patterns.end());
  EXPECT_NE(std::find(patterns.begin(), patterns.end(), "/api/v1/login"), patterns.end());
  for (std::size_t i = 0; i < patterns.size(); ++i) {
    for (std::size_t j = i + 1; j < patterns.size(); ++j) EXPECT_NE(patterns[i], patterns[j]);
  }
}

TEST(ApiJson, TimesRoundTripInRfc3339) {
  EXPECT_EQ(api::FormatTime(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(api::FormatTime(1795426500123), "2026-11-23T09:35:00.123Z");
  EXPECT_EQ(api::ParseTime("2026-11-23T09:35:00.123Z"), 1795426500123);
  EXPECT_EQ(api::ParseTime("2026-11-23T09:35:00Z"), 1795426500000);
  EXPECT_FALSE(api::ParseTime("2026-11-23T09:35:00"));
  EXPECT_FALSE(api::ParseTime("2026-02-30T00:00:00Z"));
  EXPECT_FALSE(api::ParseTime("2026-11-23T09:35:00.123Z "));
  EXPECT_FALSE(api::ParseTime("yesterday"));
}

TEST(ApiJson, EmailsAreNormalisedAndValidated) {
  EXPECT_EQ(api::NormalizeEmail("  Ada@Example.COM "), "ada@example.com");
  for (const char* bad : {"", "a", "@example.com", "ada@", "a@b@c", "ada @example.com",
                          "ada\x01@example.com"}) {
    EXPECT_THROW((void)api::NormalizeEmail(bad), api::ApiError) << bad;
  }
}

TEST(ApiJson, PathSegmentsArePercentDecoded) {
  EXPECT_EQ(api::DecodePathSegment("ada%40example.com"), "ada@example.com");
  EXPECT_EQ(api::DecodePathSegment("Sales%20Team"), "Sales Team");
  EXPECT_EQ(api::DecodePathSegment("a+b"), "a+b") << "'+' is a plus in a path";
  EXPECT_EQ(api::DecodePathSegment("u-0123"), "u-0123");
  EXPECT_EQ(api::DecodePathSegment("Zo%C3%AB"), "Zo\xc3\xab");
  for (const char* broken : {"%", "%4", "%zz", "a%g1"}) {
    EXPECT_EQ(api::DecodePathSegment(broken), std::nullopt) << broken;
  }
}

TEST(Router, EveryRouteIsListedOnceWithItsMethod) {
  const auto routes = Routes();
  for (std::size_t i = 0; i < routes.size(); ++i) {
    for (std::size_t j = i + 1; j < routes.size(); ++j) {
      EXPECT_FALSE(routes[i].method == routes[j].method && routes[i].pattern == routes[j].pattern)
          << routes[i].pattern;
    }
  }
  const auto has = [&](http::verb method, std::string_view pattern) {
    return std::any_of(routes.begin(), routes.end(), [&](const RouteEntry& r) {
      return r.method == method && r.pattern == pattern;
    });
  };
  EXPECT_TRUE(has(http::verb::put, "/api/v1/room/uploads/{id}")) << "streaming routes too";
  EXPECT_TRUE(has(http::verb::put, "/api/v1/admin/users/{user}/role"));
  EXPECT_TRUE(has(http::verb::delete_, "/api/v1/admin/groups/{name}/members/{user}"));
  const auto all_patterns = RoutePatterns();
  const std::set<std::string_view> patterns(all_patterns.begin(), all_patterns.end());
  for (const auto& r : routes) EXPECT_TRUE(patterns.contains(r.pattern)) << r.pattern;
}

TEST(ApiJson, DisplayNamesAndUserIds) {
  EXPECT_TRUE(api::IsValidDisplayName("Ada Lovelace"));
  EXPECT_TRUE(api::IsValidDisplayName("Zoë"));
  EXPECT_FALSE(api::IsValidDisplayName(""));
  EXPECT_FALSE(api::IsValidDisplayName("tab\there"));
  EXPECT_FALSE(api::IsValidDisplayName("\xff\xfe"));
  EXPECT_FALSE(api::IsValidDisplayName(std::string(101, 'a')));
  EXPECT_TRUE(api::IsValidUserIdText("u-0123456789abcdef"));
  EXPECT_FALSE(api::IsValidUserIdText("U-ABC"));
  EXPECT_FALSE(api::IsValidUserIdText("u/x"));
  EXPECT_FALSE(api::IsValidUserIdText(std::string(65, 'a')));
}

}  // namespace
}  // namespace strongroom::server
