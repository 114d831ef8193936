// Dataset-level evaluation: class selection, distance bins and per-frame matching.
#include "perception/eval/evaluate.h"
#include "core/strings.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <set>

namespace tarmac {

namespace {

bool parse_double(const std::string& s, double* v) {
  const char* b = s.data();
  const char* e = s.data() + s.size();
  if (b != e && *b == '+') ++b;
  auto [ptr, ec] = std::from_chars(b, e, *v);
  return b != e && ec == std::errc() && ptr == e && std::isfinite(*v);
}

std::string format_metres(double v) { return fmt::format("{:g}", v); }

/// Evaluates one class within one range, for both IoU kinds.
RangeResult evaluate_range(const std::vector<FrameLabels>& frames, const std::string& cls,
                           double threshold, double lo, std::optional<double> hi) {
  RangeResult r;
  r.min_range = lo;
  r.max_range = hi;
  auto in_range = [&](const Box3d& b) {
    const double d = bev_range(b);
    return d >= lo && (!hi || d < *hi);
  };
  std::vector<ScoredMatch> bev, box3d;
  for (const FrameLabels& f : frames) {
    std::vector<Box3d> gt, pred;
    std::vector<bool> ignored;
    std::vector<float> scores;
    for (const LabeledBox& b : f.gt) {
      if (b.cls != cls || !in_range(b.box)) continue;
      gt.push_back(b.box);
      ignored.push_back(b.ignored);
      (b.ignored ? r.num_ignored_gt : r.num_gt) += 1;
    }
    for (const LabeledBox& b : f.pred) {
      if (b.cls != cls || !in_range(b.box)) continue;
      pred.push_back(b.box);
      scores.push_back(b.score);
    }
    r.num_pred += static_cast<int>(pred.size());
    if (pred.empty()) continue;
    const auto mb = match_predictions(gt, ignored, pred, scores, IouKind::kBev, threshold);
    const auto m3 = match_predictions(gt, ignored, pred, scores, IouKind::k3d, threshold);
    for (size_t i = 0; i < pred.size(); ++i) {
      bev.push_back({scores[i], mb[i]});
      box3d.push_back({scores[i], m3[i]});
    }
  }
  r.bev = r40_average_precision(std::move(bev), r.num_gt);
  r.box3d = r40_average_precision(std::move(box3d), r.num_gt);
  return r;
}

std::optional<double> mean_of(const std::vector<std::optional<double>>& values) {
  double sum = 0;
  int n = 0;
  for (const auto& v : values)
    if (v) sum += *v, ++n;
  if (n == 0) return std::nullopt;
  return sum / n;
}

}  // namespace

double default_iou_threshold(const std::string& cls) {
  static const std::set<std::string> kLargeVehicles = {
      "car", "van", "truck", "bus", "trailer", "tram", "construction_vehicle", "vehicle"};
  std::string lower = cls;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return kLargeVehicles.count(lower) ? 0.7 : 0.5;
}

StatusOr<std::vector<std::string>> parse_class_list(const std::string& spec) {
  std::vector<std::string> out;
  for (const std::string& name : split(spec, ',')) {
    if (name.empty()) return invalid_argument("--classes: empty class name in '{}'", spec);
    if (std::find(out.begin(), out.end(), name) != out.end())
      return invalid_argument("--classes: class '{}' is listed twice", name);
    out.push_back(name);
  }
  return out;
}

StatusOr<std::map<std::string, double>> parse_iou_thresholds(const std::string& spec) {
  std::map<std::string, double> out;
  for (const std::string& item : split(spec, ',')) {
    const size_t colon = item.rfind(':');
    if (colon == std::string::npos || colon == 0)
      return invalid_argument("--iou: '{}' is not of the form Class:threshold", item);
    double v = 0;
    if (!parse_double(item.substr(colon + 1), &v) || !(v > 0 && v <= 1))
      return invalid_argument("--iou: '{}': the threshold must be a number in (0, 1]", item);
    if (!out.emplace(item.substr(0, colon), v).second)
      return invalid_argument("--iou: class '{}' is listed twice", item.substr(0, colon));
  }
  return out;
}

StatusOr<std::vector<double>> parse_bin_edges(const std::string& spec) {
  std::vector<double> out;
  for (const std::string& item : split(spec, ',')) {
    double v = 0;
    if (!parse_double(item, &v) || v < 0)
      return invalid_argument("--bins: '{}' is not a non-negative distance in metres", item);
    if (!out.empty() && !(v > out.back()))
      return invalid_argument("--bins: edges must increase ({} after {})", item,
                              format_metres(out.back()));
    out.push_back(v);
  }
  return out;
}

double bev_range(const Box3d& b) {
  // Products of floats are exact in double, so this is the same number on every compiler.
  const double x = b.x, y = b.y;
  return std::sqrt(x * x + y * y);
}

StatusOr<Eval3dReport> evaluate_3d(const std::vector<FrameLabels>& frames,
                                   const Eval3dConfig& config) {
  std::set<std::string> gt_classes, pred_classes;
  for (const FrameLabels& f : frames) {
    for (const LabeledBox& b : f.gt) gt_classes.insert(b.cls);
    for (const LabeledBox& b : f.pred) pred_classes.insert(b.cls);
  }
  std::vector<std::string> classes = config.classes;
  if (classes.empty()) classes.assign(gt_classes.begin(), gt_classes.end());
  if (classes.empty())
    return invalid_argument("the ground truth holds no box: nothing to evaluate");
  for (const std::string& c : classes) {
    if (gt_classes.count(c) || pred_classes.count(c)) continue;
    std::string known;
    for (const std::string& g : gt_classes) known += (known.empty() ? "" : ", ") + g;
    return invalid_argument(
        "class '{}' appears in neither the ground truth nor the predictions (ground-truth "
        "classes: {})",
        c, known);
  }
  for (const auto& [name, v] : config.iou_thresholds)
    if (std::find(classes.begin(), classes.end(), name) == classes.end())
      return invalid_argument("--iou names class '{}', which is not evaluated", name);
  for (size_t i = 0; i < config.bin_edges.size(); ++i)
    if (!std::isfinite(config.bin_edges[i]) || config.bin_edges[i] < 0 ||
        (i > 0 && !(config.bin_edges[i] > config.bin_edges[i - 1])))
      return invalid_argument("distance bin edges must be non-negative and increasing");

  Eval3dReport report;
  report.num_frames = static_cast<int>(frames.size());
  report.bin_edges = config.bin_edges;
  const std::set<std::string> evaluated(classes.begin(), classes.end());
  for (const FrameLabels& f : frames)
    for (const LabeledBox& b : f.pred)
      if (!evaluated.count(b.cls)) report.unevaluated_predictions[b.cls]++;

  const size_t nbins = config.bin_edges.size();
  std::vector<std::vector<std::optional<double>>> ap_bev(nbins + 1), ap_3d(nbins + 1);
  for (const std::string& cls : classes) {
    ClassResult cr;
    cr.name = cls;
    auto it = config.iou_thresholds.find(cls);
    cr.iou_threshold = it != config.iou_thresholds.end() ? it->second : default_iou_threshold(cls);
    cr.overall = evaluate_range(frames, cls, cr.iou_threshold, 0, std::nullopt);
    cr.overall.min_range = 0;
    cr.overall.name = "all";
    ap_bev[0].push_back(cr.overall.bev.ap);
    ap_3d[0].push_back(cr.overall.box3d.ap);
    for (size_t b = 0; b < nbins; ++b) {
      const double lo = config.bin_edges[b];
      std::optional<double> hi;
      if (b + 1 < nbins) hi = config.bin_edges[b + 1];
      RangeResult rr = evaluate_range(frames, cls, cr.iou_threshold, lo, hi);
      rr.name = hi ? format_metres(lo) + "-" + format_metres(*hi) + "m" : format_metres(lo) + "m+";
      ap_bev[b + 1].push_back(rr.bev.ap);
      ap_3d[b + 1].push_back(rr.box3d.ap);
      cr.bins.push_back(std::move(rr));
    }
    report.classes.push_back(std::move(cr));
  }
  for (size_t i = 0; i <= nbins; ++i) {
    report.mean_ap_bev.push_back(mean_of(ap_bev[i]));
    report.mean_ap_3d.push_back(mean_of(ap_3d[i]));
  }
  return report;
}

}  // namespace tarmac
