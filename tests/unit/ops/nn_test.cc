// Tests for the nn family. Fast paths (im2col + GEMM, 1x1 convs, depthwise, batched GEMM,
// Einsum's GEMM contraction) are checked against plain loops written here on random shapes;
// small cases use hand-computed values. OpTester also checks inference against the kernels.
#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <string>

#include "core/parallel.h"
#include "op_test_util.h"

namespace tarmac {
namespace {

using testing::expect_close;
using testing::OpTester;

Tensor f32(std::vector<float> v, Dims d) { return Tensor::from_vector<float>(v, std::move(d)); }
Tensor i64(std::vector<int64_t> v, Dims d) { return Tensor::from_vector<int64_t>(v, std::move(d)); }

Tensor random_tensor(DType dt, Dims d, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  Tensor t = Tensor::zeros(DType::kFloat64, std::move(d));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<double>()[i] = dist(gen);
  return t.cast(dt);
}

std::vector<Tensor> run_ok(OpTester& t) {
  auto r = t.run();
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return r.is_ok() ? *r : std::vector<Tensor>{};
}
Tensor run1(OpTester& t) {
  auto r = run_ok(t);
  return r.empty() ? Tensor() : r[0];
}
Status run_status(OpTester& t) {
  auto r = t.run();
  return r.is_ok() ? Status::ok() : r.status();
}

Dims unravel(int64_t i, const Dims& dims) {
  Dims idx(dims.size());
  for (size_t d = dims.size(); d-- > 0;) {
    idx[d] = i % dims[d];
    i /= dims[d];
  }
  return idx;
}
int64_t ravel(const Dims& idx, const Dims& dims) {
  int64_t o = 0;
  for (size_t d = 0; d < dims.size(); ++d) o = o * dims[d] + idx[d];
  return o;
}

// ---- Conv ----

struct ConvCase {
  Dims x, w;
  int64_t group = 1;
  Dims strides, dilations, pads;
};

/// y[n, m, o] = b[m] + sum over c in m's group and taps k of x[n, c, o*s - p + k*d] * w[m, c, k]
Tensor naive_conv(const ConvCase& c, const Tensor& x, const Tensor& w, const Tensor* b) {
  const size_t nsp = c.x.size() - 2;
  Dims out{c.x[0], c.w[0]}, kernel(c.w.begin() + 2, c.w.end());
  for (size_t i = 0; i < nsp; ++i) {
    const int64_t window = (kernel[i] - 1) * c.dilations[i] + 1;
    out.push_back((c.x[i + 2] + c.pads[i] + c.pads[i + nsp] - window) / c.strides[i] + 1);
  }
  Tensor y = Tensor::zeros(DType::kFloat64, out);
  const int64_t cg = c.w[1], mg = c.w[0] / c.group;
  const Dims wsp(c.w.begin() + 1, c.w.end());  // [cg, k...]
  for (int64_t yi = 0; yi < y.numel(); ++yi) {
    const Dims o = unravel(yi, out);
    double acc = b ? b->as_double(o[1]) : 0.0;
    for (int64_t wi = 0; wi < num_elements(wsp); ++wi) {
      const Dims k = unravel(wi, wsp);
      Dims xi{o[0], (o[1] / mg) * cg + k[0]};
      bool inside = true;
      for (size_t d = 0; d < nsp; ++d) {
        const int64_t p = o[d + 2] * c.strides[d] - c.pads[d] + k[d + 1] * c.dilations[d];
        inside &= p >= 0 && p < c.x[d + 2];
        xi.push_back(p);
      }
      if (inside) acc += x.as_double(ravel(xi, c.x)) * w.as_double(o[1] * num_elements(wsp) + wi);
    }
    y.data<double>()[yi] = acc;
  }
  return y;
}

TEST(NnConv, HandComputed3x3) {
  // 1x1x3x3 input 0..8, 2x2 kernel of ones, pad 1 on the left/top only: sums of 2x2 windows.
  OpTester t("Conv");
  t.input(f32({0, 1, 2, 3, 4, 5, 6, 7, 8}, {1, 1, 3, 3}))
      .input(f32({1, 1, 1, 1}, {1, 1, 2, 2}))
      .input(f32({0.5f}, {1}))
      .attr_ints("pads", {1, 1, 0, 0});
  expect_close(run1(t),
               f32({0.5f, 1.5f, 3.5f, 3.5f, 8.5f, 12.5f, 9.5f, 20.5f, 24.5f}, {1, 1, 3, 3}));
}

TEST(NnConv, RandomShapesMatchNaive) {
  std::mt19937 gen(7);
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(gen);
  };
  for (int iter = 0; iter < 60; ++iter) {
    ConvCase c;
    const size_t nsp = static_cast<size_t>(pick(1, 3));
    const int kind = iter % 4;  // 0 general, 1 depthwise, 2 pointwise, 3 grouped
    c.group = kind == 1 ? pick(2, 6) : kind == 3 ? pick(2, 3) : 1;
    const int64_t cg = kind == 1 ? 1 : pick(1, 5);
    const int64_t mg = kind == 1 ? pick(1, 2) : pick(1, 6);
    c.x = {pick(1, 2), cg * c.group};
    c.w = {mg * c.group, cg};
    for (size_t i = 0; i < nsp; ++i) {
      const int64_t k = kind == 2 ? 1 : pick(1, 4);
      c.w.push_back(k);
      c.strides.push_back(kind == 2 ? 1 : pick(1, 3));
      c.dilations.push_back(kind == 2 ? 1 : pick(1, 2));
      c.x.push_back(pick((k - 1) * c.dilations.back() + 1, nsp == 3 ? 7 : 13));
    }
    c.pads.resize(2 * nsp);
    for (auto& p : c.pads) p = kind == 2 ? 0 : pick(0, 2);
    const DType dt = iter % 5 == 4 ? DType::kFloat64 : DType::kFloat32;
    const Tensor x = random_tensor(dt, c.x, 100 + iter), w = random_tensor(dt, c.w, 200 + iter);
    const Tensor b = random_tensor(dt, {c.w[0]}, 300 + iter);
    const bool with_bias = iter % 3 != 0;
    OpTester t("Conv");
    t.input(x).input(w).attr_ints("strides", c.strides).attr_ints("dilations", c.dilations);
    t.attr_ints("pads", c.pads).attr_int("group", c.group);
    if (with_bias) t.input(b);
    const Tensor want = naive_conv(c, x, w, with_bias ? &b : nullptr).cast(dt);
    SCOPED_TRACE("case " + std::to_string(iter) + " x " + dims_to_string(c.x) + " w " +
                 dims_to_string(c.w));
    expect_close(run1(t), want, 1e-4, 1e-5);
  }
}

TEST(NnConv, ThreadedPathsMatchNaive) {
  // Covers each work split with 16 threads: depthwise planes, column tiles of one image
  // (im2col and 1x1), and whole-image im2col + block-split GEMM for small outputs.
  const int saved = num_threads();
  set_num_threads(16);
  const std::vector<ConvCase> cases = {
      {{1, 32, 37, 41}, {32, 1, 3, 3}, 32, {2, 1}, {1, 1}, {1, 1, 1, 1}},
      {{1, 32, 37, 41}, {24, 32, 3, 3}, 1, {2, 1}, {1, 1}, {1, 1, 1, 1}},
      {{2, 16, 30, 40}, {40, 16, 1, 1}, 1, {1, 1}, {1, 1}, {0, 0, 0, 0}},
      {{1, 64, 9, 9}, {96, 64, 3, 3}, 1, {1, 1}, {1, 1}, {1, 1, 1, 1}},
      {{1, 128, 7, 5}, {64, 128, 1, 1}, 1, {1, 1}, {1, 1}, {0, 0, 0, 0}},
  };
  uint32_t seed = 1;
  for (const ConvCase& c : cases) {
    const Tensor x = random_tensor(DType::kFloat32, c.x, seed++);
    const Tensor w = random_tensor(DType::kFloat32, c.w, seed++);
    const Tensor b = random_tensor(DType::kFloat32, {c.w[0]}, seed++);
    OpTester t("Conv");
    t.input(x).input(w).input(b).attr_ints("strides", c.strides).attr_ints("pads", c.pads);
    t.attr_int("group", c.group);
    SCOPED_TRACE("x " + dims_to_string(c.x) + " w " + dims_to_string(c.w));
    expect_close(run1(t), naive_conv(c, x, w, &b).cast(DType::kFloat32), 1e-4, 1e-5);
  }
  set_num_threads(saved);
}

TEST(NnConv, Depthwise3x3RowKernelMatchesNaive) {
  // The fused 3x3 path: stride 1 and 2, every padding, inputs narrower than the kernel.
  int seed = 0;
  for (int64_t stride : {1, 2}) {
    for (Dims hw : {Dims{1, 1}, Dims{2, 5}, Dims{3, 3}, Dims{7, 9}, Dims{10, 4}}) {
      for (Dims pads : {Dims{0, 0, 0, 0}, Dims{1, 1, 1, 1}, Dims{0, 2, 1, 0}, Dims{2, 1, 2, 2}}) {
        if (hw[0] + pads[0] + pads[2] < 3 || hw[1] + pads[1] + pads[3] < 3) continue;
        ConvCase c{{2, 3, hw[0], hw[1]}, {6, 1, 3, 3}, 3, {stride, stride}, {1, 1}, pads};
        const Tensor x = random_tensor(DType::kFloat32, c.x, 500 + seed);
        const Tensor w = random_tensor(DType::kFloat32, c.w, 600 + seed);
        const Tensor b = random_tensor(DType::kFloat32, {6}, 700 + seed++);
        OpTester t("Conv");
        t.input(x).input(w).input(b).attr_ints("strides", c.strides).attr_ints("pads", pads);
        t.attr_int("group", 3);
        SCOPED_TRACE("stride " + std::to_string(stride) + " input " + dims_to_string(hw) +
                     " pads " + dims_to_string(pads));
        expect_close(run1(t), naive_conv(c, x, w, &b).cast(DType::kFloat32), 1e-5, 1e-6);
      }
    }
  }
}

TEST(NnConv, AutoPadMatchesExplicitPads) {
  const Tensor x = random_tensor(DType::kFloat32, {1, 2, 7, 6}, 3);
  const Tensor w = random_tensor(DType::kFloat32, {3, 2, 3, 2}, 4);
  // SAME with stride 2: out = ceil(in / 2) = [4, 3]; total pads [2, 0] for H... computed:
  // H: (4-1)*2+3-7 = 2 -> 1/1; W: (3-1)*2+2-6 = 0.
  OpTester same("Conv");
  same.input(x).input(w).attr_string("auto_pad", "SAME_UPPER").attr_ints("strides", {2, 2});
  OpTester expl("Conv");
  expl.input(x).input(w).attr_ints("pads", {1, 0, 1, 0}).attr_ints("strides", {2, 2});
  expect_close(run1(same), run1(expl));
  // Odd total padding: SAME_UPPER puts the extra at the end, SAME_LOWER at the start.
  const Tensor w2 = random_tensor(DType::kFloat32, {1, 2, 2, 2}, 5);
  OpTester lower("Conv");
  lower.input(x).input(w2).attr_string("auto_pad", "SAME_LOWER");
  OpTester lower_expl("Conv");
  lower_expl.input(x).input(w2).attr_ints("pads", {1, 1, 0, 0});
  expect_close(run1(lower), run1(lower_expl));
  OpTester valid("Conv");
  valid.input(x).input(w).attr_string("auto_pad", "VALID").attr_ints("pads", {5, 5, 5, 5});
  EXPECT_EQ(run1(valid).dims(), (Dims{1, 3, 5, 5}));
}

TEST(NnConv, HalfTypesComputeInFloat) {
  ConvCase c{{1, 4, 6, 5}, {4, 2, 3, 3}, 2, {1, 1}, {1, 1}, {1, 0, 1, 2}};
  for (DType dt : {DType::kFloat16, DType::kBFloat16}) {
    const Tensor x = random_tensor(dt, c.x, 8), w = random_tensor(dt, c.w, 9);
    OpTester t("Conv");
    t.input(x).input(w).attr_ints("pads", c.pads).attr_int("group", 2);
    expect_close(run1(t), naive_conv(c, x, w, nullptr).cast(dt), 2e-2, 2e-2);
  }
}

TEST(NnConv, Errors) {
  const Tensor x = random_tensor(DType::kFloat32, {1, 4, 5, 5}, 1);
  auto conv = [&](const Tensor& w) {
    OpTester t("Conv");
    t.input(x).input(w);
    return t;
  };
  OpTester rank = conv(random_tensor(DType::kFloat32, {2, 4, 3}, 2));
  EXPECT_FALSE(run_status(rank).is_ok());
  OpTester channels = conv(random_tensor(DType::kFloat32, {2, 3, 3, 3}, 2));
  EXPECT_FALSE(run_status(channels).is_ok());
  OpTester pad = conv(random_tensor(DType::kFloat32, {2, 4, 3, 3}, 2));
  pad.attr_string("auto_pad", "SAME");
  EXPECT_FALSE(run_status(pad).is_ok());
  OpTester strides = conv(random_tensor(DType::kFloat32, {2, 4, 3, 3}, 2));
  strides.attr_ints("strides", {1, 0});
  EXPECT_FALSE(run_status(strides).is_ok());
  OpTester big = conv(random_tensor(DType::kFloat32, {2, 4, 7, 3}, 2));
  EXPECT_FALSE(run_status(big).is_ok());
  OpTester group = conv(random_tensor(DType::kFloat32, {3, 2, 3, 3}, 2));
  group.attr_int("group", 2);  // 3 output channels not divisible by 2
  EXPECT_FALSE(run_status(group).is_ok());
  OpTester bias = conv(random_tensor(DType::kFloat32, {2, 4, 3, 3}, 2));
  bias.input(random_tensor(DType::kFloat32, {3}, 3));
  EXPECT_FALSE(run_status(bias).is_ok());
  OpTester kshape = conv(random_tensor(DType::kFloat32, {2, 4, 3, 3}, 2));
  kshape.attr_ints("kernel_shape", {3, 2});
  EXPECT_FALSE(run_status(kshape).is_ok());
}

// ---- ConvTranspose ----

/// y[n, m, i*s - p + k*d] += x[n, c, i] * w[c, m, k], plus bias; `out` spatial given.
Tensor naive_conv_transpose(const Tensor& x, const Tensor& w, int64_t group, const Dims& strides,
                            const Dims& dil, const Dims& pad_begin, const Dims& out_sp) {
  const Dims& xd = x.dims();
  const Dims& wd = w.dims();
  const size_t nsp = xd.size() - 2;
  const int64_t cg = xd[1] / group, mg = wd[1];
  Dims out{xd[0], mg * group};
  out.insert(out.end(), out_sp.begin(), out_sp.end());
  Tensor y = Tensor::zeros(DType::kFloat64, out);
  const Dims wsp(wd.begin() + 1, wd.end());  // [mg, k...]
  for (int64_t xi = 0; xi < x.numel(); ++xi) {
    const Dims i = unravel(xi, xd);
    for (int64_t wi = 0; wi < num_elements(wsp); ++wi) {
      const Dims k = unravel(wi, wsp);
      Dims yi{i[0], (i[1] / cg) * mg + k[0]};
      bool inside = true;
      for (size_t d = 0; d < nsp; ++d) {
        const int64_t o = i[d + 2] * strides[d] - pad_begin[d] + k[d + 1] * dil[d];
        inside &= o >= 0 && o < out_sp[d];
        yi.push_back(o);
      }
      if (inside) {
        y.data<double>()[ravel(yi, out)] +=
            x.as_double(xi) * w.as_double(i[1] * num_elements(wsp) + wi);
      }
    }
  }
  return y;
}

TEST(NnConvTranspose, RandomShapesMatchNaive) {
  std::mt19937 gen(11);
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(gen);
  };
  for (int iter = 0; iter < 30; ++iter) {
    const size_t nsp = static_cast<size_t>(pick(1, 3));
    const int64_t group = pick(1, 3), cg = pick(1, 3), mg = pick(1, 3);
    Dims xd{pick(1, 2), cg * group}, wd{cg * group, mg}, s, d, pads, opad, out_sp;
    for (size_t i = 0; i < nsp; ++i) {
      xd.push_back(pick(1, nsp == 3 ? 4 : 7));
      wd.push_back(pick(1, 4));
      s.push_back(pick(1, 3));
      d.push_back(pick(1, 2));
      opad.push_back(pick(0, std::max(s.back(), d.back()) - 1));
    }
    for (size_t i = 0; i < 2 * nsp; ++i) pads.push_back(pick(0, 1));
    for (size_t i = 0; i < nsp; ++i) {
      const int64_t full = s[i] * (xd[i + 2] - 1) + opad[i] + (wd[i + 2] - 1) * d[i] + 1;
      if (full <= pads[i] + pads[i + nsp]) pads[i] = pads[i + nsp] = 0;
      out_sp.push_back(full - pads[i] - pads[i + nsp]);
    }
    const Tensor x = random_tensor(DType::kFloat32, xd, 10 + iter);
    const Tensor w = random_tensor(DType::kFloat32, wd, 20 + iter);
    OpTester t("ConvTranspose");
    t.input(x).input(w).attr_int("group", group).attr_ints("strides", s);
    t.attr_ints("dilations", d).attr_ints("pads", pads).attr_ints("output_padding", opad);
    const Dims pb(pads.begin(), pads.begin() + static_cast<int64_t>(nsp));
    SCOPED_TRACE("case " + std::to_string(iter));
    expect_close(run1(t), naive_conv_transpose(x, w, group, s, d, pb, out_sp).cast(DType::kFloat32),
                 1e-4, 1e-5);
  }
}

