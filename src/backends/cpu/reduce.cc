// CPU reference kernels for ReduceL2/Max/Mean/Min/Prod/Sum/SumSquare.
//
// The input is viewed as alternating blocks of kept and reduced dimensions (adjacent dims of
// the same kind merged, size-1 dims dropped). Each output row (all kept blocks but the
// innermost) is produced by one task that walks the reduced blocks with an odometer; when the
// innermost block is kept, a task accumulates whole contiguous rows at once so memory is read
// in order.
#include <cmath>
#include <cstring>
#include <limits>

#include "backends/cpu/reduce_util.h"

namespace tarmac {

namespace {

using reduce_detail::acc_t;
using reduce_detail::wrap_add;
using reduce_detail::wrap_mul;

enum class ReduceKind { kSum, kSumSquare, kL2, kMean, kProd, kMax, kMin };

/// Axes arrive as an input from ReduceSum-13 and from opset 18 for the others.
bool axes_from_input(const Node& node, int64_t opset) {
  return node.op_type == "ReduceSum" ? opset >= 13 : opset >= 18;
}

bool dtype_allowed(ReduceKind kind, DType t) {
  if (is_floating(t) || t == DType::kInt32 || t == DType::kInt64) return true;
  // int8/uint8 from opset 12 and bool from opset 20 exist for ReduceMax/ReduceMin only.
  if (kind == ReduceKind::kMax || kind == ReduceKind::kMin)
    return t == DType::kInt8 || t == DType::kUint8 || t == DType::kBool;
  return false;
}

template <typename T, ReduceKind K>
struct ReduceOp {
  using A = acc_t<T>;
  static A init() {
    if constexpr (K == ReduceKind::kProd) {
      return A{1};
    } else if constexpr (K == ReduceKind::kMax) {
      if constexpr (std::is_same_v<A, double>) {
        return -std::numeric_limits<double>::infinity();
      } else {
        return static_cast<A>(std::numeric_limits<T>::lowest());  // false for bool
      }
    } else if constexpr (K == ReduceKind::kMin) {
      if constexpr (std::is_same_v<A, double>) {
        return std::numeric_limits<double>::infinity();
      } else {
        return static_cast<A>(std::numeric_limits<T>::max());  // true for bool
      }
    } else {
      return A{0};
    }
  }
  static A combine(A acc, T raw) {
    const A x = static_cast<A>(load(raw));
    if constexpr (K == ReduceKind::kSum || K == ReduceKind::kMean) {
      return wrap_add(acc, x);
    } else if constexpr (K == ReduceKind::kSumSquare || K == ReduceKind::kL2) {
      return wrap_add(acc, wrap_mul(x, x));
    } else if constexpr (K == ReduceKind::kProd) {
      return wrap_mul(acc, x);
    } else if constexpr (K == ReduceKind::kMax) {
      // NaN wins and then sticks, as numpy's max does.
      if constexpr (std::is_same_v<A, double>) {
        return (x > acc || std::isnan(x)) ? x : acc;
      } else {
        return x > acc ? x : acc;
      }
    } else {
      if constexpr (std::is_same_v<A, double>) {
        return (x < acc || std::isnan(x)) ? x : acc;
      } else {
        return x < acc ? x : acc;
      }
    }
  }
  static T finish(A acc, int64_t count) {
    if constexpr (K == ReduceKind::kMean) {
      // An empty mean is undefined by the spec; 0/0 gives NaN for floats and 0 for integers.
      return reduce_detail::from_double<T>(static_cast<double>(acc) / static_cast<double>(count));
    } else if constexpr (K == ReduceKind::kL2) {
      return reduce_detail::from_double<T>(std::sqrt(static_cast<double>(acc)));
    } else {
      return reduce_detail::from_acc<T>(acc);
    }
  }
};

/// The input's strides grouped into the loops a reduction runs.
struct ReduceLayout {
  Dims kept_sizes, kept_strides;  // outer kept blocks (not the innermost kept block)
  Dims red_sizes, red_strides;    // outer reduced blocks (not the innermost reduced block)
  int64_t inner_kept = 1;         // innermost block when it is kept, else 1
  int64_t inner_red = 1;          // innermost block when it is reduced, else 1
  int64_t red_count = 1;          // elements reduced into each output
  int64_t out_rows = 1;           // product of kept_sizes
};

ReduceLayout make_layout(const Dims& dims, const std::vector<bool>& reduced) {
  struct Block {
    int64_t size;
    bool reduced;
  };
  std::vector<Block> blocks;
  for (size_t k = 0; k < dims.size(); ++k) {
    if (dims[k] == 1) continue;
    if (!blocks.empty() && blocks.back().reduced == reduced[k]) {
      blocks.back().size *= dims[k];
    } else {
      blocks.push_back({dims[k], reduced[k]});
    }
  }
  ReduceLayout L;
  int64_t stride = 1;
  std::vector<int64_t> strides(blocks.size());
  for (size_t b = blocks.size(); b-- > 0;) {
    strides[b] = stride;
    stride *= blocks[b].size;
  }
  for (size_t b = 0; b < blocks.size(); ++b) {
    const bool innermost = b + 1 == blocks.size();
    if (blocks[b].reduced) {
      L.red_count *= blocks[b].size;
      if (innermost) {
        L.inner_red = blocks[b].size;
      } else {
        L.red_sizes.push_back(blocks[b].size);
        L.red_strides.push_back(strides[b]);
      }
    } else if (innermost) {
      L.inner_kept = blocks[b].size;
    } else {
      L.kept_sizes.push_back(blocks[b].size);
      L.kept_strides.push_back(strides[b]);
      L.out_rows *= blocks[b].size;
    }
  }
  return L;
}

template <typename T, ReduceKind K>
void reduce_loop(const T* x, T* y, const ReduceLayout& L) {
  using Op = ReduceOp<T, K>;
  using A = typename Op::A;
  const int64_t I = L.inner_kept;
  const size_t nred = L.red_sizes.size();
  int64_t red_outer = 1;
  for (int64_t s : L.red_sizes) red_outer *= s;
  parallel_for(L.out_rows, reduce_detail::grain_for(L.red_count * I), [&](int64_t b, int64_t e) {
    std::vector<A> acc(static_cast<size_t>(I));
    std::vector<int64_t> idx(nred);
    for (int64_t row = b; row < e; ++row) {
      int64_t base = 0;
      for (size_t k = L.kept_sizes.size(), rem = static_cast<size_t>(row); k-- > 0;) {
        base +=
            static_cast<int64_t>(rem % static_cast<size_t>(L.kept_sizes[k])) * L.kept_strides[k];
        rem /= static_cast<size_t>(L.kept_sizes[k]);
      }
      std::fill(acc.begin(), acc.end(), Op::init());
      std::fill(idx.begin(), idx.end(), 0);
      int64_t off = 0;
      for (int64_t r = 0; r < red_outer; ++r) {
        const T* p = x + base + off;
        if (I == 1) {
          A a = acc[0];
          for (int64_t j = 0; j < L.inner_red; ++j) a = Op::combine(a, p[j]);
          acc[0] = a;
        } else {
          for (int64_t i = 0; i < I; ++i)
            acc[static_cast<size_t>(i)] = Op::combine(acc[static_cast<size_t>(i)], p[i]);
        }
        // Odometer step over the outer reduced blocks.
        for (size_t k = nred; k-- > 0;) {
          off += L.red_strides[k];
          if (++idx[k] < L.red_sizes[k]) break;
          off -= L.red_strides[k] * L.red_sizes[k];
          idx[k] = 0;
        }
      }
      T* out = y + row * I;
      for (int64_t i = 0; i < I; ++i) out[i] = Op::finish(acc[static_cast<size_t>(i)], L.red_count);
    }
  });
}

template <ReduceKind K>
Status run_reduce(KernelContext& ctx) {
  const Node& node = ctx.node;
  if (!ctx.has_input(0)) return node_error(node, "input 'data' is missing");
  const Tensor& x = ctx.input(0);
  if (!dtype_allowed(K, x.dtype()))
    return node_error(node, "input dtype {} is not supported", dtype_name(x.dtype()));
  const int64_t rank = x.rank();

  std::vector<int64_t> axes;
  bool noop = false;
  if (axes_from_input(node, ctx.opset)) {
    noop = node.attr_int("noop_with_empty_axes", 0) != 0;
    if (ctx.has_input(1)) {
      const Tensor& a = ctx.input(1);
      if (a.dtype() != DType::kInt64 && a.dtype() != DType::kInt32)
        return node_error(node, "axes must be int64, got {}", dtype_name(a.dtype()));
      if (a.rank() > 1) return node_error(node, "axes must be 1-D, got rank {}", a.rank());
      axes = a.to_int64_vector();
    } else if (node.has_attr("axes")) {
      axes = node.attr_ints("axes");  // pre-18 style attribute on a newer model: honour it
    }
  } else {
    axes = node.attr_ints("axes");
  }

  if (axes.empty() && noop) {
    TARMAC_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x.dtype(), x.dims()));
    std::memcpy(y->raw(), x.raw(), x.nbytes());
    return Status::ok();
  }

