// IR -> ONNX export: hand-built and real models are exported, re-imported and compared; the
// exported conformance model is run against its reference outputs.
#include "onnx/exporter.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "onnx/importer.h"
#include "onnx/onnx.pb.h"
#include "runtime/executor.h"

namespace tarmac {
namespace {

namespace fs = std::filesystem;

constexpr const char* kNodeTestDir = "/usr/share/libonnx-testdata/data/node";
constexpr const char* kPytorchTestDir = "/usr/share/libonnx-testdata/data/pytorch-converted";

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "tarmac_exporter_test_XXXXXX").string();
    const char* p = mkdtemp(tmpl.data());
    EXPECT_NE(p, nullptr) << "mkdtemp failed";
    path_ = p ? fs::path(p) : fs::temp_directory_path();
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  std::vector<std::string> entries() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(path_)) out.push_back(e.path().filename());
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  fs::path path_;
};

// ---- building IR models by hand ---------------------------------------------------------

Model make_model() {
  Model m;
  m.ir_version = 8;
  m.producer_name = "tarmac-exporter-test";
  m.opsets[""] = 17;
  m.graph.name = "test";
  return m;
}

Value* add_input(Model* m, const std::string& name, DType dtype, Shape shape) {
  Value* v = m->graph.get_or_add_value(name);
  v->type.dtype = dtype;
  v->type.has_shape = true;
  v->type.shape = std::move(shape);
  v->is_graph_input = true;
  m->graph.inputs.push_back(v);
  return v;
}

Value* add_initializer(Model* m, const std::string& name, Tensor t) {
  Value* v = m->graph.get_or_add_value(name);
  v->is_initializer = true;
  v->type.dtype = t.dtype();
  v->type.has_shape = true;
  v->type.shape = shape_from_dims(t.dims());
  v->constant = std::make_shared<const Tensor>(std::move(t));
  return v;
}

Node* add_node(Model* m, const std::string& op, const std::string& name,
               const std::vector<Value*>& inputs, const std::vector<std::string>& outputs) {
  auto n = std::make_unique<Node>();
  n->op_type = op;
  n->name = name;
  n->inputs = inputs;
  for (const auto& o : outputs) {
    n->outputs.push_back(o.empty() ? nullptr : m->graph.get_or_add_value(o));
  }
  Node* node = m->graph.add_node(std::move(n));
  m->graph.relink();
  return node;
}

void add_output(Model* m, Value* v) {
  v->is_graph_output = true;
  m->graph.outputs.push_back(v);
}

Value* value(Model* m, const std::string& name) { return m->graph.find_value(name); }

/// A tensor filled with random bytes (bool: random 0/1), so every bit pattern is exercised,
/// NaN payloads and negative zeros included.
Tensor random_tensor(DType dtype, Dims dims, uint32_t seed) {
  Tensor t = Tensor::zeros(dtype, std::move(dims));
  std::mt19937 rng(seed);
  auto* p = static_cast<uint8_t*>(t.raw());
  for (size_t i = 0; i < t.nbytes(); ++i) {
    p[i] = dtype == DType::kBool ? static_cast<uint8_t>(rng() & 1) : static_cast<uint8_t>(rng());
  }
  return t;
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.dims() == b.dims() && a.nbytes() == b.nbytes() &&
         (a.nbytes() == 0 || std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0);
}

// ---- roundtrips ---------------------------------------------------------------------

onnx::ModelProto to_proto(const Model& m) {
  auto bytes = export_onnx_bytes(m);
  EXPECT_TRUE(bytes.is_ok()) << bytes.status().message();
  onnx::ModelProto p;
  EXPECT_TRUE(bytes.is_ok() && p.ParseFromString(*bytes));
  return p;
}

/// Export to bytes and import again.
StatusOr<Model> roundtrip(const Model& m) {
  TARMAC_ASSIGN_OR_RETURN(std::string bytes, export_onnx_bytes(m));
  TARMAC_ASSIGN_OR_RETURN(ImportResult r, import_onnx_bytes(bytes, ""));
  return std::move(r.model);
}

const Node* find_node(const Model& m, const std::string& name) {
  for (const auto& n : m.graph.nodes)
    if (n->name == name) return n.get();
  return nullptr;
}

