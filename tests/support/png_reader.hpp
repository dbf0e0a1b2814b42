#pragma once
// Reads the 8-bit RGB/RGBA PNG files headless Chromium writes for screenshots,
// so tests can check their size and the colour of known regions. Test-only:
// zlib inflates the IDAT stream, the scanline filters are undone here.
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace te::test {

struct Png {
  std::uint32_t width = 0, height = 0;
  int channels = 0;                // 3 (RGB) or 4 (RGBA)
  std::vector<std::uint8_t> pixels;  // row-major, `channels` bytes per pixel
  std::string error;               // empty when decoded

  struct Rgb {
    int r, g, b;
  };
  Rgb at(std::uint32_t x, std::uint32_t y) const {
    const std::size_t i = (static_cast<std::size_t>(y) * width + x) * static_cast<std::size_t>(channels);
    return {pixels[i], pixels[i + 1], pixels[i + 2]};
  }
};

inline std::uint32_t png_be32(const std::string& s, std::size_t at) {
  return (static_cast<std::uint32_t>(static_cast<unsigned char>(s[at])) << 24) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 1])) << 16) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 2])) << 8) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 3]));
}

inline Png decode_png(const std::string& file) {
  Png p;
  static const char kSig[] = "\x89PNG\r\n\x1a\n";
  if (file.size() < 33 || file.compare(0, 8, std::string(kSig, 8)) != 0) {
    p.error = "not a PNG file";
    return p;
  }
  std::string idat;
  int depth = 0, color = 0, interlace = 0;
  for (std::size_t at = 8; at + 8 <= file.size();) {
    const std::uint32_t len = png_be32(file, at);
    const std::string type = file.substr(at + 4, 4);
    if (at + 12 + len > file.size()) {
      p.error = "truncated chunk " + type;
      return p;
    }
    if (type == "IHDR") {
      p.width = png_be32(file, at + 8);
      p.height = png_be32(file, at + 12);
      depth = static_cast<unsigned char>(file[at + 16]);
      color = static_cast<unsigned char>(file[at + 17]);
      interlace = static_cast<unsigned char>(file[at + 20]);
    } else if (type == "IDAT") {
      idat.append(file, at + 8, len);
    } else if (type == "IEND") {
      break;
    }
    at += 12 + len;
  }
  if (depth != 8 || (color != 2 && color != 6) || interlace != 0) {
    p.error = "unsupported PNG (depth " + std::to_string(depth) + ", colour type " + std::to_string(color) +
              ", interlace " + std::to_string(interlace) + ")";
    return p;
  }
  p.channels = color == 6 ? 4 : 3;
  const std::size_t stride = static_cast<std::size_t>(p.width) * static_cast<std::size_t>(p.channels);
  std::vector<std::uint8_t> raw((stride + 1) * p.height);
  uLongf raw_len = static_cast<uLongf>(raw.size());
  if (uncompress(raw.data(), &raw_len, reinterpret_cast<const Bytef*>(idat.data()), static_cast<uLong>(idat.size())) != Z_OK ||
      raw_len != raw.size()) {
    p.error = "IDAT does not inflate to the image size";
    return p;
  }
  p.pixels.assign(stride * p.height, 0);
  const int bpp = p.channels;
  for (std::uint32_t y = 0; y < p.height; ++y) {
    const std::uint8_t filter = raw[y * (stride + 1)];
    const std::uint8_t* in = &raw[y * (stride + 1) + 1];
    std::uint8_t* out = &p.pixels[y * stride];
    const std::uint8_t* up = y > 0 ? &p.pixels[(y - 1) * stride] : nullptr;
    for (std::size_t x = 0; x < stride; ++x) {
      const int a = x >= static_cast<std::size_t>(bpp) ? out[x - static_cast<std::size_t>(bpp)] : 0;
      const int b = up ? up[x] : 0;
      const int c = (up && x >= static_cast<std::size_t>(bpp)) ? up[x - static_cast<std::size_t>(bpp)] : 0;
      int v = in[x];
      switch (filter) {
        case 0: break;
        case 1: v += a; break;
        case 2: v += b; break;
        case 3: v += (a + b) / 2; break;
        case 4: {
          const int pa = std::abs(b - c), pb = std::abs(a - c), pc = std::abs(a + b - 2 * c);
          v += (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c);
          break;
        }
        default: p.error = "bad scanline filter"; return p;
      }
      out[x] = static_cast<std::uint8_t>(v & 0xff);
    }
  }
  return p;
}

}  // namespace te::test
