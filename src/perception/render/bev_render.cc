// Bird's-eye-view rasterizer and PNG writer.
#include "perception/render/bev_render.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <numbers>
#include <numeric>

#include "perception/eval/iou.h"
#include "perception/render/bev_font.h"

#if TARMAC_WITH_PNG
#include <png.h>
#endif

namespace tarmac {

namespace fs = std::filesystem;

namespace {

constexpr Rgb kRingColor{38, 40, 52};
constexpr Rgb kLegendBackground{28, 29, 36};
constexpr Rgb kLegendText{220, 220, 225};
constexpr int64_t kMaxBevPixels = int64_t{64} << 20;

Rgb mix(Rgb a, Rgb b, double t) {
  auto m = [t](uint8_t x, uint8_t y) {
    return static_cast<uint8_t>(std::lround(x + (static_cast<double>(y) - x) * t));
  };
  return {m(a.r, b.r), m(a.g, b.g), m(a.b, b.b)};
}

/// Blue (low) through cyan, green and yellow to red (high), t in [0, 1].
Rgb ramp(double t) {
  static constexpr Rgb kStops[] = {
      {40, 70, 200}, {0, 190, 220}, {60, 210, 90}, {240, 220, 50}, {240, 70, 50}};
  t = std::clamp(t, 0.0, 1.0) * 4.0;
  const int i = std::min(3, static_cast<int>(t));
  return mix(kStops[i], kStops[i + 1], t - i);
}

double side_pixels(double lo, double hi, double res) {
  return std::max(1.0, std::ceil((hi - lo) / res - 1e-6));
}

/// Liang-Barsky clipping of the segment to [lo_c, hi_c] x [lo_r, hi_r]; false when outside.
bool clip_segment(double* c0, double* r0, double* c1, double* r1, double lo_c, double lo_r,
                  double hi_c, double hi_r) {
  const double dc = *c1 - *c0, dr = *r1 - *r0;
  double t0 = 0, t1 = 1;
  const double p[4] = {-dc, dc, -dr, dr};
  const double q[4] = {*c0 - lo_c, hi_c - *c0, *r0 - lo_r, hi_r - *r0};
  for (int i = 0; i < 4; ++i) {
    if (p[i] == 0) {
      if (q[i] < 0) return false;
      continue;
    }
    const double t = q[i] / p[i];
    if (p[i] < 0)
      t0 = std::max(t0, t);
    else
      t1 = std::min(t1, t);
    if (t0 > t1) return false;
  }
  const double sc = *c0, sr = *r0;
  *c0 = sc + t0 * dc, *r0 = sr + t0 * dr;
  *c1 = sc + t1 * dc, *r1 = sr + t1 * dr;
  return true;
}

void draw_rings(RgbImage* img, const BevView& v) {
  double far = 0;
  for (double x : {v.xmin, v.xmax})
    for (double y : {v.ymin, v.ymax}) far = std::max(far, std::hypot(x, y));
  for (double radius = 10; radius <= far; radius += 10) {
    const int steps = static_cast<int>(std::ceil(2 * std::numbers::pi * radius / v.resolution * 2));
    for (int i = 0; i < steps; ++i) {
      const double a = 2 * std::numbers::pi * i / steps;
      double c, r;
      bev_to_pixel(v, radius * std::cos(a), radius * std::sin(a), &c, &r);
      img->set(static_cast<int>(std::floor(c)), static_cast<int>(std::floor(r)), kRingColor);
    }
  }
  double c, r;  // the sensor: a small cross
  bev_to_pixel(v, 0, 0, &c, &r);
  const int ci = static_cast<int>(std::floor(c)), ri = static_cast<int>(std::floor(r));
  for (int d = -3; d <= 3; ++d) {
    img->set(ci + d, ri, kLegendText);
    img->set(ci, ri + d, kLegendText);
  }
}

}  // namespace

RgbImage::RgbImage(int w, int h, Rgb fill) : width(w), height(h) {
  pixels.resize(static_cast<size_t>(w) * h * 3);
  for (size_t i = 0; i < pixels.size(); i += 3) {
    pixels[i] = fill.r;
    pixels[i + 1] = fill.g;
    pixels[i + 2] = fill.b;
  }
}

Rgb RgbImage::at(int col, int row) const {
  if (col < 0 || row < 0 || col >= width || row >= height) return {};
  const size_t i = (static_cast<size_t>(row) * width + col) * 3;
  return {pixels[i], pixels[i + 1], pixels[i + 2]};
}

void RgbImage::set(int col, int row, Rgb c) {
  if (col < 0 || row < 0 || col >= width || row >= height) return;
  const size_t i = (static_cast<size_t>(row) * width + col) * 3;
  pixels[i] = c.r;
  pixels[i + 1] = c.g;
  pixels[i + 2] = c.b;
}

void RgbImage::fill_rect(int col, int row, int w, int h, Rgb c) {
  for (int r = std::max(0, row); r < std::min(height, row + h); ++r)
    for (int q = std::max(0, col); q < std::min(width, col + w); ++q) set(q, r, c);
}

Status validate_view(const BevView& v) {
  for (double x : {v.xmin, v.ymin, v.xmax, v.ymax, v.resolution})
    if (!std::isfinite(x)) return invalid_argument("the view range and resolution must be finite");
  if (!(v.xmin < v.xmax) || !(v.ymin < v.ymax))
    return invalid_argument("bad range {},{},{},{}: need xmin < xmax and ymin < ymax", v.xmin,
                            v.ymin, v.xmax, v.ymax);
  if (!(v.resolution > 0))
    return invalid_argument("resolution {} must be a positive number of metres per pixel",
                            v.resolution);
  const double w = side_pixels(v.ymin, v.ymax, v.resolution);
  const double h = side_pixels(v.xmin, v.xmax, v.resolution);
  if (w > kMaxBevSide || h > kMaxBevSide || w * h > static_cast<double>(kMaxBevPixels))
    return invalid_argument(
        "range and resolution give a {:.0f} x {:.0f} pixel picture; at most {} pixels a side "
        "and 64 megapixels (raise --resolution or shrink --range)",
        w, h, kMaxBevSide);
  return Status::ok();
}

StatusOr<BevView> parse_bev_range(const std::string& spec, double resolution) {
  double v[4];
  size_t pos = 0;
  for (int i = 0; i < 4; ++i) {
    size_t end = spec.find(',', pos);
    if ((i < 3) != (end != std::string::npos))
      return invalid_argument("--range '{}' is not xmin,ymin,xmax,ymax", spec);
    if (end == std::string::npos) end = spec.size();
    const char* b = spec.data() + pos;
    const char* e = spec.data() + end;
    if (b != e && *b == '+') ++b;
    auto [ptr, ec] = std::from_chars(b, e, v[i]);
    if (b == e || ec != std::errc() || ptr != e)
      return invalid_argument("--range '{}': '{}' is not a number", spec,
                              spec.substr(pos, end - pos));
    pos = end + 1;
  }
  BevView view{v[0], v[1], v[2], v[3], resolution};
  TARMAC_RETURN_IF_ERROR(validate_view(view));
  return view;
}

int bev_width(const BevView& v) {
  return static_cast<int>(side_pixels(v.ymin, v.ymax, v.resolution));
}
int bev_height(const BevView& v) {
  return static_cast<int>(side_pixels(v.xmin, v.xmax, v.resolution));
}

void bev_to_pixel(const BevView& v, double x, double y, double* col, double* row) {
  *col = (v.ymax - y) / v.resolution;
  *row = (v.xmax - x) / v.resolution;
}

StatusOr<std::vector<float>> read_kitti_points(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return not_found("points file '{}' does not exist", path);
  if (!fs::is_regular_file(path, ec))
    return invalid_argument("points file '{}' is not a regular file", path);
  const uintmax_t size = fs::file_size(path, ec);
  if (ec) return io_error("cannot read '{}': {}", path, ec.message());
  if (size % 16 != 0)
    return invalid_argument(
        "points file '{}' has {} bytes, not a multiple of 16 (float32 x, y, z, intensity per "
        "point)",
        path, size);
  std::vector<float> xyzi(size / 4);
  std::ifstream f(path, std::ios::binary);
  if (!f) return io_error("cannot open '{}'", path);
  f.read(reinterpret_cast<char*>(xyzi.data()), static_cast<std::streamsize>(size));
  if (!f) return io_error("cannot read '{}'", path);
  return xyzi;
}

Rgb class_color(int index) {
  static constexpr Rgb kPalette[] = {
      {235, 64, 52},  {52, 152, 235}, {72, 214, 96},   {250, 200, 40}, {190, 100, 250},
      {250, 130, 40}, {40, 220, 205}, {250, 100, 190}, {170, 205, 60}, {185, 145, 105}};
  constexpr int n = static_cast<int>(std::size(kPalette));
  return kPalette[((index % n) + n) % n];
}

Rgb lighter(Rgb c) { return mix(c, Rgb{255, 255, 255}, 0.5); }

void draw_line(RgbImage* img, double c0, double r0, double c1, double r1, Rgb color,
               LineStyle style) {
  for (double v : {c0, r0, c1, r1})
    if (!std::isfinite(v)) return;
  if (!clip_segment(&c0, &r0, &c1, &r1, -1, -1, img->width + 1, img->height + 1)) return;
  int x0 = static_cast<int>(std::floor(c0)), y0 = static_cast<int>(std::floor(r0));
  const int x1 = static_cast<int>(std::floor(c1)), y1 = static_cast<int>(std::floor(r1));
  const int dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0);
  const int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
  int err = dx + dy;
  for (int step = 0;; ++step) {
    if (style == LineStyle::kSolid || step % 7 < 4) img->set(x0, y0, color);
    if (x0 == x1 && y0 == y1) break;
    const int e2 = 2 * err;
    if (e2 >= dy) err += dy, x0 += sx;
    if (e2 <= dx) err += dx, y0 += sy;
  }
}

