// TopK kernels: one block sorts one chunk of a row (bitonic, in shared memory) by the CPU
// reference's order: larger (or smaller) values first with NaN above every number, ties to
// the lower index. Padding slots (index -1) sort after everything.
#include <cstdint>
#include <type_traits>

#include "backends/cuda/kernels/reduce_common.cuh"
#include "backends/cuda/kernels/reduce_topk.cuh"

namespace tarmac::cuda {
namespace reduce_detail {
namespace {

template <typename T>
using key_t = std::conditional_t<std::is_same_v<T, double>, double,
                                 std::conditional_t<kIsFloat<T>, float, int64_t>>;

template <typename K>
__device__ __forceinline__ bool before(K a, int32_t ia, K b, int32_t ib, bool largest) {
  if (ib < 0) return ia >= 0;
  if (ia < 0) return false;
  const bool lt = ranks_below(a, b), gt = ranks_below(b, a);
  if (lt || gt) return largest ? gt : lt;
  return ia < ib;
}

/// Block (row, chunk) sorts up to kTopKChunk entries of its row and keeps the first k: into
/// the next round's candidates, or (last round) into the outputs.
///   x: [outer, n, inner]; cand_in/cand_out keys and indices: [rows, len_in] / [rows, len_out];
///   values, indices: [outer, k, inner]
template <typename T>
__global__ void topk_chunk(const T* __restrict__ x, int64_t n, int64_t inner, int64_t k,
                           bool largest, const key_t<T>* __restrict__ key_in,
                           const int32_t* __restrict__ idx_in, int64_t len_in,
                           key_t<T>* __restrict__ key_out, int32_t* __restrict__ idx_out,
                           T* __restrict__ values, int64_t* __restrict__ indices) {
  using K = key_t<T>;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  const int64_t row = blockIdx.x;
  const int64_t chunk = blockIdx.y;
  const int64_t len = key_in ? len_in : n;
  const int64_t begin = chunk * kTopKChunk;
  const int64_t chunk_len = min64(kTopKChunk, len - begin);
  int p2 = 1;
  while (p2 < chunk_len) p2 *= 2;
  K* keys = reinterpret_cast<K*>(smem_raw);
  int32_t* ids = reinterpret_cast<int32_t*>(keys + kTopKChunk);
  const int64_t o = row / inner, i = row % inner;
  const T* xr = x + o * n * inner + i;  // element j at xr[j * inner]
  for (int t = threadIdx.x; t < p2; t += blockDim.x) {
    if (t < chunk_len) {
      const int64_t pos = begin + t;
      if (key_in) {
        keys[t] = key_in[row * len_in + pos];
        ids[t] = idx_in[row * len_in + pos];
      } else {
        keys[t] = static_cast<K>(load_at(xr, pos * inner));
        ids[t] = static_cast<int32_t>(pos);
      }
    } else {
      keys[t] = K{0};
      ids[t] = -1;
    }
  }
  __syncthreads();
  for (int size = 2; size <= p2; size *= 2) {
    for (int j = size / 2; j > 0; j /= 2) {
      for (int t = threadIdx.x; t < p2 / 2; t += blockDim.x) {
        const int a = 2 * j * (t / j) + (t % j);
        const int b = a + j;
        const bool up = (a & size) == 0;  // this pair wants a before b
        const bool b_first = before(keys[b], ids[b], keys[a], ids[a], largest);
        const bool a_first = before(keys[a], ids[a], keys[b], ids[b], largest);
        if (up ? b_first : a_first) {
          const K tk = keys[a];
          keys[a] = keys[b];
          keys[b] = tk;
          const int32_t ti = ids[a];
          ids[a] = ids[b];
          ids[b] = ti;
        }
      }
      __syncthreads();
    }
  }
  const int64_t keep = min64(k, p2);
  for (int t = threadIdx.x; t < k; t += blockDim.x) {
    if (key_out) {
      const int64_t dst = row * (gridDim.y * k) + chunk * k + t;
      key_out[dst] = t < keep ? keys[t] : K{0};
      idx_out[dst] = t < keep ? ids[t] : -1;
    } else {
      const int64_t src = ids[t];
      const int64_t dst = o * k * inner + static_cast<int64_t>(t) * inner + i;
      values[dst] = xr[src * inner];
      indices[dst] = src;
    }
  }
}

template <typename T>
cudaError_t run_topk(bool largest, int64_t outer, int64_t n, int64_t inner, int64_t k,
                     const TopKRounds& rounds, const void* xv, void* values, void* indices,
                     void* ws, cudaStream_t stream) {
  using K = key_t<T>;
  const T* x = static_cast<const T*>(xv);
  const int64_t rows = outer * inner;
  const size_t smem = kTopKChunk * (sizeof(K) + sizeof(int32_t));
  static_assert(kTopKChunk * (sizeof(key_t<double>) + sizeof(int32_t)) <= 48 * 1024,
                "the chunk must fit the default dynamic shared memory");
  // Ping-pong candidate buffers, each [rows, max length].
  int64_t max_len = 0;
  for (int64_t r = 0; r < rounds.count; ++r) max_len = max64(max_len, rounds.length[r]);
  K* key_buf[2] = {static_cast<K*>(ws), static_cast<K*>(ws) + rows * max_len};
  int32_t* idx_buf[2] = {reinterpret_cast<int32_t*>(key_buf[1] + rows * max_len), nullptr};
  idx_buf[1] = idx_buf[0] + rows * max_len;
  const K* kin = nullptr;
  const int32_t* iin = nullptr;
  int64_t len = n;
  for (int64_t r = 0; r <= rounds.count; ++r) {
    const int64_t chunks = (len + kTopKChunk - 1) / kTopKChunk;
    int p2 = 1;
    while (p2 < min64(len, kTopKChunk)) p2 *= 2;
    const int threads = p2 / 2 < 32 ? 32 : (p2 / 2 > 1024 ? 1024 : p2 / 2);
    const bool last = r == rounds.count;
    K* kout = last ? nullptr : key_buf[r % 2];
    int32_t* iout = last ? nullptr : idx_buf[r % 2];
    topk_chunk<T><<<dim3(static_cast<unsigned int>(rows), static_cast<unsigned int>(chunks)),
                    threads, smem, stream>>>(x, n, inner, k, largest, kin, iin, len, kout, iout,
                                             static_cast<T*>(values),
                                             static_cast<int64_t*>(indices));
    if (const cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
    kin = kout;
    iin = iout;
    if (!last) len = rounds.length[r];
  }
  return cudaSuccess;
}

}  // namespace
}  // namespace reduce_detail

size_t topk_workspace_bytes(DType dtype, int64_t rows, const TopKRounds& rounds) {
  using namespace reduce_detail;
  int64_t max_len = 0;
  for (int64_t r = 0; r < rounds.count; ++r) max_len = max64(max_len, rounds.length[r]);
  size_t key_bytes = 8;
  dispatch_type(dtype, [&](auto tag) { key_bytes = sizeof(key_t<decltype(tag)>); });
  return 2 * static_cast<size_t>(rows * max_len) * (key_bytes + sizeof(int32_t));
}

cudaError_t launch_topk(DType dtype, bool largest, int64_t outer, int64_t n, int64_t inner,
                        int64_t k, const TopKRounds& rounds, const void* x, void* values,
                        void* indices, void* workspace, cudaStream_t stream) {
  using namespace reduce_detail;
  if (outer * inner * k == 0) return cudaSuccess;
  cudaError_t err = cudaErrorInvalidValue;
  dispatch_type(dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (!std::is_same_v<T, bool>) {
      err = run_topk<T>(largest, outer, n, inner, k, rounds, x, values, indices, workspace, stream);
    }
  });
  return err;
}

}  // namespace tarmac::cuda
