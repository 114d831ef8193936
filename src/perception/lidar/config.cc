// PointPillars config: defaults, JSON parsing and validation (key reference in config.h).
#include "perception/lidar/config.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

namespace tarmac::lidar {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

int grid_cells(float lo, float hi, float size) {
  const double cells = std::round((static_cast<double>(hi) - lo) / size);
  if (!(cells >= 0) || cells > std::numeric_limits<int>::max()) return 0;
  return static_cast<int>(cells);
}

const char* json_type(const json& v) {
  if (v.is_number_integer()) return "an integer";
  if (v.is_number()) return "a number";
  return v.type_name();
}

/// Reads the keys of one JSON object, each at most once, and reports keys left unread.
class ObjectReader {
 public:
  ObjectReader(const json& obj, std::string where) : obj_(obj), where_(std::move(where)) {}

  std::string key_path(const std::string& key) const {
    return where_.empty() ? key : where_ + "." + key;
  }
  bool has(const std::string& key) const { return obj_.contains(key); }

  Status require(const std::string& key) const {
    if (!obj_.contains(key)) return invalid_argument("missing required key '{}'", key_path(key));
    return Status::ok();
  }

  Status read_float(const std::string& key, float* out) {
    if (!obj_.contains(key)) return Status::ok();
    used_.insert(key);
    return to_float(obj_.at(key), key_path(key), out);
  }

  Status read_int(const std::string& key, int* out) {
    if (!obj_.contains(key)) return Status::ok();
    used_.insert(key);
    const json& v = obj_.at(key);
    if (!v.is_number_integer())
      return invalid_argument("key '{}' must be an integer, got {}", key_path(key), json_type(v));
    const auto i = v.get<int64_t>();
    if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT32_MAX))
      return invalid_argument("key '{}' is too large", key_path(key));
    if (i < INT32_MIN || i > INT32_MAX)
      return invalid_argument("key '{}' is out of the integer range", key_path(key));
    *out = static_cast<int>(i);
    return Status::ok();
  }

  Status read_bool(const std::string& key, bool* out) {
    if (!obj_.contains(key)) return Status::ok();
    used_.insert(key);
    const json& v = obj_.at(key);
    if (!v.is_boolean())
      return invalid_argument("key '{}' must be true or false, got {}", key_path(key),
                              json_type(v));
    *out = v.get<bool>();
    return Status::ok();
  }

  Status read_string(const std::string& key, std::string* out) {
    if (!obj_.contains(key)) return Status::ok();
    used_.insert(key);
    const json& v = obj_.at(key);
    if (!v.is_string())
      return invalid_argument("key '{}' must be a string, got {}", key_path(key), json_type(v));
    *out = v.get<std::string>();
    return Status::ok();
  }

  /// A float array; `count` < 0 accepts any non-empty length.
  Status read_floats(const std::string& key, int count, std::vector<float>* out) {
    if (!obj_.contains(key)) return Status::ok();
    used_.insert(key);
    const json& v = obj_.at(key);
    const std::string path = key_path(key);
    if (!v.is_array()) return invalid_argument("key '{}' must be an array", path);
    if (count >= 0 && v.size() != static_cast<size_t>(count))
      return invalid_argument("key '{}' must hold {} numbers, got {}", path, count, v.size());
    if (v.empty()) return invalid_argument("key '{}' must not be empty", path);
    out->assign(v.size(), 0.f);
    for (size_t i = 0; i < v.size(); ++i)
      TARMAC_RETURN_IF_ERROR(to_float(v[i], fmt::format("{}[{}]", path, i), &(*out)[i]));
    return Status::ok();
  }

  /// Marks a key as read by the caller (objects and arrays it walks itself).
  const json& take(const std::string& key) {
    used_.insert(key);
    return obj_.at(key);
  }

  Status check_unknown() const {
    for (auto it = obj_.begin(); it != obj_.end(); ++it)
      if (!used_.count(it.key())) return invalid_argument("unknown key '{}'", key_path(it.key()));
    return Status::ok();
  }

 private:
  static Status to_float(const json& v, const std::string& path, float* out) {
    if (!v.is_number())
      return invalid_argument("key '{}' must be a number, got {}", path, json_type(v));
    const double d = v.get<double>();
    if (!std::isfinite(d) || std::fabs(d) > std::numeric_limits<float>::max())
      return invalid_argument("key '{}' must be a finite float", path);
    *out = static_cast<float>(d);
    return Status::ok();
  }

  const json& obj_;
  std::string where_;
  std::set<std::string> used_;
};