::testing::AssertionResult fails_with(const Status& s,
                                      std::initializer_list<std::string_view> parts) {
  if (s.is_ok()) return ::testing::AssertionFailure() << "expected an error, got OK";
  for (std::string_view p : parts) {
    if (s.message().find(p) == std::string::npos) {
      return ::testing::AssertionFailure()
             << "message '" << s.message() << "' does not mention '" << p << "'";
    }
  }
  return ::testing::AssertionSuccess();
}

/// Runs `model` on the tensors of `test_dir`/test_data_set_0/input_*.pb (in graph-input order)
/// and compares with output_*.pb.
void run_and_compare(Model model, const fs::path& test_dir, double rtol = 1e-4,
                     double atol = 1e-5) {
  const fs::path set = test_dir / "test_data_set_0";
  std::vector<std::pair<std::string, Tensor>> inputs;
  for (size_t i = 0; i < model.graph.inputs.size(); ++i) {
    auto t = load_tensor_proto_file((set / fmt::format("input_{}.pb", i)).string());
    ASSERT_TRUE(t.is_ok()) << t.status().message();
    inputs.emplace_back(model.graph.inputs[i]->name, std::move(t).value());
  }
  auto ex = Executor::create(std::move(model), {});
  ASSERT_TRUE(ex.is_ok()) << ex.status().message();
  std::vector<Tensor> outputs;
  Status st = (*ex)->run(inputs, &outputs);
  ASSERT_TRUE(st.is_ok()) << st.message();
  for (size_t i = 0; i < outputs.size(); ++i) {
    auto want = load_tensor_proto_file((set / fmt::format("output_{}.pb", i)).string());
    ASSERT_TRUE(want.is_ok()) << want.status().message();
    ASSERT_EQ(outputs[i].dtype(), want->dtype());
    ASSERT_EQ(outputs[i].dims(), want->dims());
    for (int64_t k = 0; k < want->numel(); ++k) {
      const double a = outputs[i].as_double(k), b = want->as_double(k);
      ASSERT_LE(std::abs(a - b), atol + rtol * std::abs(b)) << "output " << i << " element " << k;
    }
  }
}

// ---- nodes, attributes, optional inputs -------------------------------------------------

TEST(ExporterNodes, OpsNamesDomainsAndOptionalInputsSurvive) {
  Model m = make_model();
  Value* x = add_input(&m, "x", DType::kFloat32, {2, 3});
  Value* hi = add_initializer(&m, "hi", Tensor::scalar(6.0f));
  // Clip(x, <absent min>, hi): an absent input in the middle stays an empty name.
  add_node(&m, "Clip", "clip.0", {x, nullptr, hi}, {"c"});
  // Dropout(c, <absent>, <absent>) -> (d, <absent mask>): trailing absent inputs are dropped.
  Node* drop = add_node(&m, "Dropout", "drop.0", {value(&m, "c"), nullptr, nullptr}, {"d", ""});
  drop->domain = "ai.onnx";
  add_node(&m, "Relu", "relu.0", {value(&m, "d")}, {"y"});
  add_output(&m, value(&m, "y"));

  const onnx::ModelProto p = to_proto(m);
  ASSERT_EQ(p.graph().node_size(), 3);
  const auto& clip = p.graph().node(0);
  ASSERT_EQ(clip.input_size(), 3);
  EXPECT_EQ(clip.input(1), "");
  const auto& dp = p.graph().node(1);
  EXPECT_EQ(dp.domain(), "ai.onnx");
  EXPECT_EQ(dp.input_size(), 1);
  ASSERT_EQ(dp.output_size(), 2);
  EXPECT_EQ(dp.output(1), "");
  EXPECT_EQ(p.graph().node(2).domain(), "");

  auto r = roundtrip(m);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  ASSERT_EQ(r->graph.nodes.size(), 3u);
  const char* names[] = {"clip.0", "drop.0", "relu.0"};
  const char* ops[] = {"Clip", "Dropout", "Relu"};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(r->graph.nodes[i]->name, names[i]);
    EXPECT_EQ(r->graph.nodes[i]->op_type, ops[i]);
  }
  const Node* c = find_node(*r, "clip.0");
  ASSERT_EQ(c->inputs.size(), 3u);
  EXPECT_EQ(c->inputs[0]->name, "x");
  EXPECT_EQ(c->inputs[1], nullptr);
  EXPECT_EQ(c->inputs[2]->name, "hi");
  const Node* d = find_node(*r, "drop.0");
  EXPECT_EQ(d->num_inputs(), 1u);
  ASSERT_EQ(d->outputs.size(), 2u);
  EXPECT_EQ(d->outputs[1], nullptr);
  ASSERT_EQ(r->graph.outputs.size(), 1u);
  EXPECT_EQ(r->graph.outputs[0]->name, "y");
}

