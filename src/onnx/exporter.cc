#include "onnx/exporter.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/file_io.h"
#include "ir/op_registry.h"

namespace tarmac {

namespace fs = std::filesystem;

// raw_data is little-endian by definition; tensors are copied from host memory as they are.
static_assert(std::endian::native == std::endian::little,
              "the exporter assumes a little-endian host");

namespace {

/// ONNX IR version 4 is the first where initializers need not be listed as graph inputs, and the
/// first with external data; older models are raised to it because the exporter writes neither
/// the v3 input list nor anything v4 would read differently.
constexpr int64_t kMinWrittenIrVersion = 4;
constexpr int64_t kDefaultIrVersion = 8;

/// Where each externally stored initializer goes in the data file.
struct ExternalPlan {
  std::string location;
  size_t threshold = 0;
  std::vector<std::pair<const Tensor*, uint64_t>> tensors;  // tensor, offset
  uint64_t size = 0;
};

uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

void set_value_type(const ValueType& vt, onnx::TypeProto* tp) {
  if (vt.dtype == DType::kUndefined) return;
  auto* tt = tp->mutable_tensor_type();
  tt->set_elem_type(static_cast<int32_t>(vt.dtype));
  if (!vt.has_shape) return;
  auto* shape = tt->mutable_shape();  // present even for rank 0 (a scalar)
  for (const Dim& d : vt.shape) {
    auto* dp = shape->add_dim();
    if (d.is_static()) {
      dp->set_dim_value(d.value);
    } else if (!d.symbol.empty()) {
      dp->set_dim_param(d.symbol);
    }  // else: an unknown dim is an empty Dimension
  }
}

void set_value_info(const Value& v, onnx::ValueInfoProto* vi) {
  vi->set_name(v.name);
  if (v.type.dtype != DType::kUndefined) set_value_type(v.type, vi->mutable_type());
}

Status attribute_to_proto(const Node& n, const std::string& name, const Attribute& a,
                          onnx::AttributeProto* p) {
  using A = onnx::AttributeProto;
  p->set_name(name);
  switch (a.kind) {
    case Attribute::Kind::kInt:
      p->set_type(A::INT);
      p->set_i(a.i);
      return Status::ok();
    case Attribute::Kind::kFloat:
      p->set_type(A::FLOAT);
      p->set_f(a.f);
      return Status::ok();
    case Attribute::Kind::kString:
      p->set_type(A::STRING);
      p->set_s(a.s);
      return Status::ok();
    case Attribute::Kind::kInts:
      p->set_type(A::INTS);
      p->mutable_ints()->Add(a.ints.begin(), a.ints.end());
      return Status::ok();
    case Attribute::Kind::kFloats:
      p->set_type(A::FLOATS);
      p->mutable_floats()->Add(a.floats.begin(), a.floats.end());
      return Status::ok();
    case Attribute::Kind::kStrings:
      p->set_type(A::STRINGS);
      for (const auto& s : a.strings) p->add_strings(s);
      return Status::ok();
    case Attribute::Kind::kTensor:
      if (!a.tensor || !a.tensor->defined()) {
        return invalid_argument("{}: tensor attribute '{}' holds no tensor", n.describe(), name);
      }
      p->set_type(A::TENSOR);
      *p->mutable_t() = tensor_to_proto(*a.tensor, "");
      return Status::ok();
    case Attribute::Kind::kGraph:
      return unsupported("{}: attribute '{}' holds a subgraph, which the exporter cannot write",
                         n.describe(), name);
    case Attribute::Kind::kOther:
      break;
  }
  return unsupported("{}: attribute '{}' is of a kind the exporter cannot write", n.describe(),
                     name);
}

/// Writes the initializer `v` inline or, when `plan` takes it, as an external reference.
void initializer_to_proto(const Value& v, ExternalPlan* plan, onnx::TensorProto* p) {
  const Tensor& t = *v.constant;
  // Empty tensors stay inline: an external one would point past the end of the data file.
  if (!plan || t.nbytes() == 0 || t.nbytes() < plan->threshold) {
    *p = tensor_to_proto(t, v.name);
    return;
  }
  p->set_name(v.name);
  for (int64_t d : t.dims()) p->add_dims(d);
  p->set_data_type(static_cast<int32_t>(t.dtype()));
  p->set_data_location(onnx::TensorProto::EXTERNAL);
  const uint64_t offset = align_up(plan->size, kExternalDataAlignment);
  plan->tensors.emplace_back(&t, offset);
  plan->size = offset + t.nbytes();
  auto add_kv = [p](const char* key, const std::string& value) {
    auto* kv = p->add_external_data();
    kv->set_key(key);
    kv->set_value(value);
  };
  add_kv("location", plan->location);
  add_kv("offset", std::to_string(offset));
  add_kv("length", std::to_string(t.nbytes()));
}

/// Builds the ModelProto; `plan` (nullable) collects initializers that go to external data.
Status build_model_proto(const Model& model, ExternalPlan* plan, onnx::ModelProto* mp) {
  const Graph& g = model.graph;
  mp->set_ir_version(model.ir_version == 0 ? kDefaultIrVersion
                                           : std::max(model.ir_version, kMinWrittenIrVersion));
  mp->set_producer_name(model.producer_name);
  mp->set_producer_version(model.producer_version);
  mp->set_domain(model.domain);
  mp->set_model_version(model.model_version);
  mp->set_doc_string(model.doc_string);
  std::set<std::string> opset_domains;
  for (const auto& [domain, version] : model.opsets) {
    const std::string d = domain == "ai.onnx" ? "" : domain;
    if (!opset_domains.insert(d).second) continue;
    auto* os = mp->add_opset_import();
    os->set_domain(d);
    os->set_version(version);
  }
  if (!opset_domains.count("")) {
    return invalid_argument("the model declares no ai.onnx opset, which an ONNX file needs");
  }
  for (const auto& [key, value] : model.metadata) {
    auto* kv = mp->add_metadata_props();
    kv->set_key(key);
    kv->set_value(value);
  }

  onnx::GraphProto* gp = mp->mutable_graph();
  gp->set_name(g.name);

  // Every name in the file must denote one value.
  std::unordered_map<std::string, const Value*> by_name;
  auto claim_name = [&by_name](const Value* v) -> Status {
    if (v->name.empty()) return invalid_argument("a value in the graph has no name");
    auto [it, inserted] = by_name.emplace(v->name, v);
    if (!inserted && it->second != v) {
      return invalid_argument("two different values are named '{}'", v->name);
    }
    return Status::ok();
  };

  // Values available to nodes: graph inputs, constants without a producer (initializers) and
  // the outputs of earlier nodes.
  std::unordered_set<const Value*> graph_inputs(g.inputs.begin(), g.inputs.end());
  std::unordered_set<const Value*> produced;
  for (const auto& n : g.nodes) {
    for (const Value* out : n->outputs) {
      if (out && !produced.insert(out).second) {
        return invalid_argument("{}: output '{}' is produced by more than one node", n->describe(),
                                out->name);
      }
    }
  }
  std::vector<const Value*> initializers;
  std::unordered_set<const Value*> initializer_set;
  auto reference = [&](const Value* v) -> Status {
    if (graph_inputs.count(v) || produced.count(v) || initializer_set.count(v)) {
      return Status::ok();
    }
    if (!v->constant) {
      return invalid_argument(
          "value '{}' is not produced by any node and is not a graph input or an initializer",
          v->name);
    }
    if (!v->constant->defined()) {
      return invalid_argument("initializer '{}' holds no tensor", v->name);
    }
    TARMAC_RETURN_IF_ERROR(claim_name(v));
    initializers.push_back(v);
    initializer_set.insert(v);
    return Status::ok();
  };

  for (const Value* v : g.inputs) {
    if (!v) return internal_error("the graph has a null input");
    if (v->type.dtype == DType::kUndefined) {
      return invalid_argument("graph input '{}' has no element type", v->name);
    }
    if (produced.count(v)) {
      return invalid_argument("graph input '{}' is also produced by a node", v->name);
    }
    TARMAC_RETURN_IF_ERROR(claim_name(v));
    set_value_info(*v, gp->add_input());
  }

  std::unordered_set<const Value*> defined(g.inputs.begin(), g.inputs.end());
  for (const auto& np : g.nodes) {
    const Node& n = *np;
    if (!is_onnx_domain(n.domain)) {
      return unsupported(
          "{} is in domain '{}'; only nodes of the standard ONNX domain (\"\" or \"ai.onnx\") "
          "can be exported, internal nodes cannot",
          n.describe(), n.domain);
    }
    onnx::NodeProto* p = gp->add_node();
    p->set_name(n.name);
    p->set_op_type(n.op_type);
    p->set_domain(n.domain);
    const size_t num_inputs = n.num_inputs();  // trailing absent inputs are dropped
    for (size_t i = 0; i < num_inputs; ++i) {
      const Value* in = n.inputs[i];
      if (!in) {
        p->add_input("");
        continue;
      }
      auto st = reference(in);
      if (!st.is_ok()) return st.with_context(n.describe());
      if (produced.count(in) && !defined.count(in)) {
        return invalid_argument("{}: input '{}' is used before the node that produces it",
                                n.describe(), in->name);
      }
      p->add_input(in->name);
    }
    for (const Value* out : n.outputs) {
      if (!out) {
        p->add_output("");
        continue;
      }
      if (graph_inputs.count(out)) {
        return invalid_argument("{}: output '{}' is a graph input", n.describe(), out->name);
      }
      auto st = claim_name(out);
      if (!st.is_ok()) return st.with_context(n.describe());
      defined.insert(out);
      p->add_output(out->name);
    }
    for (const auto& [name, attr] : n.attrs) {
      TARMAC_RETURN_IF_ERROR(attribute_to_proto(n, name, attr, p->add_attribute()));
    }
  }

  std::unordered_set<const Value*> graph_outputs;
  for (const Value* v : g.outputs) {
    if (!v) return internal_error("the graph has a null output");
    if (!graph_inputs.count(v) && !produced.count(v) && !v->constant) {
      return invalid_argument(
          "graph output '{}' is not produced by any node and is not a graph input or a constant",
          v->name);
    }
    // A constant output without a producer is written as an initializer, which ONNX allows.
    TARMAC_RETURN_IF_ERROR(reference(v));
    graph_outputs.insert(v);
    onnx::ValueInfoProto* vi = gp->add_output();
    if (initializer_set.count(v)) {
      vi->set_name(v->name);
      ValueType vt;
      vt.dtype = v->constant->dtype();
      vt.has_shape = true;
      vt.shape = shape_from_dims(v->constant->dims());
      set_value_type(vt, vi->mutable_type());
    } else {
      set_value_info(*v, vi);
    }
  }

  // Initializers in the graph's own value order, which keeps a file's order on a roundtrip.
  std::unordered_map<const Value*, size_t> position;
  for (size_t i = 0; i < g.values.size(); ++i) position.emplace(g.values[i].get(), i);
  auto pos = [&position](const Value* v) {
    auto it = position.find(v);
    return it == position.end() ? std::numeric_limits<size_t>::max() : it->second;
  };
  std::stable_sort(initializers.begin(), initializers.end(),
                   [&pos](const Value* a, const Value* b) { return pos(a) < pos(b); });
  for (const Value* v : initializers) initializer_to_proto(*v, plan, gp->add_initializer());

  // Inferred types of intermediate values, in node order.
  for (const auto& n : g.nodes) {
    for (const Value* out : n->outputs) {
      if (!out || graph_outputs.count(out) || out->type.dtype == DType::kUndefined) continue;
      set_value_info(*out, gp->add_value_info());
    }
  }

  const size_t bytes = mp->ByteSizeLong();
  if (bytes > static_cast<size_t>(std::numeric_limits<int>::max())) {
    return unsupported(
        "the model serializes to {} bytes, above protobuf's 2 GiB limit; export it with "
        "external data (ExportOptions::external_data_file)",
        bytes);
  }
  return Status::ok();
}

// ---- atomic file writes ---------------------------------------------------------------

Status write_external_data(const ExternalPlan& plan, int fd, const std::string& path) {
  static const std::vector<char> zeros(kExternalDataAlignment, 0);
  uint64_t at = 0;
  for (const auto& [t, offset] : plan.tensors) {
    TARMAC_RETURN_IF_ERROR(write_all(fd, zeros.data(), offset - at, path));
    TARMAC_RETURN_IF_ERROR(write_all(fd, t->raw(), t->nbytes(), path));
    at = offset + t->nbytes();
  }
  return Status::ok();
}

bool is_bare_file_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\\') == std::string::npos;
}

}  // namespace