Status parse_class(const json& v, size_t index, AnchorClass* out) {
  const std::string where = fmt::format("classes[{}]", index);
  if (!v.is_object()) return invalid_argument("key '{}' must be an object", where);
  ObjectReader r(v, where);
  for (const char* key : {"name", "size", "rotations"}) TARMAC_RETURN_IF_ERROR(r.require(key));
  TARMAC_RETURN_IF_ERROR(r.read_string("name", &out->name));
  std::vector<float> size;
  TARMAC_RETURN_IF_ERROR(r.read_floats("size", 3, &size));
  out->size = {size[0], size[1], size[2]};
  TARMAC_RETURN_IF_ERROR(r.read_floats("rotations", -1, &out->rotations));
  const bool has_center = r.has("z_center"), has_bottom = r.has("anchor_bottom_height");
  if (has_center == has_bottom)
    return invalid_argument("'{}' needs exactly one of 'z_center' and 'anchor_bottom_height'",
                            where);
  if (has_center) {
    TARMAC_RETURN_IF_ERROR(r.read_float("z_center", &out->z_center));
  } else {
    float bottom = 0;
    TARMAC_RETURN_IF_ERROR(r.read_float("anchor_bottom_height", &bottom));
    // OpenPCDet's AnchorGenerator shifts the anchor to the box centre in float32: z += dz / 2.
    out->z_center = bottom + out->size[2] / 2;
  }
  return r.check_unknown();
}

std::string resolve_path(const std::string& path, const std::string& base_dir) {
  const fs::path p(path);
  if (p.is_absolute() || base_dir.empty()) return p.lexically_normal().string();
  return (fs::path(base_dir) / p).lexically_normal().string();
}

Status check_positive(int value, const char* key) {
  if (value <= 0) return invalid_argument("key '{}' must be positive, got {}", key, value);
  return Status::ok();
}

Status check_unit_interval(float value, const char* key) {
  if (!(value >= 0.f && value <= 1.f))
    return invalid_argument("key '{}' must be in [0, 1], got {}", key, value);
  return Status::ok();
}

}  // namespace

int PointPillarsConfig::grid_x() const {
  return grid_cells(point_cloud_range[0], point_cloud_range[3], voxel_size[0]);
}
int PointPillarsConfig::grid_y() const {
  return grid_cells(point_cloud_range[1], point_cloud_range[4], voxel_size[1]);
}
int PointPillarsConfig::grid_z() const {
  return grid_cells(point_cloud_range[2], point_cloud_range[5], voxel_size[2]);
}

int PointPillarsConfig::anchors_per_location() const {
  int n = 0;
  for (const AnchorClass& c : classes) n += static_cast<int>(c.rotations.size());
  return n;
}

std::vector<std::string> PointPillarsConfig::class_names() const {
  std::vector<std::string> names;
  names.reserve(classes.size());
  for (const AnchorClass& c : classes) names.push_back(c.name);
  return names;
}

PointPillarsConfig pointpillars_kitti_default() {
  PointPillarsConfig c;
  const std::vector<float> rotations = {0.f, 1.57f};
  // z_center = anchor_bottom_height + dz / 2, in float32 as OpenPCDet computes it.
  c.classes = {
      {"Car", {3.9f, 1.6f, 1.56f}, rotations, -1.78f + 1.56f / 2},
      {"Pedestrian", {0.8f, 0.6f, 1.73f}, rotations, -0.6f + 1.73f / 2},
      {"Cyclist", {1.76f, 0.6f, 1.73f}, rotations, -0.6f + 1.73f / 2},
  };
  return c;
}

