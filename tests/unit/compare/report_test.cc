#include "compare/report.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace tarmac::compare {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

TensorComparison compare_ok(const std::string& name, const Tensor& test, const Tensor& ref,
                            const CheckOptions& o) {
  StatusOr<TensorComparison> c = compare_tensors(name, test, ref, o);
  EXPECT_TRUE(c.is_ok()) << c.status().message();
  return c.is_ok() ? std::move(c).value() : TensorComparison{};
}

// Index of the first line starting with `prefix`, or -1.
int find_line(const std::vector<std::string>& lines, const std::string& prefix) {
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].rfind(prefix, 0) == 0) return static_cast<int>(i);
  }
  return -1;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out.append(l).append("\n");
  return out;
}

TEST(ReportNumbers, ThreeSignificantDigits) {
  EXPECT_EQ(format_number(1.23456e-5), "1.23e-05");
  EXPECT_EQ(format_number(1e-5), "1e-05");
  EXPECT_EQ(format_number(0.5), "0.5");
  EXPECT_EQ(format_number(0), "0");
  EXPECT_EQ(format_number(123456), "1.23e+05");
  EXPECT_EQ(format_number(kInf), "inf");
  EXPECT_EQ(format_number(-kInf), "-inf");
  EXPECT_EQ(format_number(kNaN), "nan");
}

TEST(ReportNumbers, BoundNeverPrintsBelowTheValue) {
  EXPECT_EQ(format_bound(1e-5), "1e-05");
  EXPECT_EQ(format_bound(0.5), "0.5");
  // "1.23e-05" would be below the value and fail when used as the tolerance.
  EXPECT_EQ(format_bound(1.2349e-5), "1.235e-05");
  EXPECT_EQ(format_bound(1.2361e-5), "1.237e-05");
  EXPECT_EQ(format_bound(0.0073223114013671875), "0.007323");  // four digits at most
  EXPECT_EQ(format_bound(2.0), "2");
  EXPECT_EQ(format_bound(kInf), "inf");
}

TEST(ReportNumbers, ValuesKeepNineDigits) {
  EXPECT_EQ(format_value(0.0999755859375), "0.0999755859");
  EXPECT_EQ(format_value(1e-5), "1e-05");
}

class ReportTest : public ::testing::Test {
 protected:
  // float16 holds these exactly, so both sides agree.
  Tensor test_ =
      Tensor::from_vector<Half>({Half(1.0f), Half(-1.0f), Half(2.0f), Half(0.0f)}, {1, 4});
  Tensor ref_ = Tensor::from_vector<double>({1, -1, 2, 0}, {1, 4});
};

TEST_F(ReportTest, PassingBlockHasTheKeyLinesInOrder) {
  const CheckOptions o;
  const TensorComparison c = compare_ok("logits", test_, ref_, o);
  const std::vector<std::string> lines = format_comparison(c, o, "cuda fp16", "cpu fp64 reference");
  SCOPED_TRACE(joined(lines));
  ASSERT_GE(lines.size(), 10u);
  EXPECT_EQ(lines[0],
            "Comparing output 'logits' (cuda fp16: float16 [1, 4]) with (cpu fp64 reference: "
            "float64 [1, 4])");
  EXPECT_EQ(lines[1], "    Tolerance: atol=1e-05 rtol=1e-05, check: elemwise");
  // Values {1, -1, 2, 0}: mean 0.5, population var 1.25, sorted {-1, 0, 1, 2} gives the
  // median at position 1.5 (0.5), p90 at 2.7 (1.7), p95 at 2.85 (1.85), p99 at 2.97 (1.97).
  EXPECT_EQ(lines[2],
            "    cuda fp16 values: mean=0.5 std-dev=1.12 var=1.25 median=0.5 min=-1 at (0, 1) "
            "max=2 at (0, 2) avg-magnitude=1 p90=1.7 p95=1.85 p99=1.97");
  EXPECT_EQ(lines.back(),
            "PASSED | output 'logits' | difference within atol=1e-05 rtol=1e-05 (elemwise)");
  const std::vector<std::string> in_order = {
      "    cuda fp16 values: mean=",
      "    cpu fp64 reference values: mean=",
      "    Histogram of values (10 bins over [-1, 2]):",
      "        [-1, -0.7)",
      "    Absolute difference: mean=0 ",
      "    Relative difference: mean=0 ",
      "    Minimum required tolerance (elemwise): atol=0 or rtol=0",
      "    Mismatched elements: 0 of 4 (0%)",
      "    Largest difference at (0, 0): test=1 reference=1 (abs=0 rel=0)",
  };
  int previous = -1;
  for (const std::string& prefix : in_order) {
    const int at = find_line(lines, prefix);
    EXPECT_GT(at, previous) << prefix;
    previous = at;
  }
  EXPECT_EQ(lines[3].find("nan="), std::string::npos);
}

