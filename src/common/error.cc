#include "strongroom/error.h"

#include <string>

namespace strongroom {
namespace {

// error_category has a protected non-virtual destructor by design (categories are never
// deleted through a base pointer).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class Category final : public boost::system::error_category {
 public:
  // A fixed id makes codes comparable across shared-library boundaries.
  constexpr Category() noexcept : error_category(0x5e7c0a11d00dull) {}

  const char* name() const noexcept override { return "strongroom"; }

  std::string message(int ev) const override { return std::string(Describe(ev)); }

  char const* message(int ev, char* /*buffer*/, std::size_t /*len*/) const noexcept override {
    return Describe(ev);
  }

 private:
  static const char* Describe(int ev) noexcept {
    switch (static_cast<errc>(ev)) {
      case errc::invalid_argument:
        return "invalid argument";
      case errc::malformed:
        return "malformed input";
      case errc::unsupported_version:
        return "unsupported format version";
      case errc::too_large:
        return "input exceeds the allowed size";
      case errc::io_error:
        return "input/output error";
      case errc::already_exists:
        return "refusing to overwrite an existing file";
      case errc::not_found:
        return "not found";
      case errc::not_a_recipient:
        return "no identity matches any recipient of this file (wrong key or not shared with you)";
      case errc::wrong_password:
        return "wrong password or recovery code";
      case errc::weak_parameters:
        return "key derivation parameters are below the allowed minimum (possible downgrade)";
      case errc::bad_signature:
        return "signature verification failed";
      case errc::header_tampered:
        return "header authentication failed (tampered or corrupted header)";
      case errc::payload_tampered:
        return "payload authentication failed (tampered, truncated or corrupted data)";
      case errc::truncated:
        return "input is truncated";
      case errc::internal:
        return "internal error";
      case errc::conflict:
        return "the current state does not allow this (changed meanwhile?)";
      case errc::rolled_back:
        return "an older version than one already seen (possible rollback)";
      case errc::untrusted_signer:
        return "signed by someone who may not write this item";
      case errc::record_mismatch:
        return "the record does not match the file, key or folder it was given with";
      case errc::replayed:
        return "a collaboration frame that was already received came again (replay)";
      case errc::update_gap:
        return "an update arrived while an earlier one of its session is missing (dropped)";
      case errc::reordered:
        return "the server's sequence numbers went backwards (reordered)";
      case errc::stale_epoch:
        return "a frame under an older key epoch than the one in use (stale key)";
    }
    return "unknown error";
  }
};

#pragma GCC diagnostic pop

constexpr Category kCategory;

}  // namespace

const boost::system::error_category& error_category() noexcept {
  return kCategory;
}

std::string_view error_name(errc e) noexcept {
  switch (e) {
    case errc::invalid_argument:
      return "invalid_argument";
    case errc::malformed:
      return "malformed";
    case errc::unsupported_version:
      return "unsupported_version";
    case errc::too_large:
      return "too_large";
    case errc::io_error:
      return "io_error";
    case errc::already_exists:
      return "already_exists";
    case errc::not_found:
      return "not_found";
    case errc::not_a_recipient:
      return "not_a_recipient";
    case errc::wrong_password:
      return "wrong_password";
    case errc::weak_parameters:
      return "weak_parameters";
    case errc::bad_signature:
      return "bad_signature";
    case errc::header_tampered:
      return "header_tampered";
    case errc::payload_tampered:
      return "payload_tampered";
    case errc::truncated:
      return "truncated";
    case errc::internal:
      return "internal";
    case errc::conflict:
      return "conflict";
    case errc::rolled_back:
      return "rolled_back";
    case errc::untrusted_signer:
      return "untrusted_signer";
    case errc::record_mismatch:
      return "record_mismatch";
    case errc::replayed:
      return "replayed";
    case errc::update_gap:
      return "update_gap";
    case errc::reordered:
      return "reordered";
    case errc::stale_epoch:
      return "stale_epoch";
  }
  return "unknown";
}

}  // namespace strongroom
