#include "strongroom/client/profile.h"

#include "strongroom/crypto/encoding.h"
#include "strongroom/io.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace strongroom::client {
namespace {

namespace json = boost::json;

constexpr std::size_t kMaxFileSize = 1 << 20;

bool IsValidProfileName(std::string_view name) {
  if (name.empty() || name.size() > 64 || name.front() == '.') return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

Result<std::string> HomeDirectory() {
  if (auto home = Env("STRONGROOM_HOME"); !home.empty()) return home;
  if (auto xdg = Env("XDG_CONFIG_HOME"); !xdg.empty()) return xdg + "/strongroom";
  std::string home = Env("HOME");
  if (home.empty()) {
    if (const passwd* pw = ::getpwuid(::getuid()); pw && pw->pw_dir) home = pw->pw_dir;
  }
  if (home.empty()) {
    return Error::Local("cannot find a home directory; set STRONGROOM_HOME");
  }
  return home + "/.config/strongroom";
}

// nullopt when the file does not exist.
Result<std::optional<std::string>> ReadFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return Error::Local("cannot read " + path + ": " + std::strerror(errno));
  }
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || out.size() + static_cast<std::size_t>(std::max<ssize_t>(n, 0)) > kMaxFileSize) {
      ::close(fd);
      WipeString(out);
      return Error::Local("cannot read " + path + (n < 0 ? ": read error" : ": too large"));
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return std::optional<std::string>(std::move(out));
}

Result<json::object> ParseObject(const std::string& path, std::string_view text) {
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return Error::Local(path + " is not a JSON object; fix or remove it");
  return std::move(v.get_object());
}

std::string StringField(const json::object& o, std::string_view name) {
  auto it = o.find(name);
  return it != o.end() && it->value().is_string() ? std::string(it->value().get_string())
                                                  : std::string();
}

Result<void> MakeDirectory(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) == 0 || errno == EEXIST) return {};
  return Error::Local("cannot create " + path + ": " + std::strerror(errno));
}

}  // namespace

Result<ProfileStore> ProfileStore::Open(std::string_view name) {
  if (!IsValidProfileName(name)) {
    return Error::Usage("bad profile name '" + Printable(name, 64) +
                        "' (letters, digits, '.', '_', '-'; at most 64)");
  }
  auto home = HomeDirectory();
  if (!home) return home.error();
  return ProfileStore(std::string(name), *home + "/profiles/" + std::string(name));
}

Result<void> ProfileStore::MakeDirectories() {
  auto home = HomeDirectory();
  if (!home) return home.error();
  // Parents of the home directory are the user's business; from the home down, 0700.
  std::string parent = *home;
  while (parent.size() > 1 && parent.back() == '/') parent.pop_back();
  if (const auto slash = parent.rfind('/'); slash != std::string::npos && slash > 0) {
    std::error_code ec;
    std::filesystem::create_directories(parent.substr(0, slash), ec);
  }
  for (const std::string& dir : {*home, *home + "/profiles", dir_}) {
    if (auto r = MakeDirectory(dir); !r) return r;
  }
  // Someone may have made the profile directory with a looser mode: tighten it.
  if (::chmod(dir_.c_str(), 0700) != 0) {
    return Error::Local("cannot set the mode of " + dir_ + ": " + std::strerror(errno));
  }
  return {};
}

Result<void> ProfileStore::WriteFile(const std::string& file, std::string_view content) {
  if (auto r = MakeDirectories(); !r) return r;
  const std::string path = dir_ + "/" + file;
  auto out = io::AtomicFile::Create(path, 0600);
  if (!out) return Error::Local("cannot write " + path, out.error());
  const auto bytes =
      std::span(reinterpret_cast<const std::uint8_t*>(content.data()), content.size());
  if (auto r = out->Write(bytes); !r) return Error::Local("cannot write " + path, r.error());
  if (auto r = out->Commit(); !r) return Error::Local("cannot write " + path, r.error());
  return {};
}

