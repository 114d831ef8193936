// CPU kernels for Gemm and MatMul, and the Eigen GEMM every nn kernel goes through.
// GCC 12 reports false "may be used uninitialized" warnings inside its own AVX-512
// intrinsics when Eigen's GEMM kernels are built with -march=x86-64-v4 or newer.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <Eigen/Core>

#include <cmath>
#include <cstddef>
#include <memory>
#include <new>

#include "backends/cpu/nn_util.h"

namespace tarmac {

namespace nn {

template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
          int64_t lda, const T* b, int64_t ldb, T* c, int64_t ldc, bool accumulate) {
  // Threads come from gemm_parallel's blocks; Eigen's own OpenMP split of one product scales
  // worse and would nest inside ours.
  static const bool serial = [] {
    Eigen::setNbThreads(1);
    return true;
  }();
  (void)serial;
  using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using Stride = Eigen::OuterStride<>;
  using ConstMap = Eigen::Map<const Matrix, Eigen::Unaligned, Stride>;
  if (m == 0 || n == 0) return;
  Eigen::Map<Matrix, Eigen::Unaligned, Stride> cm(c, m, n, Stride(ldc));
  if (k == 0) {
    if (!accumulate) cm.setZero();
    return;
  }
  ConstMap am(a, trans_a ? k : m, trans_a ? m : k, Stride(lda));
  ConstMap bm(b, trans_b ? n : k, trans_b ? k : n, Stride(ldb));
  // Eigen folds the transposes and alpha into one product call; no temporaries.
  auto run = [&](const auto& lhs, const auto& rhs) {
    if (accumulate) {
      cm.noalias() += alpha * lhs * rhs;
    } else {
      cm.noalias() = alpha * lhs * rhs;
    }
  };
  if (!trans_a && !trans_b) run(am, bm);
  if (!trans_a && trans_b) run(am, bm.transpose());
  if (trans_a && !trans_b) run(am.transpose(), bm);
  if (trans_a && trans_b) run(am.transpose(), bm.transpose());
}

template <typename T>
void gemm_parallel(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
                   int64_t lda, const T* b, int64_t ldb, T* c, int64_t ldc, bool accumulate) {
  // At least ~0.5M multiply-adds per block, or threading costs more than it saves.
  const double work = static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  const int64_t parts = std::min<int64_t>(num_threads(), static_cast<int64_t>(work / 5e5));
  if (parts <= 1) {
    gemm<T>(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, c, ldc, accumulate);
    return;
  }
  // Grid pm x pn: each block packs its rows of A and columns of B, so pick the grid that
  // packs the least (k * (m * pn + n * pm)) among those that keep most threads busy and
  // blocks no thinner than 8 rows / 16 columns.
  int64_t pm = 1, pn = 1;
  double best = -1;
  for (int64_t tm = 1; tm <= parts; ++tm) {
    const int64_t tn = parts / tm;
    if ((tm > 1 && m / tm < 8) || (tn > 1 && n / tn < 16)) continue;
    const double used = static_cast<double>(tm * tn);
    const double packed = static_cast<double>(m * tn + n * tm);
    const double score = used * used / packed;
    if (score > best) {
      best = score;
      pm = tm;
      pn = tn;
    }
  }
  if (pm * pn <= 1) {
    gemm<T>(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, c, ldc, accumulate);
    return;
  }
  parallel_for(pm * pn, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const int64_t bi = i / pn, bj = i % pn;
      const int64_t m0 = m * bi / pm, m1 = m * (bi + 1) / pm;
      const int64_t n0 = n * bj / pn, n1 = n * (bj + 1) / pn;
      const T* ab = trans_a ? a + m0 : a + m0 * lda;
      const T* bb = trans_b ? b + n0 * ldb : b + n0;
      gemm<T>(trans_a, trans_b, m1 - m0, n1 - n0, k, alpha, ab, lda, bb, ldb, c + m0 * ldc + n0,
              ldc, accumulate);
    }
  });
}

