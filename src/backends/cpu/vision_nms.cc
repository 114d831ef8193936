// CPU reference kernel for NonMaxSuppression (opsets 10 and 11 share the semantics): greedy
// selection per batch and class by descending score, ties broken by the lower box index.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "backends/cpu/kernel.h"

namespace tarmac {
namespace {

/// An axis-aligned box as [lo, hi] intervals, whatever corner order the input used.
struct Box {
  double y0, x0, y1, x1;
  double area() const { return (y1 - y0) * (x1 - x0); }
};

Box make_box(const double* v, bool center_point) {
  if (center_point) {  // [x_center, y_center, width, height]
    return {v[1] - v[3] / 2, v[0] - v[2] / 2, v[1] + v[3] / 2, v[0] + v[2] / 2};
  }
  // [y1, x1, y2, x2] with either diagonal pair of corners.
  return {std::min(v[0], v[2]), std::min(v[1], v[3]), std::max(v[0], v[2]), std::max(v[1], v[3])};
}

/// True when a's IoU with b exceeds the threshold; degenerate boxes never suppress.
bool suppresses(const Box& a, const Box& b, double iou_threshold) {
  const double ix0 = std::max(a.x0, b.x0), ix1 = std::min(a.x1, b.x1);
  if (!(ix1 > ix0)) return false;
  const double iy0 = std::max(a.y0, b.y0), iy1 = std::min(a.y1, b.y1);
  if (!(iy1 > iy0)) return false;
  const double inter = (ix1 - ix0) * (iy1 - iy0);
  const double area_a = a.area(), area_b = b.area();
  const double uni = area_a + area_b - inter;
  if (!(inter > 0) || !(area_a > 0) || !(area_b > 0) || !(uni > 0)) return false;
  return inter / uni > iou_threshold;
}

/// Element 0 of an optional scalar input, or dflt when it is absent or empty.
StatusOr<double> optional_scalar(const KernelContext& ctx, size_t i, const char* what,
                                 double dflt) {
  if (!ctx.has_input(i) || ctx.input(i).numel() == 0) return dflt;
  const Tensor& t = ctx.input(i);
  if (t.numel() != 1 || t.rank() > 1)
    return node_error(ctx.node, "{} must be a scalar, got shape {}", what,
                      dims_to_string(t.dims()));
  return t.as_double(0);
}

}  // namespace

Status cpu_NonMaxSuppression(KernelContext& ctx) {
  const Node& n = ctx.node;
  if (!ctx.has_input(0) || !ctx.has_input(1)) return node_error(n, "needs boxes and scores");
  const Tensor& boxes = ctx.input(0);   // [B, N, 4]
  const Tensor& scores = ctx.input(1);  // [B, C, N]
  if (boxes.rank() != 3 || boxes.dim(2) != 4)
    return node_error(n, "boxes has shape {}, expected [batch, boxes, 4]",
                      dims_to_string(boxes.dims()));
  if (scores.rank() != 3)
    return node_error(n, "scores has {} dims, expected 3 [batch, classes, boxes]", scores.rank());
  if (scores.dim(0) != boxes.dim(0) || scores.dim(2) != boxes.dim(1)) {
    return node_error(n, "scores shape {} does not match boxes shape {}",
                      dims_to_string(scores.dims()), dims_to_string(boxes.dims()));
  }
  if (!is_floating(boxes.dtype()) || !is_floating(scores.dtype()))
    return node_error(n, "boxes and scores must be float tensors");
  const int64_t center = n.attr_int("center_point_box", 0);
  if (center != 0 && center != 1)
    return node_error(n, "center_point_box is {}, expected 0 or 1", center);
  int64_t max_out = 0;  // the spec's default: select nothing
  if (ctx.has_input(2) && ctx.input(2).numel() > 0) {
    const Tensor& t = ctx.input(2);
    if (t.dtype() != DType::kInt64 || t.numel() != 1 || t.rank() > 1)
      return node_error(n, "max_output_boxes_per_class must be an int64 scalar, got {} {}",
                        dtype_name(t.dtype()), dims_to_string(t.dims()));
    max_out = std::max<int64_t>(t.as_int64(0), 0);
  }
  TARMAC_ASSIGN_OR_RETURN(double iou, optional_scalar(ctx, 3, "iou_threshold", 0));
  if (!(iou >= 0 && iou <= 1)) return node_error(n, "iou_threshold {} is not in [0, 1]", iou);
  const bool has_score_threshold = ctx.has_input(4) && ctx.input(4).numel() > 0;
  TARMAC_ASSIGN_OR_RETURN(double score_threshold, optional_scalar(ctx, 4, "score_threshold", 0));

  const int64_t batches = boxes.dim(0), num_boxes = boxes.dim(1), classes = scores.dim(1);
  std::vector<double> box_data(static_cast<size_t>(boxes.numel()));
  std::vector<double> score_data(static_cast<size_t>(scores.numel()));
  for (size_t i = 0; i < box_data.size(); ++i)
    box_data[i] = boxes.as_double(static_cast<int64_t>(i));
  for (size_t i = 0; i < score_data.size(); ++i)
    score_data[i] = scores.as_double(static_cast<int64_t>(i));

  // Each (batch, class) pair selects independently; results are concatenated in that order.
  std::vector<std::vector<int64_t>> picked(static_cast<size_t>(batches * classes));
  parallel_for(batches * classes, 1, [&](int64_t b, int64_t e) {
    std::vector<int64_t> order;
    std::vector<Box> kept;
    for (int64_t bc = b; bc < e; ++bc) {
      if (max_out == 0) continue;
      const int64_t batch = bc / classes;
      const double* sc = score_data.data() + bc * num_boxes;
      const double* bx = box_data.data() + batch * num_boxes * 4;
      order.clear();
      for (int64_t i = 0; i < num_boxes; ++i)
        if (!has_score_threshold || sc[i] > score_threshold) order.push_back(i);
      // NaN scores sort last so the ordering stays strict-weak.
      std::stable_sort(order.begin(), order.end(), [&](int64_t l, int64_t r) {
        const bool ln = std::isnan(sc[l]), rn = std::isnan(sc[r]);
        if (ln || rn) return !ln && rn;
        return sc[l] > sc[r];
      });
      kept.clear();
      std::vector<int64_t>& out = picked[static_cast<size_t>(bc)];
      for (int64_t i : order) {
        if (static_cast<int64_t>(out.size()) >= max_out) break;
        const Box cand = make_box(bx + i * 4, center == 1);
        bool keep = true;
        for (const Box& k : kept) {
          if (suppresses(cand, k, iou)) {
            keep = false;
            break;
          }
        }
        if (!keep) continue;
        kept.push_back(cand);
        out.push_back(i);
      }
    }
  });
  int64_t total = 0;
  for (const auto& v : picked) total += static_cast<int64_t>(v.size());
  TARMAC_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kInt64, {total, 3}));
  int64_t* dst = y->data<int64_t>();
  for (int64_t bc = 0; bc < batches * classes; ++bc) {
    for (int64_t box : picked[static_cast<size_t>(bc)]) {
      *dst++ = bc / classes;
      *dst++ = bc % classes;
      *dst++ = box;
    }
  }
  return Status::ok();
}

}  // namespace tarmac
