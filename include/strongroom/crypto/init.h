// Process-wide initialisation of the crypto library.
#pragma once

#include "strongroom/error.h"

namespace strongroom::crypto {

// Initialises libsodium and checks the CPU and OpenSSL for what the formats need.
// Safe to call many times and from many threads; every crypto entry point calls it.
[[nodiscard]] result<void> Init() noexcept;

}  // namespace strongroom::crypto
