#include "perception/eval/evaluate.h"

#include <gtest/gtest.h>

#include "perception/eval/report.h"

namespace tarmac {
namespace {

LabeledBox gt(const std::string& cls, float x, float y, bool ignored = false) {
  LabeledBox b;
  b.box = Box3d{x, y, 0, 4, 2, 1.5f, 0};
  b.cls = cls;
  b.ignored = ignored;
  return b;
}

LabeledBox pred(const std::string& cls, float x, float y, float score) {
  LabeledBox b = gt(cls, x, y);
  b.score = score;
  return b;
}

TEST(EvalDataset, TwoFramesPerClass) {
  // Car: frame 0 has 2 ground truth, frame 1 has none. Predictions 0.9 TP (frame 0),
  // 0.8 FP (frame 1), 0.7 TP (frame 0): AP 5/6 (see EvalAp.TwoGroundTruthThreePredictions).
  // Pedestrian: one ground truth, never predicted: AP 0.
  std::vector<FrameLabels> frames(2);
  frames[0].name = "a";
  frames[0].gt = {gt("Car", 10, 0), gt("Car", 10, 5), gt("Pedestrian", 5, -3)};
  frames[0].pred = {pred("Car", 10.1f, 0, 0.9f), pred("Car", 10, 5.1f, 0.7f)};
  frames[1].name = "b";
  frames[1].pred = {pred("Car", 10, 0, 0.8f), pred("Tram", 10, 0, 0.8f)};
  auto r = evaluate_3d(frames, Eval3dConfig{});
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  ASSERT_EQ(r->classes.size(), 2u);
  const ClassResult& car = r->classes[0];
  EXPECT_EQ(car.name, "Car");
  EXPECT_DOUBLE_EQ(car.iou_threshold, 0.7);
  EXPECT_EQ(car.overall.num_gt, 2);
  EXPECT_EQ(car.overall.num_pred, 3);
  EXPECT_NEAR(*car.overall.bev.ap, 5.0 / 6.0, 1e-12);
  EXPECT_NEAR(*car.overall.box3d.ap, 5.0 / 6.0, 1e-12);
  const ClassResult& ped = r->classes[1];
  EXPECT_DOUBLE_EQ(ped.iou_threshold, 0.5);
  EXPECT_EQ(*ped.overall.bev.ap, 0.0);
  EXPECT_NEAR(*r->mean_ap_bev[0], (5.0 / 6.0) / 2, 1e-12);
  EXPECT_EQ(r->unevaluated_predictions.at("Tram"), 1);
  const std::string table = format_eval3d_table(*r);
  EXPECT_NE(table.find("83.33"), std::string::npos) << table;
  EXPECT_NE(table.find("'Tram' not evaluated"), std::string::npos) << table;
  EXPECT_NE(eval3d_report_json(*r).find("\"precision_r40\""), std::string::npos);
}

TEST(EvalDataset, IgnoredGroundTruthIsNotCountedNorPenalised) {
  // The ignored box and the prediction on it drop out: AP is that of the other box alone.
  std::vector<FrameLabels> frames(1);
  frames[0].gt = {gt("Car", 10, 0), gt("Car", 30, 0, /*ignored=*/true)};
  frames[0].pred = {pred("Car", 30, 0, 0.95f), pred("Car", 10, 0, 0.5f)};
  auto r = evaluate_3d(frames, Eval3dConfig{});
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->classes[0].overall.num_gt, 1);
  EXPECT_EQ(r->classes[0].overall.num_ignored_gt, 1);
  EXPECT_NEAR(*r->classes[0].overall.bev.ap, 1.0, 1e-12);
  // Without the ignore flag the 0.95 prediction is a TP too and nothing changes; with the
  // box removed from the ground truth altogether it becomes a FP ranked first: AP 0.5.
  frames[0].gt.pop_back();
  r = evaluate_3d(frames, Eval3dConfig{});
  ASSERT_TRUE(r.is_ok());
  EXPECT_NEAR(*r->classes[0].overall.bev.ap, 0.5, 1e-12);
}

TEST(EvalDataset, DistanceBinsMatchWithinEachBin) {
  // Ground truth at 10 m and 20.2 m; predictions at 10 m and 19.9 m (BEV IoU with the 20.2 m
  // box: 3.7 * 2 / (16 - 7.4) = 0.86). Overall both are true positives (AP 1). In bins, the
  // 19.9 m prediction falls in [0, 20) where it matches nothing (FP), and the 20.2 m box in
  // [20, 40) is missed.
  std::vector<FrameLabels> frames(1);
  frames[0].gt = {gt("Car", 10, 0), gt("Car", 20.2f, 0)};
  frames[0].pred = {pred("Car", 10, 0, 0.6f), pred("Car", 19.9f, 0, 0.9f)};
  auto r = evaluate_3d(frames, Eval3dConfig{});
  ASSERT_TRUE(r.is_ok());
  const ClassResult& car = r->classes[0];
  EXPECT_NEAR(*car.overall.bev.ap, 1.0, 1e-12);
  ASSERT_EQ(car.bins.size(), 3u);
  EXPECT_EQ(car.bins[0].name, "0-20m");
  EXPECT_EQ(car.bins[2].name, "40m+");
  // [0, 20): 1 GT; 0.9 FP then 0.6 TP -> points (0, 0), (1, 1/2): AP 0.5.
  EXPECT_EQ(car.bins[0].num_gt, 1);
  EXPECT_EQ(car.bins[0].num_pred, 2);
  EXPECT_NEAR(*car.bins[0].bev.ap, 0.5, 1e-12);
  // [20, 40): 1 GT, no prediction: AP 0. [40, inf): no GT: undefined.
  EXPECT_EQ(*car.bins[1].bev.ap, 0.0);
  EXPECT_FALSE(car.bins[2].bev.ap.has_value());
  EXPECT_NE(format_eval3d_table(*r).find("40m+"), std::string::npos);
}

TEST(EvalDataset, ConfigErrors) {
  std::vector<FrameLabels> frames(1);
  frames[0].gt = {gt("Car", 10, 0)};
  frames[0].pred = {pred("Cyclist", 10, 0, 0.5f)};
  Eval3dConfig c;
  c.classes = {"Car", "Truck"};
  auto r = evaluate_3d(frames, c);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("class 'Truck' appears in neither"), std::string::npos);
  // A class only predicted is evaluated, with an undefined AP.
  c.classes = {"Car", "Cyclist"};
  r = evaluate_3d(frames, c);
  ASSERT_TRUE(r.is_ok());
  EXPECT_FALSE(r->classes[1].overall.bev.ap.has_value());
  c.classes = {};
  c.iou_thresholds = {{"Bus", 0.6}};
  r = evaluate_3d(frames, c);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("'Bus'"), std::string::npos);
}