#define TARMAC_NN_GEMM(T)                                                                      \
  template void gemm<T>(bool, bool, int64_t, int64_t, int64_t, T, const T*, int64_t, const T*, \
                        int64_t, T*, int64_t, bool);                                           \
  template void gemm_parallel<T>(bool, bool, int64_t, int64_t, int64_t, T, const T*, int64_t,  \
                                 const T*, int64_t, T*, int64_t, bool);
TARMAC_NN_GEMM(float)
TARMAC_NN_GEMM(double)
TARMAC_NN_GEMM(uint8_t)
TARMAC_NN_GEMM(uint32_t)
TARMAC_NN_GEMM(uint64_t)
#undef TARMAC_NN_GEMM

StatusOr<void*> thread_scratch(const Node& n, size_t bytes) {
  thread_local std::unique_ptr<std::byte[]> buffer;
  thread_local size_t capacity = 0;
  if (bytes > max_host_allocation_bytes()) {
    return resource_exhausted("{}: scratch buffer of {} bytes is too large", n.describe(), bytes);
  }
  if (bytes > capacity) {
    buffer.reset();
    capacity = 0;
    buffer.reset(new (std::nothrow) std::byte[bytes]);
    if (!buffer)
      return resource_exhausted("{}: out of memory for {} scratch bytes", n.describe(), bytes);
    capacity = bytes;
  }
  return static_cast<void*>(buffer.get());
}

}  // namespace nn

namespace {

using nn::gemm_t;

bool matmul_dtype_ok(DType t, int64_t opset) {
  return is_floating(t) || (opset >= 9 && (t == DType::kInt32 || t == DType::kInt64));
}

template <typename T>
Status matmul_typed(KernelContext& ctx, const Tensor& a, const Tensor& b) {
  const Node& node = ctx.node;
  Dims ad = a.dims(), bd = b.dims();
  if (ad.empty() || bd.empty()) return node_error(node, "inputs must have rank >= 1");
  const bool a_vec = ad.size() == 1, b_vec = bd.size() == 1;
  if (a_vec) ad.insert(ad.begin(), 1);
  if (b_vec) bd.push_back(1);
  const int64_t m = ad[ad.size() - 2], k = ad.back(), n = bd.back();
  if (bd[bd.size() - 2] != k) {
    return node_error(node, "inner dimensions differ: A is {} and B is {}",
                      dims_to_string(a.dims()), dims_to_string(b.dims()));
  }
  const Dims a_batch(ad.begin(), ad.end() - 2), b_batch(bd.begin(), bd.end() - 2);
  TARMAC_ASSIGN_OR_RETURN(Dims batch, broadcast_dims(node, {a_batch, b_batch}));
  Dims out = batch;
  if (!a_vec) out.push_back(m);
  if (!b_vec) out.push_back(n);
  TARMAC_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, a.dtype(), out));
  using G = gemm_t<T>;
  const G* ap = reinterpret_cast<const G*>(a.data<T>());
  const G* bp = reinterpret_cast<const G*>(b.data<T>());
  G* yp = reinterpret_cast<G*>(y->data<T>());
  const int64_t batches = num_elements(batch);
  const int64_t b_count = num_elements(b_batch);
  if (b_count == 1) {
    // B is shared by every batch: one GEMM over the stacked rows of A.
    nn::gemm_parallel<G>(false, false, batches * m, n, k, G(1), ap, bp, yp, false);
    return Status::ok();
  }
  // Per-batch offsets of A and B under broadcasting.
  const size_t r = batch.size();
  Dims a_full(r, 1), b_full(r, 1);
  std::copy(a_batch.begin(), a_batch.end(),
            a_full.begin() + static_cast<int64_t>(r - a_batch.size()));
  std::copy(b_batch.begin(), b_batch.end(),
            b_full.begin() + static_cast<int64_t>(r - b_batch.size()));
  auto offsets = [&](int64_t idx, int64_t* oa, int64_t* ob) {
    int64_t sa = 1, sb = 1;
    *oa = *ob = 0;
    for (size_t d = r; d-- > 0;) {
      const int64_t i = idx % batch[d];
      idx /= batch[d];
      if (a_full[d] != 1) *oa += i * sa;
      if (b_full[d] != 1) *ob += i * sb;
      sa *= a_full[d];
      sb *= b_full[d];
    }
  };
  // Many small products run one per thread; fewer large ones are split inside.
  const bool per_thread = batches >= num_threads() || m * n * k < (int64_t{1} << 18);
  auto product = [&](int64_t i, bool split) {
    int64_t oa, ob;
    offsets(i, &oa, &ob);
    if (split) {
      nn::gemm_parallel<G>(false, false, m, n, k, G(1), ap + oa * m * k, bp + ob * k * n,
                           yp + i * m * n, false);
    } else {
      nn::gemm<G>(false, false, m, n, k, G(1), ap + oa * m * k, k, bp + ob * k * n, n,
                  yp + i * m * n, n, false);
    }
  };
  if (per_thread) {
    parallel_for(batches, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) product(i, false);
    });
  } else {
    for (int64_t i = 0; i < batches; ++i) product(i, true);
  }
  return Status::ok();
}

}  // namespace

