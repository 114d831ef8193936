// Detection result writers (formats in results_io.h).
#include "perception/lidar/results_io.h"

#include <charconv>
#include <cmath>
#include <numbers>

#include "core/file_io.h"

namespace tarmac::lidar {

namespace {

/// a mapped into [-pi, pi).
float wrap_angle(double a) {
  constexpr double kTwoPi = 2 * std::numbers::pi;
  double w = a - std::floor((a + std::numbers::pi) / kTwoPi) * kTwoPi;
  if (w >= std::numbers::pi) w -= kTwoPi;  // rounding at the upper edge
  return static_cast<float>(w);
}

std::string class_name(int label, const std::vector<std::string>& names) {
  if (label >= 0 && static_cast<size_t>(label) < names.size()) return names[label];
  return fmt::format("class_{}", label);
}

/// The double whose shortest decimal is the float's shortest decimal, so JSON shows "0.1"
/// rather than the float's exact binary value 0.100000001490116.
double json_float(float v) {
  if (!std::isfinite(v)) return static_cast<double>(v);  // dumped as null by nlohmann-json
  char buf[32];
  const auto res = std::to_chars(buf, buf + sizeof(buf), v);
  double d = v;
  std::from_chars(buf, res.ptr, d);
  return d;
}

}  // namespace

KittiBox to_kitti_box(const Box3d& b) {
  KittiBox k;
  k.x = -b.y;
  k.y = -(b.z - b.dz / 2);
  k.z = b.x;
  k.height = b.dz;
  k.width = b.dy;
  k.length = b.dx;
  k.rotation_y = wrap_angle(-static_cast<double>(b.heading) - std::numbers::pi / 2);
  k.alpha = wrap_angle(static_cast<double>(k.rotation_y) - std::atan2(k.x, k.z));
  return k;
}

std::string to_kitti_lines(const std::vector<Detection>& dets,
                           const std::vector<std::string>& class_names) {
  std::string out;
  for (const Detection& d : dets) {
    const KittiBox k = to_kitti_box(d.box);
    out += fmt::format(
        "{} -1 -1 {:.4f} 0.00 0.00 0.00 0.00 {:.4f} {:.4f} {:.4f} {:.4f} {:.4f} {:.4f} {:.4f} "
        "{:.6f}\n",
        class_name(d.label, class_names), k.alpha, k.height, k.width, k.length, k.x, k.y, k.z,
        k.rotation_y, d.score);
  }
  return out;
}

std::string to_box_lines(const std::vector<Detection>& dets,
                         const std::vector<std::string>& class_names) {
  std::string out;
  for (const Detection& d : dets) {
    const Box3d& b = d.box;
    out += fmt::format("{} {} {} {} {} {} {} {} {}\n", b.x, b.y, b.z, b.dx, b.dy, b.dz, b.heading,
                       class_name(d.label, class_names), d.score);
  }
  return out;
}

nlohmann::json detections_to_json(const std::vector<Detection>& dets,
                                  const std::vector<std::string>& class_names) {
  nlohmann::json boxes = nlohmann::json::array();
  for (const Detection& d : dets) {
    const Box3d& b = d.box;
    nlohmann::json j = nlohmann::json::object();
    j["x"] = json_float(b.x);
    j["y"] = json_float(b.y);
    j["z"] = json_float(b.z);
    j["dx"] = json_float(b.dx);
    j["dy"] = json_float(b.dy);
    j["dz"] = json_float(b.dz);
    j["heading"] = json_float(b.heading);
    j["score"] = json_float(d.score);
    j["label"] = class_name(d.label, class_names);
    j["label_index"] = d.label;
    boxes.push_back(std::move(j));
  }
  return boxes;
}

nlohmann::json results_to_json(const std::string& frame, const std::vector<Detection>& dets,
                               const std::vector<std::string>& class_names,
                               const nlohmann::json& stats) {
  nlohmann::json out = nlohmann::json::object();
  out["frame"] = frame;
  out["boxes"] = detections_to_json(dets, class_names);
  if (!stats.is_null()) out["stats"] = stats;
  return out;
}

Status write_text_file(const std::string& path, const std::string& text) {
  return write_file_atomically(path, text);
}

}  // namespace tarmac::lidar