onnx::TensorProto tensor_to_proto(const Tensor& tensor, const std::string& name) {
  TARMAC_CHECK(tensor.defined(), "tensor_to_proto('{}') on an undefined tensor", name);
  onnx::TensorProto p;
  p.set_name(name);
  for (int64_t d : tensor.dims()) p.add_dims(d);
  p.set_data_type(static_cast<int32_t>(tensor.dtype()));
  std::string* raw = p.mutable_raw_data();  // set even when empty: 0 elements, 0 bytes
  raw->resize(tensor.nbytes());
  if (tensor.nbytes() > 0) std::memcpy(raw->data(), tensor.raw(), tensor.nbytes());
  if (tensor.dtype() == DType::kBool) {
    for (char& c : *raw) c = c ? 1 : 0;
  }
  return p;
}

StatusOr<std::string> export_onnx_bytes(const Model& model) {
  onnx::ModelProto mp;
  TARMAC_RETURN_IF_ERROR(build_model_proto(model, nullptr, &mp));
  std::string bytes;
  if (!mp.SerializeToString(&bytes)) return internal_error("protobuf serialization failed");
  return bytes;
}

Status export_onnx_file(const Model& model, const std::string& path, const ExportOptions& options) {
  const fs::path out(path);
  if (out.filename().empty()) return invalid_argument("'{}' is not a file path", path);
  const bool external = !options.external_data_file.empty();
  if (external) {
    if (!is_bare_file_name(options.external_data_file)) {
      return invalid_argument(
          "external data file '{}' must be a bare file name (it is placed beside the model)",
          options.external_data_file);
    }
    if (options.external_data_file == out.filename().string()) {
      return invalid_argument("external data file '{}' has the same name as the model",
                              options.external_data_file);
    }
  }
  ExternalPlan plan;
  plan.location = options.external_data_file;
  plan.threshold = options.external_threshold_bytes;
  onnx::ModelProto mp;
  auto st = build_model_proto(model, external ? &plan : nullptr, &mp);
  if (!st.is_ok()) return st.with_context("exporting '" + path + "'");
  std::string bytes;
  if (!mp.SerializeToString(&bytes)) return internal_error("protobuf serialization failed");
  // The data goes first so that the new model never refers to a missing data file.
  if (!plan.tensors.empty()) {
    const fs::path data_path = out.parent_path() / options.external_data_file;
    TARMAC_RETURN_IF_ERROR(write_file_atomically(
        data_path, [&](int fd) { return write_external_data(plan, fd, data_path.string()); }));
  }
  return write_file_atomically(
      out, [&](int fd) { return write_all(fd, bytes.data(), bytes.size(), path); });
}

}  // namespace tarmac