Result<std::optional<Profile>> ProfileStore::LoadProfile() const {
  const std::string path = dir_ + "/profile.json";
  auto text = ReadFile(path);
  if (!text) return text.error();
  if (!*text) return std::optional<Profile>();
  auto o = ParseObject(path, **text);
  if (!o) return o.error();
  Profile p{.server = StringField(*o, "server"),
            .email = StringField(*o, "email"),
            .user_id = StringField(*o, "user_id")};
  if (p.server.empty()) return Error::Local(path + " names no server; fix or remove it");
  return std::optional<Profile>(std::move(p));
}

Result<void> ProfileStore::SaveProfile(const Profile& p) {
  json::object o{{"server", p.server}, {"email", p.email}, {"user_id", p.user_id}};
  return WriteFile("profile.json", json::serialize(o) + "\n");
}

Result<std::optional<SecretString>> ProfileStore::LoadSession() const {
  auto text = ReadFile(dir_ + "/session");
  if (!text) return text.error();
  if (!*text) return std::optional<SecretString>();
  SecretString token;
  for (const char c : **text) {
    if (c == '\n' || c == '\r') break;
    token.push_back(c);
  }
  WipeString(**text);
  if (token.empty()) return std::optional<SecretString>();
  return std::optional<SecretString>(std::move(token));
}

Result<void> ProfileStore::SaveSession(std::string_view token) {
  std::string line(token);
  line += '\n';
  auto r = WriteFile("session", line);
  WipeString(line);
  return r;
}

Result<void> ProfileStore::DeleteSession() {
  const std::string path = dir_ + "/session";
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return Error::Local("cannot remove " + path + ": " + std::strerror(errno));
  }
  return {};
}

Result<Pins> ProfileStore::LoadPins() const {
  const std::string path = dir_ + "/pins.json";
  auto text = ReadFile(path);
  if (!text) return text.error();
  Pins pins;
  if (!*text) return pins;
  auto o = ParseObject(path, **text);
  if (!o) return o.error();
  for (const auto& [user_id, value] : *o) {
    if (!value.is_object()) return Error::Local(path + " is malformed; fix or remove it");
    const auto& entry = value.get_object();
    auto bundle = crypto::Base64UrlDecode(StringField(entry, "public_bundle"));
    if (!bundle) return Error::Local(path + " is malformed; fix or remove it");
    pins[std::string(user_id)] = Pin{.email = StringField(entry, "email"),
                                     .fingerprint = StringField(entry, "fingerprint"),
                                     .public_bundle = std::move(*bundle)};
  }
  return pins;
}

Result<void> ProfileStore::SavePins(const Pins& pins) {
  json::object o;
  for (const auto& [user_id, pin] : pins) {
    o[user_id] = json::object{{"email", pin.email},
                              {"fingerprint", pin.fingerprint},
                              {"public_bundle", crypto::Base64UrlEncode(pin.public_bundle)}};
  }
  return WriteFile("pins.json", json::serialize(o) + "\n");
}

Result<SeenVersions> ProfileStore::LoadSeenVersions() const {
  const std::string path = dir_ + "/versions.json";
  auto text = ReadFile(path);
  if (!text) return text.error();
  SeenVersions seen;
  if (!*text) return seen;
  auto o = ParseObject(path, **text);
  if (!o) return o.error();
  for (const auto& [file_id, value] : *o) {
    if (!value.is_int64() || value.as_int64() < 1) {
      return Error::Local(path + " is malformed; fix or remove it");
    }
    seen[std::string(file_id)] = static_cast<std::uint64_t>(value.as_int64());
  }
  return seen;
}

Result<void> ProfileStore::SaveSeenVersions(const SeenVersions& seen) {
  json::object o;
  for (const auto& [file_id, version] : seen) o[file_id] = static_cast<std::int64_t>(version);
  return WriteFile("versions.json", json::serialize(o) + "\n");
}

}  // namespace strongroom::client