TEST(NnConvTranspose, OutputShapeAndAutoPad) {
  const Tensor x = random_tensor(DType::kFloat32, {1, 2, 3, 4}, 1);
  const Tensor w = random_tensor(DType::kFloat32, {2, 3, 3, 3}, 2);
  const Tensor b = random_tensor(DType::kFloat32, {3}, 3);
  // Full output is [7, 9]; asking for [6, 11]: H total pad 1 (NOTSET puts it at the start),
  // W is 2 wider than full (bias-only columns at the end).
  OpTester t("ConvTranspose");
  t.input(x).input(w).input(b).attr_ints("strides", {2, 2}).attr_ints("output_shape", {6, 11});
  Tensor want = naive_conv_transpose(x, w, 1, {2, 2}, {1, 1}, {1, 0}, {6, 11});
  for (int64_t i = 0; i < want.numel(); ++i)
    want.data<double>()[i] += b.as_double(unravel(i, want.dims())[1]);
  expect_close(run1(t), want.cast(DType::kFloat32), 1e-4, 1e-5);
  // SAME_UPPER: out = in * stride = [6, 8]; total pads [1, 1] go to the end.
  OpTester same("ConvTranspose");
  same.input(x).input(w).attr_ints("strides", {2, 2}).attr_string("auto_pad", "SAME_UPPER");
  expect_close(run1(same),
               naive_conv_transpose(x, w, 1, {2, 2}, {1, 1}, {0, 0}, {6, 8}).cast(DType::kFloat32),
               1e-4, 1e-5);
  OpTester bad("ConvTranspose");
  bad.input(x).input(random_tensor(DType::kFloat32, {3, 3, 3, 3}, 2));
  EXPECT_FALSE(run_status(bad).is_ok());
}

