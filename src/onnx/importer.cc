#include "onnx/importer.h"

#include <google/protobuf/io/coded_stream.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "ir/op_registry.h"
#include "onnx/onnx.pb.h"
#include "onnx/tensor_proto.h"

namespace tarmac {

namespace fs = std::filesystem;

namespace {

Status read_file(const std::string& path, size_t max_bytes, std::string* out) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return not_found("'{}' does not exist", path);
  if (!fs::is_regular_file(path, ec)) return invalid_argument("'{}' is not a regular file", path);
  const uintmax_t size = fs::file_size(path, ec);
  if (ec) return io_error("cannot stat '{}': {}", path, ec.message());
  if (size > max_bytes) {
    return unsupported("'{}' is {} bytes; models above {} bytes must keep weights as external data",
                       path, size, max_bytes);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error("cannot open '{}'", path);
  out->resize(static_cast<size_t>(size));
  in.read(out->data(), static_cast<std::streamsize>(size));
  if (!in) return io_error("short read from '{}'", path);
  return Status::ok();
}

template <typename Message>
Status parse_message(const std::string& bytes, Message* msg, const char* what) {
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    return unsupported("the {} is {} bytes; protobuf messages are limited to 2 GiB", what,
                       bytes.size());
  }
  google::protobuf::io::CodedInputStream stream(reinterpret_cast<const uint8_t*>(bytes.data()),
                                                static_cast<int>(bytes.size()));
  stream.SetTotalBytesLimit(std::numeric_limits<int>::max());
  stream.SetRecursionLimit(64);
  if (!msg->ParseFromCodedStream(&stream) || !stream.ConsumedEntireMessage()) {
    return invalid_argument("not a valid ONNX {} (protobuf parse failed)", what);
  }
  return Status::ok();
}

StatusOr<ValueType> value_type_from_proto(const onnx::ValueInfoProto& vi) {
  ValueType vt;
  if (!vi.has_type()) return vt;  // type left to inference
  if (!vi.type().has_tensor_type()) {
    return unsupported(
        "value '{}' is not a tensor (sequences, maps and optionals are not supported)", vi.name());
  }
  const auto& tt = vi.type().tensor_type();
  if (tt.has_elem_type() && tt.elem_type() != 0) {
    vt.dtype = dtype_from_onnx(tt.elem_type());
    if (vt.dtype == DType::kUndefined) {
      return unsupported("value '{}' has element type {} which tarmac does not support", vi.name(),
                         onnx_type_name(tt.elem_type()));
    }
  }
  if (tt.has_shape()) {
    vt.has_shape = true;
    for (const auto& d : tt.shape().dim()) {
      if (d.has_dim_value()) {
        if (d.dim_value() < 0) {
          return invalid_argument("value '{}' has negative dimension {}", vi.name(), d.dim_value());
        }
        vt.shape.push_back(Dim(d.dim_value()));
      } else if (d.has_dim_param() && !d.dim_param().empty()) {
        vt.shape.push_back(Dim::sym(d.dim_param()));
      } else {
        vt.shape.push_back(Dim());
      }
    }
    // A declared shape whose size overflows would poison every element count computed from
    // it (inference, folding, allocation), so it is refused here.
    unsigned __int128 bytes = std::max<size_t>(dtype_size(vt.dtype), 1);
    for (const Dim& d : vt.shape) {
      if (!d.is_static()) continue;
      bytes *= static_cast<unsigned __int128>(d.value);
      if (bytes > static_cast<unsigned __int128>(std::numeric_limits<int64_t>::max())) {
        return invalid_argument("value '{}' declares shape {}, whose size does not fit in 64 bits",
                                vi.name(), shape_to_string(vt.shape));
      }
    }
  }
  return vt;
}

StatusOr<Attribute> attribute_from_proto(const onnx::AttributeProto& a,
                                         const std::string& base_dir) {
  Attribute out;
  using A = onnx::AttributeProto;
  switch (a.type()) {
    case A::INT:
      out.kind = Attribute::Kind::kInt;
      out.i = a.i();
      break;
    case A::FLOAT:
      out.kind = Attribute::Kind::kFloat;
      out.f = a.f();
      break;
    case A::STRING:
      out.kind = Attribute::Kind::kString;
      out.s = a.s();
      break;
    case A::INTS:
      out.kind = Attribute::Kind::kInts;
      out.ints.assign(a.ints().begin(), a.ints().end());
      break;
    case A::FLOATS:
      out.kind = Attribute::Kind::kFloats;
      out.floats.assign(a.floats().begin(), a.floats().end());
      break;
    case A::STRINGS:
      out.kind = Attribute::Kind::kStrings;
      out.strings.assign(a.strings().begin(), a.strings().end());
      break;
    case A::TENSOR: {
      out.kind = Attribute::Kind::kTensor;
      auto t = tensor_from_proto(a.t(), base_dir);
      if (!t.is_ok()) return t.status().with_context("attribute '" + a.name() + "'");
      out.tensor = std::make_shared<const Tensor>(std::move(t).value());
      break;
    }
    case A::GRAPH:
    case A::GRAPHS:
      out.kind = Attribute::Kind::kGraph;
      break;
    default:
      // Old exporters leave `type` unset; infer it from the populated field.
      if (a.has_i()) {
        out.kind = Attribute::Kind::kInt;
        out.i = a.i();
      } else if (a.has_f()) {
        out.kind = Attribute::Kind::kFloat;
        out.f = a.f();
      } else if (a.has_s()) {
        out.kind = Attribute::Kind::kString;
        out.s = a.s();
      } else if (a.ints_size()) {
        out.kind = Attribute::Kind::kInts;
        out.ints.assign(a.ints().begin(), a.ints().end());
      } else if (a.floats_size()) {
        out.kind = Attribute::Kind::kFloats;
        out.floats.assign(a.floats().begin(), a.floats().end());
      } else {
        out.kind = Attribute::Kind::kOther;
      }
  }
  return out;
}

std::string onnx_domain_name(const std::string& d) { return d.empty() ? "ai.onnx" : d; }

/// Why a node cannot be imported, or "" when it can.
std::string unsupported_reason(const onnx::NodeProto& n,
                               const std::map<std::string, int64_t>& opsets, int64_t* opset_out) {
  const std::string domain = n.domain() == "ai.onnx" ? "" : n.domain();
  auto it = opsets.find(domain);
  *opset_out = it == opsets.end() ? 0 : it->second;
  if (!is_onnx_domain(n.domain())) {
    return fmt::format("domain '{}' is not supported (only the default ONNX domain is)",
                       n.domain());
  }
  if (it == opsets.end()) return "the model imports no opset for the default ONNX domain";
  const OpInfo* info = find_op(n.op_type());
  if (!info) return fmt::format("op '{}' is not supported by tarmac", n.op_type());
  if (*opset_out < info->since_opset) {
    return fmt::format("op '{}' does not exist in ai.onnx opset {} (it was added in opset {})",
                       n.op_type(), *opset_out, info->since_opset);
  }
  for (const auto& a : n.attribute()) {
    if (a.type() == onnx::AttributeProto::GRAPH || a.type() == onnx::AttributeProto::GRAPHS) {
      return fmt::format("attribute '{}' holds a subgraph, which is not supported", a.name());
    }
  }
  return "";
}

}  // namespace