Status cpu_MatMul(KernelContext& ctx) {
  const Node& node = ctx.node;
  if (!ctx.has_input(0) || !ctx.has_input(1)) return node_error(node, "expects inputs A and B");
  const DType dt = ctx.input(0).dtype();
  if (ctx.input(1).dtype() != dt) return node_error(node, "inputs A and B have different dtypes");
  if (!matmul_dtype_ok(dt, ctx.opset)) {
    return node_error(node, "dtype {} is not supported at opset {}", dtype_name(dt), ctx.opset);
  }
  Tensor ka, kb;
  const Tensor* a = nn::compute_input(&ctx.input(0), &ka);
  const Tensor* b = nn::compute_input(&ctx.input(1), &kb);
  Status st;
  switch (a->dtype()) {
    case DType::kFloat32:
      st = matmul_typed<float>(ctx, *a, *b);
      break;
    case DType::kFloat64:
      st = matmul_typed<double>(ctx, *a, *b);
      break;
    case DType::kInt32:
      st = matmul_typed<int32_t>(ctx, *a, *b);
      break;
    default:
      st = matmul_typed<int64_t>(ctx, *a, *b);
      break;
  }
  TARMAC_RETURN_IF_ERROR(st);
  nn::store_output(ctx, 0, dt);
  return Status::ok();
}

