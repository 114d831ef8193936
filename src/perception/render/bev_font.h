// A 5x7 bitmap font for labels in rendered pictures.
//   const auto* g = font5x7_glyph('A');  // 7 rows, bit 4 of each row is the leftmost pixel
#pragma once

#include <array>
#include <cstdint>

namespace tarmac {

inline constexpr int kGlyphWidth = 5;
inline constexpr int kGlyphHeight = 7;

using Glyph5x7 = std::array<uint8_t, kGlyphHeight>;

/// The glyph of a character: digits, letters (lower case drawn as upper case), space and
/// - _ . : / ( ) , + % = ? '. Other characters get the '?' glyph.
const Glyph5x7& font5x7_glyph(char c);

}  // namespace tarmac