StatusOr<ImportResult> import_onnx_bytes(const std::string& bytes, const std::string& base_dir,
                                         const ImportOptions& options) {
  if (bytes.empty()) return invalid_argument("not a valid ONNX model (the file is empty)");
  onnx::ModelProto proto;
  TARMAC_RETURN_IF_ERROR(parse_message(bytes, &proto, "model"));
  if (!proto.has_graph()) return invalid_argument("not a valid ONNX model (it has no graph)");

  ImportResult result;
  Model& model = result.model;
  model.ir_version = proto.ir_version();
  model.producer_name = proto.producer_name();
  model.producer_version = proto.producer_version();
  model.domain = proto.domain();
  model.model_version = proto.model_version();
  model.doc_string = proto.doc_string();
  for (const auto& kv : proto.metadata_props()) model.metadata.emplace_back(kv.key(), kv.value());
  for (const auto& os : proto.opset_import()) {
    const std::string d = os.domain() == "ai.onnx" ? "" : os.domain();
    model.opsets[d] = os.version();
  }
  if (proto.opset_import_size() == 0) model.opsets[""] = 1;  // IR v1/v2 models: opset 1
  const int64_t opset = model.onnx_opset();
  if (model.opsets.count("") && opset > kMaxOnnxOpset) {
    return unsupported("the model uses ai.onnx opset {}; tarmac supports opsets {} to {}", opset,
                       kMinOnnxOpset, kMaxOnnxOpset);
  }
  if (model.opsets.count("") && opset < kMinOnnxOpset) {
    return invalid_argument("the model declares ai.onnx opset {}, which is not a valid opset",
                            opset);
  }

  const onnx::GraphProto& gp = proto.graph();
  Graph& g = model.graph;
  g.name = gp.name();

  // Initializers become constant values.
  for (const auto& init : gp.initializer()) {
    if (init.name().empty()) return invalid_argument("an initializer has no name");
    auto t = tensor_from_proto(init, base_dir);
    if (!t.is_ok()) return t.status().with_context("initializer '" + init.name() + "'");
    TARMAC_ASSIGN_OR_RETURN(Value * v, g.add_value(init.name()));
    v->is_initializer = true;
    v->type.dtype = t->dtype();
    v->type.has_shape = true;
    v->type.shape = shape_from_dims(t->dims());
    v->constant = std::make_shared<const Tensor>(std::move(t).value());
    if (init.data_location() == onnx::TensorProto::EXTERNAL) model.external_data = true;
  }
  if (gp.sparse_initializer_size() > 0) {
    return unsupported("sparse initializers are not supported");
  }

  // Graph inputs; those that are also initializers (old exporters) stay constants.
  for (const auto& in : gp.input()) {
    if (in.name().empty()) return invalid_argument("a graph input has no name");
    if (Value* v = g.find_value(in.name()); v && v->is_initializer) continue;
    auto vt = value_type_from_proto(in);
    if (!vt.is_ok()) return vt.status().with_context("graph input");
    if (vt->dtype == DType::kUndefined) {
      return invalid_argument("graph input '{}' has no element type", in.name());
    }
    TARMAC_ASSIGN_OR_RETURN(Value * v, g.add_value(in.name()));
    v->type = std::move(vt).value();
    v->is_graph_input = true;
    g.inputs.push_back(v);
  }

  // Nodes.
  std::set<std::string> node_names;
  for (int i = 0; i < gp.node_size(); ++i) {
    const onnx::NodeProto& np = gp.node(i);
    int64_t node_opset = 0;
    const std::string reason = unsupported_reason(np, model.opsets, &node_opset);
    auto node = std::make_unique<Node>();
    node->name = np.name().empty() ? fmt::format("{}_{}", np.op_type(), i) : np.name();
    node->op_type = np.op_type();
    node->domain = np.domain() == "ai.onnx" ? "" : np.domain();
    if (!reason.empty()) {
      if (!options.collect_unsupported) {
        return unsupported("node '{}' (op '{}', domain '{}', opset {}): {}", node->name,
                           np.op_type(), onnx_domain_name(np.domain()), node_opset, reason);
      }
      result.unsupported.push_back(
          {node->name, np.op_type(), onnx_domain_name(np.domain()), node_opset, reason});
    }
    for (const auto& a : np.attribute()) {
      if (reason.empty() || a.type() == onnx::AttributeProto::TENSOR) {
        auto attr = attribute_from_proto(a, base_dir);
        if (!attr.is_ok()) return attr.status().with_context(node->describe());
        node->attrs[a.name()] = std::move(attr).value();
      }
    }
    for (const auto& name : np.input()) {
      node->inputs.push_back(name.empty() ? nullptr : g.get_or_add_value(name));
    }
    for (const auto& name : np.output()) {
      if (name.empty()) {
        node->outputs.push_back(nullptr);
        continue;
      }
      Value* v = g.get_or_add_value(name);
      if (v->producer || v->is_initializer || v->is_graph_input) {
        return invalid_argument("{}: output '{}' is already defined elsewhere in the graph",
                                node->describe(), name);
      }
      v->producer = node.get();
      node->outputs.push_back(v);
    }
    g.add_node(std::move(node));
  }

  // Declared types of intermediate values help inference and are checked against it.
  for (const auto& vi : gp.value_info()) {
    Value* v = g.find_value(vi.name());
    // Graph inputs keep the type they were declared with.
    if (!v || v->is_initializer || v->is_graph_input) continue;
    auto vt = value_type_from_proto(vi);
    if (vt.is_ok()) v->type = std::move(vt).value();
  }
  for (const auto& out : gp.output()) {
    Value* v = g.find_value(out.name());
    if (!v) {
      return invalid_argument("graph output '{}' is not produced by any node, input or initializer",
                              out.name());
    }
    auto vt = value_type_from_proto(out);
    if (!vt.is_ok()) return vt.status().with_context("graph output");
    if (!v->is_initializer && !v->is_graph_input) v->type = std::move(vt).value();
    v->is_graph_output = true;
    g.outputs.push_back(v);
  }
  return result;
}

