// Eval3dReport -> text table and JSON.
#include "perception/eval/report.h"

#include <nlohmann/json.hpp>

namespace tarmac {

namespace {

using nlohmann::ordered_json;

std::string percent(const std::optional<double>& ap) {
  return ap ? fmt::format("{:.2f}", 100.0 * *ap) : std::string("-");
}

ordered_json optional_number(const std::optional<double>& v) {
  return v ? ordered_json(*v) : ordered_json(nullptr);
}

ordered_json curve_json(const PrCurve& c) {
  ordered_json j;
  j["ap"] = optional_number(c.ap);
  j["precision_r40"] = c.ap ? ordered_json(c.precision_r40) : ordered_json(nullptr);
  ordered_json curve;
  curve["score"] = c.score;
  curve["tp"] = c.tp;
  curve["fp"] = c.fp;
  curve["precision"] = c.precision;
  curve["recall"] = c.ap ? ordered_json(c.recall) : ordered_json(nullptr);
  j["curve"] = std::move(curve);
  return j;
}

ordered_json range_json(const RangeResult& r) {
  ordered_json j;
  j["range"] = r.name;
  j["min"] = r.min_range;
  j["max"] = optional_number(r.max_range);
  j["num_gt"] = r.num_gt;
  j["num_ignored_gt"] = r.num_ignored_gt;
  j["num_pred"] = r.num_pred;
  j["bev"] = curve_json(r.bev);
  j["3d"] = curve_json(r.box3d);
  return j;
}

}  // namespace

std::string format_eval3d_table(const Eval3dReport& report) {
  size_t width = 5;  // "class"
  for (const ClassResult& c : report.classes) width = std::max(width, c.name.size());
  std::string out = fmt::format("3D detection evaluation: {} frames, R40 average precision (%)\n",
                                report.num_frames);
  auto row = [&](const std::string& cls, const std::string& iou, const std::string& range,
                 const std::string& ngt, const std::string& npred, const std::string& bev,
                 const std::string& box3d) {
    out += fmt::format("{:<{}}  {:>4}  {:<8} {:>7} {:>7} {:>7} {:>7}\n", cls, width, iou, range,
                       ngt, npred, bev, box3d);
  };
  row("class", "IoU", "range", "#GT", "#pred", "AP_BEV", "AP_3D");
  for (const ClassResult& c : report.classes) {
    const std::string iou = fmt::format("{:.2f}", c.iou_threshold);
    auto emit = [&](const RangeResult& r, bool first) {
      row(first ? c.name : "", first ? iou : "", r.name, std::to_string(r.num_gt),
          std::to_string(r.num_pred), percent(r.bev.ap), percent(r.box3d.ap));
    };
    emit(c.overall, true);
    for (const RangeResult& r : c.bins) emit(r, false);
  }
  if (!report.classes.empty()) {
    const ClassResult& c0 = report.classes.front();
    row("mean", "", "all", "", "", percent(report.mean_ap_bev[0]), percent(report.mean_ap_3d[0]));
    for (size_t b = 0; b < c0.bins.size(); ++b)
      row("", "", c0.bins[b].name, "", "", percent(report.mean_ap_bev[b + 1]),
          percent(report.mean_ap_3d[b + 1]));
  }
  for (const auto& [cls, n] : report.unevaluated_predictions)
    out += fmt::format("note: {} prediction{} of class '{}' not evaluated\n", n, n == 1 ? "" : "s",
                       cls);
  return out;
}

std::string eval3d_report_json(const Eval3dReport& report) {
  ordered_json j;
  j["metric"] = "R40 average precision";
  j["frames"] = report.num_frames;
  j["bin_edges"] = report.bin_edges;
  ordered_json classes = ordered_json::array();
  for (const ClassResult& c : report.classes) {
    ordered_json jc;
    jc["class"] = c.name;
    jc["iou_threshold"] = c.iou_threshold;
    jc["overall"] = range_json(c.overall);
    ordered_json bins = ordered_json::array();
    for (const RangeResult& r : c.bins) bins.push_back(range_json(r));
    jc["bins"] = std::move(bins);
    classes.push_back(std::move(jc));
  }
  j["classes"] = std::move(classes);
  ordered_json mean = ordered_json::array();
  for (size_t i = 0; i < report.mean_ap_bev.size(); ++i) {
    ordered_json m;
    m["range"] = i == 0 || report.classes.empty() ? std::string("all")
                                                  : report.classes.front().bins[i - 1].name;
    m["bev"] = optional_number(report.mean_ap_bev[i]);
    m["3d"] = optional_number(report.mean_ap_3d[i]);
    mean.push_back(std::move(m));
  }
  j["mean_ap"] = std::move(mean);
  ordered_json unevaluated = ordered_json::object();
  for (const auto& [cls, n] : report.unevaluated_predictions) unevaluated[cls] = n;
  j["unevaluated_predictions"] = std::move(unevaluated);
  return j.dump(2);
}

}  // namespace tarmac