// ---- pooling ----

struct PoolCase {
  Dims x, kernel, strides, dilations, pads;
  bool ceil = false;
};

/// Naive pools over every tap; returns {max, indices, avg excluding pad, avg including pad}.
std::vector<Tensor> naive_pools(const PoolCase& c, const Tensor& x, bool column_major) {
  const size_t nsp = c.kernel.size();
  Dims out{c.x[0], c.x[1]};
  for (size_t i = 0; i < nsp; ++i) {
    const int64_t span =
        c.x[i + 2] + c.pads[i] + c.pads[i + nsp] - (c.kernel[i] - 1) * c.dilations[i] - 1;
    int64_t o = (c.ceil ? (span + c.strides[i] - 1) / c.strides[i] : span / c.strides[i]) + 1;
    if (c.ceil && (o - 1) * c.strides[i] >= c.x[i + 2] + c.pads[i]) --o;
    out.push_back(o);
  }
  std::vector<Tensor> r{Tensor::zeros(DType::kFloat64, out), Tensor::zeros(DType::kInt64, out),
                        Tensor::zeros(DType::kFloat64, out), Tensor::zeros(DType::kFloat64, out)};
  const Dims in_sp(c.x.begin() + 2, c.x.end());
  for (int64_t yi = 0; yi < r[0].numel(); ++yi) {
    const Dims o = unravel(yi, out);
    double best = -1e300, sum = 0;
    int64_t best_i = -1, valid = 0, padded = 0;
    for (int64_t ki = 0; ki < num_elements(c.kernel); ++ki) {
      const Dims k = unravel(ki, c.kernel);
      Dims p(nsp);
      bool inside = true, in_padded = true;
      for (size_t d = 0; d < nsp; ++d) {
        p[d] = o[d + 2] * c.strides[d] - c.pads[d] + k[d] * c.dilations[d];
        inside &= p[d] >= 0 && p[d] < c.x[d + 2];
        in_padded &= p[d] < c.x[d + 2] + c.pads[d + nsp];
      }
      padded += in_padded;
      if (!inside) continue;
      // Indices count the plane's elements row-major, or column-major with storage_order 1.
      int64_t local = 0;
      for (size_t d = nsp; d-- > 0;) local = local * c.x[d + 2] + p[d];
      if (!column_major) local = ravel(p, in_sp);
      const int64_t plane = (o[0] * c.x[1] + o[1]) * num_elements(in_sp);
      const double v = x.as_double(plane + ravel(p, in_sp));
      ++valid;
      sum += v;
      if (v > best) {
        best = v;
        best_i = plane + local;
      }
    }
    r[0].data<double>()[yi] = best;
    r[1].data<int64_t>()[yi] = best_i;
    r[2].data<double>()[yi] = sum / static_cast<double>(valid);
    r[3].data<double>()[yi] = sum / static_cast<double>(padded);
  }
  return r;
}

