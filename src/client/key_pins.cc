#include "strongroom/client/key_pins.h"

namespace strongroom::client {

Result<crypto::PublicBundle> VerifyPublicBundle(std::span<const std::uint8_t> bytes,
                                                std::string_view user_id) {
  auto bundle = crypto::PublicBundle::Parse(bytes);
  if (!bundle) {
    return Error::Refused("the server sent a public key that does not verify (" +
                          bundle.error().message() + ")");
  }
  if (bundle->user_id() != user_id) {
    return Error::Refused("the server sent a public key for another user id (" +
                          Printable(bundle->user_id(), 64) + ", expected " +
                          Printable(user_id, 64) + ")");
  }
  return std::move(*bundle);
}

Result<PinResult> TrustOnFirstUse(ProfileStore& store, const crypto::PublicBundle& bundle,
                                  std::string_view email) {
  auto pins = store.LoadPins();
  if (!pins) return pins.error();
  auto it = pins->find(bundle.user_id());
  if (it != pins->end()) {
    // Pins are compared by the bundle itself, never by the server's fingerprint text.
    auto pinned = crypto::PublicBundle::Parse(it->second.public_bundle);
    if (!pinned || !(*pinned == bundle)) {
      return PinResult{
          .status = PinStatus::mismatch,
          .pinned_fingerprint = pinned ? pinned->DisplayFingerprint() : it->second.fingerprint};
    }
    if (it->second.email != email) {
      it->second.email = std::string(email);
      if (auto r = store.SavePins(*pins); !r) return r.error();
    }
    return PinResult{.status = PinStatus::match,
                     .pinned_fingerprint = pinned->DisplayFingerprint()};
  }
  Pin pin{.email = std::string(email),
          .fingerprint = bundle.DisplayFingerprint(),
          .public_bundle = bundle.Serialize()};
  (*pins)[bundle.user_id()] = pin;
  if (auto r = store.SavePins(*pins); !r) return r.error();
  return PinResult{.status = PinStatus::new_pin, .pinned_fingerprint = pin.fingerprint};
}

}  // namespace strongroom::client
