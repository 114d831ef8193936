// PointPillars post-processing on the GPU: the device twin of postprocess_cpu (decode.h),
// with the same results (same boxes in the same order, bit-identical floats).
//   auto post = PostprocessCuda::create(cfg, cfg.feature_map_h(), cfg.feature_map_w());
//   TARMAC_RETURN_IF_ERROR((*post)->run(d_cls, d_box, d_dir, stream, d_dets, d_count));
//   auto dets = (*post)->download(d_dets, d_count, stream);  // host copy, when needed
//
// One run is a memset and five stream-ordered steps with no host synchronization and no host
// decision on device data, so a CUDA graph can capture it:
//   1. score: per anchor, sigmoid of the best class logit; below the threshold -> -inf key;
//      a device counter counts the candidates;
//   2. CUB radix sort of (score, anchor index) pairs, descending; the sort is stable and the
//      indices enter ascending, so equal scores keep the lower anchor index first;
//   3. decode the first min(count, nms_pre_max) anchors (the rest are never looked at);
//   4. NMS mask: for block pairs of 64 x 64 sorted boxes, bit c of word (r, block) is set when
//      box c (after r) overlaps box r above the IoU threshold (and, class-aware, has its label);
//   5. one warp walks the sorted boxes, keeps those no kept box suppressed, ORs their mask
//      rows into the suppressed set, and writes the kept detections (at most max_detections,
//      descending score) and their count.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "perception/box3d.h"
#include "perception/lidar/decode.h"
#include "perception/lidar/nms.h"

namespace tarmac::lidar {

/// Boxes per NMS mask word (one bit each).
inline constexpr int kNmsBlock = 64;
/// Largest nms_pre_max the GPU path takes (its mask is nms_pre_max^2 / 8 bytes: 128 MiB).
inline constexpr int kMaxGpuNmsPreMax = 32768;

// Launchers (postprocess.cu). Each returns the launch's error.

/// keys[n] = anchor score, or -inf below the threshold; *count += candidates (zero it first).
///   cls: [n, num_classes]
cudaError_t launch_lidar_score(const float* cls, int64_t n, int num_classes, float threshold,
                               float* keys, int* count, cudaStream_t stream);

/// CUB scratch bytes of launch_lidar_sort for n pairs.
cudaError_t lidar_sort_scratch_bytes(int n, size_t* bytes);
/// Sorts (keys, index) pairs by descending key, stable.
cudaError_t launch_lidar_sort(void* scratch, size_t scratch_bytes, const float* keys,
                              float* keys_out, const int* index, int* index_out, int n,
                              cudaStream_t stream);

/// Decodes the first min(*count, pre_cap) sorted anchors.
///   order: [pre_cap] anchor indices; anchors, box: [N, 7]; cls: [N, C]; dir: [N, bins];
///   boxes, bev, labels: [pre_cap]
cudaError_t launch_lidar_decode(const int* order, const int* count, int pre_cap,
                                const float* anchors, const float* cls, const float* box,
                                const float* dir, DecodeParams params, Box3d* boxes, BevBox* bev,
                                int* labels, cudaStream_t stream);

/// NMS overlap mask of the first min(*count, pre_cap) sorted boxes.
///   bev, labels: [pre_cap]; mask: [pre_cap, ceil(pre_cap / 64)]
cudaError_t launch_lidar_nms_mask(const BevBox* bev, const int* labels, const int* count,
                                  int pre_cap, float iou_threshold, bool class_agnostic,
                                  uint64_t* mask, cudaStream_t stream);

/// Greedy selection over the mask; writes out[0 .. *out_count).
///   boxes, scores, labels: [pre_cap]; out: [max_detections]
cudaError_t launch_lidar_nms_select(const uint64_t* mask, const Box3d* boxes, const float* scores,
                                    const int* labels, const int* count, int pre_cap,
                                    int max_detections, Detection* out, int* out_count,
                                    cudaStream_t stream);

}  // namespace tarmac::lidar

// The host API below uses Status, which nvcc cannot compile under this project's -Werror flags
// (fmt's constexpr code): the .cu files see only the launchers above.
#ifndef __CUDACC__
#include <memory>
#include <vector>

#include "backends/cuda/cuda_common.h"
#include "core/status.h"
#include "perception/lidar/config.h"

namespace tarmac::lidar {

/// The GPU post-processing of one config and feature-map size: created once (anchors uploaded,
/// every scratch buffer allocated), then run per frame without allocating.
class PostprocessCuda {
 public:
  /// Validates the config, uploads the anchors of a feature_h x feature_w map and allocates
  /// every buffer a run needs.
  static StatusOr<std::unique_ptr<PostprocessCuda>> create(const PointPillarsConfig& c,
                                                           int feature_h, int feature_w);
  ~PostprocessCuda() = default;
  PostprocessCuda(const PostprocessCuda&) = delete;
  PostprocessCuda& operator=(const PostprocessCuda&) = delete;

  /// Post-processes one frame's head outputs, all device pointers, enqueued on `stream`
  /// (a cudaStream_t; null is the legacy default stream):
  ///   d_cls: [H*W*A, C], d_box: [H*W*A, 7], d_dir: [H*W*A, num_dir_bins] (NHWC head outputs)
  ///   d_out: [max_detections] gets the kept detections in descending score,
  ///   d_count: [1] their number.
  /// The object's scratch buffers are reused: runs of one object must be stream-ordered.
  Status run(const float* d_cls, const float* d_box, const float* d_dir, void* stream,
             Detection* d_out, int* d_count);

  /// Copies a run's results to the host: waits for `stream`.
  StatusOr<std::vector<Detection>> download(const Detection* d_out, const int* d_count,
                                            void* stream) const;

  int max_detections() const { return max_detections_; }
  int64_t num_anchors() const { return num_anchors_; }
  /// The anchors on the device: [num_anchors, 7].
  const float* device_anchors() const { return static_cast<const float*>(anchors_.get()); }

 private:
  PostprocessCuda() = default;

  DecodeParams params_;
  int64_t num_anchors_ = 0;
  int pre_cap_ = 0;  // min(nms_pre_max, num_anchors)
  int max_detections_ = 0;
  float score_threshold_ = 0;
  float iou_threshold_ = 0;
  bool class_agnostic_ = true;
  size_t sort_bytes_ = 0;
  cuda::DeviceBuffer anchors_;    // [N, 7]
  cuda::DeviceBuffer keys_;       // [N] float: score or -inf
  cuda::DeviceBuffer keys_out_;   // [N] float, sorted descending
  cuda::DeviceBuffer index_;      // [N] int32: 0 .. N-1
  cuda::DeviceBuffer index_out_;  // [N] int32, anchor of each sorted key
  cuda::DeviceBuffer sort_tmp_;   // CUB scratch
  cuda::DeviceBuffer count_;      // [1] int32: candidates above the threshold
  cuda::DeviceBuffer boxes_;      // [pre_cap] Box3d
  cuda::DeviceBuffer bev_;        // [pre_cap] BevBox
  cuda::DeviceBuffer labels_;     // [pre_cap] int32
  cuda::DeviceBuffer mask_;       // [pre_cap, ceil(pre_cap / 64)] uint64
};

}  // namespace tarmac::lidar
#endif  // __CUDACC__
