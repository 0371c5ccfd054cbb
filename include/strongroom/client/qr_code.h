// A QR code drawn with text, for a terminal: how `strongroom 2fa enable` shows the otpauth://
// URI to a phone. The symbol is made by libqrencode (error correction level M, the smallest
// version that fits); this only draws it.
//
// Each text line carries two rows of modules with the Unicode half blocks (U+2580 upper,
// U+2584 lower, U+2588 full, space), so the code is about as tall as it is wide in a terminal
// font. Around it is the quiet zone the standard asks for (4 modules).
//
// Dark modules must be dark: a terminal with light text on a dark background would show
// the code inverted, which many scanners refuse. With `ansi_colours` every line is wrapped in
// escape codes for black on white (and a reset at the end of each line), so the code reads
// the same on any colour scheme; without, only the glyphs are written (for tests and dumb
// terminals).
#pragma once

#include "strongroom/client/client_error.h"
#include "strongroom/client/secret_string.h"

#include <string_view>

namespace strongroom::client {

inline constexpr int kQrQuietZone = 4;  // Modules of light margin on every side.

// Lines ending in '\n'. The text may be a secret (an otpauth:// URI holds the TOTP key): the
// drawing is one too, hence a SecretString. Kind::local if the text cannot be encoded (too
// long for any QR version, or out of memory).
[[nodiscard]] Result<SecretString> DrawQrCode(std::string_view text, bool ansi_colours);

}  // namespace strongroom::client