TEST(NnPool, RandomShapesMatchNaive) {
  std::mt19937 gen(5);
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(gen);
  };
  for (int iter = 0; iter < 40; ++iter) {
    PoolCase c;
    const size_t nsp = static_cast<size_t>(pick(1, 3));
    c.x = {pick(1, 2), pick(1, 3)};
    c.ceil = iter % 2 == 1;
    for (size_t i = 0; i < nsp; ++i) {
      c.kernel.push_back(pick(1, 3));
      c.strides.push_back(pick(1, 3));
      c.dilations.push_back(pick(1, 2));
      c.x.push_back(pick((c.kernel.back() - 1) * c.dilations.back() + 1, nsp == 3 ? 6 : 11));
    }
    for (size_t i = 0; i < 2 * nsp; ++i) c.pads.push_back(pick(0, c.kernel[i % nsp] - 1));
    const bool column_major = iter % 4 == 3;
    const Tensor x = random_tensor(DType::kFloat32, c.x, 50 + iter);
    const auto want = naive_pools(c, x, column_major);
    SCOPED_TRACE("case " + std::to_string(iter) + " x " + dims_to_string(c.x));
    OpTester mp("MaxPool", 12);
    mp.input(x).attr_ints("kernel_shape", c.kernel).attr_ints("strides", c.strides);
    mp.attr_ints("dilations", c.dilations).attr_ints("pads", c.pads).attr_int("ceil_mode", c.ceil);
    mp.attr_int("storage_order", column_major).outputs(2);
    const auto got = run_ok(mp);
    ASSERT_EQ(got.size(), 2u);
    expect_close(got[0], want[0].cast(DType::kFloat32));
    expect_close(got[1], want[1]);
    for (int include : {0, 1}) {
      OpTester ap("AveragePool", 19);
      ap.input(x).attr_ints("kernel_shape", c.kernel).attr_ints("strides", c.strides);
      ap.attr_ints("dilations", c.dilations).attr_ints("pads", c.pads);
      ap.attr_int("ceil_mode", c.ceil).attr_int("count_include_pad", include);
      expect_close(run1(ap), want[include ? 3 : 2].cast(DType::kFloat32), 1e-5, 1e-6);
    }
  }
}

