// CUDA Resize, Upsample and GridSample against the CPU reference.
#include <string>
#include <vector>

#include "gpu_test_util.h"

namespace tarmac::testing {
namespace {

Tensor input_of(DType dt, const Dims& dims, uint64_t seed) {
  if (dt == DType::kFloat16 || dt == DType::kBFloat16)
    return random_tensor(DType::kFloat32, dims, seed).cast(dt);
  return random_tensor(dt, dims, seed);
}

Tensor floats(const std::vector<float>& v) {
  return Tensor::from_vector<float>(v, {static_cast<int64_t>(v.size())});
}
Tensor ints(const std::vector<int64_t>& v) {
  return Tensor::from_vector<int64_t>(v, {static_cast<int64_t>(v.size())});
}

struct ResizeArgs {
  std::string mode = "nearest";
  std::string coord = "half_pixel";
  std::string nearest = "round_prefer_floor";
  std::vector<float> scales;
  std::vector<int64_t> sizes;
  std::vector<float> roi;
  float cubic_a = -0.75f;
  int exclude_outside = 0;
  int64_t opset = 13;
};

GpuCase resize_case(Tensor x, const ResizeArgs& r) {
  GpuCase c("Resize", r.opset);
  c.input(std::move(x));
  if (r.roi.empty()) {
    c.absent_input();
  } else {
    c.input(floats(r.roi), true);
  }
  if (r.scales.empty()) {
    c.absent_input();
  } else {
    c.input(floats(r.scales), true);
  }
  if (!r.sizes.empty()) c.input(ints(r.sizes), true);
  c.attr_string("mode", r.mode).attr_string("coordinate_transformation_mode", r.coord);
  c.attr_string("nearest_mode", r.nearest);
  c.attr_float("cubic_coeff_a", r.cubic_a).attr_int("exclude_outside", r.exclude_outside);
  return c;
}

TEST(CudaVisionResize, YoloNearestUpsampling) {
  TARMAC_REQUIRE_GPU();
  for (int64_t opset : {11, 13, 18, 19}) {
    ResizeArgs r;
    r.coord = "asymmetric";
    r.nearest = "floor";
    r.scales = {1, 1, 2, 2};
    r.opset = opset;
    expect_gpu_matches_cpu(resize_case(input_of(DType::kFloat32, {1, 3, 20, 20}, 1), r), 0);
    expect_gpu_matches_cpu(resize_case(input_of(DType::kFloat16, {2, 5, 13, 7}, 2), r), 0);
    expect_gpu_matches_cpu(resize_case(input_of(DType::kInt8, {1, 4, 3, 9}, 3), r), 0);
  }
}

TEST(CudaVisionResize, NearestEveryModeAndCoordinate) {
  TARMAC_REQUIRE_GPU();
  uint64_t seed = 10;
  for (const char* coord : {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                            "tf_half_pixel_for_nn"}) {
    for (const char* nm : {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"}) {
      for (const std::vector<float>& sc :
           {std::vector<float>{1, 1, 1.7f, 0.6f}, std::vector<float>{1, 1, 3, 2.5f},
            std::vector<float>{1, 1, 0.5f, 0.5f}}) {
        SCOPED_TRACE(std::string(coord) + " " + nm + " " + std::to_string(sc[2]));
        ResizeArgs r;
        r.coord = coord;
        r.nearest = nm;
        r.scales = sc;
        expect_gpu_matches_cpu(resize_case(input_of(DType::kFloat32, {2, 3, 11, 13}, seed++), r),
                               0);
      }
      ResizeArgs s;
      s.coord = coord;
      s.nearest = nm;
      s.sizes = {2, 3, 17, 5};
      expect_gpu_matches_cpu(resize_case(input_of(DType::kInt64, {2, 3, 11, 13}, seed++), s), 0);
    }
  }
  // Bool and uint8 copy bytes.
  ResizeArgs b;
  b.scales = {1, 2, 3};
  expect_gpu_matches_cpu(resize_case(input_of(DType::kBool, {3, 5, 7}, 7), b), 0);
  expect_gpu_matches_cpu(resize_case(input_of(DType::kUint8, {3, 5, 7}, 8), b), 0);
}

TEST(CudaVisionResize, LinearCoordinateModes) {
  TARMAC_REQUIRE_GPU();
  uint64_t seed = 100;
  for (const char* coord : {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                            "tf_half_pixel_for_nn"}) {
    for (const std::vector<float>& sc :
         {std::vector<float>{1, 1, 2, 2}, std::vector<float>{1, 1, 1.7f, 0.6f},
          std::vector<float>{1, 1, 0.5f, 0.25f}, std::vector<float>{1, 1, 0.1f, 3}}) {
      SCOPED_TRACE(std::string(coord) + " " + std::to_string(sc[2]) + "x" + std::to_string(sc[3]));
      ResizeArgs r;
      r.mode = "linear";
      r.coord = coord;
      r.scales = sc;
      expect_gpu_matches_cpu(resize_case(input_of(DType::kFloat32, {2, 3, 11, 13}, seed++), r),
                             1e-6);
    }
    ResizeArgs s;
    s.mode = "linear";
    s.coord = coord;
    s.sizes = {1, 3, 1, 9};  // a length-1 output axis
    expect_gpu_matches_cpu(resize_case(input_of(DType::kFloat32, {1, 3, 8, 8}, seed++), s), 1e-6);
    s.sizes = {1, 3, 31, 17};
    expect_gpu_matches_cpu(resize_case(input_of(DType::kFloat32, {1, 3, 8, 8}, seed++), s), 1e-6);
  }
}

TEST(CudaVisionResize, LinearTypesAndRanks) {
  TARMAC_REQUIRE_GPU();
  uint64_t seed = 200;
  ResizeArgs r;
  r.mode = "linear";
  r.scales = {1, 1, 2.5f, 1.5f};
  for (DType dt : {DType::kFloat16, DType::kBFloat16}) {
    expect_gpu_matches_cpu(resize_case(input_of(dt, {2, 4, 15, 9}, seed++), r), 1e-2);
  }
  expect_gpu_matches_cpu(resize_case(input_of(DType::kFloat64, {2, 4, 15, 9}, seed++), r), 1e-12);
  // Integer linear resize is refused: the CPU and GPU summation orders round .5 cases apart.
  for (DType dt : {DType::kInt32, DType::kUint8, DType::kInt8, DType::kInt64}) {
    auto res = run_gpu_case(resize_case(input_of(dt, {2, 4, 15, 9}, seed++), r));
    ASSERT_FALSE(res.is_ok());
    EXPECT_EQ(res.status().code(), StatusCode::kUnsupported) << res.status().message();
  }
  ResizeArgs one;
  one.mode = "linear";
  one.scales = {3.5f};
  expect_gpu_matches_cpu(resize_case(input_of(DType::kFloat32, {21}, seed++), one), 1e-6);
  ResizeArgs three;
  three.mode = "linear";
  three.coord = "align_corners";
  three.scales = {1, 1, 2, 1.5f, 0.7f};
  expect_gpu_matches_cpu(resize_case(input_of(DType::kFloat32, {1, 2, 5, 6, 7}, seed++), three),
                         1e-6);
  // Large YOLO/segmentation-head-like bilinear upsampling.
  ResizeArgs big;
  big.mode = "linear";
  big.scales = {1, 1, 4, 4};
  expect_gpu_matches_cpu(resize_case(input_of(DType::kFloat32, {1, 32, 80, 80}, seed++), big),
                         1e-6);
}

TEST(CudaVisionResize, CubicVariants) {
  TARMAC_REQUIRE_GPU();
  uint64_t seed = 300;
  for (const char* coord : {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric"}) {
    for (float a : {-0.75f, -0.5f}) {
      for (int excl : {0, 1}) {
        SCOPED_TRACE(std::string(coord) + " a " + std::to_string(a) + " excl " +
                     std::to_string(excl));
        ResizeArgs r;
        r.mode = "cubic";
        r.coord = coord;
        r.cubic_a = a;
        r.exclude_outside = excl;
        r.scales = {1, 1, 1.7f, 0.8f};
        expect_gpu_matches_cpu(resize_case(input_of(DType::kFloat32, {2, 3, 9, 11}, seed++), r),
                               1e-6);
        r.scales = {};
        r.sizes = {2, 3, 4, 23};
        expect_gpu_matches_cpu(resize_case(input_of(DType::kFloat32, {2, 3, 9, 11}, seed++), r),
                               1e-6);
      }
    }
  }
  ResizeArgs h;
  h.mode = "cubic";
  h.scales = {1, 1, 2, 2};
  expect_gpu_matches_cpu(resize_case(input_of(DType::kFloat16, {1, 3, 10, 7}, seed++), h), 1e-2);
  expect_gpu_matches_cpu(resize_case(input_of(DType::kInt32, {1, 3, 10, 7}, seed++), h), 0);
}

TEST(CudaVisionResize, CropAndResizeAxesPolicyAndOldOpsets) {
  TARMAC_REQUIRE_GPU();
  uint64_t seed = 400;
  for (const char* mode : {"nearest", "linear", "cubic"}) {
    SCOPED_TRACE(mode);
    ResizeArgs r;
    r.mode = mode;
    r.coord = "tf_crop_and_resize";
    r.roi = {0, 0, -0.2f, 0.1f, 1, 1, 0.9f, 1.3f};
    r.sizes = {1, 2, 9, 12};
    GpuCase c = resize_case(input_of(DType::kFloat32, {1, 2, 7, 8}, seed++), r);
    c.attr_float("extrapolation_value", 2.5f);
    expect_gpu_matches_cpu(c, 1e-6);
  }
  // Opset 18: axes attribute and keep_aspect_ratio_policy; opset 19 half_pixel_symmetric.
  for (const char* policy : {"stretch", "not_larger", "not_smaller"}) {
    ResizeArgs r;
    r.mode = "linear";
    r.opset = 18;
    r.sizes = {20, 9};
    GpuCase c = resize_case(input_of(DType::kFloat32, {1, 3, 12, 7}, seed++), r);
    c.attr_ints("axes", {2, 3}).attr_string("keep_aspect_ratio_policy", policy);
    expect_gpu_matches_cpu(c, 1e-6);
  }
  ResizeArgs sym;
  sym.mode = "linear";
  sym.coord = "half_pixel_symmetric";
  sym.opset = 19;
  sym.scales = {1, 1, 1.3f, 0.7f};
  expect_gpu_matches_cpu(resize_case(input_of(DType::kFloat32, {1, 3, 12, 7}, seed++), sym), 1e-6);
  // Resize-10: X and scales only (asymmetric, legacy nearest rounding).
  for (const char* mode : {"nearest", "linear"}) {
    GpuCase c("Resize", 10);
    c.input(input_of(DType::kFloat32, {1, 2, 7, 5}, seed++))
        .input(floats({1, 1, 2.3f, 0.6f}), true);
    c.attr_string("mode", mode);
    expect_gpu_matches_cpu(c, 1e-6);
  }
  // Upsample-9 (scales input) and Upsample-7 (scales attribute).
  for (const char* mode : {"nearest", "linear", "bilinear"}) {
    GpuCase u9("Upsample", 9);
    u9.input(input_of(DType::kFloat32, {1, 2, 7, 5}, seed++)).input(floats({1, 1, 2, 3}), true);
    u9.attr_string("mode", mode);
    expect_gpu_matches_cpu(u9, 1e-6);
    GpuCase u7("Upsample", 7);
    u7.input(input_of(DType::kFloat32, {1, 2, 7, 5}, seed++));
    u7.attr_string("mode", mode).attr_floats("scales", {1, 1, 1.5f, 2});
    expect_gpu_matches_cpu(u7, 1e-6);
  }
}

TEST(CudaVisionResize, RefusesAntialiasAndRuntimeScales) {
  TARMAC_REQUIRE_GPU();
  ResizeArgs r;
  r.mode = "linear";
  r.opset = 18;
  r.scales = {1, 1, 0.5f, 0.5f};
  GpuCase aa = resize_case(input_of(DType::kFloat32, {1, 2, 8, 8}, 1), r);
  aa.attr_int("antialias", 1);
  EXPECT_FALSE(run_gpu_case(aa).is_ok());
  GpuCase dyn("Resize", 13);
  dyn.input(input_of(DType::kFloat32, {1, 2, 8, 8}, 2)).absent_input();
  dyn.input(floats({1, 1, 2, 2}), /*is_constant=*/false);
  EXPECT_FALSE(run_gpu_case(dyn).is_ok());
}

// ---- GridSample -------------------------------------------------------------------------------

/// A grid reaching a little outside [-1, 1] so every padding mode matters.
Tensor grid_of(DType dt, const Dims& dims, uint64_t seed) {
  Tensor g = random_tensor(DType::kFloat64, dims, seed);
  for (int64_t i = 0; i < g.numel(); ++i) g.data<double>()[i] *= 1.3;
  return g.cast(dt);
}

GpuCase grid_case(Tensor x, Tensor grid, const std::string& mode, const std::string& pad, int align,
                  int64_t opset) {
  GpuCase c("GridSample", opset);
  c.input(std::move(x)).input(std::move(grid));
  c.attr_string("mode", mode).attr_string("padding_mode", pad).attr_int("align_corners", align);
  return c;
}

TEST(CudaVisionGridSample, ModesPaddingAlignCorners4D) {
  TARMAC_REQUIRE_GPU();
  uint64_t seed = 500, gseed = 5000;
  for (const char* mode : {"bilinear", "nearest", "bicubic"}) {
    for (const char* pad : {"zeros", "border", "reflection"}) {
      for (int align : {0, 1}) {
        SCOPED_TRACE(std::string(mode) + " " + pad + " align " + std::to_string(align));
        expect_gpu_matches_cpu(
            grid_case(input_of(DType::kFloat32, {2, 3, 9, 11}, seed++),
                      grid_of(DType::kFloat32, {2, 7, 5, 2}, gseed++), mode, pad, align, 16),
            1e-6);
        // Integer data truncates: an exact match needs the CPU's rounding, FMAs included.
        expect_gpu_matches_cpu(
            grid_case(input_of(DType::kInt32, {1, 2, 6, 5}, seed++),
                      grid_of(DType::kFloat32, {1, 8, 9, 2}, gseed++), mode, pad, align, 16),
            0);
      }
    }
  }
}

TEST(CudaVisionGridSample, TypesAndOpset20Volumes) {
  TARMAC_REQUIRE_GPU();
  uint64_t seed = 600, gseed = 6000;
  expect_gpu_matches_cpu(
      grid_case(input_of(DType::kFloat16, {1, 4, 16, 16}, seed++),
                grid_of(DType::kFloat16, {1, 10, 12, 2}, gseed++), "bilinear", "zeros", 0, 16),
      1e-2);
  expect_gpu_matches_cpu(
      grid_case(input_of(DType::kBFloat16, {1, 4, 16, 16}, seed++),
                grid_of(DType::kFloat32, {1, 10, 12, 2}, gseed++), "bilinear", "border", 1, 16),
      1e-2);
  expect_gpu_matches_cpu(
      grid_case(input_of(DType::kFloat32, {2, 3, 9, 8}, seed++),
                grid_of(DType::kFloat64, {2, 4, 4, 2}, gseed++), "nearest", "reflection", 0, 16),
      1e-6);
  for (const char* mode : {"linear", "nearest", "cubic"}) {
    SCOPED_TRACE(mode);
    expect_gpu_matches_cpu(
        grid_case(input_of(DType::kFloat32, {1, 2, 5, 6, 7}, seed++),
                  grid_of(DType::kFloat32, {1, 3, 4, 5, 3}, gseed++), mode, "border", 0, 20),
        1e-6);
    expect_gpu_matches_cpu(
        grid_case(input_of(DType::kFloat32, {2, 3, 17}, seed++),
                  grid_of(DType::kFloat32, {2, 9, 1}, gseed++), mode, "reflection", 1, 20),
        1e-6);
  }
  // A large sampling grid (BEV-projection-like).
  expect_gpu_matches_cpu(
      grid_case(input_of(DType::kFloat32, {1, 64, 48, 80}, seed++),
                grid_of(DType::kFloat32, {1, 100, 100, 2}, gseed++), "bilinear", "zeros", 0, 16),
      1e-6);
}

TEST(CudaVisionGridSample, RefusesFourSpatialAxesAndNms) {
  TARMAC_REQUIRE_GPU();
  EXPECT_FALSE(run_gpu_case(grid_case(input_of(DType::kFloat32, {1, 1, 2, 3, 2, 3}, 1),
                                      grid_of(DType::kFloat32, {1, 2, 2, 2, 2, 4}, 2), "linear",
                                      "zeros", 0, 20))
                   .is_ok());
  GpuCase nms("NonMaxSuppression", 11);
  nms.input(random_tensor(DType::kFloat32, {1, 6, 4}, 3))
      .input(random_tensor(DType::kFloat32, {1, 2, 6}, 4));
  EXPECT_FALSE(run_gpu_case(nms).is_ok());
}

}  // namespace
}  // namespace tarmac::testing