Status validate_config(const PointPillarsConfig& c) {
  static constexpr const char* kAxes = "xyz";
  for (int a = 0; a < 3; ++a) {
    const float lo = c.point_cloud_range[a], hi = c.point_cloud_range[a + 3];
    if (!std::isfinite(lo) || !std::isfinite(hi) || !(hi > lo))
      return invalid_argument("key 'point_cloud_range': {} max ({}) must exceed {} min ({})",
                              kAxes[a], hi, kAxes[a], lo);
    const float v = c.voxel_size[a];
    if (!std::isfinite(v) || !(v > 0))
      return invalid_argument("key 'voxel_size[{}]' must be positive, got {}", a, v);
  }
  if (c.grid_x() < 1 || c.grid_y() < 1 || c.grid_z() < 1)
    return invalid_argument(
        "keys 'point_cloud_range' and 'voxel_size' give an empty voxel grid ({} x {} x {})",
        c.grid_x(), c.grid_y(), c.grid_z());
  TARMAC_RETURN_IF_ERROR(check_positive(c.max_voxels, "max_voxels"));
  TARMAC_RETURN_IF_ERROR(check_positive(c.max_points_per_voxel, "max_points_per_voxel"));
  TARMAC_RETURN_IF_ERROR(check_positive(c.feature_map_stride, "feature_map_stride"));
  if (c.feature_map_h() < 2 || c.feature_map_w() < 2)
    return invalid_argument(
        "key 'feature_map_stride' ({}) leaves a {} x {} feature map; anchors need at least 2 x 2",
        c.feature_map_stride, c.feature_map_h(), c.feature_map_w());
  if (c.classes.empty()) return invalid_argument("key 'classes' must not be empty");
  std::set<std::string> names;
  for (size_t i = 0; i < c.classes.size(); ++i) {
    const AnchorClass& k = c.classes[i];
    if (k.name.empty()) return invalid_argument("key 'classes[{}].name' must not be empty", i);
    if (k.name.find_first_of(" \t\r\n") != std::string::npos)
      return invalid_argument("key 'classes[{}].name' ('{}') must not contain white space", i,
                              k.name);
    if (!names.insert(k.name).second)
      return invalid_argument("key 'classes[{}].name': class '{}' appears twice", i, k.name);
    for (int d = 0; d < 3; ++d)
      if (!std::isfinite(k.size[d]) || !(k.size[d] > 0))
        return invalid_argument("key 'classes[{}].size[{}]' must be positive, got {}", i, d,
                                k.size[d]);
    if (k.rotations.empty())
      return invalid_argument("key 'classes[{}].rotations' must not be empty", i);
    for (size_t r = 0; r < k.rotations.size(); ++r)
      if (!std::isfinite(k.rotations[r]))
        return invalid_argument("key 'classes[{}].rotations[{}]' must be finite", i, r);
    // The head lays anchors out as [class][rotation] per cell (OpenPCDet concatenates the
    // per-class anchor tensors), which needs the same rotation count for every class.
    if (k.rotations.size() != c.classes[0].rotations.size())
      return invalid_argument(
          "key 'classes[{}].rotations' has {} entries but classes[0] has {}; every class needs "
          "the same number of rotations",
          i, k.rotations.size(), c.classes[0].rotations.size());
    if (!std::isfinite(k.z_center))
      return invalid_argument("key 'classes[{}]': the anchor height must be finite", i);
  }
  if (!std::isfinite(c.dir_offset)) return invalid_argument("key 'dir_offset' must be finite");
  if (!std::isfinite(c.dir_limit_offset))
    return invalid_argument("key 'dir_limit_offset' must be finite");
  TARMAC_RETURN_IF_ERROR(check_positive(c.num_dir_bins, "num_dir_bins"));
  TARMAC_RETURN_IF_ERROR(check_unit_interval(c.score_threshold, "score_threshold"));
  TARMAC_RETURN_IF_ERROR(check_unit_interval(c.nms_iou_threshold, "nms_iou_threshold"));
  TARMAC_RETURN_IF_ERROR(check_positive(c.nms_pre_max, "nms_pre_max"));
  TARMAC_RETURN_IF_ERROR(check_positive(c.max_detections, "max_detections"));
  return Status::ok();
}

