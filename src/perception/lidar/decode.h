// PointPillars head decoding (OpenPCDet ResidualCoder + direction classifier) and the CPU
// reference of the whole post-processing: score, threshold, top-k, decode, rotated-BEV NMS.
//   auto anchors = make_anchors(cfg, 248, 216);                    // [H*W*A, 7]
//   std::vector<Detection> dets = postprocess_cpu(cls, box, dir, anchors, cfg);
//
// The per-box arithmetic below is shared, as inline functions, by this CPU reference and the
// CUDA kernels (cuda/postprocess.cu), so both give bit-identical scores and boxes: exp, sin and
// cos are computed here with basic IEEE operations (the CUDA and C library versions differ in
// the last bits), and every multiply-add is an explicit fmaf, because GCC (x86-64-v3 has FMA)
// and nvcc would otherwise each fuse some of them, differently. Division and sqrt are correctly
// rounded on both sides (no fast-math).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "perception/box3d.h"

#if defined(__CUDACC__)
#define TARMAC_LIDAR_HD __host__ __device__ __forceinline__
#else
#define TARMAC_LIDAR_HD inline
#endif

namespace tarmac::lidar {

// config.h is not included: it reaches fmt, which nvcc cannot compile, and the CUDA kernels
// include this header.
struct PointPillarsConfig;

/// e^x in float32, within about 1 ulp, identical on host and device. NaN stays NaN; results
/// below the normal range flush to 0 (x < -87).
TARMAC_LIDAR_HD float exp_f32(float x) {
  if (x != x) return x;
  if (x > 88.7f) return std::numeric_limits<float>::infinity();
  if (x < -87.f) return 0.f;
  const float n = rintf(x * 1.44269502f);  // x / ln 2, nearest integer
  // r = x - n ln 2 with ln 2 split in a part exact in n * hi and the rest.
  float r = fmaf(-n, 0.693145752f, x);
  r = fmaf(-n, 1.42860677e-06f, r);  // |r| <= ln 2 / 2
  float p = 1.98412701e-04f;         // Taylor series of e^r to r^7
  p = fmaf(p, r, 1.38888892e-03f);
  p = fmaf(p, r, 8.33333377e-03f);
  p = fmaf(p, r, 4.16666679e-02f);
  p = fmaf(p, r, 1.66666672e-01f);
  p = fmaf(p, r, 0.5f);
  p = fmaf(p, r, 1.f);
  p = fmaf(p, r, 1.f);
  return ldexpf(p, static_cast<int>(n));
}

/// 1 / (1 + e^-x), identical on host and device.
TARMAC_LIDAR_HD float sigmoid_f32(float x) { return 1.f / (1.f + exp_f32(-x)); }

/// sin and cos of x in float32, within about 1 ulp for |x| <= 1e5 (NaN beyond, and for
/// non-finite x), identical on host and device.
TARMAC_LIDAR_HD void sincos_f32(float x, float* s, float* c) {
  if (!(fabsf(x) <= 1e5f)) {
    *s = *c = std::numeric_limits<float>::quiet_NaN();
    return;
  }
  const float q = rintf(x * 0.636619747f);  // x / (pi / 2), nearest integer
  // r = x - q pi / 2 with pi / 2 in three float parts (Cody-Waite), |r| <= pi / 4.
  float r = fmaf(-q, 1.57079637f, x);
  r = fmaf(-q, -4.37113883e-08f, r);
  r = fmaf(-q, -1.77635684e-15f, r);
  const float z = r * r;
  float sp = fmaf(z, -2.50521079e-08f, 2.75573188e-06f);  // Taylor series to r^11 / r^12
  sp = fmaf(sp, z, -1.98412701e-04f);
  sp = fmaf(sp, z, 8.33333377e-03f);
  sp = fmaf(sp, z, -1.66666672e-01f);
  const float sin_r = fmaf(r * z, sp, r);
  float cp = fmaf(z, 2.08767559e-09f, -2.75573200e-07f);
  cp = fmaf(cp, z, 2.48015876e-05f);
  cp = fmaf(cp, z, -1.38888892e-03f);
  cp = fmaf(cp, z, 4.16666679e-02f);
  cp = fmaf(cp, z, -0.5f);
  const float cos_r = fmaf(z, cp, 1.f);
  switch (static_cast<int>(q) & 3) {
    case 0:
      *s = sin_r;
      *c = cos_r;
      break;
    case 1:
      *s = cos_r;
      *c = -sin_r;
      break;
    case 2:
      *s = -sin_r;
      *c = -cos_r;
      break;
    default:
      *s = -cos_r;
      *c = sin_r;
      break;
  }
}

/// The constants of box decoding, from the config.
struct DecodeParams {
  int num_classes = 0;
  int num_dir_bins = 2;
  float dir_offset = 0.78539f;
  float dir_limit_offset = 0.f;
  float dir_period = 0.f;  // 2 pi / num_dir_bins, rounded to float
};
DecodeParams decode_params(const PointPillarsConfig& c);

/// Index of the largest of n values: the first on ties (comparisons with NaN are false).
TARMAC_LIDAR_HD int argmax_f32(const float* v, int n) {
  int best = 0;
  for (int k = 1; k < n; ++k)
    if (v[k] > v[best]) best = k;
  return best;
}

/// Score of one anchor: its highest class sigmoid, which is the sigmoid of its largest logit;
/// `label` gets the first class reaching it (OpenPCDet's torch.max over the sigmoid scores,
/// which differs from the logits' argmax where the sigmoid saturates to 1).
///   logits: [num_classes]
TARMAC_LIDAR_HD float anchor_score(const float* logits, int num_classes, int* label) {
  float best = sigmoid_f32(logits[0]);
  *label = 0;
  for (int k = 1; k < num_classes; ++k) {
    const float s = sigmoid_f32(logits[k]);
    if (s > best) {
      best = s;
      *label = k;
    }
  }
  return best;
}

/// Decodes one anchor's regression (ResidualCoder) and applies the direction classifier:
///   diag = sqrt(dxa^2 + dya^2); x = xt * diag + xa; y = yt * diag + ya; z = zt * dza + za;
///   dx = e^dxt * dxa (dy, dz alike); heading = rt + ra; then with b = argmax(dir logits),
///   p = 2 pi / bins, rot = heading - dir_offset:
///   heading = rot - floor(rot / p + dir_limit_offset) * p + dir_offset + p * b.
///   anchor: [7], delta: [7], dir_logits: [num_dir_bins]
TARMAC_LIDAR_HD Box3d decode_box(const float* anchor, const float* delta, const float* dir_logits,
                                 const DecodeParams& p) {
  const float diag = sqrtf(fmaf(anchor[3], anchor[3], anchor[4] * anchor[4]));
  Box3d b;
  b.x = fmaf(delta[0], diag, anchor[0]);
  b.y = fmaf(delta[1], diag, anchor[1]);
  b.z = fmaf(delta[2], anchor[5], anchor[2]);
  b.dx = exp_f32(delta[3]) * anchor[3];
  b.dy = exp_f32(delta[4]) * anchor[4];
  b.dz = exp_f32(delta[5]) * anchor[5];
  const float heading = delta[6] + anchor[6];
  const int bin = argmax_f32(dir_logits, p.num_dir_bins);
  const float rot = heading - p.dir_offset;
  const float turns = floorf(rot / p.dir_period + p.dir_limit_offset);
  b.heading =
      fmaf(p.dir_period, static_cast<float>(bin), fmaf(-turns, p.dir_period, rot) + p.dir_offset);
  return b;
}

/// One candidate for NMS: an anchor whose score passed the threshold.
struct Candidate {
  int32_t anchor = 0;  // flat anchor index
  float score = 0;
  int label = 0;
};

/// Scores every anchor, keeps those with score >= score_threshold and returns the best
/// `max_count` by descending score, ties to the lower anchor index.
///   cls: [num_anchors, num_classes]
std::vector<Candidate> top_candidates_cpu(const float* cls, int64_t num_anchors, int num_classes,
                                          float score_threshold, int max_count);

/// The CPU reference post-processing of one frame's head outputs (OpenPCDet's KITTI
/// post-processing, MULTI_CLASSES_NMS false): candidates as top_candidates_cpu with the
/// config's score_threshold and nms_pre_max, decoded, then rotated-BEV NMS (nms.h) keeping at
/// most max_detections, in descending score. Labels are 0-based class indices.
///   cls: [H*W*A, C], box: [H*W*A, 7], dir: [H*W*A, num_dir_bins] (NHWC head outputs),
///   anchors: [H*W*A, 7] (make_anchors)
std::vector<Detection> postprocess_cpu(const float* cls, const float* box, const float* dir,
                                       const std::vector<float>& anchors,
                                       const PointPillarsConfig& c);

}  // namespace tarmac::lidar
