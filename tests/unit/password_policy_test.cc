// password_policy.h: which rules a password breaks.
#include "strongroom/password_policy.h"

#include <gtest/gtest.h>

namespace strongroom {
namespace {

using V = std::vector<std::string>;

TEST(PasswordPolicyTest, LengthCountsCharactersNotBytesAndNeverGoesBelowTheFloor) {
  PasswordPolicy p;
  p.min_length = 10;
  EXPECT_EQ(PasswordPolicyViolations(p, "ninechars", ""), V{"at least 10 characters"});
  EXPECT_EQ(PasswordPolicyViolations(p, "tencharsok", ""), V{});
  // Nine characters, eighteen bytes.
  EXPECT_EQ(PasswordPolicyViolations(p, "ééééééééé", ""), V{"at least 10 characters"});
  p.min_length = 2;
  EXPECT_EQ(PasswordPolicyViolations(p, "seven77", ""), V{"at least 8 characters"});
}

TEST(PasswordPolicyTest, EachRequiredClassMustOccur) {
  PasswordPolicy p;
  p.min_length = 8;
  p.required_classes = {CharacterClass::lower, CharacterClass::upper, CharacterClass::digit,
                        CharacterClass::symbol};
  EXPECT_EQ(PasswordPolicyViolations(p, "abcdefgh", ""),
            (V{"an upper-case letter (A-Z)", "a digit (0-9)",
               "a symbol (anything but a-z, A-Z, 0-9)"}));
  EXPECT_EQ(PasswordPolicyViolations(p, "Abcdefg1!", ""), V{});
  EXPECT_EQ(PasswordPolicyViolations(p, "Abcdefg1 ", ""), V{}) << "a space is a symbol";
  EXPECT_EQ(PasswordPolicyViolations(p, "Abcdefg1é", ""), V{}) << "non-ASCII is a symbol";
  EXPECT_EQ(PasswordPolicyViolations(p, "ABCDEFG1!", ""), V{"a lower-case letter (a-z)"});
}

TEST(PasswordPolicyTest, NotTheEmailNorItsLocalPartInAnyCase) {
  PasswordPolicy p;
  p.min_length = 8;
  EXPECT_EQ(PasswordPolicyViolations(p, "Alice.Smith@Example.com", "alice.smith@example.com"),
            V{"not your email address"});
  EXPECT_EQ(PasswordPolicyViolations(p, "ALICE.SMITH", "alice.smith@example.com"),
            V{"not your email address"});
  EXPECT_EQ(PasswordPolicyViolations(p, "alice.smith!", "alice.smith@example.com"), V{});
  p.not_email = false;
  EXPECT_EQ(PasswordPolicyViolations(p, "alice.smith", "alice.smith@example.com"), V{});
}

TEST(PasswordPolicyTest, ClassNamesRoundTrip) {
  for (auto c : {CharacterClass::lower, CharacterClass::upper, CharacterClass::digit,
                 CharacterClass::symbol}) {
    CharacterClass parsed{};
    ASSERT_TRUE(ParseCharacterClass(CharacterClassName(c), parsed));
    EXPECT_EQ(parsed, c);
  }
  CharacterClass unused{};
  EXPECT_FALSE(ParseCharacterClass("Upper", unused));
  EXPECT_FALSE(ParseCharacterClass("", unused));
}

}  // namespace
}  // namespace strongroom
