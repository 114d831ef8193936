// PointPillars config: KITTI defaults, JSON parsing, path resolution and every rejection.
#include "perception/lidar/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

namespace tarmac::lidar {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json valid_json() {
  return json::parse(R"({
    "point_cloud_range": [0, -39.68, -3, 69.12, 39.68, 1],
    "voxel_size": [0.16, 0.16, 4],
    "classes": [
      {"name": "Car", "size": [3.9, 1.6, 1.56], "rotations": [0, 1.57],
       "anchor_bottom_height": -1.78},
      {"name": "Pedestrian", "size": [0.8, 0.6, 1.73], "rotations": [0, 1.57],
       "anchor_bottom_height": -0.6},
      {"name": "Cyclist", "size": [1.76, 0.6, 1.73], "rotations": [0, 1.57],
       "z_center": 0.265}
    ],
    "pfn_onnx": "pfn.onnx",
    "backbone_onnx": "models/backbone.onnx"
  })");
}

/// Parses `j` and expects an invalid-argument error whose message contains `needle`.
void expect_error(const json& j, const std::string& needle) {
  auto c = parse_config(j.dump(), "/base");
  ASSERT_FALSE(c.is_ok()) << "accepted: " << j.dump();
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find(needle), std::string::npos)
      << "message '" << c.status().message() << "' does not name '" << needle << "'";
}

TEST(PointPillarsConfig, KittiDefaults) {
  const PointPillarsConfig c = pointpillars_kitti_default();
  EXPECT_TRUE(validate_config(c).is_ok());
  EXPECT_EQ(c.grid_x(), 432);
  EXPECT_EQ(c.grid_y(), 496);
  EXPECT_EQ(c.grid_z(), 1);
  EXPECT_EQ(c.feature_map_h(), 248);
  EXPECT_EQ(c.feature_map_w(), 216);
  EXPECT_EQ(c.num_classes(), 3);
  EXPECT_EQ(c.anchors_per_location(), 6);
  EXPECT_EQ(c.class_names(), (std::vector<std::string>{"Car", "Pedestrian", "Cyclist"}));
  EXPECT_EQ(c.max_voxels, 40000);
  EXPECT_EQ(c.max_points_per_voxel, 32);
  EXPECT_TRUE(c.features.use_absolute_xyz);
  EXPECT_FALSE(c.features.with_distance);
  EXPECT_FLOAT_EQ(c.dir_offset, 0.78539f);
  EXPECT_EQ(c.dir_limit_offset, 0.f);
  EXPECT_EQ(c.num_dir_bins, 2);
  EXPECT_FLOAT_EQ(c.score_threshold, 0.1f);
  EXPECT_FLOAT_EQ(c.nms_iou_threshold, 0.01f);
  EXPECT_EQ(c.nms_pre_max, 4096);
  EXPECT_EQ(c.max_detections, 500);
  EXPECT_TRUE(c.class_agnostic_nms);
  EXPECT_FLOAT_EQ(c.classes[0].z_center, -1.0f);   // -1.78 + 1.56 / 2
  EXPECT_FLOAT_EQ(c.classes[1].z_center, 0.265f);  // -0.6 + 1.73 / 2
  EXPECT_FLOAT_EQ(c.classes[2].z_center, 0.265f);
  EXPECT_EQ(c.classes[2].size, (std::array<float, 3>{1.76f, 0.6f, 1.73f}));
}

TEST(PointPillarsConfig, ParsesKeysAndResolvesPaths) {
  auto c = parse_config(valid_json().dump(), "/models/pp");
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  const PointPillarsConfig& k = *c;
  const PointPillarsConfig d = pointpillars_kitti_default();
  EXPECT_EQ(k.point_cloud_range, d.point_cloud_range);
  EXPECT_EQ(k.voxel_size, d.voxel_size);
  ASSERT_EQ(k.classes.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(k.classes[i].name, d.classes[i].name);
    EXPECT_EQ(k.classes[i].size, d.classes[i].size);
    EXPECT_EQ(k.classes[i].rotations, d.classes[i].rotations);
  }
  // anchor_bottom_height is converted to the centre exactly as the default does.
  EXPECT_EQ(k.classes[0].z_center, d.classes[0].z_center);
  EXPECT_EQ(k.classes[1].z_center, d.classes[1].z_center);
  EXPECT_EQ(k.classes[2].z_center, 0.265f);  // z_center taken as is
  EXPECT_EQ(k.pfn_onnx, "/models/pp/pfn.onnx");
  EXPECT_EQ(k.backbone_onnx, "/models/pp/models/backbone.onnx");
  EXPECT_EQ(k.nms_pre_max, 4096);
  EXPECT_EQ(k.feature_map_stride, 2);
  EXPECT_TRUE(k.class_agnostic_nms);
}

