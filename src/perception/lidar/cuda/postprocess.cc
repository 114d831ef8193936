// PostprocessCuda: buffers and the stream-ordered run (postprocess.cuh).
#include <algorithm>
#include <limits>
#include <numeric>

#include "perception/lidar/anchors.h"
#include "perception/lidar/cuda/postprocess.cuh"

namespace tarmac::lidar {

StatusOr<std::unique_ptr<PostprocessCuda>> PostprocessCuda::create(const PointPillarsConfig& c,
                                                                   int feature_h, int feature_w) {
  TARMAC_RETURN_IF_ERROR(validate_config(c));
  if (feature_h < 1 || feature_w < 1)
    return invalid_argument("lidar post-processing: feature map {} x {} is empty", feature_h,
                            feature_w);
  const int64_t num_anchors =
      static_cast<int64_t>(feature_h) * feature_w * c.anchors_per_location();
  // CUB sorts with an int item count; the head's channels index cls as [N, C] with int64.
  if (num_anchors > std::numeric_limits<int>::max())
    return unsupported("lidar post-processing: {} anchors exceed the GPU sort's int range",
                       num_anchors);
  if (c.nms_pre_max > kMaxGpuNmsPreMax)
    return unsupported("lidar post-processing: nms_pre_max {} exceeds the GPU limit {}",
                       c.nms_pre_max, kMaxGpuNmsPreMax);

  std::unique_ptr<PostprocessCuda> p(new PostprocessCuda());
  p->params_ = decode_params(c);
  p->num_anchors_ = num_anchors;
  p->pre_cap_ = static_cast<int>(std::min<int64_t>(c.nms_pre_max, num_anchors));
  p->max_detections_ = c.max_detections;
  p->score_threshold_ = c.score_threshold;
  p->iou_threshold_ = c.nms_iou_threshold;
  p->class_agnostic_ = c.class_agnostic_nms;

  const std::vector<float> anchors = make_anchors(c, feature_h, feature_w);  // [N, 7]
  const size_t n = static_cast<size_t>(num_anchors);
  const size_t pre = static_cast<size_t>(p->pre_cap_);
  const size_t col_blocks = (pre + kNmsBlock - 1) / kNmsBlock;
  TARMAC_CUDA_CHECK(lidar_sort_scratch_bytes(static_cast<int>(n), &p->sort_bytes_));
  TARMAC_ASSIGN_OR_RETURN(p->anchors_, cuda::DeviceBuffer::allocate(anchors.size() * 4));
  TARMAC_ASSIGN_OR_RETURN(p->keys_, cuda::DeviceBuffer::allocate(n * sizeof(float)));
  TARMAC_ASSIGN_OR_RETURN(p->keys_out_, cuda::DeviceBuffer::allocate(n * sizeof(float)));
  TARMAC_ASSIGN_OR_RETURN(p->index_, cuda::DeviceBuffer::allocate(n * sizeof(int)));
  TARMAC_ASSIGN_OR_RETURN(p->index_out_, cuda::DeviceBuffer::allocate(n * sizeof(int)));
  TARMAC_ASSIGN_OR_RETURN(p->sort_tmp_,
                          cuda::DeviceBuffer::allocate(std::max<size_t>(p->sort_bytes_, 16)));
  TARMAC_ASSIGN_OR_RETURN(p->count_, cuda::DeviceBuffer::allocate(sizeof(int)));
  TARMAC_ASSIGN_OR_RETURN(p->boxes_, cuda::DeviceBuffer::allocate(pre * sizeof(Box3d)));
  TARMAC_ASSIGN_OR_RETURN(p->bev_, cuda::DeviceBuffer::allocate(pre * sizeof(BevBox)));
  TARMAC_ASSIGN_OR_RETURN(p->labels_, cuda::DeviceBuffer::allocate(pre * sizeof(int)));
  TARMAC_ASSIGN_OR_RETURN(p->mask_,
                          cuda::DeviceBuffer::allocate(pre * col_blocks * sizeof(uint64_t)));

  std::vector<int> iota(n);
  std::iota(iota.begin(), iota.end(), 0);
  TARMAC_CUDA_CHECK(cudaMemcpy(p->anchors_.get(), anchors.data(), anchors.size() * sizeof(float),
                               cudaMemcpyHostToDevice));
  TARMAC_CUDA_CHECK(
      cudaMemcpy(p->index_.get(), iota.data(), n * sizeof(int), cudaMemcpyHostToDevice));
  return p;
}

Status PostprocessCuda::run(const float* d_cls, const float* d_box, const float* d_dir,
                            void* stream, Detection* d_out, int* d_count) {
  if (!d_cls || !d_box || !d_dir || !d_out || !d_count)
    return invalid_argument("lidar post-processing: null device pointer");
  const cudaStream_t s = static_cast<cudaStream_t>(stream);
  int* count = static_cast<int*>(count_.get());
  float* keys = static_cast<float*>(keys_.get());
  float* keys_out = static_cast<float*>(keys_out_.get());
  int* index_out = static_cast<int*>(index_out_.get());
  Box3d* boxes = static_cast<Box3d*>(boxes_.get());
  BevBox* bev = static_cast<BevBox*>(bev_.get());
  int* labels = static_cast<int*>(labels_.get());
  uint64_t* mask = static_cast<uint64_t*>(mask_.get());

  TARMAC_CUDA_CHECK(cudaMemsetAsync(count, 0, sizeof(int), s));
  TARMAC_CUDA_CHECK(launch_lidar_score(d_cls, num_anchors_, params_.num_classes, score_threshold_,
                                       keys, count, s));
  TARMAC_CUDA_CHECK(launch_lidar_sort(sort_tmp_.get(), sort_bytes_, keys, keys_out,
                                      static_cast<const int*>(index_.get()), index_out,
                                      static_cast<int>(num_anchors_), s));
  TARMAC_CUDA_CHECK(launch_lidar_decode(index_out, count, pre_cap_,
                                        static_cast<const float*>(anchors_.get()), d_cls, d_box,
                                        d_dir, params_, boxes, bev, labels, s));
  TARMAC_CUDA_CHECK(launch_lidar_nms_mask(bev, labels, count, pre_cap_, iou_threshold_,
                                          class_agnostic_, mask, s));
  TARMAC_CUDA_CHECK(launch_lidar_nms_select(mask, boxes, keys_out, labels, count, pre_cap_,
                                            max_detections_, d_out, d_count, s));
  return Status::ok();
}

StatusOr<std::vector<Detection>> PostprocessCuda::download(const Detection* d_out,
                                                           const int* d_count, void* stream) const {
  const cudaStream_t s = static_cast<cudaStream_t>(stream);
  int count = 0;
  TARMAC_CUDA_CHECK(cudaMemcpyAsync(&count, d_count, sizeof(int), cudaMemcpyDeviceToHost, s));
  TARMAC_CUDA_CHECK(cudaStreamSynchronize(s));
  if (count < 0 || count > max_detections_)
    return internal_error("lidar post-processing: device count {} outside [0, {}]", count,
                          max_detections_);
  std::vector<Detection> dets(static_cast<size_t>(count));
  if (count > 0) {
    TARMAC_CUDA_CHECK(cudaMemcpyAsync(dets.data(), d_out, dets.size() * sizeof(Detection),
                                      cudaMemcpyDeviceToHost, s));
    TARMAC_CUDA_CHECK(cudaStreamSynchronize(s));
  }
  return dets;
}

}  // namespace tarmac::lidar
