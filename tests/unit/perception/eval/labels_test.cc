#include "perception/eval/labels.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace tarmac {
namespace {

namespace fs = std::filesystem;

/// A fresh folder per test, removed afterwards.
class EvalLabelsFolder : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("tarmac_eval_labels_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "gt");
    fs::create_directories(dir_ / "pred");
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& rel, const std::string& text) { std::ofstream(dir_ / rel) << text; }
  std::string path(const std::string& rel) const { return (dir_ / rel).string(); }
  fs::path dir_;
};

TEST(EvalLabels, ParsesGroundTruthAndPredictionLines) {
  auto gt = parse_label_text(
      "1 2 -0.5 3.9 1.6 1.5 0.3 Car\n\n  -4 +5 0 0.8 0.6 1.7 -1e-1 Pedestrian \r\n", "a.txt",
      false);
  ASSERT_TRUE(gt.is_ok()) << gt.status().message();
  ASSERT_EQ(gt->size(), 2u);
  EXPECT_EQ((*gt)[0].cls, "Car");
  EXPECT_FLOAT_EQ((*gt)[0].box.heading, 0.3f);
  EXPECT_FLOAT_EQ((*gt)[1].box.y, 5.f);
  EXPECT_EQ((*gt)[1].cls, "Pedestrian");
  EXPECT_FLOAT_EQ((*gt)[1].score, 1.f);
  auto pred = parse_label_text("1 2 3 4 5 6 0.1 Car 0.75\n", "p.txt", true);
  ASSERT_TRUE(pred.is_ok());
  EXPECT_FLOAT_EQ((*pred)[0].score, 0.75f);
}

TEST(EvalLabels, MalformedLinesNameFileAndLine) {
  struct Case {
    std::string text, expect;
  };
  const Case cases[] = {
      {"1 2 3 4 5 6 Car\n", "a.txt:1: 7 columns, expected 8"},
      {"1 2 3 4 5 6 0 Car\n1 2 3 4 5 6 0 Car 0.9\n", "a.txt:2: 9 columns"},
      {"1 2 3 x 5 6 0 Car\n", "a.txt:1: dx 'x' is not a number"},
      {"1 2 3 4 nan 6 0 Car\n", "a.txt:1: dy is nan, not a finite number"},
      {"1 2 3 4 5 -6 0 Car\n", "a.txt:1: dz is -6; box sizes must be positive"},
      {"1 2 3 0 5 6 0 Car\n", "dx is 0"},
      {"1 2 3 4 5 6 1.5e Car\n", "heading '1.5e' is not a number"},
  };
  for (const Case& c : cases) {
    auto r = parse_label_text(c.text, "a.txt", false);
    ASSERT_FALSE(r.is_ok()) << c.text;
    EXPECT_NE(r.status().message().find(c.expect), std::string::npos) << r.status().message();
  }
  auto p = parse_label_text("1 2 3 4 5 6 0 Car high\n", "p.txt", true);
  ASSERT_FALSE(p.is_ok());
  EXPECT_NE(p.status().message().find("p.txt:1: score 'high'"), std::string::npos);
}

TEST(EvalLabels, PointCountsMarkEmptyBoxesIgnored) {
  auto boxes = parse_label_text("1 2 3 4 5 6 0 Car\n1 2 3 4 5 6 0 Car\n", "a.txt", false);
  ASSERT_TRUE(boxes.is_ok());
  ASSERT_TRUE(apply_point_counts("12\n0\n", "a.counts", &*boxes).is_ok());
  EXPECT_FALSE((*boxes)[0].ignored);
  EXPECT_TRUE((*boxes)[1].ignored);
  Status s = apply_point_counts("3\n", "a.counts", &*boxes);
  EXPECT_NE(s.message().find("1 point counts for 2 label lines"), std::string::npos);
  s = apply_point_counts("3\n-1\n", "a.counts", &*boxes);
  EXPECT_NE(s.message().find("a.counts:2"), std::string::npos) << s.message();
}

