#include "server/router.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace strongroom::server