namespace {

template <typename T>
Status gemm_typed(KernelContext& ctx, const Tensor& a, const Tensor& b, const Tensor* c) {
  const Node& node = ctx.node;
  if (a.rank() != 2 || b.rank() != 2) {
    return node_error(node, "A and B must have rank 2, got {} and {}", dims_to_string(a.dims()),
                      dims_to_string(b.dims()));
  }
  const bool ta = node.attr_int("transA", 0) != 0;
  const bool tb = node.attr_int("transB", 0) != 0;
  const float alpha_f = node.attr_float("alpha", 1.0f);
  const float beta_f = node.attr_float("beta", 1.0f);
  const int64_t m = a.dim(ta ? 1 : 0), k = a.dim(ta ? 0 : 1);
  const int64_t n = b.dim(tb ? 0 : 1);
  if (b.dim(tb ? 1 : 0) != k) {
    return node_error(node, "inner dimensions differ: A is {}{} and B is {}{}",
                      dims_to_string(a.dims()), ta ? " (transposed)" : "", dims_to_string(b.dims()),
                      tb ? " (transposed)" : "");
  }
  using G = gemm_t<T>;
  G alpha, beta;
  if constexpr (std::is_integral_v<T>) {
    // Integer Gemm keeps exact wrap-around arithmetic, which needs integral scale factors.
    if (alpha_f != std::trunc(alpha_f) || beta_f != std::trunc(beta_f)) {
      return node_error(node, "alpha {} and beta {} must be integers for dtype {}", alpha_f, beta_f,
                        dtype_name(a.dtype()));
    }
    alpha = static_cast<G>(static_cast<T>(alpha_f));
    beta = static_cast<G>(static_cast<T>(beta_f));
  } else {
    alpha = static_cast<G>(alpha_f);
    beta = static_cast<G>(beta_f);
  }
  const bool use_c = c != nullptr && beta_f != 0.0f;
  Dims cd;
  if (c != nullptr) {
    cd = c->dims();
    bool ok = cd.size() <= 2;
    const Dims target{m, n};
    for (size_t i = 0; ok && i < cd.size(); ++i) {
      const int64_t t = target[2 - cd.size() + i];
      ok = cd[i] == 1 || cd[i] == t;
    }
    if (!ok) {
      return node_error(node, "C of shape {} does not broadcast to {}x{}", dims_to_string(cd), m,
                        n);
    }
  }
  TARMAC_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, a.dtype(), {m, n}));
  G* yp = reinterpret_cast<G*>(y->data<T>());
  if (use_c) {
    while (cd.size() < 2) cd.insert(cd.begin(), 1);
    const G* cp = reinterpret_cast<const G*>(c->data<T>());
    const int64_t rs = cd[0] == 1 ? 0 : cd[1], cs = cd[1] == 1 ? 0 : 1;
    parallel_for(m, std::max<int64_t>(1, 16384 / std::max<int64_t>(n, 1)),
                 [&](int64_t b0, int64_t e0) {
                   for (int64_t i = b0; i < e0; ++i)
                     for (int64_t j = 0; j < n; ++j)
                       yp[i * n + j] = static_cast<G>(beta * cp[i * rs + j * cs]);
                 });
  }
  nn::gemm_parallel<G>(ta, tb, m, n, k, alpha, reinterpret_cast<const G*>(a.data<T>()),
                       reinterpret_cast<const G*>(b.data<T>()), yp, use_c);
  return Status::ok();
}

}  // namespace

Status cpu_Gemm(KernelContext& ctx) {
  const Node& node = ctx.node;
  if (!ctx.has_input(0) || !ctx.has_input(1)) return node_error(node, "expects inputs A and B");
  if (ctx.opset < 11 && !ctx.has_input(2)) {
    return node_error(node, "input C is required before opset 11");
  }
  const DType dt = ctx.input(0).dtype();
  for (size_t i = 1; i < 3; ++i) {
    if (ctx.has_input(i) && ctx.input(i).dtype() != dt) {
      return node_error(node, "input {} has dtype {} but A has {}", i,
                        dtype_name(ctx.input(i).dtype()), dtype_name(dt));
    }
  }
  if (!matmul_dtype_ok(dt, ctx.opset)) {
    return node_error(node, "dtype {} is not supported at opset {}", dtype_name(dt), ctx.opset);
  }
  Tensor ka, kb, kc;
  const Tensor* a = nn::compute_input(&ctx.input(0), &ka);
  const Tensor* b = nn::compute_input(&ctx.input(1), &kb);
  const Tensor* c = nn::compute_input(ctx.has_input(2) ? &ctx.input(2) : nullptr, &kc);
  Status st;
  switch (a->dtype()) {
    case DType::kFloat32:
      st = gemm_typed<float>(ctx, *a, *b, c);
      break;
    case DType::kFloat64:
      st = gemm_typed<double>(ctx, *a, *b, c);
      break;
    case DType::kInt32:
      st = gemm_typed<int32_t>(ctx, *a, *b, c);
      break;
    default:
      st = gemm_typed<int64_t>(ctx, *a, *b, c);
      break;
  }
  TARMAC_RETURN_IF_ERROR(st);
  nn::store_output(ctx, 0, dt);
  return Status::ok();
}

}  // namespace tarmac