TEST_F(ReportTest, HistogramHasOneRowPerBin) {
  const CheckOptions o;
  const TensorComparison c = compare_ok("logits", test_, ref_, o);
  const std::vector<std::string> lines = format_comparison(c, o, "test", "ref");
  SCOPED_TRACE(joined(lines));
  const int title = find_line(lines, "    Histogram of values");
  ASSERT_GE(title, 0);
  EXPECT_EQ(find_line(lines, "        bin "), title + 1);
  // Ten bins of width 0.3 over [-1, 2]: -1 falls in bin 0, 0 in bin 3, 1 in bin 6 and 2 in the
  // closed last bin.
  int rows = 0;
  for (const std::string& l : lines) rows += l.rfind("        [", 0) == 0;
  EXPECT_EQ(rows, 10 + 1);  // value bins plus the single bin of all-zero differences
  EXPECT_EQ(lines[static_cast<size_t>(title) + 2].substr(0, 18), "        [-1, -0.7)");
  EXPECT_NE(lines[static_cast<size_t>(title) + 11].find("[1.7, 2]"), std::string::npos);
  EXPECT_NE(lines[static_cast<size_t>(title) + 11].find("#"), std::string::npos);
  EXPECT_EQ(lines[static_cast<size_t>(title) + 3].find("#"), std::string::npos);  // empty bin

  CheckOptions off;
  off.histogram = false;
  const std::vector<std::string> plain = format_comparison(c, off, "test", "ref");
  EXPECT_EQ(find_line(plain, "    Histogram"), -1);
}

TEST(Report, FailingElemwiseBlock) {
  const CheckOptions o;
  const TensorComparison c =
      compare_ok("boxes", Tensor::from_vector<float>({1, 1, 1, 1.5f}, {1, 4}),
                 Tensor::from_vector<float>({1, 1, 1, 1}, {1, 4}), o);
  const std::vector<std::string> lines = format_comparison(c, o, "cuda", "cpu");
  SCOPED_TRACE(joined(lines));
  EXPECT_GE(find_line(lines,
                      "    Minimum required tolerance (elemwise): atol=0.5 or rtol=0.5 "
                      "(either one alone passes every element)"),
            0);
  EXPECT_GE(find_line(lines, "    Mismatched elements: 1 of 4 (25%)"), 0);
  EXPECT_GE(find_line(lines,
                      "    Largest difference at (0, 3): test=1.5 reference=1 (abs=0.5 "
                      "rel=0.5)"),
            0);
  EXPECT_EQ(lines.back(),
            "FAILED | output 'boxes' | 1 of 4 elements exceed both atol=1e-05 and rtol=1e-05 "
            "(largest difference at (0, 3): abs=0.5 rel=0.5)");
}

TEST(Report, QuantileCheckIsNamed) {
  CheckOptions o;
  o.stat = ErrorStat::kQuantile;
  const TensorComparison c = compare_ok("scores", Tensor::from_vector<float>({1, 2, 3}, {3}),
                                        Tensor::from_vector<float>({1, 2, 3}, {3}), o);
  const std::vector<std::string> lines = format_comparison(c, o, "a", "b");
  SCOPED_TRACE(joined(lines));
  EXPECT_EQ(lines[1], "    Tolerance: atol=1e-05 rtol=1e-05, check: quantile 0.99");
  EXPECT_GE(find_line(lines, "    Minimum required tolerance (quantile 0.99): atol=0 or rtol=0"),
            0);
  EXPECT_EQ(lines.back(),
            "PASSED | output 'scores' | difference within atol=1e-05 rtol=1e-05 (quantile 0.99)");
}

