// Argument resolution shared by the tensor family's inference and kernels (see tensor_util.h).
#include <cmath>

#include "backends/cpu/tensor_util.h"

namespace tarmac::tensor_ops {

Status set_output(KernelContext& c, size_t i, Tensor t) {
  if (i >= c.outputs.size()) return node_error(c.node, "has no output {}", i);
  c.outputs[i] = std::move(t);
  return Status::ok();
}

StatusOr<int64_t> checked_mul(const Node& n, int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) return node_error(n, "size {} x {} overflows", a, b);
  return r;
}

StatusOr<int64_t> checked_add(const Node& n, int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) return node_error(n, "size {} + {} overflows", a, b);
  return r;
}

Shape fresh_dims(InferContext& c, int64_t n, const std::string& hint) {
  Shape s;
  for (int64_t i = 0; i < n; ++i) s.push_back(c.new_dim(hint));
  return s;
}

Dim dim_product(InferContext& c, const Shape& s, size_t b, size_t e) {
  int64_t p = 1;
  int unknown = 0;
  Dim sym;
  for (size_t k = b; k < e; ++k) {
    if (s[k].is_static()) {
      if (__builtin_mul_overflow(p, s[k].value, &p)) return c.new_dim("product");
    } else {
      ++unknown;
      sym = s[k];
    }
  }
  if (unknown == 0) return Dim(p);
  if (unknown == 1 && p == 1) return sym;
  return c.new_dim("product");
}

StatusOr<std::vector<int64_t>> int_list(const Node& n, const Tensor& t, const std::string& what) {
  if (t.dtype() != DType::kInt64 && t.dtype() != DType::kInt32) {
    return node_error(n, "'{}' must be int32 or int64, got {}", what, dtype_name(t.dtype()));
  }
  if (t.rank() > 1) {
    return node_error(n, "'{}' must be a 1-D tensor, got shape {}", what, dims_to_string(t.dims()));
  }
  return t.to_int64_vector();
}

StatusOr<std::vector<int64_t>> normalize_axes(const Node& n, std::vector<int64_t> axes,
                                              int64_t rank) {
  std::vector<bool> seen(static_cast<size_t>(std::max<int64_t>(rank, 0)), false);
  for (int64_t& a : axes) {
    if (a < -rank || a >= rank) {
      return node_error(n, "axis {} is out of range for rank {}", a, rank);
    }
    if (a < 0) a += rank;
    if (seen[static_cast<size_t>(a)]) return node_error(n, "axis {} is repeated", a);
    seen[static_cast<size_t>(a)] = true;
  }
  return axes;
}

StatusOr<Dims> shape_input_dims(const Node& n, const Tensor& t) {
  TARMAC_ASSIGN_OR_RETURN(std::vector<int64_t> v, int_list(n, t, "shape"));
  for (int64_t d : v)
    if (d < 0) return node_error(n, "shape value {} is negative", d);
  return v;
}

StatusOr<int64_t> flatten_axis(const Node& n, int64_t /*opset*/, int64_t axis, int64_t rank) {
  if (axis < -rank || axis > rank) {
    return node_error(n, "axis {} is out of range for rank {}", axis, rank);
  }
  return axis < 0 ? axis + rank : axis;
}

std::pair<int64_t, int64_t> shape_slice(const Node& n, int64_t opset, int64_t rank) {
  if (opset < 15) return {0, rank};
  int64_t start = n.attr_int("start", 0);
  int64_t end = n.has_attr("end") ? n.attr_int("end", rank) : rank;
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, 0, rank);
  return {start, std::max(start, end)};
}

StatusOr<std::vector<bool>> unsqueeze_mask(const Node& n, const std::vector<int64_t>& axes,
                                           int64_t rank) {
  const int64_t out_rank = rank + static_cast<int64_t>(axes.size());
  TARMAC_ASSIGN_OR_RETURN(std::vector<int64_t> ax, normalize_axes(n, axes, out_rank));
  std::vector<bool> mask(static_cast<size_t>(out_rank), false);
  for (int64_t a : ax) mask[static_cast<size_t>(a)] = true;
  return mask;
}

