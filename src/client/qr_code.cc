#include "strongroom/client/qr_code.h"

#include "strongroom/crypto/secret.h"

#include <qrencode.h>

#include <memory>

namespace strongroom::client {
namespace {

// The module matrix, freed (after wiping: it encodes the text) when done.
struct Symbol {
  QRcode* code = nullptr;
  ~Symbol() {
    if (code == nullptr) return;
    crypto::Wipe(std::span(code->data, static_cast<std::size_t>(code->width * code->width)));
    QRcode_free(code);
  }
  // Whether the module at (x, y) is dark; the quiet zone (outside the symbol) is light.
  [[nodiscard]] bool Dark(int x, int y) const {
    if (x < 0 || y < 0 || x >= code->width || y >= code->width) return false;
    return (code->data[y * code->width + x] & 1) != 0;
  }
};

void Append(SecretString& out, std::string_view text) {
  for (const char c : text) out.push_back(c);
}

}  // namespace

Result<SecretString> DrawQrCode(std::string_view text, bool ansi_colours) {
  Symbol symbol;
  symbol.code =
      QRcode_encodeData(static_cast<int>(text.size()),
                        reinterpret_cast<const unsigned char*>(text.data()), 0, QR_ECLEVEL_M);
  if (symbol.code == nullptr) return Error::Local("cannot draw the QR code (text too long?)");
  constexpr std::string_view kBlackOnWhite = "\x1b[30;107m";
  constexpr std::string_view kReset = "\x1b[0m";
  const int first = -kQrQuietZone;
  const int last = symbol.code->width + kQrQuietZone;  // Exclusive.
  SecretString out;
  for (int y = first; y < last; y += 2) {
    if (ansi_colours) Append(out, kBlackOnWhite);
    for (int x = first; x < last; ++x) {
      const bool top = symbol.Dark(x, y);
      const bool bottom = y + 1 < last && symbol.Dark(x, y + 1);
      Append(out, top ? (bottom ? "\u2588" : "\u2580") : (bottom ? "\u2584" : " "));
    }
    if (ansi_colours) Append(out, kReset);
    out.push_back('\n');
  }
  return out;
}

}  // namespace strongroom::client
