// server/portal_settings.h: each key's type and bounds, the stored form, defaults, and the
// cache that every request reads through. Against a real SQLite store.
#include "server/portal_settings.h"
#include "server/storage/sqlite_metadata_store.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <stdlib.h>

#include <filesystem>

namespace strongroom::server {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

class PortalSettingsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "strongroom-settings-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    auto store = storage::SqliteMetadataStore::Open((dir_ / "metadata.db").string());
    ASSERT_TRUE(store);
    store_ = std::move(*store);
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  // Encodes and stores `value` for `key` as PUT /admin/settings does.
  ::testing::AssertionResult Set(std::string_view key, std::string_view value_json) {
    std::string error;
    const auto stored = EncodeSetting(key, json::parse(value_json), error);
    if (!stored) return ::testing::AssertionFailure() << error;
    if (!store_->PutSetting(key, *stored)) return ::testing::AssertionFailure() << "put failed";
    return ::testing::AssertionSuccess();
  }
  std::string Refusal(std::string_view key, std::string_view value_json) {
    std::string error;
    const auto stored = EncodeSetting(key, json::parse(value_json), error);
    EXPECT_FALSE(stored) << key << " = " << value_json << " was accepted as " << *stored;
    return error;
  }
  PortalSettings Read() {
    auto s = ReadPortalSettings(*store_, config_);
    EXPECT_TRUE(s);
    return s ? *s : PortalSettings{};
  }

  fs::path dir_;
  std::unique_ptr<storage::SqliteMetadataStore> store_;
  Config config_;
};

TEST_F(PortalSettingsTest, DefaultsForANewPortal) {
  const PortalSettings s = Read();
  EXPECT_TRUE(s.room_enabled);
  EXPECT_EQ(s.room_allowed_types.size(), 3u);
  EXPECT_EQ(s.password.min_length, 12u);
  EXPECT_TRUE(s.password.required_classes.empty());
  EXPECT_TRUE(s.password.not_email);
  EXPECT_TRUE(s.ip_allowlist.empty());
  EXPECT_FALSE(s.trusted_domains_enabled);
  EXPECT_EQ(s.session_lifetime_s, config_.auth.session_lifetime_s);
  EXPECT_EQ(s.session_idle_timeout_s, 7 * 24 * 3600);
  const json::object o = PortalSettingsJson(s);
  EXPECT_EQ(o.size(), PortalSettingKeys().size()) << "every key is shown";
}

TEST_F(PortalSettingsTest, EveryKeyRoundTripsInCanonicalForm) {
  ASSERT_TRUE(Set("room.enabled", "false"));
  ASSERT_TRUE(Set("room.allowed_types", R"(["application/pdf", "application/pdf", "text/plain"])"));
  ASSERT_TRUE(Set("auth.require_2fa", "true"));
  ASSERT_TRUE(Set("password.min_length", "16"));
  ASSERT_TRUE(Set("password.required_classes", R"(["digit", "upper", "digit"])"));
  ASSERT_TRUE(Set("password.not_email", "false"));
  ASSERT_TRUE(Set("access.ip_allowlist", R"(["127.0.0.1", "admin:10.0.0.0/8", "user:2001:DB8::/32"])"));
  ASSERT_TRUE(Set("registration.trusted_domains_enabled", "true"));
  ASSERT_TRUE(Set("registration.trusted_domains", R"(["Example.COM", "corp.example.org"])"));
  ASSERT_TRUE(Set("session.lifetime_s", "3600"));
  ASSERT_TRUE(Set("session.idle_timeout_s", "0"));
  const json::object o = PortalSettingsJson(Read());
  EXPECT_EQ(o.at("room.enabled"), false);
  EXPECT_EQ(o.at("room.allowed_types"), json::parse(R"(["application/pdf", "text/plain"])"));
  EXPECT_EQ(o.at("auth.require_2fa"), true);
  EXPECT_EQ(o.at("password.min_length"), 16);
  EXPECT_EQ(o.at("password.required_classes"), json::parse(R"(["digit", "upper"])"));
  EXPECT_EQ(o.at("password.not_email"), false);
  EXPECT_EQ(o.at("access.ip_allowlist"),
            json::parse(R"(["127.0.0.1/32", "admin:10.0.0.0/8", "user:2001:db8::/32"])"));
  EXPECT_EQ(o.at("registration.trusted_domains_enabled"), true);
  EXPECT_EQ(o.at("registration.trusted_domains"),
            json::parse(R"(["example.com", "corp.example.org"])"));
  EXPECT_EQ(o.at("session.lifetime_s"), 3600);
  EXPECT_EQ(o.at("session.idle_timeout_s"), 0);
}

