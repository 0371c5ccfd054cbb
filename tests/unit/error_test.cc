#include "strongroom/error.h"

#include <gtest/gtest.h>

#include <set>
#include <string_view>

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

TEST(Error, EveryCodeHasItsOwnNameAndAMessage) {
  std::set<std::string_view> names;
  for (int i = static_cast<int>(errc::invalid_argument); i <= static_cast<int>(errc::stale_epoch);
       ++i) {
    const auto code = static_cast<errc>(i);
    const std::string_view name = error_name(code);
    EXPECT_FALSE(name.empty()) << i;
    EXPECT_TRUE(names.insert(name).second) << "duplicate name " << name;
    const boost::system::error_code ec = code;
    EXPECT_FALSE(ec.message().empty()) << name;
    EXPECT_EQ(ec.message().find("unknown"), std::string::npos) << name;
  }
  EXPECT_EQ(error_name(errc::conflict), "conflict");
  EXPECT_EQ(error_name(errc::rolled_back), "rolled_back");
  EXPECT_EQ(error_name(errc::untrusted_signer), "untrusted_signer");
  EXPECT_EQ(error_name(errc::record_mismatch), "record_mismatch");
  EXPECT_EQ(error_name(errc::replayed), "replayed");
  EXPECT_EQ(error_name(errc::update_gap), "update_gap");
  EXPECT_EQ(error_name(errc::reordered), "reordered");
  EXPECT_EQ(error_name(errc::stale_epoch), "stale_epoch");
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
