// The Strongroom HTTP API (docs/api.md), one method per endpoint the client uses.
//
// Methods translate between typed values and the JSON wire shapes, and turn every error
// response ({"error": {"code", "message"}}) into a client::Error of Kind::server carrying the
// HTTP status and code. They do no cryptography and make no trust decisions: a public bundle
// comes back as bytes, and callers verify it (see account.h and key_pins.h).
//
// Binary fields are base64url without padding, decoded strictly; a response that is not the
// documented shape is Kind::network ("unexpected response").
#pragma once

#include "strongroom/client/client_error.h"
#include "strongroom/password_policy.h"
#include "strongroom/client/http_transport.h"
#include "strongroom/client/secret_string.h"
#include "strongroom/crypto/password.h"

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace strongroom::client {

using Bytes = std::vector<std::uint8_t>;
using AuthKey = std::span<const std::uint8_t, 32>;

struct User {
  std::string id;
  std::string email;
  std::string display_name;
  std::string role;  // "owner", "admin" or "user".
  std::string created_at;
};

// A session as just made: the bearer token is returned only this once.
struct NewSession {
  SecretString token;
  std::string id;
  std::string expires_at;
};

// What register, login and recovery/complete return. Keys are present for login and
// recovery/complete (empty after register).
struct SignedIn {
  User user;
  NewSession session;
  std::optional<crypto::KdfParams> kdf;
  Bytes public_bundle;
  Bytes private_bundle;
  // The portal requires two-factor authentication and this account has not enrolled: the
  // session can do nothing but enrol (and logout, whoami) until it does.
  bool totp_enrolment_required = false;
};

// The second factor of a sign-in (or of turning 2FA off): at most one of the two is set.
struct SecondFactor {
  std::string totp;            // The 6 digits the authenticator app shows.
  SecretString recovery_code;  // One of the account's two-factor recovery codes.
  [[nodiscard]] bool empty() const { return totp.empty() && recovery_code.empty(); }
};

// GET /api/v1/me/2fa.
struct TwoFactorStatus {
  std::string state;  // "disabled", "pending" (enrolment begun, not confirmed) or "enabled".
  std::int64_t recovery_codes_left = 0;
  bool required = false;  // The portal requires two-factor authentication.
  boost::json::object raw;
};

// An enrolment just begun: what the authenticator app needs. Shown once to its owner.
struct TwoFactorEnrolment {
  SecretString otpauth_uri;  // otpauth://totp/... (for a QR code)
  SecretString secret;       // The same key in base32, for typing by hand.
};

struct RegisterRequest {
  std::string invitation;  // Not a long-term secret, but still never printed.
  std::string email;
  std::string display_name;  // Empty: the server's default.
  std::string user_id;
  AuthKey auth_key;
  crypto::KdfParams kdf;
  Bytes public_bundle;
  Bytes private_bundle;
  Bytes recovery_bundle;
  AuthKey recovery_auth_key;
};

struct RecoveryStarted {
  std::string user_id;
  Bytes recovery_bundle;
  Bytes public_bundle;
};

struct RecoveryCompleteRequest {
  std::string email;
  AuthKey old_recovery_auth_key;
  AuthKey auth_key;
  crypto::KdfParams kdf;
  Bytes private_bundle;
  Bytes recovery_bundle;
  AuthKey new_recovery_auth_key;
};

struct PasswordChangeRequest {
  AuthKey current_auth_key;
  AuthKey auth_key;
  crypto::KdfParams kdf;
  Bytes private_bundle;
};

struct MyKeys {
  crypto::KdfParams kdf;
  Bytes public_bundle;
  Bytes private_bundle;
};

struct Session {
  std::string id;
  std::string created_at;
  std::string last_seen_at;
  std::string expires_at;
  std::string ip;
  std::string user_agent;
  bool current = false;
};

struct Me {
  User user;
  Session session;
  boost::json::object raw;  // The response as sent, for --json output.
};

struct SessionList {
  std::vector<Session> sessions;
  boost::json::object raw;
};

struct LoginRecord {
  std::int64_t id = 0;
  std::string time;
  std::string email;
  std::string user_id;  // Admin listings only; "" there for an email without an account.
  std::string ip;
  std::string user_agent;
  std::string result;  // "success", "failure" or "refused".
  std::string reason;
};

struct LoginList {
  std::vector<LoginRecord> logins;
  boost::json::object raw;
};

// Another user's key as the server claims it. Unverified: see VerifyPublicKey (key_pins.h).
struct PublicKeyInfo {
  std::string user_id;
  std::string email;
  std::string display_name;
  Bytes public_bundle;
  std::string fingerprint;  // Display form, as the server computed it (not trusted).
};

class ApiClient {
 public:
  explicit ApiClient(HttpTransport transport) : transport_(std::move(transport)) {}

  // The bearer token for the methods that need a session.
  void set_token(SecretString token) { token_ = std::move(token); }
  [[nodiscard]] const ServerUrl& url() const { return transport_.url(); }

  // Without a session.
  [[nodiscard]] Result<SignedIn> Register(const RegisterRequest& request);
  [[nodiscard]] Result<crypto::KdfParams> Prelogin(std::string_view email);
  // GET /api/v1/password-policy (no session). A server without it (404) gets the built-in
  // floor: kPasswordMinLengthFloor characters, nothing else.
  [[nodiscard]] Result<PasswordPolicy> GetPasswordPolicy();
  // `second_factor`: sent when set; an account with 2FA answers 401 totp_required without.
  [[nodiscard]] Result<SignedIn> Login(std::string_view email, AuthKey auth_key,
                                       const SecondFactor& second_factor = {});
  [[nodiscard]] Result<RecoveryStarted> StartRecovery(std::string_view email,
                                                      AuthKey recovery_auth_key);
  [[nodiscard]] Result<SignedIn> CompleteRecovery(const RecoveryCompleteRequest& request);

  // With a session (set_token first).
  [[nodiscard]] Result<void> Logout();
  [[nodiscard]] Result<Me> GetMe();
  [[nodiscard]] Result<MyKeys> GetMyKeys();
  // Returns how many other sessions the server signed out.
  [[nodiscard]] Result<std::int64_t> ChangePassword(const PasswordChangeRequest& request);
  [[nodiscard]] Result<SessionList> ListSessions();
  [[nodiscard]] Result<void> RevokeSession(std::string_view id);
  [[nodiscard]] Result<std::int64_t> RevokeOtherSessions();
  // `limit` 0: the server's default.
  [[nodiscard]] Result<LoginList> ListLogins(int limit);
  [[nodiscard]] Result<PublicKeyInfo> PublicKeyByEmail(std::string_view email);
  [[nodiscard]] Result<PublicKeyInfo> PublicKeyById(std::string_view user_id);

  // Two-factor authentication (docs/api.md, "Two-factor authentication").
  [[nodiscard]] Result<TwoFactorStatus> GetTwoFactorStatus();
  [[nodiscard]] Result<TwoFactorEnrolment> BeginTwoFactor();
  // Confirms the enrolment with the first code; returns the recovery codes (shown once).
  [[nodiscard]] Result<std::vector<SecretString>> ConfirmTwoFactor(std::string_view totp);
  [[nodiscard]] Result<void> DisableTwoFactor(const SecondFactor& proof);
  // Replaces the recovery codes; returns the new ones (shown once).
  [[nodiscard]] Result<std::vector<SecretString>> NewRecoveryCodes(const SecondFactor& proof);

  // For API families with a typed module of their own (room.h): one signed-in JSON call
  // (an empty object for 204), errors as above.
  [[nodiscard]] Result<boost::json::object> CallJson(Method method, std::string_view target,
                                                     const boost::json::object* body);
  // One signed-in request with a raw body and/or a streamed response (SendOptions); a
  // non-2xx answer becomes Kind::server as above.
  [[nodiscard]] Result<HttpResponse> SendBytes(Method method, std::string_view target,
                                               std::string_view body, const SendOptions& options);

 private:
  // Sends and parses a JSON object answer; non-2xx becomes Kind::server.
  [[nodiscard]] Result<boost::json::object> Call(Method method, std::string_view target,
                                                 const boost::json::object* body, bool signed_in);

  [[nodiscard]] static Result<PublicKeyInfo> ReadPublicKey(Result<boost::json::object> o);

  HttpTransport transport_;
  SecretString token_;
};

// Percent-encodes a query or path component (RFC 3986 unreserved characters pass).
[[nodiscard]] std::string UrlEncode(std::string_view text);

}  // namespace strongroom::client