StatusOr<ImportResult> import_onnx_file(const std::string& path, const ImportOptions& options) {
  std::string bytes;
  TARMAC_RETURN_IF_ERROR(read_file(path, options.max_file_bytes, &bytes));
  std::error_code ec;
  std::string base = fs::absolute(fs::path(path), ec).parent_path().string();
  auto r = import_onnx_bytes(bytes, base, options);
  if (!r.is_ok()) return r.status().with_context("'" + path + "'");
  r->model.path = path;
  return r;
}

StatusOr<std::pair<std::string, Tensor>> load_named_tensor_proto_file(const std::string& path) {
  std::string bytes;
  TARMAC_RETURN_IF_ERROR(read_file(path, (size_t{2} << 30) - 1, &bytes));
  onnx::TensorProto proto;
  auto st = parse_message(bytes, &proto, "tensor");
  if (!st.is_ok()) return st.with_context("'" + path + "'");
  std::error_code ec;
  auto t = tensor_from_proto(proto, fs::absolute(fs::path(path), ec).parent_path().string());
  if (!t.is_ok()) return t.status().with_context("'" + path + "'");
  return std::make_pair(proto.name(), std::move(t).value());
}

StatusOr<Tensor> load_tensor_proto_file(const std::string& path) {
  TARMAC_ASSIGN_OR_RETURN(auto named, load_named_tensor_proto_file(path));
  return std::move(named.second);
}

}  // namespace tarmac
