// server/ip_allowlist.h: CIDR parsing and who is admitted from where.
#include "server/ip_allowlist.h"

#include <gtest/gtest.h>

namespace strongroom::server {
namespace {

using storage::Role;

IpRule Rule(std::string_view cidr, std::optional<Role> role = std::nullopt) {
  auto r = ParseIpRule(cidr, role);
  EXPECT_TRUE(r) << cidr;
  return r ? *r : IpRule{};
}

TEST(IpAllowListTest, ParsesRangesAndBareAddressesToCanonicalText) {
  EXPECT_EQ(Rule("10.0.0.0/8").cidr, "10.0.0.0/8");
  EXPECT_EQ(Rule("127.0.0.1").cidr, "127.0.0.1/32");
  EXPECT_EQ(Rule("2001:DB8::/32").cidr, "2001:db8::/32");
  EXPECT_EQ(Rule("::1").cidr, "::1/128");
  EXPECT_EQ(Rule("::ffff:192.0.2.7").cidr, "192.0.2.7/32") << "IPv4-mapped is IPv4";
  EXPECT_EQ(Rule("0.0.0.0/0").cidr, "0.0.0.0/0");
  EXPECT_EQ(Rule("10.0.0.0/8", Role::owner).role, Role::admin) << "the owner is an admin here";
}

TEST(IpAllowListTest, RefusesMalformedRangesAndHostBits) {
  for (const char* bad : {"", "10.0.0.0/33", "10.0.0.1/8", "10.0.0/8", "300.0.0.1", "abc",
                          "2001:db8::1/32", "2001:db8::/129", "10.0.0.0/8 ", " 10.0.0.0/8",
                          "10.0.0.0/-1", "1.2.3.4/"}) {
    EXPECT_FALSE(ParseIpRule(bad, std::nullopt)) << "'" << bad << "'";
  }
}

TEST(IpAllowListTest, EmptyListAdmitsEveryone) {
  const IpAllowList list;
  EXPECT_TRUE(list.Admits("203.0.113.9", Role::user));
  EXPECT_TRUE(list.Admits("::1", Role::owner));
  EXPECT_TRUE(list.Admits("not an address", Role::admin));
}

TEST(IpAllowListTest, RulesForEveryRoleAdmitOnlyTheirRanges) {
  const IpAllowList list({Rule("127.0.0.1"), Rule("192.168.0.0/16"), Rule("2001:db8::/32")});
  EXPECT_TRUE(list.Admits("127.0.0.1", Role::user));
  EXPECT_FALSE(list.Admits("127.0.0.2", Role::user));
  EXPECT_TRUE(list.Admits("192.168.255.255", Role::admin));
  EXPECT_FALSE(list.Admits("192.169.0.0", Role::admin));
  EXPECT_TRUE(list.Admits("2001:db8:ffff::1", Role::owner));
  EXPECT_FALSE(list.Admits("2001:db9::1", Role::owner));
  EXPECT_TRUE(list.Admits("::ffff:127.0.0.1", Role::user)) << "dual-stack form of 127.0.0.1";
  EXPECT_FALSE(list.Admits("::ffff:127.0.0.2", Role::user));
  EXPECT_FALSE(list.Admits("not an address", Role::user));
  EXPECT_FALSE(list.Admits("", Role::user));
}

TEST(IpAllowListTest, RulesNamingARoleReplaceTheGeneralRulesForThatRoleOnly) {
  const IpAllowList list({Rule("10.0.0.0/8", Role::admin), Rule("192.0.2.0/24")});
  // Admins (and the owner): only their own rules.
  EXPECT_TRUE(list.Admits("10.1.2.3", Role::admin));
  EXPECT_TRUE(list.Admits("10.1.2.3", Role::owner));
  EXPECT_FALSE(list.Admits("192.0.2.1", Role::admin)) << "the general rule does not apply to admins";
  // Users: the general rules.
  EXPECT_TRUE(list.Admits("192.0.2.1", Role::user));
  EXPECT_FALSE(list.Admits("10.1.2.3", Role::user));

  const IpAllowList admins_only({Rule("10.0.0.0/8", Role::admin)});
  EXPECT_TRUE(admins_only.Admits("203.0.113.1", Role::user)) << "no rule applies to users";
  EXPECT_FALSE(admins_only.Admits("203.0.113.1", Role::owner));
}

}  // namespace
}  // namespace strongroom::server
