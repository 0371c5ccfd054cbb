#include "strongroom/crypto/init.h"

#include <sodium.h>

namespace strongroom::crypto {

result<void> Init() noexcept {
  // sodium_init() returns 0 on first success, 1 when already initialised, -1 on failure.
  if (sodium_init() < 0) return errc::internal;
  return {};
}

}  // namespace strongroom::crypto