StatusOr<std::vector<int64_t>> tile_repeats(const Node& n, const Tensor& t, int64_t rank) {
  TARMAC_ASSIGN_OR_RETURN(std::vector<int64_t> r, int_list(n, t, "repeats"));
  if (static_cast<int64_t>(r.size()) != rank) {
    return node_error(n, "'repeats' has {} values but the input has rank {}", r.size(), rank);
  }
  for (int64_t v : r)
    if (v < 0) return node_error(n, "'repeats' value {} is negative", v);
  return r;
}

StatusOr<std::pair<int64_t, int64_t>> tile_v1_args(const Node& n, const Tensor& tiles,
                                                   const Tensor& axis, int64_t rank) {
  TARMAC_ASSIGN_OR_RETURN(std::vector<int64_t> t, int_list(n, tiles, "tiles"));
  TARMAC_ASSIGN_OR_RETURN(std::vector<int64_t> a, int_list(n, axis, "axis"));
  if (t.size() != 1 || a.size() != 1) return node_error(n, "'tiles' and 'axis' must be scalars");
  if (t[0] < 0) return node_error(n, "'tiles' value {} is negative", t[0]);
  TARMAC_ASSIGN_OR_RETURN(int64_t ax, normalize_axis(n, a[0], rank));
  if (rank == 0) return node_error(n, "cannot tile a scalar along an axis");
  return std::make_pair(t[0], ax);
}

StatusOr<Tensor> constant_value(const Node& n) {
  for (const char* a : {"sparse_value", "value_string", "value_strings"}) {
    if (n.has_attr(a)) return unsupported("{}: attribute '{}' is not supported", n.describe(), a);
  }
  int given = 0;
  Tensor out;
  if (n.has_attr("value")) {
    ++given;
    const Tensor* t = n.attr_tensor("value");
    if (!t) return node_error(n, "attribute 'value' is not a tensor");
    out = *t;
  }
  if (n.has_attr("value_float")) {
    ++given;
    out = Tensor::scalar<float>(n.attr_float("value_float", 0));
  }
  if (n.has_attr("value_floats")) {
    ++given;
    const auto v = n.attr_floats("value_floats");
    out = Tensor::from_vector<float>(v, {static_cast<int64_t>(v.size())});
  }
  if (n.has_attr("value_int")) {
    ++given;
    out = Tensor::scalar<int64_t>(n.attr_int("value_int", 0));
  }
  if (n.has_attr("value_ints")) {
    ++given;
    const auto v = n.attr_ints("value_ints");
    out = Tensor::from_vector<int64_t>(v, {static_cast<int64_t>(v.size())});
  }
  if (given != 1) {
    return node_error(n, "needs exactly one of the value attributes, got {}", given);
  }
  return out;
}

StatusOr<Tensor> constant_of_shape_fill(const Node& n) {
  if (!n.has_attr("value")) return Tensor::scalar<float>(0.0f);
  const Tensor* t = n.attr_tensor("value");
  if (!t) return node_error(n, "attribute 'value' is not a tensor");
  if (t->numel() != 1) {
    return node_error(n, "attribute 'value' must have one element, got shape {}",
                      dims_to_string(t->dims()));
  }
  return *t;
}

Status check_index_dtype(const Node& n, DType t, const char* what) {
  if (t == DType::kInt32 || t == DType::kInt64) return Status::ok();
  return node_error(n, "'{}' must be int32 or int64, got {}", what, dtype_name(t));
}

StatusOr<int64_t> concat_axis(const Node& n, int64_t opset, int64_t rank) {
  if (opset >= 4 && !n.has_attr("axis")) return node_error(n, "attribute 'axis' is required");
  if (rank == 0) return node_error(n, "cannot concatenate scalars");
  return normalize_axis(n, n.attr_int("axis", 1), rank);
}

StatusOr<std::vector<int64_t>> transpose_perm(const Node& n, int64_t rank) {
  std::vector<int64_t> perm;
  if (!n.has_attr("perm")) {
    for (int64_t k = rank - 1; k >= 0; --k) perm.push_back(k);
    return perm;
  }
  perm = n.attr_ints("perm");
  if (static_cast<int64_t>(perm.size()) != rank) {
    return node_error(n, "'perm' has {} values but the input has rank {}", perm.size(), rank);
  }
  std::vector<bool> seen(perm.size(), false);
  for (int64_t p : perm) {
    if (p < 0 || p >= rank || seen[static_cast<size_t>(p)]) {
      return node_error(n, "'perm' [{}] is not a permutation of 0..{}", fmt::join(perm, ","),
                        rank - 1);
    }
    seen[static_cast<size_t>(p)] = true;
  }
  return perm;
}

