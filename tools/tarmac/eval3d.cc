// `tarmac eval3d --pred=DIR|results.json --gt=DIR`: KITTI-style R40 average precision of 3D
// detections, per class, overall and per distance bin (docs/eval3d.md).
#include <cstdio>
#include <memory>

#include "cli_common.h"
#include "commands.h"
#include "perception/eval/evaluate.h"
#include "perception/eval/labels.h"
#include "perception/eval/report.h"

namespace tarmac::cli {

namespace {

struct Eval3dOptions {
  std::string pred;
  std::string gt;
  std::string classes;
  std::string iou;
  std::string bins = "0,20,40";
  std::string json;
};

int eval3d_command(const Eval3dOptions& o) {
  Eval3dConfig config;
  if (!o.classes.empty()) {
    auto c = parse_class_list(o.classes);
    if (!c.is_ok()) return fail(c.status().message());
    config.classes = std::move(*c);
  }
  if (!o.iou.empty()) {
    auto t = parse_iou_thresholds(o.iou);
    if (!t.is_ok()) return fail(t.status().message());
    config.iou_thresholds = std::move(*t);
  }
  auto edges = parse_bin_edges(o.bins);
  if (!edges.is_ok()) return fail(edges.status().message());
  config.bin_edges = std::move(*edges);

  auto gt = read_gt_folder(o.gt);
  if (!gt.is_ok()) return fail(gt.status().message());
  auto pred = read_predictions(o.pred);
  if (!pred.is_ok()) return fail(pred.status().message());
  auto frames = pair_frames(std::move(*gt), std::move(*pred));
  if (!frames.is_ok()) return fail(frames.status().message());
  auto report = evaluate_3d(*frames, config);
  if (!report.is_ok()) return fail(report.status().message());

  std::printf("%s", format_eval3d_table(*report).c_str());
  if (!o.json.empty()) {
    Status s = write_json_file(o.json, eval3d_report_json(*report));
    if (!s.is_ok()) return fail(s.message());
    std::printf("Wrote %s\n", o.json.c_str());
  }
  return 0;
}

}  // namespace

void add_eval3d_command(CLI::App& app, Action* action) {
  auto o = std::make_shared<Eval3dOptions>();
  CLI::App* sub = app.add_subcommand(
      "eval3d", "Average precision (KITTI R40, BEV and 3D IoU) of 3D box predictions");
  sub->add_option("--pred", o->pred,
                  "Predictions: a folder of <frame>.txt (x y z dx dy dz heading class score) or "
                  "a JSON results file")
      ->required();
  sub->add_option("--gt", o->gt,
                  "Ground-truth folder of <frame>.txt (x y z dx dy dz heading class), with "
                  "optional <frame>.counts point counts")
      ->required();
  sub->add_option("--classes", o->classes,
                  "Classes to evaluate, e.g. Car,Pedestrian (default: all ground-truth classes)");
  sub->add_option("--iou", o->iou,
                  "IoU thresholds, e.g. Car:0.7,Pedestrian:0.5 (default 0.7 for vehicles, 0.5 "
                  "otherwise)");
  sub->add_option("--bins", o->bins, "Distance bin edges in metres (default 0,20,40)");
  sub->add_option("--json", o->json, "Write the results and precision/recall curves as JSON");
  sub->callback([o, action] { *action = [o] { return eval3d_command(*o); }; });
}

}  // namespace tarmac::cli