TEST(NnPool, HandComputedAndOpsetVersions) {
  const Tensor x = f32({1, 5, 2, 7, 3, 4, 9, 0, 6}, {1, 1, 3, 3});
  OpTester mp("MaxPool", 8);
  mp.input(x).attr_ints("kernel_shape", {2, 2}).outputs(2);
  const auto r = run_ok(mp);
  ASSERT_EQ(r.size(), 2u);
  expect_close(r[0], f32({7, 5, 9, 6}, {1, 1, 2, 2}));
  expect_close(r[1], i64({3, 1, 6, 8}, {1, 1, 2, 2}));
  // AveragePool dilations exist since opset 19; earlier versions use a dense window.
  OpTester dil19("AveragePool", 19);
  dil19.input(x).attr_ints("kernel_shape", {2, 2}).attr_ints("dilations", {2, 2});
  expect_close(run1(dil19), f32({(1 + 2 + 6 + 9) / 4.0f}, {1, 1, 1, 1}));
  OpTester dil11("AveragePool", 11);
  dil11.input(x).attr_ints("kernel_shape", {2, 2}).attr_ints("dilations", {2, 2});
  expect_close(run1(dil11), f32({4.0f, 3.5f, 4.75f, 3.25f}, {1, 1, 2, 2}));
  // ceil_mode exists since opset 10.
  OpTester ceil10("MaxPool", 10);
  ceil10.input(x)
      .attr_ints("kernel_shape", {2, 2})
      .attr_ints("strides", {2, 2})
      .attr_int("ceil_mode", 1);
  expect_close(run1(ceil10), f32({7, 4, 9, 6}, {1, 1, 2, 2}));
  OpTester ceil8("MaxPool", 8);
  ceil8.input(x)
      .attr_ints("kernel_shape", {2, 2})
      .attr_ints("strides", {2, 2})
      .attr_int("ceil_mode", 1);
  expect_close(run1(ceil8), f32({7}, {1, 1, 1, 1}));
  // count_include_pad exists since opset 7.
  OpTester pad7("AveragePool", 7);
  pad7.input(x)
      .attr_ints("kernel_shape", {2, 2})
      .attr_ints("pads", {1, 1, 0, 0})
      .attr_int("count_include_pad", 1);
  EXPECT_FLOAT_EQ(run1(pad7).data<float>()[0], 0.25f);
  OpTester pad1("AveragePool", 1);
  pad1.input(x)
      .attr_ints("kernel_shape", {2, 2})
      .attr_ints("pads", {1, 1, 0, 0})
      .attr_int("count_include_pad", 1);
  EXPECT_FLOAT_EQ(run1(pad1).data<float>()[0], 1.0f);
}

