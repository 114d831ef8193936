#include "gpu_test_util.h"

#include <cmath>
#include <memory>

#include "backends/cuda/cuda_backend.h"
#include "backends/cuda/cuda_common.h"
#include "ir/inference.h"
#include "ir/verifier.h"

namespace tarmac::testing {

namespace {

GpuCase& set_attr(GpuCase& c, const std::string& n, Attribute a) {
  c.attrs[n] = std::move(a);
  return c;
}

}  // namespace

GpuCase& GpuCase::attr_int(const std::string& n, int64_t v) {
  Attribute a;
  a.kind = Attribute::Kind::kInt;
  a.i = v;
  return set_attr(*this, n, a);
}
GpuCase& GpuCase::attr_float(const std::string& n, float v) {
  Attribute a;
  a.kind = Attribute::Kind::kFloat;
  a.f = v;
  return set_attr(*this, n, a);
}
GpuCase& GpuCase::attr_string(const std::string& n, const std::string& v) {
  Attribute a;
  a.kind = Attribute::Kind::kString;
  a.s = v;
  return set_attr(*this, n, a);
}
GpuCase& GpuCase::attr_ints(const std::string& n, std::vector<int64_t> v) {
  Attribute a;
  a.kind = Attribute::Kind::kInts;
  a.ints = std::move(v);
  return set_attr(*this, n, a);
}
GpuCase& GpuCase::attr_floats(const std::string& n, std::vector<float> v) {
  Attribute a;
  a.kind = Attribute::Kind::kFloats;
  a.floats = std::move(v);
  return set_attr(*this, n, a);
}

Status gpu_available() { return cuda::device_available(); }

StatusOr<GpuResult> run_gpu_case(const GpuCase& c) {
  TARMAC_RETURN_IF_ERROR(cuda::device_available());
  Graph g;
  auto node = std::make_unique<Node>();
  node->op_type = c.op;
  node->domain = c.domain;
  node->name = "node";
  node->attrs = c.attrs;
  std::vector<const Tensor*> host_inputs;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    if (!c.present[i]) {
      node->inputs.push_back(nullptr);
      host_inputs.push_back(nullptr);
      continue;
    }
    Value* v = g.get_or_add_value("in" + std::to_string(i));
    v->type.dtype = c.inputs[i].dtype();
    v->type.has_shape = true;
    v->type.shape = shape_from_dims(c.inputs[i].dims());
    if (c.constant[i]) {
      v->is_initializer = true;
      v->constant = std::make_shared<const Tensor>(c.inputs[i]);
    } else {
      v->is_graph_input = true;
      g.inputs.push_back(v);
    }
    node->inputs.push_back(v);
    host_inputs.push_back(&c.inputs[i]);
  }
  for (size_t i = 0; i < c.num_outputs; ++i) {
    Value* v = g.get_or_add_value("out" + std::to_string(i));
    v->is_graph_output = true;
    g.outputs.push_back(v);
    node->outputs.push_back(v);
  }
  Node* n = g.add_node(std::move(node));
  TARMAC_RETURN_IF_ERROR(verify_and_infer(g, c.opset, {}));

  GpuResult r;
  TARMAC_ASSIGN_OR_RETURN(r.cpu, evaluate_node_on_cpu(*n, c.opset, host_inputs));

  auto backend = make_cuda_backend();
  TARMAC_ASSIGN_OR_RETURN(auto kernel, backend->make_device_kernel(*n, c.opset, "", c.config));
  cudaStream_t stream = nullptr;
  TARMAC_CUDA_CHECK(cudaStreamCreate(&stream));
  std::unique_ptr<CUstream_st, void (*)(cudaStream_t)> stream_guard(
      stream, [](cudaStream_t s) { cudaStreamDestroy(s); });
  TARMAC_ASSIGN_OR_RETURN(auto handles, cuda::HandleSet::create(stream));
  LaunchContext ctx;
  ctx.stream = stream;
  ctx.handles = const_cast<cuda::Handles*>(&handles->handles());
  TARMAC_RETURN_IF_ERROR(kernel->initialize(ctx));
  TARMAC_ASSIGN_OR_RETURN(cuda::DeviceBuffer workspace,
                          cuda::DeviceBuffer::allocate(kernel->workspace_bytes()));
  ctx.workspace = workspace.get();
  ctx.workspace_bytes = workspace.bytes();

  std::vector<cuda::DeviceBuffer> buffers;
  std::vector<TensorView> ins, outs;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    if (!c.present[i]) {
      ins.push_back(TensorView{});
      continue;
    }
    const Tensor& t = c.inputs[i];
    // One spare byte so empty tensors still get a distinct non-null pointer.
    TARMAC_ASSIGN_OR_RETURN(cuda::DeviceBuffer b, cuda::DeviceBuffer::allocate(t.nbytes() + 1));
    if (t.nbytes() > 0)
      TARMAC_CUDA_CHECK(cudaMemcpy(b.get(), t.raw(), t.nbytes(), cudaMemcpyHostToDevice));
    ins.push_back(TensorView{t.dtype(), t.dims(), b.get()});
    buffers.push_back(std::move(b));
  }
  for (size_t i = 0; i < c.num_outputs; ++i) {
    const ValueType& vt = n->outputs[i]->type;
    TensorView v{vt.dtype, static_dims(vt.shape), nullptr};
    TARMAC_ASSIGN_OR_RETURN(cuda::DeviceBuffer b, cuda::DeviceBuffer::allocate(v.nbytes() + 1));
    // Poison outputs so a kernel that skips elements cannot pass by accident.
    TARMAC_CUDA_CHECK(cudaMemset(b.get(), 0xFF, v.nbytes() + 1));
    v.data = b.get();
    outs.push_back(v);
    buffers.push_back(std::move(b));
  }
  TARMAC_RETURN_IF_ERROR(kernel->enqueue(ins, outs, ctx));
  TARMAC_CUDA_CHECK(cudaStreamSynchronize(stream));
  for (const TensorView& v : outs) {
    TARMAC_ASSIGN_OR_RETURN(Tensor t, Tensor::create(v.dtype, v.dims));
    if (v.nbytes() > 0)
      TARMAC_CUDA_CHECK(cudaMemcpy(t.raw(), v.data, v.nbytes(), cudaMemcpyDeviceToHost));
    r.gpu.push_back(std::move(t));
  }
  return r;
}

void expect_gpu_matches_cpu(const GpuCase& c, double tol) {
  auto r = run_gpu_case(c);
  ASSERT_TRUE(r.is_ok()) << c.op << ": " << r.status().message();
  ASSERT_EQ(r->cpu.size(), r->gpu.size());
  for (size_t i = 0; i < r->cpu.size(); ++i) {
    const Tensor& a = r->gpu[i];
    const Tensor& b = r->cpu[i];
    ASSERT_EQ(a.dtype(), b.dtype()) << c.op << " output " << i;
    ASSERT_EQ(a.dims(), b.dims()) << c.op << " output " << i << ": gpu " << dims_to_string(a.dims())
                                  << " cpu " << dims_to_string(b.dims());
    const double err = relative_l2_error(a, b);
    EXPECT_LE(err, is_floating(b.dtype()) ? tol : 0.0)
        << c.op << " output " << i << " " << dims_to_string(b.dims()) << " "
        << dtype_name(b.dtype());
  }
}

}  // namespace tarmac::testing