TEST(EvalDataset, FlagParsing) {
  EXPECT_EQ(*parse_class_list("Car,Pedestrian"), (std::vector<std::string>{"Car", "Pedestrian"}));
  EXPECT_FALSE(parse_class_list("Car,,Van").is_ok());
  EXPECT_FALSE(parse_class_list("Car,Car").is_ok());
  auto iou = parse_iou_thresholds("Car:0.6,Pedestrian:0.25");
  ASSERT_TRUE(iou.is_ok());
  EXPECT_DOUBLE_EQ(iou->at("Car"), 0.6);
  EXPECT_FALSE(parse_iou_thresholds("Car=0.6").is_ok());
  EXPECT_FALSE(parse_iou_thresholds("Car:1.5").is_ok());
  EXPECT_FALSE(parse_iou_thresholds("Car:0").is_ok());
  EXPECT_FALSE(parse_iou_thresholds("Car:abc").is_ok());
  EXPECT_EQ(*parse_bin_edges("0,20,40"), (std::vector<double>{0, 20, 40}));
  EXPECT_FALSE(parse_bin_edges("0,40,20").is_ok());
  EXPECT_FALSE(parse_bin_edges("-5,20").is_ok());
  EXPECT_FALSE(parse_bin_edges("0,x").is_ok());
  EXPECT_FALSE(parse_bin_edges("").is_ok());
  EXPECT_DOUBLE_EQ(default_iou_threshold("car"), 0.7);
  EXPECT_DOUBLE_EQ(default_iou_threshold("Truck"), 0.7);
  EXPECT_DOUBLE_EQ(default_iou_threshold("Pedestrian"), 0.5);
  EXPECT_DOUBLE_EQ(default_iou_threshold("traffic_cone"), 0.5);
}

}  // namespace
}  // namespace tarmac