TEST(ExporterNodes, EveryAttributeKindRoundtrips) {
  Model m = make_model();
  Value* x = add_input(&m, "x", DType::kFloat32, {4});
  Node* n = add_node(&m, "Identity", "attrs", {x}, {"y"});
  add_output(&m, value(&m, "y"));
  auto attr = [](Attribute::Kind k) {
    Attribute a;
    a.kind = k;
    return a;
  };
  Attribute ai = attr(Attribute::Kind::kInt);
  ai.i = -(int64_t{1} << 40);
  Attribute af = attr(Attribute::Kind::kFloat);
  af.f = 0.1f;
  Attribute as = attr(Attribute::Kind::kString);
  as.s = std::string("bi\0nary", 7);
  Attribute ais = attr(Attribute::Kind::kInts);
  ais.ints = {1, -2, std::numeric_limits<int64_t>::max()};
  Attribute afs = attr(Attribute::Kind::kFloats);
  afs.floats = {1.5f, -0.0f, 3e-38f};
  Attribute ass = attr(Attribute::Kind::kStrings);
  ass.strings = {"a", "", "ccc"};
  Attribute at = attr(Attribute::Kind::kTensor);
  at.tensor = std::make_shared<const Tensor>(random_tensor(DType::kFloat16, {3, 2}, 5));
  Attribute aempty = attr(Attribute::Kind::kInts);  // an empty list keeps its kind
  n->attrs = {{"i", ai},       {"f", af},        {"s", as}, {"ints", ais},
              {"floats", afs}, {"strings", ass}, {"t", at}, {"empty", aempty}};

  auto r = roundtrip(m);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  const Node* g = find_node(*r, "attrs");
  ASSERT_NE(g, nullptr);
  ASSERT_EQ(g->attrs.size(), n->attrs.size());
  for (const auto& [name, want] : n->attrs) {
    SCOPED_TRACE(name);
    const Attribute& got = g->attrs.at(name);
    EXPECT_EQ(got.kind, want.kind);
    EXPECT_EQ(got.i, want.i);
    EXPECT_EQ(std::memcmp(&got.f, &want.f, sizeof(float)), 0);
    EXPECT_EQ(got.s, want.s);
    EXPECT_EQ(got.ints, want.ints);
    ASSERT_EQ(got.floats.size(), want.floats.size());
    EXPECT_EQ(std::memcmp(got.floats.data(), want.floats.data(), got.floats.size() * 4), 0);
    EXPECT_EQ(got.strings, want.strings);
    ASSERT_EQ(got.tensor == nullptr, want.tensor == nullptr);
    if (want.tensor) {
      EXPECT_TRUE(same_bytes(*got.tensor, *want.tensor));
    }
  }
}

TEST(ExporterNodes, InternalDomainNodeIsRefusedByName) {
  Model m = make_model();
  Value* x = add_input(&m, "x", DType::kFloat32, {1, 3, 8, 8});
  Node* n = add_node(&m, "FusedConvRelu", "backbone.0.fused", {x}, {"y"});
  n->domain = "tarmac";
  add_output(&m, value(&m, "y"));
  EXPECT_TRUE(fails_with(export_onnx_bytes(m).status(),
                         {"FusedConvRelu", "backbone.0.fused", "tarmac", "domain"}));
  TempDir dir;
  const std::string path = (dir.path() / "m.onnx").string();
  EXPECT_TRUE(fails_with(export_onnx_file(m, path), {"backbone.0.fused"}));
  EXPECT_TRUE(dir.entries().empty()) << "a failed export must leave no file behind";
}

TEST(ExporterNodes, SubgraphAndUnknownAttributesAreRefusedByName) {
  for (Attribute::Kind kind : {Attribute::Kind::kGraph, Attribute::Kind::kOther}) {
    Model m = make_model();
    Value* x = add_input(&m, "x", DType::kFloat32, {2});
    Node* n = add_node(&m, "Identity", "odd.node", {x}, {"y"});
    n->attrs["body"].kind = kind;
    add_output(&m, value(&m, "y"));
    EXPECT_TRUE(fails_with(export_onnx_bytes(m).status(), {"odd.node", "'body'"}));
  }
}

