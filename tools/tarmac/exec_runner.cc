#include "exec_runner.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>

#if TARMAC_WITH_CUDA
#include <cuda_runtime.h>
#endif

namespace tarmac::cli {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start, Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(t - start).count();
}

/// One execution context in the loop: starts inferences and collects their timings.
class Lane {
 public:
  virtual ~Lane() = default;
  /// Starts one inference.
  virtual Status launch() = 0;
  /// Waits for the oldest inference in flight and appends its trace; returns its compute start
  /// in ms (0 when none was in flight), which drives the warm-up and duration checks.
  virtual StatusOr<double> collect(std::vector<InferenceTrace>* trace) = 0;
  /// Collects every inference still in flight.
  virtual Status drain(std::vector<InferenceTrace>* trace) = 0;
  /// The outputs of the last inference.
  virtual StatusOr<std::vector<Tensor>> outputs() = 0;
};

/// A CPU context: execute() is synchronous, so an inference is done when launch() returns.
class CpuLane final : public Lane {
 public:
  CpuLane(ExecutionContext* ctx, int id, Clock::time_point* start)
      : ctx_(ctx), id_(id), start_(start) {}

  Status bind(const std::vector<NamedTensor>& inputs, const std::vector<NamedTensor>& outputs) {
    for (const auto& [name, t] : inputs) {
      inputs_.push_back(t.clone());
      TARMAC_RETURN_IF_ERROR(ctx_->set_tensor_address(name, address(inputs_.back())));
    }
    for (const auto& [name, t] : outputs) {
      outputs_.push_back(t.clone());
      TARMAC_RETURN_IF_ERROR(ctx_->set_tensor_address(name, address(outputs_.back())));
    }
    return ctx_->execute();  // untimed: binds the context to its shapes
  }

  Status launch() override {
    const Clock::time_point t0 = Clock::now();
    TARMAC_RETURN_IF_ERROR(ctx_->execute());
    const Clock::time_point t1 = Clock::now();
    InferenceTrace t;
    t.stream = id_;
    t.enq_start = t.h2d_start = t.h2d_end = t.compute_start = ms_since(*start_, t0);
    t.enq_end = t.compute_end = t.d2h_start = t.d2h_end = ms_since(*start_, t1);
    pending_ = t;
    has_pending_ = true;
    return Status::ok();
  }
  StatusOr<double> collect(std::vector<InferenceTrace>* trace) override {
    if (!has_pending_) return 0.0;
    has_pending_ = false;
    trace->push_back(pending_);
    return pending_.compute_start;
  }
  Status drain(std::vector<InferenceTrace>* trace) override { return collect(trace).status(); }
  StatusOr<std::vector<Tensor>> outputs() override {
    std::vector<Tensor> out;
    for (const Tensor& t : outputs_) out.push_back(t.clone());
    return out;
  }

 private:
  /// Empty tensors still need a non-null address.
  void* address(Tensor& t) { return t.nbytes() ? t.raw() : static_cast<void*>(&dummy_); }

  ExecutionContext* ctx_;
  int id_;
  Clock::time_point* start_;
  std::vector<Tensor> inputs_, outputs_;
  InferenceTrace pending_;
  bool has_pending_ = false;
  char dummy_ = 0;
};

#if TARMAC_WITH_CUDA

