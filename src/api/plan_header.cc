#include "api/plan_header.h"

namespace tarmac {

namespace {

using nlohmann::json;

json tensors_json(const std::vector<TensorInfo>& ts) {
  json a = json::array();
  for (const TensorInfo& t : ts)
    a.push_back(
        {{"name", t.name}, {"dtype", std::string(dtype_name(t.dtype))}, {"shape", t.shape}});
  return a;
}

DType dtype_by_name(const std::string& n) {
  for (int i = 0; i <= 16; ++i) {
    const auto t = static_cast<DType>(i);
    if (dtype_size(t) > 0 && dtype_name(t) == n) return t;
  }
  return DType::kUndefined;
}

/// Reads key `k` of object `o` as T, or says which key is missing or mistyped.
template <typename T>
Status get(const json& o, const char* k, T* out) {
  if (!o.is_object() || !o.contains(k)) return invalid_argument("plan header lacks '{}'", k);
  try {
    *out = o.at(k).get<T>();
  } catch (const json::exception&) {
    return invalid_argument("plan header key '{}' has the wrong type", k);
  }
  return Status::ok();
}

Status tensors_from(const json& a, std::vector<TensorInfo>* out) {
  if (!a.is_array()) return invalid_argument("plan header: tensors are not a list");
  for (const json& t : a) {
    TensorInfo ti;
    std::string dt;
    TARMAC_RETURN_IF_ERROR(get(t, "name", &ti.name));
    TARMAC_RETURN_IF_ERROR(get(t, "dtype", &dt));
    TARMAC_RETURN_IF_ERROR(get(t, "shape", &ti.shape));
    ti.dtype = dtype_by_name(dt);
    out->push_back(std::move(ti));
  }
  return Status::ok();
}

}  // namespace

std::string dims_text(const Dims& d) {
  std::string s;
  for (size_t i = 0; i < d.size(); ++i) {
    if (i) s.push_back('x');
    s.append(d[i] < 0 ? "?" : std::to_string(d[i]));
  }
  return s;
}

json header_to_json(const PlanHeader& h) {
  const EngineInfo& i = h.info;
  json profiles = json::array();
  for (const PlanProfile& p : h.profiles) {
    json ranges = json::object();
    for (const auto& [name, r] : p.ranges)
      ranges[name] = {{"min", r.min}, {"opt", r.opt}, {"max", r.max}};
    json layers = json::array();
    for (const LayerInfo& l : p.layers)
      layers.push_back({{"name", l.name},
                        {"type", l.type},
                        {"precision", l.precision},
                        {"tactic", l.tactic},
                        {"inputs", l.inputs},
                        {"outputs", l.outputs}});
    profiles.push_back({{"ranges", ranges}, {"tactics", p.tactics}, {"layers", layers}});
  }
  return {{"tarmac_version", i.tarmac_version},
          {"created", i.created},
          {"device",
           {{"kind", i.device == DeviceKind::kCuda ? "cuda" : "cpu"},
            {"name", i.device_name},
            {"compute_capability", i.compute_capability},
            {"cuda_runtime", i.cuda_runtime_version},
            {"cudnn", i.cudnn_version},
            {"cublaslt", i.cublaslt_version}}},
          {"onnx_hash", i.onnx_hash},
          {"build_flags", i.build_flags},
          {"precisions", i.precisions},
          {"refittable", i.refittable},
          {"weights_stripped", i.weights_stripped},
          {"build",
           {{"fp16", h.build.fp16},
            {"bf16", h.build.bf16},
            {"tf32", h.build.tf32},
            {"keep_fp32", h.build.keep_fp32},
            {"allow_cpu_fallback", h.build.allow_cpu_fallback},
            {"workspace_limit", h.build.workspace_limit},
            {"optimization_level", h.build.optimization_level}}},
          {"inputs", tensors_json(i.inputs)},
          {"outputs", tensors_json(i.outputs)},
          {"profiles", profiles}};
}

StatusOr<PlanHeader> header_from_json(const json& j) {
  PlanHeader h;
  EngineInfo& i = h.info;
  TARMAC_RETURN_IF_ERROR(get(j, "tarmac_version", &i.tarmac_version));
  TARMAC_RETURN_IF_ERROR(get(j, "created", &i.created));
  json dev;
  TARMAC_RETURN_IF_ERROR(get(j, "device", &dev));
  std::string kind;
  TARMAC_RETURN_IF_ERROR(get(dev, "kind", &kind));
  if (kind != "cuda" && kind != "cpu")
    return invalid_argument("plan header: device kind '{}' is neither cuda nor cpu", kind);
  i.device = kind == "cuda" ? DeviceKind::kCuda : DeviceKind::kCpu;
  TARMAC_RETURN_IF_ERROR(get(dev, "name", &i.device_name));
  TARMAC_RETURN_IF_ERROR(get(dev, "compute_capability", &i.compute_capability));
  TARMAC_RETURN_IF_ERROR(get(dev, "cuda_runtime", &i.cuda_runtime_version));
  TARMAC_RETURN_IF_ERROR(get(dev, "cudnn", &i.cudnn_version));
  TARMAC_RETURN_IF_ERROR(get(dev, "cublaslt", &i.cublaslt_version));
  TARMAC_RETURN_IF_ERROR(get(j, "onnx_hash", &i.onnx_hash));
  TARMAC_RETURN_IF_ERROR(get(j, "build_flags", &i.build_flags));
  TARMAC_RETURN_IF_ERROR(get(j, "precisions", &i.precisions));
  TARMAC_RETURN_IF_ERROR(get(j, "refittable", &i.refittable));
  TARMAC_RETURN_IF_ERROR(get(j, "weights_stripped", &i.weights_stripped));
  json b;
  TARMAC_RETURN_IF_ERROR(get(j, "build", &b));
  TARMAC_RETURN_IF_ERROR(get(b, "fp16", &h.build.fp16));
  TARMAC_RETURN_IF_ERROR(get(b, "bf16", &h.build.bf16));
  TARMAC_RETURN_IF_ERROR(get(b, "tf32", &h.build.tf32));
  TARMAC_RETURN_IF_ERROR(get(b, "keep_fp32", &h.build.keep_fp32));
  TARMAC_RETURN_IF_ERROR(get(b, "allow_cpu_fallback", &h.build.allow_cpu_fallback));
  TARMAC_RETURN_IF_ERROR(get(b, "workspace_limit", &h.build.workspace_limit));
  TARMAC_RETURN_IF_ERROR(get(b, "optimization_level", &h.build.optimization_level));
  json ins, outs, profiles;
  TARMAC_RETURN_IF_ERROR(get(j, "inputs", &ins));
  TARMAC_RETURN_IF_ERROR(get(j, "outputs", &outs));
  TARMAC_RETURN_IF_ERROR(tensors_from(ins, &i.inputs));
  TARMAC_RETURN_IF_ERROR(tensors_from(outs, &i.outputs));
  TARMAC_RETURN_IF_ERROR(get(j, "profiles", &profiles));
  if (!profiles.is_array() || profiles.empty())
    return invalid_argument("plan header: 'profiles' must be a non-empty list");
  for (const json& pj : profiles) {
    PlanProfile p;
    json ranges, layers;
    TARMAC_RETURN_IF_ERROR(get(pj, "ranges", &ranges));
    TARMAC_RETURN_IF_ERROR(get(pj, "tactics", &p.tactics));
    TARMAC_RETURN_IF_ERROR(get(pj, "layers", &layers));
    if (!ranges.is_object()) return invalid_argument("plan header: 'ranges' is not an object");
    OptimizationProfile pub;
    for (const auto& [name, r] : ranges.items()) {
      ShapeRange sr;
      TARMAC_RETURN_IF_ERROR(get(r, "min", &sr.min));
      TARMAC_RETURN_IF_ERROR(get(r, "opt", &sr.opt));
      TARMAC_RETURN_IF_ERROR(get(r, "max", &sr.max));
      if (sr.min.size() != sr.opt.size() || sr.opt.size() != sr.max.size())
        return invalid_argument("plan header: range of '{}' has mismatched ranks", name);
      p.ranges[name] = sr;
      if (sr.min != sr.max) pub.inputs[name] = sr;
    }
    if (!layers.is_array()) return invalid_argument("plan header: 'layers' is not a list");
    for (const json& l : layers) {
      LayerInfo li;
      TARMAC_RETURN_IF_ERROR(get(l, "name", &li.name));
      TARMAC_RETURN_IF_ERROR(get(l, "type", &li.type));
      TARMAC_RETURN_IF_ERROR(get(l, "precision", &li.precision));
      TARMAC_RETURN_IF_ERROR(get(l, "tactic", &li.tactic));
      TARMAC_RETURN_IF_ERROR(get(l, "inputs", &li.inputs));
      TARMAC_RETURN_IF_ERROR(get(l, "outputs", &li.outputs));
      p.layers.push_back(std::move(li));
    }
    i.profiles.push_back(std::move(pub));
    h.profiles.push_back(std::move(p));
  }
  return h;
}

}  // namespace tarmac