TEST(ExporterGraph, DanglingInputAndOutputAreErrors) {
  Model m = make_model();
  Value* x = add_input(&m, "x", DType::kFloat32, {2});
  Value* ghost = m.graph.get_or_add_value("ghost");
  add_node(&m, "Add", "add.0", {x, ghost}, {"y"});
  add_output(&m, value(&m, "y"));
  EXPECT_TRUE(fails_with(export_onnx_bytes(m).status(), {"add.0", "ghost"}));

  Model m2 = make_model();
  add_input(&m2, "x", DType::kFloat32, {2});
  add_output(&m2, m2.graph.get_or_add_value("nowhere"));
  EXPECT_TRUE(fails_with(export_onnx_bytes(m2).status(), {"nowhere", "graph output"}));
}

TEST(ExporterGraph, GraphOutputThatIsAnInputOrAnInitializer) {
  Model m = make_model();
  Value* x = add_input(&m, "x", DType::kFloat32, {2});
  add_node(&m, "Relu", "relu", {x}, {"y"});
  add_output(&m, x);  // passes through unchanged
  add_output(&m, value(&m, "y"));
  const Tensor k = random_tensor(DType::kInt64, {3}, 9);
  add_output(&m, add_initializer(&m, "k", k));

  auto r = roundtrip(m);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  ASSERT_EQ(r->graph.inputs.size(), 1u);
  ASSERT_EQ(r->graph.outputs.size(), 3u);
  EXPECT_EQ(r->graph.outputs[0], r->graph.inputs[0]);
  EXPECT_EQ(r->graph.outputs[1]->name, "y");
  EXPECT_TRUE(r->graph.outputs[2]->is_initializer);
  EXPECT_TRUE(same_bytes(*r->graph.outputs[2]->constant, k));
}

// ---- initializers --------------------------------------------------------------------

TEST(ExporterInitializers, ContentsAreBitIdenticalForEveryDtype) {
  const DType dtypes[] = {DType::kFloat32, DType::kFloat16, DType::kBFloat16,
                          DType::kInt64,   DType::kInt8,    DType::kUint8,
                          DType::kBool,    DType::kFloat64, DType::kInt32};
  Model m = make_model();
  std::vector<Tensor> want;
  uint32_t seed = 1;
  for (DType dt : dtypes) {
    for (const Dims& dims : {Dims{3, 5}, Dims{}, Dims{0, 4}}) {
      const std::string name = fmt::format("w_{}_{}", dtype_name(dt), want.size());
      want.push_back(random_tensor(dt, dims, seed++));
      Value* w = add_initializer(&m, name, want.back());
      add_node(&m, "Identity", "id_" + name, {w}, {"out_" + name});
      add_output(&m, value(&m, "out_" + name));
    }
  }
  add_initializer(&m, "unused", Tensor::scalar(1.0f));  // not referenced: not written

  const onnx::ModelProto p = to_proto(m);
  EXPECT_EQ(p.graph().initializer_size(), static_cast<int>(want.size()));
  EXPECT_EQ(p.graph().input_size(), 0) << "initializers are not graph inputs";
  auto r = roundtrip(m);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->graph.find_value("unused"), nullptr);
  size_t i = 0;
  for (DType dt : dtypes) {
    for (int k = 0; k < 3; ++k, ++i) {
      const Value* v = r->graph.find_value(fmt::format("w_{}_{}", dtype_name(dt), i));
      ASSERT_NE(v, nullptr);
      ASSERT_TRUE(v->is_initializer && v->constant);
      EXPECT_TRUE(same_bytes(*v->constant, want[i])) << v->name;
    }
  }
}

TEST(ExporterInitializers, TensorToProtoUsesRawLittleEndianData) {
  Tensor h = Tensor::from_vector<Half>({Half(1.0f), Half(-2.0f)}, {2});
  onnx::TensorProto p = tensor_to_proto(h, "h");
  EXPECT_EQ(p.name(), "h");
  EXPECT_EQ(p.data_type(), onnx::TensorProto::FLOAT16);
  ASSERT_EQ(p.raw_data().size(), 4u);
  EXPECT_EQ(static_cast<uint8_t>(p.raw_data()[0]), 0x00);  // 1.0 = 0x3C00
  EXPECT_EQ(static_cast<uint8_t>(p.raw_data()[1]), 0x3C);
  Tensor b = Tensor::from_vector<bool>({true, false, true}, {3});
  p = tensor_to_proto(b, "b");
  EXPECT_EQ(p.data_type(), onnx::TensorProto::BOOL);
  EXPECT_EQ(p.raw_data(), std::string("\x01\x00\x01", 3));
  p = tensor_to_proto(Tensor::zeros(DType::kFloat32, {0, 7}), "e");
  EXPECT_TRUE(p.has_raw_data());
  EXPECT_TRUE(p.raw_data().empty());
  ASSERT_EQ(p.dims_size(), 2);
  EXPECT_EQ(p.dims(1), 7);
}