TEST_F(PortalSettingsTest, OutOfBoundsAndMistypedValuesAreRefusedWithWhatTheKeyTakes) {
  EXPECT_NE(Refusal("room.enabled", "\"yes\"").find("true or false"), std::string::npos);
  EXPECT_NE(Refusal("password.min_length", "7").find("from 8 to 128"), std::string::npos);
  Refusal("password.min_length", "129");
  Refusal("password.min_length", "12.5");
  Refusal("password.required_classes", R"(["Upper"])");
  Refusal("password.required_classes", "\"digit\"");
  Refusal("access.ip_allowlist", R"(["10.0.0.1/8"])");
  Refusal("access.ip_allowlist", R"(["owner:10.0.0.0/8"])");
  Refusal("access.ip_allowlist", R"(["10.0.0.0/8", 5])");
  Refusal("registration.trusted_domains", R"(["-bad.example"])");
  Refusal("registration.trusted_domains", R"(["a b.example"])");
  Refusal("registration.trusted_domains", R"(["@example.com"])");
  Refusal("session.lifetime_s", "10");
  Refusal("session.idle_timeout_s", "30");
  Refusal("session.idle_timeout_s", "-1");
  Refusal("room.allowed_types", R"(["text/plain; charset=utf-8"])");
  EXPECT_NE(Refusal("no.such.key", "1").find("known: room.enabled"), std::string::npos);
}

TEST_F(PortalSettingsTest, TheFirstFormOfAllowedTypesStillReads) {
  ASSERT_TRUE(store_->PutSetting("room.allowed_types", "application/pdf\ntext/plain\n"));
  EXPECT_EQ(Read().room_allowed_types, (std::vector<std::string>{"application/pdf", "text/plain"}));
}

TEST_F(PortalSettingsTest, AValueEditedIntoNonsenseIsAnErrorNotADefault) {
  ASSERT_TRUE(store_->PutSetting("access.ip_allowlist", R"(["not a range"])"));
  auto s = ReadPortalSettings(*store_, config_);
  ASSERT_FALSE(s) << "an unreadable allow-list must not silently become 'everyone'";
  EXPECT_EQ(s.error(), errc::malformed);
}

TEST_F(PortalSettingsTest, TheCacheServesASnapshotAndRereadsAfterInvalidate) {
  PortalSettingsCache cache(*store_, config_, std::chrono::hours(1));
  auto first = cache.Get();
  ASSERT_TRUE(first);
  EXPECT_TRUE((*first)->room_enabled);
  ASSERT_TRUE(Set("room.enabled", "false"));
  auto cached = cache.Get();
  ASSERT_TRUE(cached);
  EXPECT_TRUE((*cached)->room_enabled) << "within the ttl, without Invalidate: the snapshot";
  cache.Invalidate();
  auto fresh = cache.Get();
  ASSERT_TRUE(fresh);
  EXPECT_FALSE((*fresh)->room_enabled);
  EXPECT_TRUE((*first)->room_enabled) << "a snapshot held stays as it was";

  PortalSettingsCache no_ttl(*store_, config_, std::chrono::milliseconds(0));
  ASSERT_TRUE(Set("room.enabled", "true"));
  auto now = no_ttl.Get();
  ASSERT_TRUE(now);
  EXPECT_TRUE((*now)->room_enabled);
}

}  // namespace
}  // namespace strongroom::server