void draw_points(RgbImage* img, const BevView& view, const std::vector<float>& xyzi,
                 PointColoring coloring) {
  const size_t n = xyzi.size() / 4;
  float max_intensity = 0;
  for (size_t i = 0; i < n; ++i)
    if (std::isfinite(xyzi[4 * i + 3])) max_intensity = std::max(max_intensity, xyzi[4 * i + 3]);
  const double intensity_scale = max_intensity > 1.f ? 1.0 / 255.0 : 1.0;
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return xyzi[4 * a + 2] < xyzi[4 * b + 2]; });
  for (size_t i : order) {
    const float* p = &xyzi[4 * i];
    if (!std::isfinite(p[0]) || !std::isfinite(p[1]) || !std::isfinite(p[2])) continue;
    double c, r;
    bev_to_pixel(view, p[0], p[1], &c, &r);
    if (!(c >= 0 && r >= 0 && c < img->width && r < img->height)) continue;
    const double t = coloring == PointColoring::kHeight ? (p[2] + 2.5) / 4.0
                     : std::isfinite(p[3])              ? p[3] * intensity_scale
                                                        : 0.0;
    img->set(static_cast<int>(c), static_cast<int>(r), ramp(t));
  }
}

void draw_box(RgbImage* img, const BevView& view, const Box3d& box, Rgb color, LineStyle style) {
  const auto corners = bev_corners(box);
  double pc[4], pr[4];
  for (int i = 0; i < 4; ++i) bev_to_pixel(view, corners[i].x, corners[i].y, &pc[i], &pr[i]);
  for (int i = 0; i < 4; ++i)
    draw_line(img, pc[i], pr[i], pc[(i + 1) % 4], pr[(i + 1) % 4], color, style);
  double cc, cr, fc, fr;
  const double half = 0.5 * box.dx;
  bev_to_pixel(view, box.x, box.y, &cc, &cr);
  bev_to_pixel(view, box.x + half * std::cos(static_cast<double>(box.heading)),
               box.y + half * std::sin(static_cast<double>(box.heading)), &fc, &fr);
  draw_line(img, cc, cr, fc, fr, color, LineStyle::kSolid);
}