#define EXEC_CUDA(call)                                                                      \
  do {                                                                                       \
    const cudaError_t exec_cuda_e_ = (call);                                                 \
    if (exec_cuda_e_ != cudaSuccess)                                                         \
      return internal_error("CUDA: {} failed: {}", #call, cudaGetErrorString(exec_cuda_e_)); \
  } while (0)

/// The run's time origins: a device event recorded when every stream is idle, and the host
/// time beside it.
struct CudaStart {
  cudaStream_t stream = nullptr;
  cudaEvent_t event = nullptr;
  Clock::time_point host;
  ~CudaStart() {
    if (event) cudaEventDestroy(event);
    if (stream) cudaStreamDestroy(stream);
  }
};

/// A CUDA context on its own stream with pinned host and device buffers, two inferences deep.
class CudaLane final : public Lane {
 public:
  CudaLane(ExecutionContext* ctx, int id, const CudaStart* start, bool transfers)
      : ctx_(ctx), id_(id), start_(start), transfers_(transfers) {}
  ~CudaLane() override {
    if (stream_) cudaStreamSynchronize(stream_);
    for (Slot& s : slots_)
      for (cudaEvent_t e : s.events)
        if (e) cudaEventDestroy(e);
    for (Buffer& b : buffers_) {
      if (b.host) cudaFreeHost(b.host);
      if (b.device) cudaFree(b.device);
    }
    if (stream_) cudaStreamDestroy(stream_);
  }

  Status bind(const std::vector<NamedTensor>& inputs, const std::vector<NamedTensor>& outputs,
              bool spin_wait) {
    EXEC_CUDA(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    const unsigned flags = spin_wait ? cudaEventDefault : cudaEventBlockingSync;
    for (Slot& s : slots_)
      for (cudaEvent_t& e : s.events) EXEC_CUDA(cudaEventCreateWithFlags(&e, flags));
    auto add = [&](const NamedTensor& nt, bool input) -> Status {
      Buffer b{nt.first, nt.second.dtype(), nt.second.dims(), nt.second.nbytes(), input};
      const size_t alloc = std::max<size_t>(b.bytes, 1);
      buffers_.push_back(b);
      EXEC_CUDA(cudaMallocHost(&buffers_.back().host, alloc));
      EXEC_CUDA(cudaMalloc(&buffers_.back().device, alloc));
      if (input && b.bytes) std::memcpy(buffers_.back().host, nt.second.raw(), b.bytes);
      return ctx_->set_tensor_address(b.name, buffers_.back().device);
    };
    for (const NamedTensor& t : inputs) TARMAC_RETURN_IF_ERROR(add(t, true));
    for (const NamedTensor& t : outputs) TARMAC_RETURN_IF_ERROR(add(t, false));
    // Untimed: binds the context (and captures its CUDA graph when that is on).
    TARMAC_RETURN_IF_ERROR(copy(true));
    TARMAC_RETURN_IF_ERROR(ctx_->enqueue(stream_));
    TARMAC_RETURN_IF_ERROR(copy(false));
    EXEC_CUDA(cudaStreamSynchronize(stream_));
    return Status::ok();
  }

  Status launch() override {
    Slot& s = slots_[next_];
    if (transfers_) {
      EXEC_CUDA(cudaEventRecord(s.events[kH2dStart], stream_));
      TARMAC_RETURN_IF_ERROR(copy(true));
      EXEC_CUDA(cudaEventRecord(s.events[kH2dEnd], stream_));
    }
    EXEC_CUDA(cudaEventRecord(s.events[kComputeStart], stream_));
    s.enq_start = Clock::now();
    TARMAC_RETURN_IF_ERROR(ctx_->enqueue(stream_));
    s.enq_end = Clock::now();
    EXEC_CUDA(cudaEventRecord(s.events[kComputeEnd], stream_));
    if (transfers_) {
      EXEC_CUDA(cudaEventRecord(s.events[kD2hStart], stream_));
      TARMAC_RETURN_IF_ERROR(copy(false));
      EXEC_CUDA(cudaEventRecord(s.events[kD2hEnd], stream_));
    }
    s.active = true;
    next_ ^= 1;
    return Status::ok();
  }

  StatusOr<double> collect(std::vector<InferenceTrace>* trace) override {
    Slot& s = slots_[next_];
    if (!s.active) return 0.0;
    s.active = false;
    EXEC_CUDA(cudaEventSynchronize(s.events[transfers_ ? kD2hEnd : kComputeEnd]));
    double at[kEvents] = {};
    for (int e = 0; e < kEvents; ++e) {
      if (!transfers_ && (e == kH2dStart || e == kH2dEnd || e == kD2hStart || e == kD2hEnd))
        continue;
      float ms = 0;
      EXEC_CUDA(cudaEventElapsedTime(&ms, start_->event, s.events[e]));
      at[e] = ms;
    }
    if (!transfers_) {  // no copies: H2D and D2H are empty intervals around the compute
      at[kH2dStart] = at[kH2dEnd] = at[kComputeStart];
      at[kD2hStart] = at[kD2hEnd] = at[kComputeEnd];
    }
    InferenceTrace t;
    t.stream = id_;
    t.enq_start = ms_since(start_->host, s.enq_start);
    t.enq_end = ms_since(start_->host, s.enq_end);
    t.h2d_start = at[kH2dStart];
    t.h2d_end = at[kH2dEnd];
    t.compute_start = at[kComputeStart];
    t.compute_end = at[kComputeEnd];
    t.d2h_start = at[kD2hStart];
    t.d2h_end = at[kD2hEnd];
    trace->push_back(t);
    return t.compute_start;
  }

  Status drain(std::vector<InferenceTrace>* trace) override {
    for (int d = 0; d < 2; ++d) {
      TARMAC_RETURN_IF_ERROR(collect(trace).status());
      next_ ^= 1;
    }
    if (!transfers_) {  // the outputs were never copied back: fetch the last ones once
      TARMAC_RETURN_IF_ERROR(copy(false));
      EXEC_CUDA(cudaStreamSynchronize(stream_));
    }
    return Status::ok();
  }

  StatusOr<std::vector<Tensor>> outputs() override {
    std::vector<Tensor> out;
    for (const Buffer& b : buffers_) {
      if (b.input) continue;
      TARMAC_ASSIGN_OR_RETURN(Tensor t, Tensor::create(b.dtype, b.dims));
      if (b.bytes) std::memcpy(t.raw(), b.host, b.bytes);
      out.push_back(std::move(t));
    }
    return out;
  }

  /// Copies the inputs to the device (or the outputs back) on this lane's stream.
  Status copy(bool inputs) {
    for (const Buffer& b : buffers_) {
      if (b.input != inputs || b.bytes == 0) continue;
      if (inputs) {
        EXEC_CUDA(cudaMemcpyAsync(b.device, b.host, b.bytes, cudaMemcpyHostToDevice, stream_));
      } else {
        EXEC_CUDA(cudaMemcpyAsync(b.host, b.device, b.bytes, cudaMemcpyDeviceToHost, stream_));
      }
    }
    return Status::ok();
  }

 private:
  enum { kH2dStart, kH2dEnd, kComputeStart, kComputeEnd, kD2hStart, kD2hEnd, kEvents };
  struct Buffer {
    std::string name;
    DType dtype;
    Dims dims;
    size_t bytes;
    bool input;
    void* host = nullptr;  // pinned
    void* device = nullptr;
  };
  struct Slot {
    cudaEvent_t events[kEvents] = {};
    Clock::time_point enq_start, enq_end;
    bool active = false;
  };

  ExecutionContext* ctx_;
  int id_;
  const CudaStart* start_;
  bool transfers_;
  cudaStream_t stream_ = nullptr;
  std::vector<Buffer> buffers_;
  Slot slots_[2];
  int next_ = 0;
};

#endif  // TARMAC_WITH_CUDA

/// trtexec's loop: rounds over every lane until `iterations` rounds after the warm-up are done
/// and the last collected inference started at least warm-up + duration after the start.
Status timed_loop(const std::vector<Lane*>& lanes, const BenchmarkOptions& o,
                  std::vector<InferenceTrace>* trace) {
  const double max_ms = o.duration_s * 1000.0 + o.warmup_ms;
  double elapsed_ms = 0;
  long long skipped = 0;  // warm-up rounds, which do not count as iterations
  for (long long i = 0; i < o.iterations + skipped || elapsed_ms < max_ms; ++i) {
    for (Lane* l : lanes) TARMAC_RETURN_IF_ERROR(l->launch());
    for (Lane* l : lanes) {
      TARMAC_ASSIGN_OR_RETURN(double t, l->collect(trace));
      elapsed_ms = std::max(elapsed_ms, t);
    }
    if (elapsed_ms < o.warmup_ms && elapsed_ms > 0) ++skipped;
  }
  for (Lane* l : lanes) TARMAC_RETURN_IF_ERROR(l->drain(trace));
  return Status::ok();
}

}  // namespace

StatusOr<BenchmarkResult> run_benchmark(bool on_cuda,
                                        const std::vector<ExecutionContext*>& contexts,
                                        const std::vector<NamedTensor>& inputs,
                                        const std::vector<NamedTensor>& outputs,
                                        const BenchmarkOptions& options) {
  BenchmarkResult r;
  std::vector<std::unique_ptr<Lane>> owned;
  std::vector<Lane*> lanes;
  if (!on_cuda) {
    Clock::time_point start;
    for (size_t i = 0; i < contexts.size(); ++i) {
      auto lane = std::make_unique<CpuLane>(contexts[i], static_cast<int>(i), &start);
      TARMAC_RETURN_IF_ERROR(lane->bind(inputs, outputs));
      lanes.push_back(lane.get());
      owned.push_back(std::move(lane));
    }
    start = Clock::now();
    TARMAC_RETURN_IF_ERROR(timed_loop(lanes, options, &r.trace));
    TARMAC_ASSIGN_OR_RETURN(r.outputs, lanes.front()->outputs());
    return r;
  }
#if TARMAC_WITH_CUDA
  CudaStart start;  // outlives the lanes below, which time against its event
  std::vector<std::unique_ptr<CudaLane>> cuda_lanes;
  EXEC_CUDA(cudaStreamCreateWithFlags(&start.stream, cudaStreamNonBlocking));
  EXEC_CUDA(cudaEventCreateWithFlags(&start.event,
                                     options.spin_wait ? cudaEventDefault : cudaEventBlockingSync));
  for (size_t i = 0; i < contexts.size(); ++i) {
    cuda_lanes.push_back(std::make_unique<CudaLane>(contexts[i], static_cast<int>(i), &start,
                                                    options.data_transfers));
    TARMAC_RETURN_IF_ERROR(cuda_lanes.back()->bind(inputs, outputs, options.spin_wait));
    lanes.push_back(cuda_lanes.back().get());
  }
  // Every lane is idle now, so all timed work comes after the start event.
  start.host = Clock::now();
  EXEC_CUDA(cudaEventRecord(start.event, start.stream));
  EXEC_CUDA(cudaEventSynchronize(start.event));
  TARMAC_RETURN_IF_ERROR(timed_loop(lanes, options, &r.trace));
  TARMAC_ASSIGN_OR_RETURN(r.outputs, lanes.front()->outputs());
  return r;
#else
  return unavailable("this tarmac was built without CUDA: pass --device=cpu");
#endif
}

}  // namespace tarmac::cli
