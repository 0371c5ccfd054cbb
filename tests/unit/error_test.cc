#include "strongroom/error.h"

#include <gtest/gtest.h>

namespace strongroom {
namespace {

TEST(Error, CodesCompareAndDescribe) {
  const boost::system::error_code ec = errc::header_tampered;
  EXPECT_EQ(ec, errc::header_tampered);
  EXPECT_NE(ec, errc::payload_tampered);
  EXPECT_STREQ(ec.category().name(), "strongroom");
  EXPECT_NE(ec.message().find("header"), std::string::npos);
  EXPECT_EQ(error_name(errc::not_a_recipient), "not_a_recipient");
}

TEST(Error, ResultCarriesValueOrError) {
  result<int> ok = 7;
  result<int> bad = errc::truncated;
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, 7);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), errc::truncated);
}

}  // namespace
}  // namespace strongroom
