// Bird's-eye-view pictures of a lidar scan with ground-truth and predicted boxes.
//   TARMAC_ASSIGN_OR_RETURN(std::vector<float> points, read_kitti_points("000042.bin"));
//   BevScene scene{points, gt_boxes, predicted_boxes};
//   TARMAC_ASSIGN_OR_RETURN(RgbImage img, render_bev(scene, BevRenderOptions{}));
//   TARMAC_RETURN_IF_ERROR(write_png(img, "000042.png"));
//
// Image axes: lidar +x (forward) points up, +y (left) points left. Pixel (col, row) covers
// col = floor((ymax - y) / resolution), row = floor((xmax - x) / resolution).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "perception/box3d.h"
#include "perception/eval/labels.h"

namespace tarmac {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
  bool operator==(const Rgb&) const = default;
};

/// An 8-bit RGB picture, rows top to bottom.
struct RgbImage {
  int width = 0, height = 0;
  std::vector<uint8_t> pixels;  // [height, width, 3]

  RgbImage() = default;
  RgbImage(int w, int h, Rgb fill);
  Rgb at(int col, int row) const;
  /// Pixels outside the picture are ignored.
  void set(int col, int row, Rgb c);
  void fill_rect(int col, int row, int w, int h, Rgb c);
};

/// The lidar-frame rectangle shown and the metres per pixel.
struct BevView {
  double xmin = 0, ymin = -40, xmax = 70.4, ymax = 40;
  double resolution = 0.1;
};

/// Largest picture side, in pixels.
inline constexpr int kMaxBevSide = 16384;

/// Finite bounds with min < max, resolution > 0, at most kMaxBevSide pixels a side.
Status validate_view(const BevView& view);
/// "xmin,ymin,xmax,ymax" in metres; the result is validated with `resolution`.
StatusOr<BevView> parse_bev_range(const std::string& spec, double resolution);
int bev_width(const BevView& view);
int bev_height(const BevView& view);
/// Continuous pixel coordinates (col, row) of a lidar-frame point.
void bev_to_pixel(const BevView& view, double x, double y, double* col, double* row);

/// Reads a KITTI scan: float32 x, y, z, intensity per point (16 bytes), returned as [N, 4].
StatusOr<std::vector<float>> read_kitti_points(const std::string& path);

enum class PointColoring { kHeight, kIntensity };
enum class LineStyle { kSolid, kDashed };

/// The class palette: a fixed list of distinct colours, cycled.
Rgb class_color(int index);
/// The lighter tone predictions are drawn in.
Rgb lighter(Rgb c);

/// Line between continuous pixel coordinates, clipped to the picture.
void draw_line(RgbImage* img, double c0, double r0, double c1, double r1, Rgb color,
               LineStyle style = LineStyle::kSolid);
/// Points [N, 4] as single pixels coloured by height (z from -2.5 to 1.5 m) or intensity
/// (0..1, or 0..255 when any exceeds 1); higher points are drawn over lower ones.
void draw_points(RgbImage* img, const BevView& view, const std::vector<float>& xyzi,
                 PointColoring coloring);
/// The box outline and a heading tick from its centre to the middle of its front edge.
void draw_box(RgbImage* img, const BevView& view, const Box3d& box, Rgb color, LineStyle style);
/// Text in the 5x7 font, each cell `scale` pixels; (col, row) is the top-left corner.
void draw_text(RgbImage* img, int col, int row, std::string_view text, Rgb color, int scale);
int text_width(std::string_view text, int scale);

struct BevScene {
  std::vector<float> points;  // [N, 4]
  std::vector<LabeledBox> gt;
  std::vector<LabeledBox> pred;
};

struct BevRenderOptions {
  BevView view;
  PointColoring coloring = PointColoring::kHeight;
  float min_score = 0;  // predictions below are not drawn
  bool legend = true;   // the class strip below the map
};

inline constexpr Rgb kBevBackground{14, 15, 20};

/// The map (range rings every 10 m, points, ground truth solid, predictions lighter and dashed,
/// classes coloured in name order) and, below it, a legend strip naming the class colours.
StatusOr<RgbImage> render_bev(const BevScene& scene, const BevRenderOptions& options);

/// Writes an 8-bit RGB PNG through a temporary file and a rename. Fails with kUnavailable
/// when tarmac was built without libpng.
Status write_png(const RgbImage& img, const std::string& path);
/// Whether write_png can work in this build.
bool png_supported();

}  // namespace tarmac