  std::vector<bool> reduced(static_cast<size_t>(rank), axes.empty());
  for (int64_t a : axes) {
    TARMAC_ASSIGN_OR_RETURN(int64_t k, reduce_detail::checked_axis(node, "axis", a, rank));
    if (reduced[static_cast<size_t>(k)]) return node_error(node, "axis {} is listed twice", a);
    reduced[static_cast<size_t>(k)] = true;
  }
  const bool keepdims = node.attr_int("keepdims", 1) != 0;
  Dims out_dims;
  for (int64_t k = 0; k < rank; ++k) {
    if (!reduced[static_cast<size_t>(k)]) {
      out_dims.push_back(x.dims()[static_cast<size_t>(k)]);
    } else if (keepdims) {
      out_dims.push_back(1);
    }
  }
  TARMAC_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x.dtype(), out_dims));
  if (y->numel() == 0) return Status::ok();

  dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool> && K != ReduceKind::kMax && K != ReduceKind::kMin) {
      return;  // rejected by dtype_allowed above
    } else if (x.numel() == 0) {
      // A reduced dim is empty: every output is the reduction of nothing.
      const T v = ReduceOp<T, K>::finish(ReduceOp<T, K>::init(), 0);
      T* out = y->data<T>();
      for (int64_t i = 0; i < y->numel(); ++i) out[i] = v;
    } else {
      reduce_loop<T, K>(x.data<T>(), y->data<T>(), make_layout(x.dims(), reduced));
    }
  });
  return Status::ok();
}

}  // namespace

Status cpu_ReduceL2(KernelContext& ctx) { return run_reduce<ReduceKind::kL2>(ctx); }
Status cpu_ReduceMax(KernelContext& ctx) { return run_reduce<ReduceKind::kMax>(ctx); }
Status cpu_ReduceMean(KernelContext& ctx) { return run_reduce<ReduceKind::kMean>(ctx); }
Status cpu_ReduceMin(KernelContext& ctx) { return run_reduce<ReduceKind::kMin>(ctx); }
Status cpu_ReduceProd(KernelContext& ctx) { return run_reduce<ReduceKind::kProd>(ctx); }
Status cpu_ReduceSum(KernelContext& ctx) { return run_reduce<ReduceKind::kSum>(ctx); }
Status cpu_ReduceSumSquare(KernelContext& ctx) { return run_reduce<ReduceKind::kSumSquare>(ctx); }

}  // namespace tarmac
