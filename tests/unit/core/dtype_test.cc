#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/dtype.h"
#include "core/tensor.h"

namespace tarmac {
namespace {

TEST(DType, HalfRoundTripsExactValues) {
  for (float f : {0.0f, 1.0f, -2.5f, 65504.0f, 6.103515625e-05f, 5.960464477539063e-08f}) {
    EXPECT_EQ(half_to_float(float_to_half(f)), f) << f;
  }
}

TEST(DType, HalfRoundsToNearestEvenAndOverflows) {
  EXPECT_EQ(half_to_float(float_to_half(1.0f + 1.0f / 2048)), 1.0f);  // tie -> even
  EXPECT_EQ(half_to_float(float_to_half(1.0f + 3.0f / 2048)), 1.0f + 2.0f / 1024);
  EXPECT_TRUE(std::isinf(half_to_float(float_to_half(70000.0f))));
  EXPECT_TRUE(std::isnan(half_to_float(float_to_half(std::numeric_limits<float>::quiet_NaN()))));
}

TEST(DType, BFloat16RoundsToNearestEven) {
  EXPECT_EQ(bfloat16_to_float(float_to_bfloat16(1.0f)), 1.0f);
  EXPECT_EQ(bfloat16_to_float(float_to_bfloat16(1.00390625f)), 1.0f);  // tie -> even
  EXPECT_EQ(bfloat16_to_float(float_to_bfloat16(1.01171875f)), 1.015625f);
}

TEST(Tensor, CreateRefusesAbsurdSizes) {
  auto t = Tensor::create(DType::kFloat32, {1 << 20, 1 << 20, 1 << 20});
  ASSERT_FALSE(t.is_ok());
  EXPECT_EQ(t.status().code(), StatusCode::kResourceExhausted);
  EXPECT_FALSE(Tensor::create(DType::kFloat32, {-1, 3}).is_ok());
}

TEST(Tensor, CastFollowsOnnxSemantics) {
  Tensor f = Tensor::from_vector<float>({-1.7f, 0.0f, 2.9f}, {3});
  Tensor i = f.cast(DType::kInt32);
  EXPECT_EQ(i.data<int32_t>()[0], -1);
  EXPECT_EQ(i.data<int32_t>()[2], 2);
  Tensor b = f.cast(DType::kBool);
  EXPECT_TRUE(b.data<bool>()[0]);
  EXPECT_FALSE(b.data<bool>()[1]);
}

}  // namespace
}  // namespace tarmac