// ---- model fields, types ----------------------------------------------------------------

TEST(ExporterModel, MetadataProducerAndOpsetsSurvive) {
  Model m = make_model();
  m.ir_version = 9;
  m.producer_name = "pytorch";
  m.producer_version = "2.4.0";
  m.domain = "ai.tarmac.test";
  m.model_version = 42;
  m.doc_string = "a doc string";
  m.opsets = {{"", 17}, {"com.example", 3}};
  m.metadata = {{"zeta", "1"}, {"alpha", "2"}, {"mid", ""}};  // not sorted: order is kept
  Value* x = add_input(&m, "x", DType::kFloat32, {2});
  add_node(&m, "Relu", "r", {x}, {"y"});
  add_output(&m, value(&m, "y"));

  auto r = roundtrip(m);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->ir_version, 9);
  EXPECT_EQ(r->producer_name, "pytorch");
  EXPECT_EQ(r->producer_version, "2.4.0");
  EXPECT_EQ(r->domain, "ai.tarmac.test");
  EXPECT_EQ(r->model_version, 42);
  EXPECT_EQ(r->doc_string, "a doc string");
  EXPECT_EQ(r->opsets, m.opsets);
  EXPECT_EQ(r->metadata, m.metadata);

  m.ir_version = 0;
  EXPECT_EQ(to_proto(m).ir_version(), 8);
  m.opsets = {{"ai.onnx", 13}};
  const onnx::ModelProto p = to_proto(m);
  ASSERT_EQ(p.opset_import_size(), 1);
  EXPECT_EQ(p.opset_import(0).domain(), "");
  EXPECT_EQ(p.opset_import(0).version(), 13);
  m.opsets.clear();
  EXPECT_TRUE(fails_with(export_onnx_bytes(m).status(), {"opset"}));
}

TEST(ExporterTypes, SymbolicDimsInputsOutputsAndValueInfo) {
  Model m = make_model();
  Value* x = add_input(&m, "x", DType::kFloat16, {Dim::sym("batch"), 3, Dim(), 4});
  Value* w = add_initializer(&m, "w", random_tensor(DType::kFloat16, {4}, 3));
  add_node(&m, "Mul", "mul", {x, w}, {"t"});
  value(&m, "t")->type = x->type;  // an inferred intermediate type
  add_node(&m, "Relu", "relu", {value(&m, "t")}, {"u"});
  value(&m, "u")->type.dtype = DType::kFloat16;  // rank unknown
  add_node(&m, "Relu", "relu2", {value(&m, "u")}, {"y"});
  add_output(&m, value(&m, "y"));  // nothing known about it

  const onnx::ModelProto p = to_proto(m);
  ASSERT_EQ(p.graph().input_size(), 1);
  const auto& in = p.graph().input(0).type().tensor_type();
  EXPECT_EQ(in.elem_type(), onnx::TensorProto::FLOAT16);
  ASSERT_EQ(in.shape().dim_size(), 4);
  EXPECT_EQ(in.shape().dim(0).dim_param(), "batch");
  EXPECT_EQ(in.shape().dim(1).dim_value(), 3);
  EXPECT_FALSE(in.shape().dim(2).has_dim_value());
  EXPECT_FALSE(in.shape().dim(2).has_dim_param());
  ASSERT_EQ(p.graph().value_info_size(), 2);
  EXPECT_EQ(p.graph().value_info(0).name(), "t");
  EXPECT_EQ(p.graph().value_info(0).type().tensor_type().shape().dim(0).dim_param(), "batch");
  EXPECT_EQ(p.graph().value_info(1).name(), "u");
  EXPECT_FALSE(p.graph().value_info(1).type().tensor_type().has_shape());
  ASSERT_EQ(p.graph().output_size(), 1);
  EXPECT_FALSE(p.graph().output(0).has_type());

  auto r = roundtrip(m);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(shape_to_string(r->graph.inputs[0]->type.shape), "[batch, 3, ?, 4]");
  EXPECT_EQ(r->graph.find_value("t")->type.to_string(), x->type.to_string());
  EXPECT_FALSE(r->graph.find_value("u")->type.has_shape);
  EXPECT_EQ(r->graph.find_value("u")->type.dtype, DType::kFloat16);
}

