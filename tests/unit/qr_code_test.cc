// client/qr_code.h: the drawing has the symbol's geometry (finder patterns where the standard
// puts them, the quiet zone around), every line the same width, and colours only on request.
#include "strongroom/client/qr_code.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace strongroom::client {
namespace {

constexpr std::string_view kUri =
    "otpauth://totp/Strongroom:ada@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    "&issuer=Strongroom&algorithm=SHA1&digits=6&period=30";

// The drawing as a grid of glyphs: one string per character cell ("█", "▀", "▄" or " ").
std::vector<std::vector<std::string>> Cells(std::string_view drawing) {
  std::vector<std::vector<std::string>> rows(1);
  for (std::size_t i = 0; i < drawing.size();) {
    const auto c = static_cast<unsigned char>(drawing[i]);
    if (c == '\n') {
      rows.emplace_back();
      ++i;
      continue;
    }
    const std::size_t n = c < 0x80 ? 1 : 3;  // Space, or a 3-byte half/full block.
    rows.back().emplace_back(drawing.substr(i, n));
    i += n;
  }
  if (rows.back().empty()) rows.pop_back();
  return rows;
}

// Whether module (x, y) of the symbol is dark, read back from the drawing.
bool Dark(const std::vector<std::vector<std::string>>& cells, int x, int y) {
  const auto& cell = cells.at(static_cast<std::size_t>((y + kQrQuietZone) / 2))
                         .at(static_cast<std::size_t>(x + kQrQuietZone));
  const bool top = (y + kQrQuietZone) % 2 == 0;
  return cell == "\u2588" || cell == (top ? "\u2580" : "\u2584");
}

TEST(QrCodeTest, DrawsTheSymbolWithFinderPatternsAndAQuietZone) {
  auto drawing = DrawQrCode(kUri, false);
  ASSERT_TRUE(drawing.has_value()) << drawing.error().ToString();
  const auto cells = Cells(drawing->view());
  ASSERT_FALSE(cells.empty());
  const int total = static_cast<int>(cells[0].size());
  const int width = total - 2 * kQrQuietZone;
  ASSERT_GE(width, 21);
  EXPECT_EQ((width - 21) % 4, 0) << "a QR symbol is 17 + 4 * version modules wide";
  EXPECT_EQ(static_cast<int>(cells.size()), (total + 1) / 2);
  for (const auto& row : cells) EXPECT_EQ(static_cast<int>(row.size()), total);

  // The quiet zone is light all round.
  for (int i = -kQrQuietZone; i < width + kQrQuietZone; ++i) {
    for (int q = 1; q <= kQrQuietZone; ++q) {
      EXPECT_FALSE(Dark(cells, i, -q)) << i;
      EXPECT_FALSE(Dark(cells, -q, i)) << i;
      EXPECT_FALSE(Dark(cells, i, width - 1 + q)) << i;
      EXPECT_FALSE(Dark(cells, width - 1 + q, i)) << i;
    }
  }
  // The three finder patterns: a dark 7x7 ring, a light ring, a dark 3x3 centre; and a
  // light separator outside. The fourth corner has none.
  const auto finder_at = [&](int x0, int y0) {
    for (int y = -1; y <= 7; ++y) {
      for (int x = -1; x <= 7; ++x) {
        const int mx = x0 + x, my = y0 + y;
        if (mx < 0 || my < 0 || mx >= width || my >= width) continue;
        const int ring = std::max(std::max(-x, x - 6), std::max(-y, y - 6));  // >0 outside.
        const int depth = std::min(std::min(x, 6 - x), std::min(y, 6 - y));   // 0 = edge.
        const bool dark = ring <= 0 && depth != 1;
        if (Dark(cells, mx, my) != dark) return false;
      }
    }
    return true;
  };
  EXPECT_TRUE(finder_at(0, 0));
  EXPECT_TRUE(finder_at(width - 7, 0));
  EXPECT_TRUE(finder_at(0, width - 7));
  EXPECT_FALSE(finder_at(width - 7, width - 7));
  // The timing pattern between the top finders alternates, starting dark.
  for (int x = 8; x < width - 8; ++x) EXPECT_EQ(Dark(cells, x, 6), x % 2 == 0) << x;
}

TEST(QrCodeTest, ColoursAreBlackOnWhiteWhenAskedAndResetOnEveryLine) {
  auto plain = DrawQrCode(kUri, false);
  auto coloured = DrawQrCode(kUri, true);
  ASSERT_TRUE(plain && coloured);
  EXPECT_EQ(plain->view().find('\x1b'), std::string_view::npos);
  std::string expected;
  std::string_view rest = plain->view();
  while (!rest.empty()) {
    const auto eol = rest.find('\n');
    expected += "\x1b[30;107m" + std::string(rest.substr(0, eol)) + "\x1b[0m\n";
    rest.remove_prefix(eol + 1);
  }
  EXPECT_EQ(coloured->view(), expected);
}

TEST(QrCodeTest, LongerTextNeedsABiggerSymbolAndTooLongIsAnError) {
  auto small = DrawQrCode("otpauth://totp/x", false);
  auto large = DrawQrCode(kUri, false);
  ASSERT_TRUE(small && large);
  EXPECT_LT(small->size(), large->size());
  const std::string huge(8000, 'x');  // Above the 2953 bytes of version 40-L.
  EXPECT_FALSE(DrawQrCode(huge, false).has_value());
}

}  // namespace
}  // namespace strongroom::client
