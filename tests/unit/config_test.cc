#include "strongroom/server/config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace strongroom::server {
namespace {

class ConfigTest : public ::testing::Test {
 protected:
  std::string WriteToml(const std::string& text) {
    std::ofstream(path_) << text;
    return path_;
  }
  void TearDown() override { std::remove(path_.c_str()); }

  std::string path_ = (std::filesystem::temp_directory_path() /
                       ("strongroom-config-" + std::to_string(::getpid()) + ".toml"))
                          .string();
};

TEST_F(ConfigTest, DefaultsAreLoopbackAndVar) {
  std::string why;
  auto c = LoadConfig({}, &why);
  ASSERT_TRUE(c) << why;
  EXPECT_EQ(c->server.listen_host, "127.0.0.1");
  EXPECT_EQ(c->server.listen_port, 8080);
  EXPECT_EQ(c->data_dir, "./var");
  EXPECT_FALSE(c->allow_insecure_http);
}

TEST_F(ConfigTest, FileThenEnvironmentThenFlags) {
  ConfigSources s;
  s.file = WriteToml(R"(
[server]
listen = "127.0.0.1:9000"
data_dir = "/srv/from-file"
threads = 3
[limits]
max_body_bytes = 2048
read_timeout_ms = 5000
)");
  s.environment = {{"STRONGROOM_DATA_DIR", "/srv/from-env"},
                   {"STRONGROOM_THREADS", "4"},
                   {"STRONGROOM_HOME", "/ignored/client/setting"}};
  s.flags = {{"threads", "5"}};
  std::string why;
  auto c = LoadConfig(s, &why);
  ASSERT_TRUE(c) << why;
  EXPECT_EQ(c->server.listen_port, 9000);   // file
  EXPECT_EQ(c->data_dir, "/srv/from-env");  // env over file
  EXPECT_EQ(c->server.threads, 5u);         // flag over env over file
  EXPECT_EQ(c->server.max_body_bytes, 2048u);
  EXPECT_EQ(c->server.read_timeout, std::chrono::milliseconds(5000));
}

TEST_F(ConfigTest, UnknownKeysAndBadValuesAreErrorsThatNameTheKey) {
  std::string why;
  ConfigSources s;
  s.file = WriteToml("[server]\nlisten_adress = \"127.0.0.1:1\"\n");
  EXPECT_FALSE(LoadConfig(s, &why));
  EXPECT_NE(why.find("unknown setting [server] listen_adress"), std::string::npos) << why;

  s.file = WriteToml("[limits]\nmax_body_bytes = \"big\"\n");
  EXPECT_FALSE(LoadConfig(s, &why));
  EXPECT_NE(why.find("max_body_bytes must not be a string"), std::string::npos) << why;

  s.file = WriteToml("[limits]\nmax_connections = 0\n");
  EXPECT_FALSE(LoadConfig(s, &why));
  EXPECT_NE(why.find("max_connections must be between"), std::string::npos) << why;

  s.file = WriteToml("[server\n");
  EXPECT_FALSE(LoadConfig(s, &why));
  EXPECT_NE(why.find(path_ + ":1:"), std::string::npos) << why;

  s.file.reset();
  s.environment = {{"STRONGROOM_ALLOW_INSECURE_HTTP", "yes"}};
  EXPECT_FALSE(LoadConfig(s, &why));
  EXPECT_NE(why.find("STRONGROOM_ALLOW_INSECURE_HTTP must be true or false"), std::string::npos)
      << why;

  s.environment.clear();
  s.flags = {{"listen", "localhost:80"}};
  EXPECT_FALSE(LoadConfig(s, &why));
  EXPECT_NE(why.find("HOST:PORT"), std::string::npos) << why;

  s.flags = {{"level", "chatty"}};
  EXPECT_FALSE(LoadConfig(s, &why));
  EXPECT_NE(why.find("[log] level"), std::string::npos) << why;
}

// Only the value a new portal starts with (see docs/configuration.md): on unless said otherwise.
TEST_F(ConfigTest, ANewPortalRequiresTwoFactorUnlessConfiguredOff) {
  std::string why;
  auto c = LoadConfig({}, &why);
  ASSERT_TRUE(c) << why;
  EXPECT_TRUE(c->auth.require_2fa_default);
  ConfigSources s;
  s.file = WriteToml("[auth]\nrequire_2fa_default = false\n");
  c = LoadConfig(s, &why);
  ASSERT_TRUE(c) << why;
  EXPECT_FALSE(c->auth.require_2fa_default);
  s.environment = {{"STRONGROOM_REQUIRE_2FA_DEFAULT", "true"}};
  c = LoadConfig(s, &why);
  ASSERT_TRUE(c) << why;
  EXPECT_TRUE(c->auth.require_2fa_default) << "the environment overrides the file";
  s.environment = {{"STRONGROOM_REQUIRE_2FA_DEFAULT", "off"}};
  EXPECT_FALSE(LoadConfig(s, &why));
  EXPECT_NE(why.find("STRONGROOM_REQUIRE_2FA_DEFAULT must be true or false"), std::string::npos)
      << why;
  s.environment.clear();
  s.file = WriteToml("[auth]\nrequire_2fa_default = \"false\"\n");
  EXPECT_FALSE(LoadConfig(s, &why));
  EXPECT_NE(why.find("require_2fa_default must not be a string"), std::string::npos) << why;
}

TEST_F(ConfigTest, PlainHttpOffLoopbackNeedsExplicitConsent) {
  std::string why;
  ConfigSources s;
  s.flags = {{"listen", "0.0.0.0:8080"}};
  EXPECT_FALSE(LoadConfig(s, &why));
  EXPECT_NE(why.find("refusing plain HTTP"), std::string::npos) << why;
  s.flags["allow_insecure_http"] = "true";
  EXPECT_TRUE(LoadConfig(s, &why)) << why;
  s.flags = {{"listen", "[::1]:8080"}};
  auto c = LoadConfig(s, &why);
  ASSERT_TRUE(c) << why;
  EXPECT_EQ(c->server.listen_host, "::1");
}

}  // namespace
}  // namespace strongroom::server