// ---- files and external data ----------------------------------------------------------

TEST(ExporterFile, ExternalDataIsAlignedSmallAndRoundtrips) {
  Model m = make_model();
  Value* x = add_input(&m, "x", DType::kFloat32, {64, 256});
  std::vector<Tensor> big;
  Value* cur = x;
  for (int i = 0; i < 3; ++i) {
    big.push_back(random_tensor(DType::kFloat32, {64, 256}, 100 + i));  // 64 KiB each
    Value* w = add_initializer(&m, fmt::format("w{}", i), big.back());
    add_node(&m, "Add", fmt::format("add{}", i), {cur, w}, {fmt::format("a{}", i)});
    cur = value(&m, fmt::format("a{}", i));
  }
  const Tensor small = random_tensor(DType::kFloat32, {3}, 7);  // 12 bytes: stays inline
  add_node(&m, "Add", "add_small", {cur, add_initializer(&m, "small", small)}, {"y"});
  // A large Constant attribute always stays inline.
  Node* c = add_node(&m, "Constant", "const", {}, {"k"});
  c->attrs["value"].kind = Attribute::Kind::kTensor;
  c->attrs["value"].tensor = std::make_shared<const Tensor>(random_tensor(DType::kInt8, {5000}, 8));
  add_output(&m, value(&m, "y"));
  add_output(&m, value(&m, "k"));

  TempDir dir;
  const std::string path = (dir.path() / "model.onnx").string();
  ExportOptions o;
  o.external_data_file = "model.weights";
  Status st = export_onnx_file(m, path, o);
  ASSERT_TRUE(st.is_ok()) << st.message();
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"model.onnx", "model.weights"}))
      << "temp files must be renamed away";
  const size_t weight_bytes = 3 * 64 * 256 * 4;
  EXPECT_GE(fs::file_size(dir.path() / "model.weights"), weight_bytes);
  EXPECT_LT(fs::file_size(path), weight_bytes / 10);

  onnx::ModelProto p;
  {
    std::ifstream in(path, std::ios::binary);
    ASSERT_TRUE(p.ParseFromIstream(&in));
  }
  int external = 0;
  for (const auto& t : p.graph().initializer()) {
    if (t.data_location() != onnx::TensorProto::EXTERNAL) {
      EXPECT_EQ(t.name(), "small");
      continue;
    }
    ++external;
    EXPECT_FALSE(t.has_raw_data());
    for (const auto& kv : t.external_data()) {
      if (kv.key() == "location") {
        EXPECT_EQ(kv.value(), "model.weights");
      }
      if (kv.key() == "offset") {
        EXPECT_EQ(std::stoll(kv.value()) % 4096, 0);
      }
      if (kv.key() == "length") {
        EXPECT_EQ(std::stoll(kv.value()), 64 * 256 * 4);
      }
    }
  }
  EXPECT_EQ(external, 3);

  auto r = import_onnx_file(path);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  for (int i = 0; i < 3; ++i) {
    const Value* w = r->model.graph.find_value(fmt::format("w{}", i));
    ASSERT_NE(w, nullptr);
    EXPECT_TRUE(same_bytes(*w->constant, big[static_cast<size_t>(i)]));
  }
  EXPECT_TRUE(same_bytes(*r->model.graph.find_value("small")->constant, small));
  const Node* rc = find_node(r->model, "const");
  ASSERT_NE(rc, nullptr);
  EXPECT_TRUE(same_bytes(*rc->attr_tensor("value"), *c->attr_tensor("value")));

  // Exporting again over the same files replaces them; without external data all is inline.
  st = export_onnx_file(m, path);
  ASSERT_TRUE(st.is_ok()) << st.message();
  EXPECT_GT(fs::file_size(path), weight_bytes);
  auto r2 = import_onnx_file(path);
  ASSERT_TRUE(r2.is_ok()) << r2.status().message();
  EXPECT_TRUE(same_bytes(*r2->model.graph.find_value("w2")->constant, big[2]));
}

