// PointPillars post-processing kernels (postprocess.cuh). The per-box arithmetic is the
// inline code of decode.h and nms.h that the CPU reference runs too, so the results agree
// to the bit.
#include <cub/device/device_radix_sort.cuh>

#include <cstdint>
#include <limits>

#include "perception/lidar/cuda/postprocess.cuh"

namespace tarmac::lidar {
namespace {

static_assert(kNmsBlock == 64, "one mask word holds 64 boxes");
constexpr int kSelectThreads = 32;  // the selection is one warp

/// keys[n] = score or -inf; count = candidates.
///   cls: [n, num_classes]; keys: [n]
__global__ void lidar_score_kernel(const float* __restrict__ cls, int64_t n, int num_classes,
                                   float threshold, float* __restrict__ keys,
                                   int* __restrict__ count) {
  const int64_t a = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  bool pass = false;
  if (a < n) {
    int label = 0;
    const float score = anchor_score(cls + a * num_classes, num_classes, &label);
    pass = score >= threshold;
    keys[a] = pass ? score : -std::numeric_limits<float>::infinity();
  }
  // One atomic per warp.
  const unsigned ballot = __ballot_sync(0xffffffffu, pass);
  if ((threadIdx.x & 31) == 0 && ballot != 0) atomicAdd(count, __popc(ballot));
}

__device__ __forceinline__ int candidates(const int* count, int pre_cap) {
  const int c = *count;
  return c < pre_cap ? c : pre_cap;
}

/// Decodes sorted candidate k < min(count, pre_cap).
///   order: [pre_cap]; anchors, box: [N, 7]; cls: [N, C]; dir: [N, bins]
__global__ void lidar_decode_kernel(const int* __restrict__ order, const int* __restrict__ count,
                                    int pre_cap, const float* __restrict__ anchors,
                                    const float* __restrict__ cls, const float* __restrict__ box,
                                    const float* __restrict__ dir, DecodeParams p,
                                    Box3d* __restrict__ boxes, BevBox* __restrict__ bev,
                                    int* __restrict__ labels) {
  const int k = blockIdx.x * blockDim.x + threadIdx.x;
  if (k >= candidates(count, pre_cap)) return;
  const int64_t a = order[k];
  const Box3d b = decode_box(anchors + a * 7, box + a * 7, dir + a * p.num_dir_bins, p);
  boxes[k] = b;
  bev[k] = make_bev_box(b);
  anchor_score(cls + a * p.num_classes, p.num_classes, &labels[k]);
}

/// Block (column block, row block) of 64 threads: thread t sets bit c of mask word
/// (row * 64 + t, column block) when sorted box col * 64 + c comes after the row box and
/// overlaps it above the threshold. Only blocks on or above the diagonal run; words below it
/// are never read.
///   bev, labels: [pre_cap]; mask: [pre_cap, col_blocks]
__global__ void lidar_nms_mask_kernel(const BevBox* __restrict__ bev,
                                      const int* __restrict__ labels, const int* __restrict__ count,
                                      int pre_cap, float iou_threshold, bool class_agnostic,
                                      uint64_t* __restrict__ mask) {
  const int row_block = blockIdx.y, col_block = blockIdx.x;
  if (col_block < row_block) return;
  const int n = candidates(count, pre_cap);
  const int row_start = row_block * kNmsBlock, col_start = col_block * kNmsBlock;
  if (col_start >= n) return;  // uniform per block, before the barrier
  const int rows = min(kNmsBlock, n - row_start), cols = min(kNmsBlock, n - col_start);
  __shared__ BevBox col_boxes[kNmsBlock];
  __shared__ int col_labels[kNmsBlock];
  const int t = threadIdx.x;
  if (t < cols) {
    col_boxes[t] = bev[col_start + t];
    col_labels[t] = labels[col_start + t];
  }
  __syncthreads();
  if (t >= rows) return;
  const int r = row_start + t;
  const BevBox mine = bev[r];
  const int my_label = labels[r];
  uint64_t bits = 0;
  for (int c = row_block == col_block ? t + 1 : 0; c < cols; ++c) {
    if (!class_agnostic && col_labels[c] != my_label) continue;
    if (bev_iou(mine, col_boxes[c]) > iou_threshold) bits |= uint64_t{1} << c;
  }
  const int col_blocks = (pre_cap + kNmsBlock - 1) / kNmsBlock;
  mask[static_cast<int64_t>(r) * col_blocks + col_block] = bits;
}

/// One warp walks the sorted boxes in order (the greedy NMS of nms_bev).
///   mask: [pre_cap, col_blocks]; boxes, scores, labels: [pre_cap]; out: [max_detections]
///   dynamic shared memory: col_blocks uint64 words (the suppressed set)
__global__ void lidar_nms_select_kernel(
    const uint64_t* __restrict__ mask, const Box3d* __restrict__ boxes,
    const float* __restrict__ scores, const int* __restrict__ labels, const int* __restrict__ count,
    int pre_cap, int max_detections, Detection* __restrict__ out, int* __restrict__ out_count) {
  extern __shared__ uint64_t removed[];
  const int lane = threadIdx.x;
  const int n = candidates(count, pre_cap);
  const int col_blocks = (pre_cap + kNmsBlock - 1) / kNmsBlock;
  const int used_blocks = (n + kNmsBlock - 1) / kNmsBlock;
  for (int j = lane; j < used_blocks; j += kSelectThreads) removed[j] = 0;
  __syncwarp();
  int kept = 0;
  for (int i = 0; i < n && kept < max_detections; ++i) {
    const int word = i / kNmsBlock;
    const bool suppressed = (removed[word] >> (i % kNmsBlock)) & 1u;
    __syncwarp();  // every lane has read the word before any lane updates it
    if (suppressed) continue;
    if (lane == 0) {
      Detection d;
      d.box = boxes[i];
      d.score = scores[i];
      d.label = labels[i];
      out[kept] = d;
    }
    ++kept;
    const uint64_t* row = mask + static_cast<int64_t>(i) * col_blocks;
    for (int j = word + lane; j < used_blocks; j += kSelectThreads) removed[j] |= row[j];
    __syncwarp();
  }
  if (lane == 0) *out_count = kept;
}

}  // namespace

cudaError_t launch_lidar_score(const float* cls, int64_t n, int num_classes, float threshold,
                               float* keys, int* count, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  constexpr int kThreads = 256;
  static_assert(kThreads % 32 == 0, "the warp ballot needs whole warps");
  const int64_t blocks = (n + kThreads - 1) / kThreads;
  lidar_score_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(
      cls, n, num_classes, threshold, keys, count);
  return cudaGetLastError();
}

cudaError_t lidar_sort_scratch_bytes(int n, size_t* bytes) {
  *bytes = 0;
  return cub::DeviceRadixSort::SortPairsDescending(
      nullptr, *bytes, static_cast<float*>(nullptr), static_cast<float*>(nullptr),
      static_cast<int*>(nullptr), static_cast<int*>(nullptr), n);
}

cudaError_t launch_lidar_sort(void* scratch, size_t scratch_bytes, const float* keys,
                              float* keys_out, const int* index, int* index_out, int n,
                              cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  return cub::DeviceRadixSort::SortPairsDescending(scratch, scratch_bytes, keys, keys_out, index,
                                                   index_out, n, 0, 32, stream);
}

cudaError_t launch_lidar_decode(const int* order, const int* count, int pre_cap,
                                const float* anchors, const float* cls, const float* box,
                                const float* dir, DecodeParams params, Box3d* boxes, BevBox* bev,
                                int* labels, cudaStream_t stream) {
  if (pre_cap == 0) return cudaSuccess;
  constexpr int kThreads = 128;
  const int blocks = (pre_cap + kThreads - 1) / kThreads;
  lidar_decode_kernel<<<blocks, kThreads, 0, stream>>>(order, count, pre_cap, anchors, cls, box,
                                                       dir, params, boxes, bev, labels);
  return cudaGetLastError();
}

cudaError_t launch_lidar_nms_mask(const BevBox* bev, const int* labels, const int* count,
                                  int pre_cap, float iou_threshold, bool class_agnostic,
                                  uint64_t* mask, cudaStream_t stream) {
  if (pre_cap == 0) return cudaSuccess;
  const unsigned col_blocks = static_cast<unsigned>((pre_cap + kNmsBlock - 1) / kNmsBlock);
  lidar_nms_mask_kernel<<<dim3(col_blocks, col_blocks), kNmsBlock, 0, stream>>>(
      bev, labels, count, pre_cap, iou_threshold, class_agnostic, mask);
  return cudaGetLastError();
}

cudaError_t launch_lidar_nms_select(const uint64_t* mask, const Box3d* boxes, const float* scores,
                                    const int* labels, const int* count, int pre_cap,
                                    int max_detections, Detection* out, int* out_count,
                                    cudaStream_t stream) {
  const int col_blocks = (pre_cap + kNmsBlock - 1) / kNmsBlock;
  const size_t smem = static_cast<size_t>(col_blocks < 1 ? 1 : col_blocks) * sizeof(uint64_t);
  lidar_nms_select_kernel<<<1, kSelectThreads, smem, stream>>>(
      mask, boxes, scores, labels, count, pre_cap, max_detections, out, out_count);
  return cudaGetLastError();
}

}  // namespace tarmac::lidar
