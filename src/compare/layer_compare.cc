#include "compare/layer_compare.h"

#include <fmt/format.h>

#include <map>
#include <optional>
#include <set>

#include "compare/report.h"
#include "passes/rewrite.h"

namespace tarmac::compare {

namespace {

constexpr std::string_view kNhwcSuffix = "_nhwc";  // builder/layout.cc names
// builder/precision.cc: a half copy of a float32 tensor (a graph output's half producer, a
// Cast to a half reader) is named after it.
constexpr std::string_view kHalfSuffixes[] = {"_float16", "_bfloat16"};

bool strip_suffix(const std::string& s, std::string_view suffix, std::string* base) {
  if (s.size() <= suffix.size() || s.compare(s.size() - suffix.size(), suffix.size(), suffix) != 0)
    return false;
  *base = s.substr(0, s.size() - suffix.size());
  return true;
}

/// One engine tensor across samples: the worst comparison (largest required atol) is kept.
struct Entry {
  std::string layer, op_type, value;
  std::string onnx_node, onnx_op;
  TensorOrigin origin;
  std::optional<TensorComparison> worst;
  bool failed = false;
  int failed_sample = -1;
};

bool same_bits(const NamedTensors& a, const NamedTensors& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].first != b[i].first || !tensors_equal(a[i].second, b[i].second)) return false;
  return true;
}

}  // namespace

TensorOrigin tensor_origin(const std::string& value, const Dims& dims,
                           const std::function<bool(const std::string&)>& in_reference) {
  if (in_reference(value)) return {value, false};
  std::string base;
  for (std::string_view half : kHalfSuffixes)
    if (strip_suffix(value, half, &base) && in_reference(base)) return {base, false};
  if (dims.size() == 4 && strip_suffix(value, kNhwcSuffix, &base)) {
    if (in_reference(base)) return {base, true};
    std::string inner;
    for (std::string_view half : kHalfSuffixes)
      if (strip_suffix(base, half, &inner) && in_reference(inner)) return {inner, true};
  }
  return {};
}

Tensor nhwc_to_nchw(const Tensor& t) {
  const Dims& d = t.dims();  // [N, H, W, C]
  const int64_t n = d[0], h = d[1], w = d[2], c = d[3];
  Tensor r = Tensor::zeros(DType::kFloat64, {n, c, h, w});  // [N, C, H, W]
  double* p = r.data<double>();
  for (int64_t in = 0; in < n; ++in)
    for (int64_t ih = 0; ih < h; ++ih)
      for (int64_t iw = 0; iw < w; ++iw)
        for (int64_t ic = 0; ic < c; ++ic)
          p[((in * c + ic) * h + ih) * w + iw] = t.as_double(((in * h + ih) * w + iw) * c + ic);
  return r;
}

StatusOr<bool> compare_layers(Target& engine, Target& reference, const Model& onnx,
                              const std::vector<NamedTensors>& samples, const CheckOptions& check,
                              const LineSink& out) {
  CheckOptions layer_check = check;
  layer_check.histogram = false;
  // The ONNX node that writes each tensor (by name: the graph's producer links are not relied on).
  std::map<std::string, const Node*> writer;
  for (const auto& n : onnx.graph.nodes)
    for (const Value* v : n->outputs)
      if (v) writer[v->name] = n.get();
  const std::vector<LayerRow> before = engine.layers();
  std::vector<Entry> entries;
  std::map<std::string, size_t> entry_of;  // value -> entries index
  std::set<std::string> unmatched;         // tensors the build added (casts, reformats)
  std::vector<std::string> problems;
  bool outputs_identical = true;
  size_t taps = 0;
  for (size_t s = 0; s < samples.size(); ++s) {
    std::map<std::string, Tensor> ref_values;
    NamedTensors ref_out, plain, tapped;
    TARMAC_RETURN_IF_ERROR(reference.run(
        samples[s], &ref_out,
        [&](const Node&, const Value& v, const Tensor& t) { ref_values[v.name] = t; }));
    TARMAC_RETURN_IF_ERROR(engine.run(samples[s], &plain, nullptr));
    Status inner = Status::ok();
    auto tap = [&](const Node& node, const Value& v, const Tensor& t) {
      ++taps;
      const TensorOrigin origin = tensor_origin(
          v.name, t.dims(), [&](const std::string& n) { return ref_values.count(n) != 0; });
      if (origin.reference_value.empty()) {
        unmatched.insert(v.name);
        return;
      }
      auto [it, fresh] = entry_of.emplace(v.name, entries.size());
      if (fresh) {
        Entry e;
        e.layer = node.name;
        e.op_type = node.op_type;
        e.value = v.name;
        e.origin = origin;
        if (auto w = writer.find(origin.reference_value); w != writer.end()) {
          e.onnx_node = w->second->name;
          e.onnx_op = w->second->op_type;
        }
        entries.push_back(std::move(e));
      }
      Entry& e = entries[it->second];
      const Tensor test = origin.nhwc ? nhwc_to_nchw(t) : t;
      auto c = compare_tensors(v.name, test, ref_values.at(origin.reference_value), layer_check);
      if (!c.is_ok()) {
        if (inner.is_ok()) inner = c.status().with_context(fmt::format("layer '{}'", node.name));
        return;
      }
      if (!c->passed && !e.failed) {
        e.failed = true;
        e.failed_sample = static_cast<int>(s);
      }
      if (!e.worst || c->required_atol > e.worst->required_atol) e.worst = std::move(c).value();
    };
    TARMAC_RETURN_IF_ERROR(engine.run(samples[s], &tapped, tap));
    if (!inner.is_ok()) problems.push_back(inner.message());
    if (!same_bits(plain, tapped)) outputs_identical = false;
  }
  const std::vector<LayerRow> after = engine.layers();

  out(fmt::format(
      "Per-layer comparison: {} tensors of the engine under test mapped to the ONNX "
      "graph ({} added by the build, not compared), {} sample{}",
      entries.size(), unmatched.size(), samples.size(), samples.size() == 1 ? "" : "s"));
  const Entry* first_failure = nullptr;
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    if (e.failed && !first_failure) first_failure = &e;
    std::string where = fmt::format("layer '{}' ({})", e.layer, e.op_type);
    if (e.origin.nhwc) where += ", NHWC";
    if (!e.onnx_node.empty()) where += fmt::format(" <- ONNX {} '{}'", e.onnx_op, e.onnx_node);
    out(fmt::format("  [{:>3}] {}", i, e.worst ? format_layer_line(*e.worst) : e.value));
    out(fmt::format("        {}", where));
  }
  for (const std::string& p : problems) out("  not compared: " + p);
  if (first_failure) {
    out(fmt::format(
        "First layer over tolerance: '{}' ({}), tensor '{}', ONNX node '{}' ({}); "
        "first failing on sample {}",
        first_failure->layer, first_failure->op_type, first_failure->value,
        first_failure->onnx_node, first_failure->onnx_op, first_failure->failed_sample));
  } else {
    out("Every compared layer is within tolerance.");
  }
  const bool unchanged = before == after;
  out(fmt::format(
      "Engine under test with taps: {} tensors copied out; layers and tactics {} ({} layers); "
      "outputs with and without taps {}",
      taps, unchanged ? "unchanged" : "CHANGED", after.size(),
      outputs_identical ? "bitwise identical" : "DIFFERENT"));
  if (!unchanged || !outputs_identical)
    return internal_error("the debug taps changed the engine under test (a bug in tarmac)");
  return first_failure == nullptr;
}

}  // namespace tarmac::compare