TEST(Report, NonFiniteCountsAreAppendedOnlyWhenPresent) {
  const CheckOptions o;
  const TensorComparison c = compare_ok("x", Tensor::from_vector<double>({kNaN, 1, kInf, 4}, {4}),
                                        Tensor::from_vector<double>({kNaN, 1, 2, 4}, {4}), o);
  const std::vector<std::string> lines = format_comparison(c, o, "test", "ref");
  SCOPED_TRACE(joined(lines));
  const std::string& test_line = lines[static_cast<size_t>(find_line(lines, "    test values:"))];
  const std::string& ref_line = lines[static_cast<size_t>(find_line(lines, "    ref values:"))];
  EXPECT_NE(test_line.find(" p99=3.97 nan=1 inf=1"), std::string::npos);  // {1, 4}: at 0.99
  EXPECT_NE(ref_line.find(" p99=3.96 nan=1"), std::string::npos);  // {1, 2, 4}: position 1.98
  EXPECT_EQ(ref_line.find("inf="), std::string::npos);
  EXPECT_GE(find_line(lines, "    Non-finite mismatches: 1 (first at (2))"), 0);
  EXPECT_EQ(lines.back(),
            "FAILED | output 'x' | 1 non-finite value where the reference is finite (first at "
            "(2): test=inf)");
}

TEST(Report, StatisticCheckSaysMismatchesAreInformational) {
  CheckOptions o;
  o.stat = ErrorStat::kMedian;
  o.tol.atol = 1;
  o.tol.rtol = 1;
  const TensorComparison c = compare_ok("y", Tensor::from_vector<double>({1, 1, 11}, {3}),
                                        Tensor::from_vector<double>({1, 1, 1}, {3}), o);
  const std::vector<std::string> lines = format_comparison(c, o, "test", "ref");
  SCOPED_TRACE(joined(lines));
  EXPECT_GE(find_line(lines,
                      "    Mismatched elements: 1 of 3 (33.3%), counted elementwise; the "
                      "check uses the median"),
            0);
  EXPECT_EQ(lines.back(), "PASSED | output 'y' | difference within atol=1 rtol=1 (median)");
}

TEST(Report, EmptyTensorBlock) {
  const CheckOptions o;
  const TensorComparison c =
      compare_ok("e", Tensor::zeros(DType::kFloat32, {0}), Tensor::zeros(DType::kFloat32, {0}), o);
  const std::vector<std::string> lines = format_comparison(c, o, "test", "ref");
  SCOPED_TRACE(joined(lines));
  EXPECT_EQ(lines[2], "    test values: no values (empty tensor)");
  EXPECT_EQ(lines.back(),
            "PASSED | output 'e' | difference within atol=1e-05 rtol=1e-05 "
            "(elemwise)");
}

TEST(Report, LayerLine) {
  const CheckOptions o;
  const TensorComparison c = compare_ok("conv1", Tensor::from_vector<float>({1, 2}, {1, 2}),
                                        Tensor::from_vector<float>({1, 2.5f}, {1, 2}), o);
  const std::string line = format_layer_line(c);
  EXPECT_EQ(line.rfind("conv1 ", 0), 0u) << line;
  EXPECT_NE(line.find("[1, 2]"), std::string::npos) << line;
  EXPECT_NE(line.find("max-abs=0.5 "), std::string::npos) << line;
  EXPECT_NE(line.find("max-rel=0.2 "), std::string::npos) << line;
  EXPECT_NE(line.find("required atol=0.5 "), std::string::npos) << line;
  EXPECT_EQ(line.substr(line.size() - 5), " FAIL") << line;
}

}  // namespace
}  // namespace tarmac::compare
