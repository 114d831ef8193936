#include "compare/bisect.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "passes/rewrite.h"

namespace tarmac::compare {

namespace {

/// The ONNX node a layer stands for in --layerPrecisions: the first of its fused names that
/// is a node of the model ("" for layers the build added: casts, reformats).
std::string onnx_name(const std::string& layer, const std::set<std::string>& nodes) {
  for (const std::string& part : fused_node_names(layer))
    if (nodes.count(part)) return part;
  return "";
}

class Bisector {
 public:
  Bisector(const Model& model, const TargetOptions& engine, const std::vector<NamedTensors>& in,
           const std::vector<NamedTensors>& ref, const CheckOptions& check, const LineSink& out)
      : model_(model), engine_(engine), in_(in), ref_(ref), check_(check), out_(out) {
    check_.histogram = false;
  }

  /// Half-precision layers in execution order, by ONNX node name.
  StatusOr<std::vector<std::string>> candidates() {
    std::set<std::string> nodes;
    for (const auto& n : model_.graph.nodes) nodes.insert(n->name);
    TARMAC_ASSIGN_OR_RETURN(auto target, make_target(model_, engine_));
    std::vector<std::string> r;
    for (const LayerRow& l : target->layers()) {
      if (l.precision != "float16" && l.precision != "bfloat16") continue;
      const std::string name = onnx_name(l.name, nodes);
      if (!name.empty() && std::find(r.begin(), r.end(), name) == r.end()) r.push_back(name);
    }
    return r;
  }

  /// Builds with `keep` in float32 and checks every output of every sample.
  StatusOr<bool> passes(const std::vector<std::string>& keep, const std::string& what) {
    TargetOptions o = engine_;
    o.keep_fp32.insert(keep.begin(), keep.end());
    TARMAC_ASSIGN_OR_RETURN(auto target, make_target(model_, o));
    ++builds_;
    bool ok = true;
    double worst_atol = 0, worst_rtol = 0;
    for (size_t s = 0; s < in_.size(); ++s) {
      NamedTensors got;
      TARMAC_RETURN_IF_ERROR(target->run(in_[s], &got, nullptr));
      for (const auto& [name, t] : got) {
        const Tensor* r = find_named(ref_[s], name);
        if (!r) return invalid_argument("the reference has no output '{}'", name);
        TARMAC_ASSIGN_OR_RETURN(TensorComparison c, compare_tensors(name, t, *r, check_));
        ok = ok && c.passed;
        worst_atol = std::max(worst_atol, c.required_atol);
        worst_rtol = std::max(worst_rtol, c.required_rtol);
      }
    }
    out_(fmt::format("  build {:>2}: {} layer{} float32 ({}): {} (needs atol {:.3g} / rtol {:.3g})",
                     builds_, keep.size(), keep.size() == 1 ? "" : "s", what,
                     ok ? "PASSED" : "FAILED", worst_atol, worst_rtol));
    return ok;
  }

  int builds() const { return builds_; }

 private:
  const Model& model_;
  const TargetOptions& engine_;
  const std::vector<NamedTensors>& in_;
  const std::vector<NamedTensors>& ref_;
  CheckOptions check_;
  const LineSink& out_;
  int builds_ = 0;
};

std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& b) {
  for (const std::string& x : b)
    if (std::find(a.begin(), a.end(), x) == a.end()) a.push_back(x);
  return a;
}

std::string describe(const std::vector<std::string>& names) {
  if (names.empty()) return "none";
  if (names.size() <= 3) {
    std::string s;
    for (const std::string& n : names) s += (s.empty() ? "" : ", ") + n;
    return s;
  }
  return fmt::format("{}, ..., {}", names.front(), names.back());
}

}  // namespace

std::string layer_precisions_arg(const std::vector<std::string>& keep) {
  std::string s;
  for (const std::string& k : keep) s += fmt::format("{}{}:fp32", s.empty() ? "" : ",", k);
  return s;
}

StatusOr<BisectResult> bisect_precision(const Model& model, const TargetOptions& engine,
                                        const std::vector<NamedTensors>& samples,
                                        const std::vector<NamedTensors>& reference,
                                        const CheckOptions& check, const LineSink& out) {
  Bisector b(model, engine, samples, reference, check, out);
  TARMAC_ASSIGN_OR_RETURN(std::vector<std::string> layers, b.candidates());
  BisectResult r;
  out(fmt::format("Precision bisection over {} half-precision layers (in execution order):",
                  layers.size()));
  TARMAC_ASSIGN_OR_RETURN(bool all_ok, b.passes(layers, "all"));
  if (!all_ok) {
    r.builds = b.builds();
    out("No float32 layer set helps: with every layer in float32 the engine still fails, so the "
        "error is not from half precision (check the tolerance, or compare a float32 engine).");
    return r;
  }
  // Grow the kept set one layer at a time: with `keep` fixed, the shortest prefix of the layer
  // order that makes the engine pass ends at a layer that is needed; add it and repeat until
  // `keep` alone passes. Each step is a binary search over the prefix length.
  std::vector<std::string> keep;
  for (;;) {
    TARMAC_ASSIGN_OR_RETURN(bool ok, b.passes(keep, describe(keep)));
    if (ok) break;
    if (layers.empty()) return r;       // unreachable unless runs are not deterministic
    size_t lo = 0, hi = layers.size();  // prefix lo fails, prefix hi passes
    while (hi - lo > 1) {
      const size_t mid = lo + (hi - lo) / 2;
      const std::vector<std::string> prefix(layers.begin(),
                                            layers.begin() + static_cast<long>(mid));
      TARMAC_ASSIGN_OR_RETURN(bool p,
                              b.passes(with(keep, prefix), fmt::format("kept + first {}", mid)));
      if (p) {
        hi = mid;
      } else {
        lo = mid;
      }
    }
    const std::string& culprit = layers[hi - 1];
    if (std::find(keep.begin(), keep.end(), culprit) != keep.end()) {
      // Not monotone in the prefix (a later layer compensates an earlier one): keep the prefix.
      keep = with(keep,
                  std::vector<std::string>(layers.begin(), layers.begin() + static_cast<long>(hi)));
    } else {
      keep.push_back(culprit);
      out(fmt::format("  -> '{}' needs float32", culprit));
    }
  }
  // Drop any layer that later additions made unnecessary.
  for (size_t i = keep.size(); i-- > 0 && keep.size() > 1;) {
    std::vector<std::string> fewer = keep;
    fewer.erase(fewer.begin() + static_cast<long>(i));
    TARMAC_ASSIGN_OR_RETURN(bool ok, b.passes(fewer, "without " + keep[i]));
    if (ok) keep = std::move(fewer);
  }
  // Report in layer order.
  std::vector<std::string> ordered;
  for (const std::string& l : layers)
    if (std::find(keep.begin(), keep.end(), l) != keep.end()) ordered.push_back(l);
  r.found = true;
  r.keep = ordered;
  r.builds = b.builds();
  out(fmt::format("Found {} of {} layers to keep in float32 after {} builds: {}", r.keep.size(),
                  layers.size(), r.builds, describe(r.keep)));
  out(fmt::format("  tarmac exec --layerPrecisions={}", layer_precisions_arg(r.keep)));
  return r;
}

}  // namespace tarmac::compare