TEST(NnPool, IntegerAndHalfTypes) {
  Tensor u8 = Tensor::zeros(DType::kUint8, {1, 1, 2, 3});
  const uint8_t vals[] = {3, 250, 7, 9, 1, 255};
  for (int i = 0; i < 6; ++i) u8.data<uint8_t>()[i] = vals[i];
  OpTester mp("MaxPool", 12);
  mp.input(u8).attr_ints("kernel_shape", {2, 2});
  const Tensor got = run1(mp);
  ASSERT_EQ(got.dtype(), DType::kUint8);
  EXPECT_EQ(got.data<uint8_t>()[0], 250);
  EXPECT_EQ(got.data<uint8_t>()[1], 255);
  OpTester old("MaxPool", 11);
  old.input(u8).attr_ints("kernel_shape", {2, 2});
  EXPECT_FALSE(run_status(old).is_ok());
  const Tensor h = random_tensor(DType::kFloat16, {2, 3, 5, 4}, 3);
  OpTester gap("GlobalAveragePool");
  gap.input(h);
  OpTester gap32("GlobalAveragePool");
  gap32.input(h.cast(DType::kFloat32));
  expect_close(run1(gap), run1(gap32).cast(DType::kFloat16), 1e-3, 1e-3);
}

TEST(NnPool, GlobalPools) {
  const Tensor x = random_tensor(DType::kFloat64, {2, 3, 4, 2, 3}, 9);
  OpTester gmp("GlobalMaxPool"), gap("GlobalAveragePool");
  gmp.input(x);
  gap.input(x);
  const Tensor mx = run1(gmp), av = run1(gap);
  ASSERT_EQ(mx.dims(), (Dims{2, 3, 1, 1, 1}));
  for (int64_t p = 0; p < 6; ++p) {
    double best = -1e9, sum = 0;
    for (int64_t i = 0; i < 24; ++i) {
      best = std::max(best, x.as_double(p * 24 + i));
      sum += x.as_double(p * 24 + i);
    }
    EXPECT_DOUBLE_EQ(mx.as_double(p), best);
    EXPECT_NEAR(av.as_double(p), sum / 24, 1e-12);
  }
  OpTester bad("GlobalAveragePool");
  bad.input(random_tensor(DType::kFloat32, {2, 3}, 1));
  EXPECT_FALSE(run_status(bad).is_ok());
}

TEST(NnPool, Errors) {
  const Tensor x = random_tensor(DType::kFloat32, {1, 2, 4, 4}, 1);
  OpTester no_kernel("MaxPool");
  no_kernel.input(x);
  EXPECT_FALSE(run_status(no_kernel).is_ok());
  OpTester rank("AveragePool");
  rank.input(x).attr_ints("kernel_shape", {2});
  EXPECT_FALSE(run_status(rank).is_ok());
  OpTester too_big("MaxPool");
  too_big.input(x).attr_ints("kernel_shape", {5, 2});
  EXPECT_FALSE(run_status(too_big).is_ok());
  OpTester indices7("MaxPool", 7);
  indices7.input(x).attr_ints("kernel_shape", {2, 2}).outputs(2);
  EXPECT_FALSE(run_status(indices7).is_ok());
  OpTester order("MaxPool", 12);
  order.input(x).attr_ints("kernel_shape", {2, 2}).attr_int("storage_order", 2);
  EXPECT_FALSE(run_status(order).is_ok());
}

}  // namespace
}  // namespace tarmac