int text_width(std::string_view text, int scale) {
  return text.empty() ? 0 : static_cast<int>(text.size()) * (kGlyphWidth + 1) * scale - scale;
}

void draw_text(RgbImage* img, int col, int row, std::string_view text, Rgb color, int scale) {
  for (size_t k = 0; k < text.size(); ++k) {
    const Glyph5x7& g = font5x7_glyph(text[k]);
    const int x0 = col + static_cast<int>(k) * (kGlyphWidth + 1) * scale;
    for (int r = 0; r < kGlyphHeight; ++r)
      for (int c = 0; c < kGlyphWidth; ++c)
        if (g[r] & (1u << (kGlyphWidth - 1 - c)))
          img->fill_rect(x0 + c * scale, row + r * scale, scale, scale, color);
  }
}

StatusOr<RgbImage> render_bev(const BevScene& scene, const BevRenderOptions& options) {
  const BevView& v = options.view;
  TARMAC_RETURN_IF_ERROR(validate_view(v));
  std::map<std::string, int> classes;
  for (const auto* list : {&scene.gt, &scene.pred})
    for (const LabeledBox& b : *list) classes.emplace(b.cls, 0);
  int index = 0;
  for (auto& [name, i] : classes) i = index++;

  const int width = bev_width(v), map_height = bev_height(v);
  // Legend layout: "GT" and "PRED" samples, then one swatch and name per class, wrapped.
  constexpr int kScale = 2, kPad = 8, kSwatch = 7 * kScale, kLine = 7 * kScale + 8;
  struct Item {
    std::string text;
    int kind;  // 0: solid sample, 1: dashed sample, 2: class swatch
    Rgb color;
    int col = 0, row = 0;
  };
  std::vector<Item> items = {{"GT", 0, kLegendText}, {"PRED", 1, lighter(kLegendText)}};
  for (const auto& [name, i] : classes) items.push_back({name, 2, class_color(i)});
  int col = kPad, row = kPad;
  for (Item& it : items) {
    const int w = kSwatch * (it.kind == 2 ? 1 : 2) + 6 + text_width(it.text, kScale) + 16;
    if (col > kPad && col + w > width) col = kPad, row += kLine;
    it.col = col, it.row = row;
    col += w;
  }
  const int legend_height = options.legend ? row + kLine + kPad - 8 : 0;

  RgbImage img(width, map_height + legend_height, kBevBackground);
  draw_rings(&img, v);
  draw_points(&img, v, scene.points, options.coloring);
  for (const LabeledBox& b : scene.gt)
    draw_box(&img, v, b.box, class_color(classes[b.cls]), LineStyle::kSolid);
  for (const LabeledBox& b : scene.pred)
    if (b.score >= options.min_score)
      draw_box(&img, v, b.box, lighter(class_color(classes[b.cls])), LineStyle::kDashed);
  if (!options.legend) return img;

  img.fill_rect(0, map_height, width, legend_height, kLegendBackground);
  for (const Item& it : items) {
    const int r = map_height + it.row;
    int c = it.col;
    if (it.kind == 2) {
      img.fill_rect(c, r, kSwatch, kSwatch, it.color);
      c += kSwatch + 6;
    } else {
      const double mid = r + kSwatch / 2.0;
      draw_line(&img, c, mid, c + 2 * kSwatch, mid, it.color,
                it.kind == 0 ? LineStyle::kSolid : LineStyle::kDashed);
      c += 2 * kSwatch + 6;
    }
    draw_text(&img, c, r, it.text, kLegendText, kScale);
  }
  return img;
}

bool png_supported() {
#if TARMAC_WITH_PNG
  return true;
#else
  return false;
#endif
}

Status write_png(const RgbImage& img, const std::string& path) {
#if TARMAC_WITH_PNG
  if (img.width <= 0 || img.height <= 0 ||
      img.pixels.size() != static_cast<size_t>(img.width) * img.height * 3)
    return invalid_argument("cannot write '{}': empty or inconsistent picture", path);
  const std::string tmp = path + ".tmp";
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  image.width = static_cast<png_uint_32>(img.width);
  image.height = static_cast<png_uint_32>(img.height);
  image.format = PNG_FORMAT_RGB;
  if (!png_image_write_to_file(&image, tmp.c_str(), 0, img.pixels.data(), 0, nullptr)) {
    const std::string why = image.message;
    png_image_free(&image);
    std::error_code ec;
    fs::remove(tmp, ec);
    return io_error("cannot write '{}': {}", path, why);
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return io_error("cannot write '{}': {}", path, ec.message());
  }
  return Status::ok();
#else
  (void)img;
  return unavailable("cannot write '{}': tarmac was built without libpng", path);
#endif
}

}  // namespace tarmac