StatusOr<int64_t> block_size(const Node& n, int64_t opset, bool* crd) {
  if (!n.has_attr("blocksize")) return node_error(n, "attribute 'blocksize' is required");
  const int64_t b = n.attr_int("blocksize", 0);
  if (b < 1 || b > (int64_t{1} << 20)) return node_error(n, "blocksize {} is invalid", b);
  if (crd) {
    const std::string mode = opset >= 11 ? n.attr_string("mode", "DCR") : "DCR";
    if (mode != "DCR" && mode != "CRD") {
      return node_error(n, "mode '{}' is invalid (DCR or CRD)", mode);
    }
    *crd = mode == "CRD";
  }
  return b;
}

StatusOr<Reduction> scatter_reduction(const Node& n, int64_t opset) {
  const std::string r = n.attr_string("reduction", "none");
  if (r == "none") return Reduction::kNone;
  if (opset >= 16 && r == "add") return Reduction::kAdd;
  if (opset >= 16 && r == "mul") return Reduction::kMul;
  if (opset >= 18 && r == "max") return Reduction::kMax;
  if (opset >= 18 && r == "min") return Reduction::kMin;
  return node_error(n, "reduction '{}' is not supported at opset {}", r, opset);
}

void clamp_slice(int64_t dim, int64_t start, int64_t end, int64_t step, int64_t* first,
                 int64_t* count) {
  *first = 0;
  *count = 0;
  if (dim <= 0) return;
  if (start < 0) start += dim;
  if (end < 0) end += dim;
  // The magnitude of INT64_MIN does not fit int64_t.
  const uint64_t mag =
      step > 0 ? static_cast<uint64_t>(step) : static_cast<uint64_t>(-(step + 1)) + 1;
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, dim);
    end = std::clamp<int64_t>(end, 0, dim);
    if (end > start)
      *count = static_cast<int64_t>(static_cast<uint64_t>(end - start - 1) / mag) + 1;
  } else {
    start = std::clamp<int64_t>(start, 0, dim - 1);
    end = std::clamp<int64_t>(end, -1, dim - 1);
    if (start > end)
      *count = static_cast<int64_t>(static_cast<uint64_t>(start - end - 1) / mag) + 1;
  }
  *first = start;
}

StatusOr<PadMode> pad_mode(const Node& n, int64_t opset) {
  const std::string m = n.attr_string("mode", "constant");
  if (m == "constant") return PadMode::kConstant;
  if (m == "reflect") return PadMode::kReflect;
  if (m == "edge") return PadMode::kEdge;
  if (m == "wrap" && opset >= 19) return PadMode::kWrap;
  return node_error(n, "unsupported mode '{}' (opset {} allows constant, reflect, edge{})", m,
                    opset, opset >= 19 ? ", wrap" : "");
}

StatusOr<std::vector<int64_t>> split_sizes(const Node& n, int64_t opset, const IntsArg& split,
                                           int64_t dim, size_t outputs) {
  std::vector<int64_t> sizes;
  if (split.known()) {
    sizes = split.values;
    if (sizes.size() != outputs) {
      return node_error(n, "'split' has {} values but the node has {} outputs", sizes.size(),
                        outputs);
    }
    int64_t sum = 0;
    for (int64_t s : sizes) {
      if (s < 0) return node_error(n, "'split' values must be >= 0, got {}", s);
      sum += s;
    }
    if (sum != dim) {
      return node_error(n, "'split' values sum to {} but the split axis has size {}", sum, dim);
    }
    return sizes;
  }
  int64_t parts = static_cast<int64_t>(outputs);
  if (opset >= 18 && n.has_attr("num_outputs")) {
    parts = n.attr_int("num_outputs", 0);
    if (parts < 1 || parts != static_cast<int64_t>(outputs)) {
      return node_error(n, "num_outputs is {} but the node has {} outputs", parts, outputs);
    }
  }
  if (parts < 1) return node_error(n, "has no outputs");
  if (opset < 18) {
    if (dim % parts != 0) {
      return node_error(n, "axis of size {} cannot be split into {} equal parts", dim, parts);
    }
    sizes.assign(static_cast<size_t>(parts), dim / parts);
    return sizes;
  }
  // Opset 18: equal chunks of ceil(dim / parts), the last one smaller.
  const int64_t chunk = (dim + parts - 1) / parts;
  const int64_t last = dim - chunk * (parts - 1);
  if (last < 0) {
    return node_error(n, "axis of size {} cannot be split into {} chunks of {}", dim, parts, chunk);
  }
  sizes.assign(static_cast<size_t>(parts), chunk);
  sizes.back() = last;
  return sizes;
}