TEST(PointPillarsConfig, ParsesOptionalKeys) {
  json j = valid_json();
  j["max_voxels"] = 12000;
  j["max_points_per_voxel"] = 20;
  j["features"] = {{"use_absolute_xyz", false}, {"with_distance", true}};
  j["feature_map_stride"] = 4;
  j["dir_offset"] = 0.5;
  j["dir_limit_offset"] = 0.25;
  j["num_dir_bins"] = 4;
  j["score_threshold"] = 0.3;
  j["nms_iou_threshold"] = 0.5;
  j["nms_pre_max"] = 1000;
  j["max_detections"] = 50;
  j["class_agnostic_nms"] = false;
  j["pfn_onnx"] = "/abs/pfn.onnx";
  auto c = parse_config(j.dump(), "/models");
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  EXPECT_EQ(c->max_voxels, 12000);
  EXPECT_EQ(c->max_points_per_voxel, 20);
  EXPECT_FALSE(c->features.use_absolute_xyz);
  EXPECT_TRUE(c->features.with_distance);
  EXPECT_EQ(c->feature_map_stride, 4);
  EXPECT_EQ(c->feature_map_h(), 124);
  EXPECT_EQ(c->feature_map_w(), 108);
  EXPECT_EQ(c->dir_offset, 0.5f);
  EXPECT_EQ(c->dir_limit_offset, 0.25f);
  EXPECT_EQ(c->num_dir_bins, 4);
  EXPECT_EQ(c->score_threshold, 0.3f);
  EXPECT_EQ(c->nms_iou_threshold, 0.5f);
  EXPECT_EQ(c->nms_pre_max, 1000);
  EXPECT_EQ(c->max_detections, 50);
  EXPECT_FALSE(c->class_agnostic_nms);
  EXPECT_EQ(c->pfn_onnx, "/abs/pfn.onnx");
}

TEST(PointPillarsConfig, RejectsMalformedDocuments) {
  auto c = parse_config("{\"voxel_size\": [0.16, ", "/base");
  ASSERT_FALSE(c.is_ok());
  EXPECT_NE(c.status().message().find("not valid JSON"), std::string::npos);
  c = parse_config("[1, 2]", "/base");
  ASSERT_FALSE(c.is_ok());
  EXPECT_NE(c.status().message().find("JSON object"), std::string::npos);
}

TEST(PointPillarsConfig, RejectsMissingRequiredKeys) {
  for (const char* key :
       {"point_cloud_range", "voxel_size", "classes", "pfn_onnx", "backbone_onnx"}) {
    json j = valid_json();
    j.erase(key);
    expect_error(j, key);
  }
  for (const char* key : {"name", "size", "rotations"}) {
    json j = valid_json();
    j["classes"][1].erase(key);
    expect_error(j, std::string("classes[1].") + key);
  }
}

TEST(PointPillarsConfig, RejectsUnknownKeys) {
  json j = valid_json();
  j["score_thresh"] = 0.2;
  expect_error(j, "score_thresh");
  j = valid_json();
  j["classes"][0]["anchor_height"] = 1;
  expect_error(j, "classes[0].anchor_height");
  j = valid_json();
  j["features"] = {{"use_absolute_xyz", true}, {"with_intensity", true}};
  expect_error(j, "features.with_intensity");
}

TEST(PointPillarsConfig, RejectsWrongTypes) {
  const std::pair<const char*, json> cases[] = {
      {"point_cloud_range", "0 0 0 1 1 1"},
      {"voxel_size", json::array({0.16, "0.16", 4})},
      {"max_voxels", 3.5},
      {"max_voxels", "40000"},
      {"max_points_per_voxel", true},
      {"nms_pre_max", 1e12},
      {"max_detections", 5000000000LL},
      {"num_dir_bins", 2.0},
      {"class_agnostic_nms", 1},
      {"score_threshold", "0.1"},
      {"dir_offset", nullptr},
      {"features", true},
      {"classes", json::object()},
      {"pfn_onnx", 7},
  };
  for (const auto& [key, value] : cases) {
    json j = valid_json();
    j[key] = value;
    expect_error(j, key);
  }
  json j = valid_json();
  j["classes"][0]["name"] = 5;
  expect_error(j, "classes[0].name");
  j = valid_json();
  j["classes"][2] = "Cyclist";
  expect_error(j, "classes[2]");
  j = valid_json();
  j["features"]["with_distance"] = "no";
  expect_error(j, "features.with_distance");
}

