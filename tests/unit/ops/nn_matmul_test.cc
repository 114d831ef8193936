// Tests for the nn family's matrix products (MatMul, Gemm, Einsum) against plain loops written
// here, on random shapes; integer cases use hand-computed values.
#include <cstdint>
#include <map>
#include <random>
#include <string>

#include "core/parallel.h"
#include "op_test_util.h"

namespace tarmac {
namespace {

using testing::expect_close;
using testing::OpTester;

Tensor random_tensor(DType dt, Dims d, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  Tensor t = Tensor::zeros(DType::kFloat64, std::move(d));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<double>()[i] = dist(gen);
  return t.cast(dt);
}
Tensor run1(OpTester& t) {
  auto r = t.run();
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return r.is_ok() ? (*r)[0] : Tensor();
}
bool fails(OpTester& t) { return !t.run().is_ok(); }

Dims unravel(int64_t i, const Dims& dims) {
  Dims idx(dims.size());
  for (size_t d = dims.size(); d-- > 0;) {
    idx[d] = i % dims[d];
    i /= dims[d];
  }
  return idx;
}

/// Explicit letter-only equations by brute force over every label assignment; a size-1 dim
/// broadcasts against its label's size elsewhere.
Tensor naive_einsum(const std::string& eq, const std::vector<Tensor>& ins) {
  const size_t arrow = eq.find("->");
  std::vector<std::string> terms;
  std::string cur;
  for (char c : eq.substr(0, arrow)) {
    if (c == ',') {
      terms.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  terms.push_back(cur);
  const std::string out_term = eq.substr(arrow + 2);
  std::map<char, int64_t> size;
  for (size_t i = 0; i < terms.size(); ++i)
    for (size_t d = 0; d < terms[i].size(); ++d)
      size[terms[i][d]] = std::max(size[terms[i][d]], ins[i].dims()[d]);
  std::string letters;
  Dims all;
  for (auto& [c, s] : size) {
    letters.push_back(c);
    all.push_back(s);
  }
  Dims out_dims;
  for (char c : out_term) out_dims.push_back(size[c]);
  Tensor out = Tensor::zeros(DType::kFloat64, out_dims);
  for (int64_t a = 0; a < num_elements(all); ++a) {
    const Dims v = unravel(a, all);
    auto value_of = [&](char c) { return v[letters.find(c)]; };
    double prod = 1;
    for (size_t i = 0; i < terms.size(); ++i) {
      int64_t off = 0;
      for (size_t d = 0; d < terms[i].size(); ++d) {
        const int64_t n = ins[i].dims()[d];
        off = off * n + (n == 1 ? 0 : value_of(terms[i][d]));
      }
      prod *= ins[i].as_double(off);
    }
    int64_t o = 0;
    for (size_t d = 0; d < out_term.size(); ++d) o = o * out_dims[d] + value_of(out_term[d]);
    out.data<double>()[o] += prod;
  }
  return out;
}

/// numpy matmul by loops: 1-D operands promoted, batch dims broadcast.
Tensor naive_matmul(const Tensor& a, const Tensor& b) {
  Dims ad = a.dims(), bd = b.dims();
  if (ad.size() == 1) ad.insert(ad.begin(), 1);
  if (bd.size() == 1) bd.push_back(1);
  const size_t r = std::max(ad.size(), bd.size());
  while (ad.size() < r) ad.insert(ad.begin(), 1);
  while (bd.size() < r) bd.insert(bd.begin(), 1);
  const int64_t m = ad[r - 2], k = ad[r - 1], n = bd[r - 1];
  Dims batch;
  for (size_t d = 0; d + 2 < r; ++d) batch.push_back(std::max(ad[d], bd[d]));
  Dims out = batch;
  out.push_back(m);
  out.push_back(n);
  Tensor y = Tensor::zeros(DType::kFloat64, out);
  for (int64_t bi = 0; bi < num_elements(batch); ++bi) {
    const Dims idx = unravel(bi, batch);
    int64_t oa = 0, ob = 0;
    for (size_t d = 0; d < batch.size(); ++d) {
      oa = oa * ad[d] + (ad[d] == 1 ? 0 : idx[d]);
      ob = ob * bd[d] + (bd[d] == 1 ? 0 : idx[d]);
    }
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (int64_t p = 0; p < k; ++p)
          s += a.as_double(oa * m * k + i * k + p) * b.as_double(ob * k * n + p * n + j);
        y.data<double>()[(bi * m + i) * n + j] = s;
      }
  }
  Dims want;  // drop the promoted dims
  for (size_t d = 0; d + 2 < r; ++d) want.push_back(batch[d]);
  if (a.rank() > 1) want.push_back(m);
  if (b.rank() > 1) want.push_back(n);
  return y.reshaped(want);
}

TEST(NnMatMul, BroadcastAndVectorShapesMatchNaive) {
  const std::vector<std::pair<Dims, Dims>> cases = {{{7}, {7}},
                                                    {{7}, {3, 7, 5}},
                                                    {{3, 4, 7}, {7}},
                                                    {{2, 1, 4, 6}, {3, 6, 5}},
                                                    {{4, 6}, {2, 6, 5}},
                                                    {{4, 3, 6}, {6, 9}},
                                                    {{3, 70, 90}, {3, 90, 50}},
                                                    {{16, 5, 7}, {16, 7, 3}},
                                                    {{1, 4}, {4, 1}},
                                                    {{5, 0}, {0, 3}}};
  uint32_t seed = 1;
  for (const auto& [ad, bd] : cases) {
    for (DType dt : {DType::kFloat32, DType::kFloat64}) {
      const Tensor a = random_tensor(dt, ad, seed++), b = random_tensor(dt, bd, seed++);
      OpTester t("MatMul", 13);
      t.input(a).input(b);
      SCOPED_TRACE(dims_to_string(ad) + " x " + dims_to_string(bd));
      expect_close(run1(t), naive_matmul(a, b).cast(dt), 1e-4, 1e-5);
    }
  }
  const Tensor h = random_tensor(DType::kFloat16, {3, 9}, 7),
               hb = random_tensor(DType::kFloat16, {9, 4}, 8);
  OpTester half("MatMul");
  half.input(h).input(hb);
  expect_close(run1(half), naive_matmul(h, hb).cast(DType::kFloat16), 1e-2, 1e-2);
}

TEST(NnMatMul, IntegersWrapAndVersionChecks) {
  OpTester t("MatMul", 13);
  t.input(Tensor::from_vector<int32_t>({1 << 30, 3, -2, 5}, {2, 2}))
      .input(Tensor::from_vector<int32_t>({4, 1, 7, -1}, {2, 2}));
  const Tensor y = run1(t);
  ASSERT_EQ(y.dtype(), DType::kInt32);
  // Row 0: 2^30 * 4 wraps to 0, plus 3 * 7; 2^30 - 3.
  EXPECT_EQ(y.data<int32_t>()[0], 21);
  EXPECT_EQ(y.data<int32_t>()[1], (1 << 30) - 3);
  EXPECT_EQ(y.data<int32_t>()[2], -8 + 35);
  EXPECT_EQ(y.data<int32_t>()[3], -2 - 5);
  OpTester old("MatMul", 8);
  old.input(Tensor::from_vector<int64_t>({1}, {1, 1}))
      .input(Tensor::from_vector<int64_t>({1}, {1, 1}));
  EXPECT_TRUE(fails(old));
  OpTester mismatch("MatMul");
  mismatch.input(random_tensor(DType::kFloat32, {2, 3}, 1))
      .input(random_tensor(DType::kFloat32, {4, 2}, 2));
  EXPECT_TRUE(fails(mismatch));
  OpTester batch("MatMul");
  batch.input(random_tensor(DType::kFloat32, {2, 2, 3}, 1))
      .input(random_tensor(DType::kFloat32, {3, 3, 2}, 2));
  EXPECT_TRUE(fails(batch));
}

TEST(NnGemm, AttributesAndBiasShapesMatchNaive) {
  const int64_t m = 5, n = 7, k = 3;
  const std::vector<Dims> c_shapes = {{}, {n}, {1}, {m, 1}, {m, n}, {1, n}};
  uint32_t seed = 10;
  for (int ta = 0; ta < 2; ++ta) {
    for (int tb = 0; tb < 2; ++tb) {
      for (const Dims& cs : c_shapes) {
        const Tensor a = random_tensor(DType::kFloat32, ta ? Dims{k, m} : Dims{m, k}, seed++);
        const Tensor b = random_tensor(DType::kFloat32, tb ? Dims{n, k} : Dims{k, n}, seed++);
        const Tensor c = random_tensor(DType::kFloat32, cs, seed++);
        OpTester t("Gemm", 13);
        t.input(a).input(b).input(c).attr_int("transA", ta).attr_int("transB", tb);
        t.attr_float("alpha", 0.75f).attr_float("beta", -1.5f);
        Tensor want = Tensor::zeros(DType::kFloat64, {m, n});
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) {
            double s = 0;
            for (int64_t p = 0; p < k; ++p)
              s +=
                  a.as_double(ta ? p * m + i : i * k + p) * b.as_double(tb ? j * k + p : p * n + j);
            const int64_t ci = cs.size() == 2 ? (cs[0] == 1 ? 0 : i) * cs[1] + (cs[1] == 1 ? 0 : j)
                                              : (cs.size() == 1 && cs[0] == n ? j : 0);
            want.data<double>()[i * n + j] = 0.75 * s - 1.5 * c.as_double(ci);
          }
        SCOPED_TRACE("transA " + std::to_string(ta) + " transB " + std::to_string(tb) + " C " +
                     dims_to_string(cs));
        expect_close(run1(t), want.cast(DType::kFloat32), 1e-5, 1e-5);
      }
    }
  }
}

TEST(NnGemm, LargeProductsSplitOverThreadsMatchNaive) {
  // Big enough for gemm_parallel's block grid, with transposed operands and odd sizes.
  const int saved = num_threads();
  set_num_threads(5);
  const int64_t m = 123, n = 131, k = 97;
  for (int ta = 0; ta < 2; ++ta) {
    for (int tb = 0; tb < 2; ++tb) {
      const Tensor a = random_tensor(DType::kFloat32, ta ? Dims{k, m} : Dims{m, k}, 70 + ta);
      const Tensor b = random_tensor(DType::kFloat32, tb ? Dims{n, k} : Dims{k, n}, 80 + tb);
      const Tensor c = random_tensor(DType::kFloat32, {n}, 90);
      OpTester t("Gemm", 13);
      t.input(a).input(b).input(c).attr_int("transA", ta).attr_int("transB", tb);
      Tensor want = Tensor::zeros(DType::kFloat64, {m, n});
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          double s = c.as_double(j);
          for (int64_t p = 0; p < k; ++p)
            s += a.as_double(ta ? p * m + i : i * k + p) * b.as_double(tb ? j * k + p : p * n + j);
          want.data<double>()[i * n + j] = s;
        }
      expect_close(run1(t), want.cast(DType::kFloat32), 1e-4, 1e-5);
    }
  }
  OpTester mm("MatMul");
  const Tensor a = random_tensor(DType::kFloat64, {2, 150, 160}, 5);
  const Tensor b = random_tensor(DType::kFloat64, {2, 160, 140}, 6);
  mm.input(a).input(b);
  expect_close(run1(mm), naive_matmul(a, b), 1e-10, 1e-10);
  set_num_threads(saved);
}

TEST(NnGemm, OptionalCIntegersAndErrors) {
  const Tensor a = Tensor::from_vector<int64_t>({1, 2, 3, 4, 5, 6}, {2, 3});
  const Tensor b = Tensor::from_vector<int64_t>({1, 0, 0, 1, 1, 1}, {3, 2});
  OpTester ints("Gemm", 11);
  ints.input(a).input(b).attr_float("alpha", 2.0f);
  const Tensor y = run1(ints);
  ASSERT_EQ(y.dtype(), DType::kInt64);
  EXPECT_EQ(y.to_int64_vector(), (std::vector<int64_t>{8, 10, 20, 22}));
  OpTester frac("Gemm", 11);
  frac.input(a).input(b).attr_float("alpha", 0.5f);
  EXPECT_TRUE(fails(frac));
  OpTester no_c9("Gemm", 9);
  no_c9.input(a).input(b);
  EXPECT_TRUE(fails(no_c9));
  const Tensor fa = random_tensor(DType::kFloat32, {2, 3}, 1),
               fb = random_tensor(DType::kFloat32, {3, 4}, 2);
  OpTester bad_c("Gemm");
  bad_c.input(fa).input(fb).input(random_tensor(DType::kFloat32, {3, 4}, 3));
  EXPECT_TRUE(fails(bad_c));
  OpTester bad_k("Gemm");
  bad_k.input(fa).input(fb).attr_int("transB", 1);
  EXPECT_TRUE(fails(bad_k));
  OpTester rank3("Gemm");
  rank3.input(random_tensor(DType::kFloat32, {1, 2, 3}, 1)).input(fb);
  EXPECT_TRUE(fails(rank3));
}

TEST(NnEinsum, EquationsMatchBruteForce) {
  const std::vector<std::pair<std::string, std::vector<Dims>>> cases = {
      {"ij,jk->ik", {{5, 7}, {7, 3}}},
      {"bij,bjk->bik", {{3, 4, 5}, {3, 5, 6}}},
      {"bij,jk->bik", {{4, 30, 40}, {40, 50}}},
      {"ii->i", {{4, 4}}},
      {"ii->", {{5, 5}}},
      {"i,i->", {{6}, {6}}},
      {"ij->ji", {{3, 5}}},
      {"ijk->", {{2, 3, 4}}},
      {"ijk->kj", {{2, 3, 4}}},
      {"bn,anm,bm->ba", {{2, 3}, {4, 3, 5}, {2, 5}}},
      {"ab,bc,cd->ad", {{2, 3}, {3, 4}, {4, 5}}},
      {"iij,jk->ik", {{3, 3, 4}, {4, 2}}},
      {"ij,ij->ij", {{3, 4}, {3, 4}}},
      {"i,j->ij", {{3}, {4}}},
      {"ij,ij->", {{3, 4}, {3, 4}}},
      {"abc,cba->b", {{2, 3, 4}, {4, 3, 2}}},
      {"ij,kj->ikj", {{1, 3}, {4, 3}}},
      {"bii,bjj->bij", {{2, 3, 3}, {2, 4, 4}}},
      {"->", {{}}},
  };
  uint32_t seed = 40;
  for (const auto& [eq, shapes] : cases) {
    std::vector<Tensor> ins;
    OpTester t("Einsum", 12);
    for (const Dims& d : shapes) {
      ins.push_back(random_tensor(DType::kFloat32, d, seed++));
      t.input(ins.back());
    }
    t.attr_string("equation", eq);
    SCOPED_TRACE(eq);
    expect_close(run1(t), naive_einsum(eq, ins).cast(DType::kFloat32), 1e-4, 1e-5);
  }
}

TEST(NnEinsum, EllipsisImplicitAndTypes) {
  const Tensor a = random_tensor(DType::kFloat64, {2, 1, 3, 4}, 1);
  const Tensor b = random_tensor(DType::kFloat64, {5, 4, 2}, 2);
  OpTester ell("Einsum");
  ell.input(a).input(b).attr_string("equation", "...ij,...jk->...ik");
  expect_close(run1(ell), naive_einsum("xyij,xyjk->xyik", {a, b.reshaped({1, 5, 4, 2})}), 1e-10,
               1e-12);
  // Implicit output: letters seen once, in ASCII order (upper case first), after the ellipsis.
  const Tensor c = random_tensor(DType::kFloat32, {3, 4}, 3),
               d = random_tensor(DType::kFloat32, {4, 2}, 4);
  OpTester implicit("Einsum");
  implicit.input(c).input(d).attr_string("equation", "ij,jk");
  expect_close(run1(implicit), naive_einsum("ij,jk->ik", {c, d}).cast(DType::kFloat32), 1e-5, 1e-6);
  OpTester upper("Einsum");
  upper.input(c).attr_string("equation", "bA");
  expect_close(run1(upper), naive_einsum("bA->Ab", {c}).cast(DType::kFloat32));
  OpTester ell_implicit("Einsum");
  ell_implicit.input(a).attr_string("equation", "...ji");
  expect_close(run1(ell_implicit), naive_einsum("xyji->xyij", {a}));
  OpTester ints("Einsum");
  ints.input(Tensor::from_vector<int32_t>({1 << 30, 2, 3, 4}, {2, 2}))
      .input(Tensor::from_vector<int32_t>({4, 1, 1, 1}, {2, 2}))
      .attr_string("equation", "ij,jk->ik");
  const Tensor iy = run1(ints);
  ASSERT_EQ(iy.dtype(), DType::kInt32);
  EXPECT_EQ(iy.to_int64_vector(), (std::vector<int64_t>{2, (1 << 30) + 2, 16, 7}));
  const Tensor h = random_tensor(DType::kBFloat16, {3, 5}, 5);
  OpTester half("Einsum");
  half.input(h).input(h).attr_string("equation", "ij,kj->ik");
  expect_close(run1(half), naive_einsum("ij,kj->ik", {h, h}).cast(DType::kBFloat16), 2e-2, 2e-2);
}

TEST(NnEinsum, BadEquationsFail) {
  const Tensor a = random_tensor(DType::kFloat32, {2, 3}, 1);
  const Tensor b = random_tensor(DType::kFloat32, {3, 4}, 2);
  const Tensor r3 = random_tensor(DType::kFloat32, {2, 3, 4}, 3);
  const std::vector<std::pair<std::string, std::vector<Tensor>>> bad = {
      {"ij,jk->ikk", {a, b}},   {"ij,jk->iz", {a, b}},  {"i.j,jk->ik", {a, b}},
      {"ij,jk,kl->il", {a, b}}, {"ijk,jk->ik", {a, b}}, {"...ij->ij", {r3}},
      {"ij,jk->ik", {a, a}},    {"ij->->i", {a}},       {"ij->...", {a}},
      {"i1,jk->ik", {a, b}},    {"......ij->ij", {r3}}, {"ij", {r3}}};
  for (const auto& [eq, ins] : bad) {
    OpTester t("Einsum");
    for (const Tensor& x : ins) t.input(x);
    t.attr_string("equation", eq);
    EXPECT_TRUE(fails(t)) << eq;
  }
  OpTester missing("Einsum");
  missing.input(a);
  EXPECT_TRUE(fails(missing));
  OpTester mixed("Einsum");
  mixed.input(a).input(b.cast(DType::kFloat64)).attr_string("equation", "ij,jk->ik");
  EXPECT_TRUE(fails(mixed));
}

}  // namespace
}  // namespace tarmac