StatusOr<Dims> reshape_dims(const Node& n, const Dims& in, const std::vector<int64_t>& shape,
                            bool allowzero) {
  Dims out(shape.size());
  int64_t infer_at = -1;
  __int128 known = 1;  // wide: shape values come from the model and may be absurd
  for (size_t i = 0; i < shape.size(); ++i) {
    int64_t s = shape[i];
    if (s == -1) {
      if (infer_at >= 0)
        return node_error(n, "shape {} has more than one -1", fmt::join(shape, ","));
      infer_at = static_cast<int64_t>(i);
      continue;
    }
    if (s < -1) return node_error(n, "shape value {} is invalid", s);
    if (s == 0 && !allowzero) {
      if (i >= in.size()) {
        return node_error(n,
                          "shape value 0 at index {} copies a dimension the input (rank {}) "
                          "does not have",
                          i, in.size());
      }
      s = in[i];
    }
    out[i] = s;
    known *= s;
    if (known > std::numeric_limits<int64_t>::max()) {
      return node_error(n, "shape {} is too large", fmt::join(shape, ","));
    }
  }
  int64_t total = 1;
  for (int64_t d : in) {
    // Declared shapes reach here at inference; they may be absurd.
    if (__builtin_mul_overflow(total, d, &total)) {
      return node_error(n, "input shape {} is too large", dims_to_string(in));
    }
  }
  if (infer_at >= 0) {
    if (known == 0) {
      return node_error(n, "cannot infer the -1 in shape {} because another dimension is 0",
                        fmt::join(shape, ","));
    }
    if (total % known != 0) {
      return node_error(n, "cannot reshape {} into {}", dims_to_string(in), fmt::join(shape, ","));
    }
    out[static_cast<size_t>(infer_at)] = total / static_cast<int64_t>(known);
  } else if (known != total) {
    return node_error(n, "cannot reshape {} ({} elements) into {} ({} elements)",
                      dims_to_string(in), total, dims_to_string(out), static_cast<int64_t>(known));
  }
  return out;
}

StatusOr<int64_t> range_count(const Node& n, const Tensor& start, const Tensor& limit,
                              const Tensor& delta) {
  for (const Tensor* t : {&start, &limit, &delta}) {
    if (t->numel() != 1) {
      return node_error(n, "start, limit and delta must be scalars, got shape {}",
                        dims_to_string(t->dims()));
    }
    if (t->dtype() != start.dtype()) return node_error(n, "inputs have different types");
  }
  if (is_floating(start.dtype())) {
    const double s = start.as_double(0), l = limit.as_double(0), d = delta.as_double(0);
    if (d == 0 || !std::isfinite(s) || !std::isfinite(l) || !std::isfinite(d)) {
      return node_error(n, "range start {}, limit {}, delta {} is not finite", s, l, d);
    }
    const double c = std::ceil((l - s) / d);
    if (c > 1e15) return node_error(n, "range of {} elements is too large", c);
    return c > 0 ? static_cast<int64_t>(c) : 0;
  }
  if (!is_integer(start.dtype())) {
    return node_error(n, "unsupported type {}", dtype_name(start.dtype()));
  }
  const __int128 s = start.as_int64(0), l = limit.as_int64(0), d = delta.as_int64(0);
  if (d == 0) return node_error(n, "delta must not be 0");
  const __int128 span = l - s;
  if ((span > 0) != (d > 0) || span == 0) return int64_t{0};
  // Both positive or both negative here: ceil of a positive quotient.
  const __int128 q = (span > 0) ? (span + d - 1) / d : (span + d + 1) / d;
  if (q > std::numeric_limits<int64_t>::max()) return node_error(n, "range is too long");
  return static_cast<int64_t>(q);
}

}  // namespace tarmac::tensor_ops
