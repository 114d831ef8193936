// Result writers: KITTI lines (camera frame by axis change), box lines and JSON, each read
// back by the evaluation's parsers where one exists.
#include "perception/lidar/results_io.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <sstream>

#include "perception/eval/labels.h"

namespace tarmac::lidar {
namespace {

constexpr double kPi = std::numbers::pi;

std::vector<Detection> sample_detections() {
  Detection car;
  car.box = Box3d{10.f, 2.f, -0.8f, 3.9f, 1.6f, 1.56f, 0.3f};
  car.score = 0.875f;
  car.label = 0;
  Detection ped;
  ped.box = Box3d{-4.5f, -1.25f, -0.2f, 0.8f, 0.6f, 1.73f, -2.9f};
  ped.score = 0.1f;
  ped.label = 1;
  return {car, ped};
}

const std::vector<std::string> kNames = {"Car", "Pedestrian", "Cyclist"};

std::vector<std::string> tokens(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  for (std::string t; in >> t;) out.push_back(t);
  return out;
}

TEST(LidarResultsIo, KittiBoxAxisChange) {
  const KittiBox k = to_kitti_box(Box3d{10.f, 2.f, -0.8f, 3.9f, 1.6f, 1.56f, 0.3f});
  EXPECT_FLOAT_EQ(k.x, -2.f);
  EXPECT_FLOAT_EQ(k.y, 1.58f);  // -(z - dz / 2): the bottom face, y pointing down
  EXPECT_FLOAT_EQ(k.z, 10.f);
  EXPECT_FLOAT_EQ(k.height, 1.56f);
  EXPECT_FLOAT_EQ(k.width, 1.6f);
  EXPECT_FLOAT_EQ(k.length, 3.9f);
  EXPECT_NEAR(k.rotation_y, -0.3 - kPi / 2, 1e-6);
  EXPECT_NEAR(k.alpha, -0.3 - kPi / 2 - std::atan2(-2.0, 10.0), 1e-6);
  // Facing +x in lidar (heading 0) is rotation_y -pi/2; headings wrap into [-pi, pi).
  EXPECT_NEAR(to_kitti_box(Box3d{5, 0, 0, 1, 1, 1, 0.f}).rotation_y, -kPi / 2, 1e-6);
  EXPECT_NEAR(to_kitti_box(Box3d{5, 0, 0, 1, 1, 1, -3 * kPi / 2 - 0.5}).rotation_y, -kPi + 0.5,
              1e-6);
  EXPECT_NEAR(to_kitti_box(Box3d{5, 0, 0, 1, 1, 1, 2 * kPi}).rotation_y, -kPi / 2, 1e-6);
  for (float h = -10.f; h < 10.f; h += 0.37f) {
    const KittiBox w = to_kitti_box(Box3d{5, 3, 0, 1, 1, 1, h});
    EXPECT_GE(w.rotation_y, -kPi - 1e-6);
    EXPECT_LE(w.rotation_y, kPi + 1e-6);
    EXPECT_GE(w.alpha, -kPi - 1e-6);
    EXPECT_LE(w.alpha, kPi + 1e-6);
  }
}

TEST(LidarResultsIo, KittiLines) {
  const std::string text = to_kitti_lines(sample_detections(), kNames);
  std::istringstream in(text);
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  std::vector<std::string> t = tokens(line);
  ASSERT_EQ(t.size(), 16u);
  EXPECT_EQ(t[0], "Car");
  EXPECT_EQ(t[1], "-1");
  EXPECT_EQ(t[2], "-1");
  for (int i = 4; i < 8; ++i) EXPECT_EQ(std::stod(t[i]), 0.0);
  EXPECT_NEAR(std::stod(t[3]), -0.3 - kPi / 2 - std::atan2(-2.0, 10.0), 1e-4);
  EXPECT_NEAR(std::stod(t[8]), 1.56, 1e-4);   // height
  EXPECT_NEAR(std::stod(t[9]), 1.6, 1e-4);    // width
  EXPECT_NEAR(std::stod(t[10]), 3.9, 1e-4);   // length
  EXPECT_NEAR(std::stod(t[11]), -2.0, 1e-4);  // x
  EXPECT_NEAR(std::stod(t[12]), 1.58, 1e-4);  // y
  EXPECT_NEAR(std::stod(t[13]), 10.0, 1e-4);  // z
  EXPECT_NEAR(std::stod(t[14]), -0.3 - kPi / 2, 1e-4);
  EXPECT_NEAR(std::stod(t[15]), 0.875, 1e-6);
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_EQ(tokens(line)[0], "Pedestrian");
  EXPECT_FALSE(std::getline(in, line));
  // A label outside the class list still gives a well-formed line.
  Detection odd = sample_detections()[0];
  odd.label = 7;
  EXPECT_EQ(tokens(to_kitti_lines({odd}, kNames))[0], "class_7");
  EXPECT_EQ(to_kitti_lines({}, kNames), "");
}

TEST(LidarResultsIo, BoxLinesReadBackByTheEvaluation) {
  const std::vector<Detection> dets = sample_detections();
  auto boxes = parse_label_text(to_box_lines(dets, kNames), "pred.txt", /*with_score=*/true);
  ASSERT_TRUE(boxes.is_ok()) << boxes.status().message();
  ASSERT_EQ(boxes->size(), 2u);
  for (size_t i = 0; i < dets.size(); ++i) {
    const LabeledBox& b = (*boxes)[i];
    EXPECT_EQ(b.cls, kNames[dets[i].label]);
    EXPECT_EQ(b.score, dets[i].score);
    EXPECT_EQ(b.box.x, dets[i].box.x);  // shortest round-trip decimals: exact
    EXPECT_EQ(b.box.dz, dets[i].box.dz);
    EXPECT_EQ(b.box.heading, dets[i].box.heading);
  }
}

TEST(LidarResultsIo, JsonSchemaAndStats) {
  const std::vector<Detection> dets = sample_detections();
  nlohmann::json stats = {{"points_in", 120000}, {"pillars", 8123}, {"ms", {{"decode", 0.5}}}};
  const nlohmann::json j = results_to_json("000042", dets, kNames, stats);
  EXPECT_EQ(j["frame"], "000042");
  ASSERT_EQ(j["boxes"].size(), 2u);
  const nlohmann::json& b = j["boxes"][0];
  EXPECT_EQ(b["label"], "Car");
  EXPECT_EQ(b["label_index"], 0);
  EXPECT_EQ(b["x"].get<double>(), 10.0);
  EXPECT_EQ(b["dx"].get<float>(), 3.9f);
  EXPECT_EQ(j["boxes"][1]["label"], "Pedestrian");
  EXPECT_EQ(j["boxes"][1]["label_index"], 1);
  EXPECT_EQ(j["stats"], stats);
  // Floats print as their shortest decimals.
  const std::string text = j.dump();
  EXPECT_NE(text.find("\"score\":0.1"), std::string::npos) << text;
  EXPECT_EQ(text.find("0.10000000149"), std::string::npos) << text;
  EXPECT_FALSE(results_to_json("a", {}, kNames, nullptr).contains("stats"));
  EXPECT_TRUE(detections_to_json({}, kNames).is_array());

  // The evaluation reads a list of such frames.
  const nlohmann::json file = {{"frames", {j}}};
  auto parsed = parse_prediction_json(file.dump(), "results.json");
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().message();
  ASSERT_EQ(parsed->at("000042").size(), 2u);
  EXPECT_EQ(parsed->at("000042")[1].cls, "Pedestrian");
  EXPECT_EQ(parsed->at("000042")[1].box.heading, -2.9f);
  EXPECT_EQ(parsed->at("000042")[1].score, 0.1f);
}

TEST(LidarResultsIo, WritesFilesAtomically) {
  namespace fs = std::filesystem;
  const fs::path dir =
      fs::temp_directory_path() / ("tarmac_results_io_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path file = dir / "000001.txt";
  ASSERT_TRUE(write_text_file(file.string(), "first\n").is_ok());
  ASSERT_TRUE(write_text_file(file.string(), to_kitti_lines(sample_detections(), kNames)).is_ok());
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), to_kitti_lines(sample_detections(), kNames));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
  EXPECT_FALSE(write_text_file((dir / "missing" / "x.txt").string(), "x").is_ok());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace tarmac::lidar