TEST(PointPillarsConfig, RejectsBadValues) {
  const std::pair<const char*, json> cases[] = {
      {"point_cloud_range", json::array({0, -39.68, -3, 69.12, 39.68})},
      {"point_cloud_range", json::array({0, -39.68, -3, 0, 39.68, 1})},
      {"voxel_size", json::array({0.16, 0.16})},
      {"voxel_size", json::array({0.16, 0, 4})},
      {"voxel_size", json::array({0.16, -0.16, 4})},
      {"max_voxels", 0},
      {"max_points_per_voxel", -3},
      {"feature_map_stride", 0},
      {"feature_map_stride", 300},
      {"num_dir_bins", 0},
      {"score_threshold", 1.5},
      {"score_threshold", -0.1},
      {"nms_iou_threshold", 1.01},
      {"nms_pre_max", 0},
      {"max_detections", -1},
      {"classes", json::array()},
      {"pfn_onnx", ""},
      {"backbone_onnx", ""},
      {"dir_offset", 1e300},
  };
  for (const auto& [key, value] : cases) {
    json j = valid_json();
    j[key] = value;
    expect_error(j, key);
  }
}

TEST(PointPillarsConfig, RejectsBadClasses) {
  json j = valid_json();
  j["classes"][1]["size"] = json::array({0.8, 0.0, 1.73});
  expect_error(j, "classes[1].size[1]");
  j = valid_json();
  j["classes"][1]["size"] = json::array({0.8, 0.6});
  expect_error(j, "classes[1].size");
  j = valid_json();
  j["classes"][0]["rotations"] = json::array();
  expect_error(j, "classes[0].rotations");
  j = valid_json();
  j["classes"][2]["rotations"] = json::array({0, 0.78, 1.57});
  expect_error(j, "classes[2].rotations");  // every class needs the same count
  j = valid_json();
  j["classes"][2]["anchor_bottom_height"] = -0.6;  // and z_center
  expect_error(j, "classes[2]");
  j = valid_json();
  j["classes"][0].erase("anchor_bottom_height");
  expect_error(j, "classes[0]");
  j = valid_json();
  j["classes"][2]["name"] = "Car";
  expect_error(j, "classes[2].name");
  j = valid_json();
  j["classes"][1]["name"] = "Big Car";
  expect_error(j, "classes[1].name");
  j = valid_json();
  j["classes"][1]["name"] = "";
  expect_error(j, "classes[1].name");
}

TEST(PointPillarsConfig, ValidatesConfigsBuiltInCode) {
  PointPillarsConfig c = pointpillars_kitti_default();
  c.classes.clear();
  EXPECT_FALSE(validate_config(c).is_ok());
  c = pointpillars_kitti_default();
  c.nms_iou_threshold = std::nanf("");
  EXPECT_FALSE(validate_config(c).is_ok());
  c = pointpillars_kitti_default();
  c.voxel_size[2] = 0;
  EXPECT_FALSE(validate_config(c).is_ok());
}

TEST(PointPillarsConfig, LoadsFilesRelativeToTheirFolder) {
  const fs::path dir =
      fs::temp_directory_path() / ("tarmac_lidar_config_test_" + std::to_string(::getpid()));
  fs::create_directories(dir / "sub");
  const fs::path file = dir / "sub" / "pipeline.json";
  { std::ofstream(file) << valid_json().dump(2); }
  auto c = load_config(file.string());
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  EXPECT_EQ(c->pfn_onnx, (dir / "sub" / "pfn.onnx").string());
  EXPECT_EQ(c->backbone_onnx, (dir / "sub" / "models" / "backbone.onnx").string());

  json bad = valid_json();
  bad["nms_pre_max"] = -5;
  { std::ofstream(file) << bad.dump(); }
  c = load_config(file.string());
  ASSERT_FALSE(c.is_ok());
  EXPECT_NE(c.status().message().find(file.string()), std::string::npos);
  EXPECT_NE(c.status().message().find("nms_pre_max"), std::string::npos);

  c = load_config((dir / "missing.json").string());
  ASSERT_FALSE(c.is_ok());
  EXPECT_EQ(c.status().code(), StatusCode::kNotFound);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace tarmac::lidar