TEST(EvalLabels, PredictionJson) {
  auto r = parse_prediction_json(
      R"({"frames":[{"frame":"000001","boxes":[{"x":1,"y":2,"z":0,"dx":4,"dy":2,"dz":1.5,)"
      R"("heading":0.1,"score":0.8,"label":"Car"}]},{"frame":"000002","boxes":[]}]})",
      "r.json");
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_FLOAT_EQ(r->at("000001")[0].score, 0.8f);
  EXPECT_EQ(r->at("000001")[0].cls, "Car");
  EXPECT_TRUE(r->at("000002").empty());

  const std::pair<std::string, std::string> bad[] = {
      {"{", "not valid JSON"},
      {R"({"boxes":[]})", "\"frames\" array"},
      {R"({"frames":[{"frame":"a","boxes":[{"x":1}]}]})", "frames[0].boxes[0]: missing \"y\""},
      {R"({"frames":[{"frame":"a","boxes":[{"x":1,"y":1,"z":1,"dx":-1,"dy":1,"dz":1,)"
       R"("heading":0,"score":1,"label":"Car"}]}]})",
       "dx is -1"},
      {R"({"frames":[{"frame":"a","boxes":[{"x":1,"y":1,"z":1,"dx":1,"dy":1,"dz":1,)"
       R"("heading":0,"score":"hi","label":"Car"}]}]})",
       "\"score\" is not a number"},
      {R"({"frames":[{"frame":"a"},{"frame":"a"}]})", "appears twice"},
  };
  for (const auto& [text, expect] : bad) {
    auto b = parse_prediction_json(text, "r.json");
    ASSERT_FALSE(b.is_ok()) << text;
    EXPECT_NE(b.status().message().find(expect), std::string::npos) << b.status().message();
  }
}

TEST_F(EvalLabelsFolder, ReadsFoldersAndPairsFrames) {
  write("gt/000000.txt", "10 0 0 4 2 1.5 0 Car\n");
  write("gt/000000.counts", "0\n");
  write("gt/000001.txt", "");
  write("gt/readme.md", "not a label file");
  write("pred/000000.txt", "10 0 0 4 2 1.5 0 Car 0.9\n");
  auto gt = read_gt_folder(path("gt"));
  ASSERT_TRUE(gt.is_ok()) << gt.status().message();
  ASSERT_EQ(gt->size(), 2u);
  EXPECT_TRUE(gt->at("000000")[0].ignored);
  auto pred = read_predictions(path("pred"));
  ASSERT_TRUE(pred.is_ok());
  auto frames = pair_frames(*gt, *pred);
  ASSERT_TRUE(frames.is_ok());
  ASSERT_EQ(frames->size(), 2u);
  EXPECT_EQ((*frames)[0].pred.size(), 1u);
  EXPECT_TRUE((*frames)[1].pred.empty());  // no prediction file: zero predictions

  write("pred/000009.txt", "");
  auto extra = read_predictions(path("pred"));
  ASSERT_TRUE(extra.is_ok());
  auto bad = pair_frames(*gt, *extra);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("'000009'"), std::string::npos);
}

TEST_F(EvalLabelsFolder, FolderErrors) {
  EXPECT_NE(read_gt_folder(path("nope")).status().message().find("does not exist"),
            std::string::npos);
  EXPECT_NE(read_gt_folder(path("gt")).status().message().find("no .txt label file"),
            std::string::npos);
  write("gt/000003.counts", "1\n");
  write("gt/000004.txt", "1 2 3 4 5 6 0 Car\n");
  EXPECT_NE(read_gt_folder(path("gt")).status().message().find("000003.counts' has no label"),
            std::string::npos);
  EXPECT_NE(read_predictions(path("nope")).status().message().find("does not exist"),
            std::string::npos);
  write("pred.csv", "");
  EXPECT_NE(read_predictions(path("pred.csv")).status().message().find(".json results file"),
            std::string::npos);
}

}  // namespace
}  // namespace tarmac
