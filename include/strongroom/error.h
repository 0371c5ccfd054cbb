// Strongroom's one error vocabulary.
//
// Every fallible operation returns `strongroom::result<T>` (a boost::system::result holding
// either a T or an error_code). Codes from `strongroom::errc` belong to one registered
// category, so callers can compare `r.error() == strongroom::errc::header_tampered`.
//
// Messages are fixed strings: an error never carries key material, plaintext or any other
// user data, so an error can always be logged or shown as it is.
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <string_view>
#include <type_traits>

namespace strongroom {

enum class errc : int {
  // General
  invalid_argument = 1,  // A caller passed a value outside the documented domain.
  malformed,             // Input is not a well-formed instance of its format.
  unsupported_version,   // A format or protocol version this build does not know.
  too_large,             // Input exceeds a documented bound.
  io_error,              // Reading or writing a file or stream failed.
  already_exists,        // Refusing to overwrite something that exists.
  not_found,             // The named thing does not exist.
  // Keys and containers
  not_a_recipient,   // No recipient stanza opens with the given identity.
  wrong_password,    // A password-derived key did not open the private bundle.
  weak_parameters,   // KDF parameters below the floor: a possible downgrade.
  bad_signature,     // An Ed25519 signature did not verify.
  header_tampered,   // The container header MAC did not verify.
  payload_tampered,  // A payload chunk failed authentication.
  truncated,         // Input ended before the final chunk or structure.
  // Internal
  internal,  // A bug or an unexpected library failure.
  // State (added after the others, so existing values keep their numbers)
  conflict,  // The target's state forbids it now: a stale version, a folder not empty.
  // Private Room records (docs/private-room.md sections 3 and 4)
  rolled_back,       // A record's version is lower than one already seen for that item.
  untrusted_signer,  // A record is signed by someone not allowed to write it.
  record_mismatch,   // A record does not belong to the container, key or place it is used with.
  // Co-editing relay (docs/collab.md): what a receiver's order checks report
  replayed,     // A collaboration frame already accepted (or included in a snapshot) came again.
  update_gap,   // An update arrived while an earlier one of its session is missing.
  reordered,    // The server's sequence numbers did not increase (frames reordered).
  stale_epoch,  // A frame under an older key epoch than the receiver already uses.
};

[[nodiscard]] const boost::system::error_category& error_category() noexcept;

[[nodiscard]] inline boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

// Short machine-readable name of a code ("header_tampered"), used in JSON errors and logs.
[[nodiscard]] std::string_view error_name(errc e) noexcept;

template <class T>
using result = boost::system::result<T>;

}  // namespace strongroom

template <>
struct boost::system::is_error_code_enum<strongroom::errc> : std::true_type {};