TEST(ExporterFile, ZeroThresholdMovesEveryNonEmptyInitializer) {
  Model m = make_model();
  const Tensor a = random_tensor(DType::kBool, {5}, 11);
  const Tensor empty = Tensor::zeros(DType::kFloat32, {0, 2});  // last: stays inline
  add_node(&m, "Concat", "cat", {add_initializer(&m, "a", a), add_initializer(&m, "e", empty)},
           {"y"});
  add_output(&m, value(&m, "y"));
  TempDir dir;
  ExportOptions o;
  o.external_data_file = "w.bin";
  o.external_threshold_bytes = 0;
  Status st = export_onnx_file(m, (dir.path() / "m.onnx").string(), o);
  ASSERT_TRUE(st.is_ok()) << st.message();
  EXPECT_EQ(fs::file_size(dir.path() / "w.bin"), 5u);
  auto r = import_onnx_file((dir.path() / "m.onnx").string());
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_TRUE(same_bytes(*r->model.graph.find_value("a")->constant, a));
  EXPECT_TRUE(same_bytes(*r->model.graph.find_value("e")->constant, empty));
}

TEST(ExporterFile, BadPathsAreErrors) {
  Model m = make_model();
  Value* x = add_input(&m, "x", DType::kFloat32, {2});
  add_node(&m, "Relu", "r", {x}, {"y"});
  add_output(&m, value(&m, "y"));
  TempDir dir;
  const std::string path = (dir.path() / "m.onnx").string();
  for (const char* bad : {"../w.bin", "sub/w.bin", "/tmp/w.bin", "..", "m.onnx"}) {
    ExportOptions o;
    o.external_data_file = bad;
    EXPECT_TRUE(fails_with(export_onnx_file(m, path, o), {"external data file"})) << bad;
  }
  EXPECT_TRUE(fails_with(export_onnx_file(m, (dir.path() / "no/such/dir/m.onnx").string()),
                         {"no/such/dir"}));
  EXPECT_TRUE(dir.entries().empty());
}

// ---- real models ---------------------------------------------------------------------

TEST(ExporterReal, PytorchConv2dWithInitializersRoundtripsAndRuns) {
  const fs::path dir = fs::path(kPytorchTestDir) / "test_Conv2d";
  if (!fs::exists(dir / "model.onnx")) GTEST_SKIP() << dir << " is missing (libonnx-testdata)";
  auto orig = import_onnx_file((dir / "model.onnx").string());
  ASSERT_TRUE(orig.is_ok()) << orig.status().message();
  const onnx::ModelProto p = to_proto(orig->model);
  // The file lists its weights as graph inputs (IR v3); the export does not.
  ASSERT_EQ(p.graph().input_size(), 1);
  EXPECT_GE(p.ir_version(), 4);
  EXPECT_EQ(p.graph().initializer_size(), 2);

  auto r = roundtrip(orig->model);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  for (const auto& v : orig->model.graph.values) {
    if (!v->is_initializer) continue;
    const Value* got = r->graph.find_value(v->name);
    ASSERT_NE(got, nullptr) << v->name;
    EXPECT_TRUE(same_bytes(*got->constant, *v->constant)) << v->name;
  }
  run_and_compare(std::move(r).value(), dir);
}

TEST(ExporterReal, ConformanceConvWithStridesPaddingRunsAfterRoundtrip) {
  const fs::path dir = fs::path(kNodeTestDir) / "test_conv_with_strides_padding";
  if (!fs::exists(dir / "model.onnx")) GTEST_SKIP() << dir << " is missing (libonnx-testdata)";
  auto orig = import_onnx_file((dir / "model.onnx").string());
  ASSERT_TRUE(orig.is_ok()) << orig.status().message();
  TempDir tmp;
  const std::string path = (tmp.path() / "conv.onnx").string();
  Status st = export_onnx_file(orig->model, path);
  ASSERT_TRUE(st.is_ok()) << st.message();
  auto r = import_onnx_file(path);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  ASSERT_EQ(r->model.graph.nodes.size(), 1u);
  const Node& conv = *r->model.graph.nodes[0];
  EXPECT_EQ(conv.op_type, "Conv");
  EXPECT_EQ(conv.attr_ints("strides"), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(conv.attr_ints("pads"), (std::vector<int64_t>{1, 1, 1, 1}));
  EXPECT_EQ(r->model.opsets, orig->model.opsets);
  run_and_compare(std::move(r->model), dir);
}

}  // namespace
}  // namespace tarmac
