#include "builder/built_graph.h"

#include <cstring>
#include <map>
#include <memory>
#include <set>

#include <nlohmann/json.hpp>

namespace tarmac {

namespace {

using nlohmann::json;

constexpr size_t kAlign = 64;

size_t aligned(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

uint32_t float_bits(float f) {
  uint32_t u = 0;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

float bits_float(uint32_t u) {
  float f = 0;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

class Writer {
 public:
  /// A tensor's place in the blob: [dtype, dims, offset].
  json tensor(const Tensor& t) {
    const size_t at = aligned(blob_.size());
    blob_.resize(at + t.nbytes());
    if (t.nbytes()) std::memcpy(blob_.data() + at, t.raw(), t.nbytes());
    return json{static_cast<int>(t.dtype()), t.dims(), at};
  }

  StatusOr<json> attribute(const Node& n, const std::string& name, const Attribute& a) {
    switch (a.kind) {
      case Attribute::Kind::kInt:
        return json{{"i", a.i}};
      case Attribute::Kind::kFloat:  // bit patterns: exact, and NaN/inf survive JSON
        return json{{"f", float_bits(a.f)}};
      case Attribute::Kind::kString:
        return json{{"s", a.s}};
      case Attribute::Kind::kInts:
        return json{{"ints", a.ints}};
      case Attribute::Kind::kFloats: {
        std::vector<uint32_t> bits;
        for (float f : a.floats) bits.push_back(float_bits(f));
        return json{{"floats", bits}};
      }
      case Attribute::Kind::kStrings:
        return json{{"strings", a.strings}};
      case Attribute::Kind::kTensor:
        if (a.tensor) return json{{"t", tensor(*a.tensor)}};
        break;
      default:
        break;
    }
    return unsupported("{}: attribute '{}' cannot be stored in a built engine", n.describe(), name);
  }

  std::string& blob() { return blob_; }

 private:
  std::string blob_;
};

StatusOr<Tensor> read_tensor(const json& j, std::string_view bytes,
                             const std::shared_ptr<const void>& owner, size_t blob_at,
                             const std::string& what) {
  if (!j.is_array() || j.size() != 3 || !j[0].is_number_integer() || !j[1].is_array() ||
      !j[2].is_number_unsigned())
    return invalid_argument("{}: malformed tensor entry", what);
  const DType dtype = static_cast<DType>(j[0].get<int>());
  if (dtype_size(dtype) == 0) return invalid_argument("{}: unknown dtype {}", what, j[0].dump());
  Dims dims;
  for (const json& d : j[1]) {
    if (!d.is_number_integer() || d.get<int64_t>() < 0)
      return invalid_argument("{}: bad dimension {}", what, d.dump());
    dims.push_back(d.get<int64_t>());
  }
  unsigned __int128 n = dtype_size(dtype);
  for (int64_t d : dims) n = std::min<unsigned __int128>(n * static_cast<uint64_t>(d), 1ULL << 62);
  const uint64_t at = j[2].get<uint64_t>();
  if (at % kAlign != 0 || blob_at + at > bytes.size() || n > bytes.size() - blob_at - at)
    return invalid_argument("{}: tensor data lies outside the section", what);
  // Constants are never written; the storage is read-only where the plan is mapped privately.
  auto* p = reinterpret_cast<uint8_t*>(const_cast<char*>(bytes.data() + blob_at + at));
  return Tensor::wrap(dtype, std::move(dims), std::shared_ptr<uint8_t[]>(owner, p));
}

}  // namespace

StatusOr<std::string> serialize_built_model(const Model& model) {
  const Graph& g = model.graph;
  Writer w;
  // Only what the graph uses: the passes leave replaced weights (the float32 originals of
  // converted ones, NCHW originals of permuted ones) among the values.
  std::set<const Value*> used(g.inputs.begin(), g.inputs.end());
  used.insert(g.outputs.begin(), g.outputs.end());
  for (const auto& n : g.nodes) {
    used.insert(n->inputs.begin(), n->inputs.end());
    used.insert(n->outputs.begin(), n->outputs.end());
  }
  std::map<const Value*, size_t> index;
  json values = json::array();
  for (const auto& v : g.values) {
    if (!used.count(v.get())) continue;
    index[v.get()] = values.size();
    json jv = {{"name", v->name}, {"dtype", static_cast<int>(v->type.dtype)}};
    if (v->type.has_shape) {
      json shape = json::array();
      for (const Dim& d : v->type.shape) {
        if (d.is_static()) {
          shape.push_back(d.value);
        } else {
          shape.push_back(d.symbol);
        }
      }
      jv["shape"] = shape;
    }
    if (v->is_initializer && v->constant) jv["init"] = w.tensor(*v->constant);
    values.push_back(std::move(jv));
  }
  auto indices = [&](const std::vector<Value*>& vs) {
    json r = json::array();
    for (const Value* v : vs) r.push_back(v ? static_cast<int64_t>(index.at(v)) : int64_t{-1});
    return r;
  };
  json nodes = json::array();
  for (const auto& n : g.nodes) {
    json attrs = json::object();
    for (const auto& [name, a] : n->attrs) {
      TARMAC_ASSIGN_OR_RETURN(attrs[name], w.attribute(*n, name, a));
    }
    nodes.push_back({{"name", n->name},
                     {"op", n->op_type},
                     {"domain", n->domain},
                     {"in", indices(n->inputs)},
                     {"out", indices(n->outputs)},
                     {"attrs", std::move(attrs)}});
  }
  json root = {{"ir_version", model.ir_version},
               {"opsets", model.opsets},
               {"graph", g.name},
               {"values", std::move(values)},
               {"inputs", indices(g.inputs)},
               {"outputs", indices(g.outputs)},
               {"nodes", std::move(nodes)}};
  std::string text;
  try {
    text = root.dump();
  } catch (const json::exception& e) {
    return unsupported("the built graph cannot be stored: {}", e.what());
  }
  // [u64 JSON size][JSON][zero padding to 64][blob]
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i)
    out[static_cast<size_t>(i)] = static_cast<char>((text.size() >> (8 * i)) & 0xff);
  out += text;
  out.resize(aligned(out.size()), '\0');
  out += w.blob();
  return out;
}

StatusOr<Model> parse_built_model(std::string_view bytes, std::shared_ptr<const void> owner,
                                  const std::string& what_in) {
  const std::string what = what_in + ": built engine";
  if (bytes.size() < 8) return invalid_argument("{} is truncated", what);
  uint64_t text_size = 0;
  for (int i = 0; i < 8; ++i)
    text_size |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[static_cast<size_t>(i)]))
                 << (8 * i);
  if (text_size > bytes.size() - 8) return invalid_argument("{} is truncated", what);
  const json root =
      json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(text_size),
                  nullptr, /*allow_exceptions=*/false);
  const size_t blob_at = aligned(8 + static_cast<size_t>(text_size));
  if (root.is_discarded() || !root.is_object() || !root.contains("values") ||
      !root["values"].is_array() || !root.contains("nodes") || !root["nodes"].is_array() ||
      !root.contains("inputs") || !root.contains("outputs") || !root.contains("opsets") ||
      !root["opsets"].is_object())
    return invalid_argument("{}: description is not the expected JSON object", what);
  try {
    Model m;
    m.ir_version = root.value("ir_version", int64_t{0});
    for (const auto& [domain, version] : root["opsets"].items())
      m.opsets[domain] = version.get<int64_t>();
    Graph& g = m.graph;
    g.name = root.value("graph", std::string());
    std::vector<Value*> values;
    for (const json& jv : root["values"]) {
      TARMAC_ASSIGN_OR_RETURN(Value * v, g.add_value(jv.at("name").get<std::string>()));
      v->type.dtype = static_cast<DType>(jv.at("dtype").get<int>());
      if (jv.contains("shape")) {
        v->type.has_shape = true;
        for (const json& d : jv["shape"]) {
          if (d.is_string()) {
            v->type.shape.push_back(Dim::sym(d.get<std::string>()));
          } else {
            Dim dim;
            dim.value = d.get<int64_t>();
            if (dim.value < 0) return invalid_argument("{}: negative dimension", what);
            v->type.shape.push_back(dim);
          }
        }
      }
      if (jv.contains("init")) {
        TARMAC_ASSIGN_OR_RETURN(Tensor t, read_tensor(jv["init"], bytes, owner, blob_at,
                                                      fmt::format("{} '{}'", what, v->name)));
        v->constant = std::make_shared<const Tensor>(std::move(t));
        v->is_initializer = true;
      }
      values.push_back(v);
    }
    auto value_at = [&](const json& i) -> StatusOr<Value*> {
      const int64_t k = i.get<int64_t>();
      if (k == -1) return static_cast<Value*>(nullptr);
      if (k < 0 || static_cast<size_t>(k) >= values.size())
        return invalid_argument("{}: value index {} out of range", what, k);
      return values[static_cast<size_t>(k)];
    };
    for (const json& i : root["inputs"]) {
      TARMAC_ASSIGN_OR_RETURN(Value * v, value_at(i));
      if (!v) return invalid_argument("{}: missing graph input", what);
      v->is_graph_input = true;
      g.inputs.push_back(v);
    }
    for (const json& i : root["outputs"]) {
      TARMAC_ASSIGN_OR_RETURN(Value * v, value_at(i));
      if (!v) return invalid_argument("{}: missing graph output", what);
      v->is_graph_output = true;
      g.outputs.push_back(v);
    }
    for (const json& jn : root["nodes"]) {
      auto n = std::make_unique<Node>();
      n->name = jn.at("name").get<std::string>();
      n->op_type = jn.at("op").get<std::string>();
      n->domain = jn.at("domain").get<std::string>();
      for (const json& i : jn.at("in")) {
        TARMAC_ASSIGN_OR_RETURN(Value * v, value_at(i));
        n->inputs.push_back(v);
      }
      for (const json& i : jn.at("out")) {
        TARMAC_ASSIGN_OR_RETURN(Value * v, value_at(i));
        n->outputs.push_back(v);
      }
      for (const auto& [name, ja] : jn.at("attrs").items()) {
        Attribute a;
        if (ja.contains("i")) {
          a.kind = Attribute::Kind::kInt;
          a.i = ja["i"].get<int64_t>();
        } else if (ja.contains("f")) {
          a.kind = Attribute::Kind::kFloat;
          a.f = bits_float(ja["f"].get<uint32_t>());
        } else if (ja.contains("s")) {
          a.kind = Attribute::Kind::kString;
          a.s = ja["s"].get<std::string>();
        } else if (ja.contains("ints")) {
          a.kind = Attribute::Kind::kInts;
          a.ints = ja["ints"].get<std::vector<int64_t>>();
        } else if (ja.contains("floats")) {
          a.kind = Attribute::Kind::kFloats;
          for (uint32_t b : ja["floats"].get<std::vector<uint32_t>>())
            a.floats.push_back(bits_float(b));
        } else if (ja.contains("strings")) {
          a.kind = Attribute::Kind::kStrings;
          a.strings = ja["strings"].get<std::vector<std::string>>();
        } else if (ja.contains("t")) {
          a.kind = Attribute::Kind::kTensor;
          TARMAC_ASSIGN_OR_RETURN(Tensor t,
                                  read_tensor(ja["t"], bytes, owner, blob_at,
                                              fmt::format("{} node '{}'", what, n->name)));
          a.tensor = std::make_shared<const Tensor>(std::move(t));
        } else {
          return invalid_argument("{}: node '{}' attribute '{}' has no known kind", what, n->name,
                                  name);
        }
        n->attrs[name] = std::move(a);
      }
      g.add_node(std::move(n));
    }
    g.relink();
    TARMAC_RETURN_IF_ERROR(g.sort());
    return m;
  } catch (const json::exception& e) {
    return invalid_argument("{}: malformed description ({})", what, e.what());
  }
}

}  // namespace tarmac