StatusOr<PointPillarsConfig> parse_config(const std::string& text, const std::string& base_dir) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    return invalid_argument("not valid JSON: {}", e.what());
  }
  if (!doc.is_object()) return invalid_argument("the config must be a JSON object");
  PointPillarsConfig c;
  ObjectReader r(doc, "");
  for (const char* key :
       {"point_cloud_range", "voxel_size", "classes", "pfn_onnx", "backbone_onnx"})
    TARMAC_RETURN_IF_ERROR(r.require(key));

  std::vector<float> values;
  TARMAC_RETURN_IF_ERROR(r.read_floats("point_cloud_range", 6, &values));
  std::copy(values.begin(), values.end(), c.point_cloud_range.begin());
  TARMAC_RETURN_IF_ERROR(r.read_floats("voxel_size", 3, &values));
  std::copy(values.begin(), values.end(), c.voxel_size.begin());
  TARMAC_RETURN_IF_ERROR(r.read_int("max_voxels", &c.max_voxels));
  TARMAC_RETURN_IF_ERROR(r.read_int("max_points_per_voxel", &c.max_points_per_voxel));
  if (r.has("features")) {
    const json& f = r.take("features");
    if (!f.is_object()) return invalid_argument("key 'features' must be an object");
    ObjectReader fr(f, "features");
    TARMAC_RETURN_IF_ERROR(fr.read_bool("use_absolute_xyz", &c.features.use_absolute_xyz));
    TARMAC_RETURN_IF_ERROR(fr.read_bool("with_distance", &c.features.with_distance));
    TARMAC_RETURN_IF_ERROR(fr.check_unknown());
  }
  const json& classes = r.take("classes");
  if (!classes.is_array()) return invalid_argument("key 'classes' must be an array");
  if (classes.empty()) return invalid_argument("key 'classes' must not be empty");
  c.classes.resize(classes.size());
  for (size_t i = 0; i < classes.size(); ++i)
    TARMAC_RETURN_IF_ERROR(parse_class(classes[i], i, &c.classes[i]));
  TARMAC_RETURN_IF_ERROR(r.read_int("feature_map_stride", &c.feature_map_stride));
  TARMAC_RETURN_IF_ERROR(r.read_float("dir_offset", &c.dir_offset));
  TARMAC_RETURN_IF_ERROR(r.read_float("dir_limit_offset", &c.dir_limit_offset));
  TARMAC_RETURN_IF_ERROR(r.read_int("num_dir_bins", &c.num_dir_bins));
  TARMAC_RETURN_IF_ERROR(r.read_float("score_threshold", &c.score_threshold));
  TARMAC_RETURN_IF_ERROR(r.read_float("nms_iou_threshold", &c.nms_iou_threshold));
  TARMAC_RETURN_IF_ERROR(r.read_int("nms_pre_max", &c.nms_pre_max));
  TARMAC_RETURN_IF_ERROR(r.read_int("max_detections", &c.max_detections));
  TARMAC_RETURN_IF_ERROR(r.read_bool("class_agnostic_nms", &c.class_agnostic_nms));
  for (auto [key, path] :
       {std::pair{"pfn_onnx", &c.pfn_onnx}, std::pair{"backbone_onnx", &c.backbone_onnx}}) {
    TARMAC_RETURN_IF_ERROR(r.read_string(key, path));
    if (path->empty()) return invalid_argument("key '{}' must not be empty", key);
    *path = resolve_path(*path, base_dir);
  }
  // Written by python/export_pointpillars.py for the PyTorch side: checked where they restate
  // what the keys above decide, otherwise informational.
  std::vector<float> grid;
  if (r.has("grid_size")) TARMAC_RETURN_IF_ERROR(r.read_floats("grid_size", 3, &grid));
  int point_features = 4, bev_features = 1;
  TARMAC_RETURN_IF_ERROR(r.read_int("num_point_features", &point_features));
  if (point_features != 4)
    return invalid_argument("key 'num_point_features' must be 4 (x, y, z, intensity), got {}",
                            point_features);
  TARMAC_RETURN_IF_ERROR(r.read_int("num_bev_features", &bev_features));
  if (bev_features <= 0) return invalid_argument("key 'num_bev_features' must be positive");
  std::string checkpoint;
  TARMAC_RETURN_IF_ERROR(r.read_string("checkpoint", &checkpoint));
  TARMAC_RETURN_IF_ERROR(r.check_unknown());
  TARMAC_RETURN_IF_ERROR(validate_config(c));
  if (!grid.empty() &&
      (grid[0] != static_cast<float>(c.grid_x()) || grid[1] != static_cast<float>(c.grid_y()) ||
       grid[2] != static_cast<float>(c.grid_z())))
    return invalid_argument(
        "key 'grid_size' [{}, {}, {}] disagrees with the range and voxel size "
        "([{}, {}, {}])",
        grid[0], grid[1], grid[2], c.grid_x(), c.grid_y(), c.grid_z());
  return c;
}

StatusOr<PointPillarsConfig> load_config(const std::string& json_path) {
  std::ifstream in(json_path, std::ios::binary);
  if (!in) return not_found("lidar config '{}' cannot be opened", json_path);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return io_error("lidar config '{}' cannot be read", json_path);
  std::string base = fs::path(json_path).parent_path().string();
  if (base.empty()) base = ".";
  auto parsed = parse_config(text.str(), base);
  if (!parsed.is_ok())
    return parsed.status().with_context(fmt::format("lidar config '{}'", json_path));
  return parsed;
}

}  // namespace tarmac::lidar
