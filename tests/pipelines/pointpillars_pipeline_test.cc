// tarmac's PointPillars pipeline against the PyTorch reference outputs that
// python/export_pointpillars.py wrote for the KITTI frames (TARMAC_POINTPILLARS_DIR/ref/<frame>):
// identical pillars, features within 1e-5, PFN and head outputs within the precision's
// tolerance, and the same boxes after NMS (matched at BEV IoU >= 0.99) in float32; float16's
// box match rate is printed and held to a floor. CPU always; CUDA when a GPU is present.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "perception/lidar/config.h"
#include "perception/lidar/nms.h"
#include "perception/lidar/pipeline.h"
#include "perception/lidar/voxelize.h"
#include "runtime/device_engine.h"
#include "tarmac/engine.h"

namespace tarmac::lidar {
namespace {

namespace fs = std::filesystem;

std::string model_dir() {
  const char* d = std::getenv("TARMAC_POINTPILLARS_DIR");
  return d ? d : "";
}

std::string kitti_dir() {
  const char* d = std::getenv("TARMAC_KITTI_DIR");
  return d ? d : TARMAC_SOURCE_DIR "/../shared/data/kitti";
}

struct Ref {
  nlohmann::json manifest;
  fs::path dir;
  template <typename T>
  std::vector<T> array(const std::string& name) const {
    const auto& a = manifest["arrays"][name];
    std::ifstream f(dir / a["file"].get<std::string>(), std::ios::binary);
    size_t n = 1;
    for (const auto& d : a["shape"]) n *= d.get<size_t>();
    std::vector<T> v(n);
    f.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(n * sizeof(T)));
    EXPECT_TRUE(f.good()) << name;
    return v;
  }
};

std::vector<std::string> frames() {
  std::vector<std::string> out;
  const fs::path ref = fs::path(model_dir()) / "ref";
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(ref, ec)) out.push_back(e.path().filename());
  std::sort(out.begin(), out.end());
  return out;
}

Ref load_ref(const std::string& frame) {
  Ref r;
  r.dir = fs::path(model_dir()) / "ref" / frame;
  std::ifstream f(r.dir / "manifest.json");
  r.manifest = nlohmann::json::parse(f);
  return r;
}

double rel_l2(const float* got, const std::vector<float>& want) {
  double num = 0, den = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    num += (double(got[i]) - want[i]) * (double(got[i]) - want[i]);
    den += double(want[i]) * want[i];
  }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

#define REQUIRE_MODEL()                                                                      \
  if (model_dir().empty() || frames().empty())                                               \
  GTEST_SKIP() << "no PointPillars export (the pipelines_export_pointpillars fixture needs " \
                  "../shared/data/kitti and the Python environment)"

StatusOr<PointPillarsConfig> config() {
  return load_config((fs::path(model_dir()) / "pointpillars.json").string());
}

TEST(PointPillarsPipeline, VoxelizationMatchesTheReferenceExactly) {
  REQUIRE_MODEL();
  auto c = config();
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  for (const std::string& frame : frames()) {
    const Ref ref = load_ref(frame);
    auto cloud = read_point_cloud(
        (fs::path(kitti_dir()) / ref.manifest["source"].get<std::string>()).string());
    ASSERT_TRUE(cloud.is_ok());
    VoxelParams p;
    p.range = c->point_cloud_range;
    p.voxel_size = c->voxel_size;
    p.max_voxels = c->max_voxels;
    p.max_points_per_voxel = c->max_points_per_voxel;
    PillarSet set;
    ASSERT_TRUE(voxelize_cpu(cloud->xyzi.data(), cloud->size(), p, &set).is_ok());
    EXPECT_EQ(set.num_pillars, ref.manifest["num_pillars"].get<int>()) << frame;
    EXPECT_EQ(set.points_in_range, ref.manifest["points_in_range"].get<int64_t>()) << frame;
    EXPECT_EQ(set.coords, ref.array<int32_t>("coords")) << frame;
    EXPECT_EQ(set.num_points, ref.array<int32_t>("num_points")) << frame;
    const auto features = ref.array<float>("voxel_features");
    ASSERT_EQ(set.features.size(), features.size());
    float worst = 0;
    for (size_t i = 0; i < features.size(); ++i)
      worst = std::max(worst, std::abs(set.features[i] - features[i]));
    EXPECT_LE(worst, 1e-5f) << frame;
  }
}

/// Matches detections to reference boxes (rows x y z dx dy dz heading score label) greedily at
/// BEV IoU >= 0.99 with the same label; returns the matched fraction of the larger set.
double match_rate(const std::vector<Detection>& got, const std::vector<float>& ref) {
  const size_t n = ref.size() / 9;
  std::vector<bool> used(n, false);
  size_t matched = 0;
  for (const Detection& d : got) {
    for (size_t i = 0; i < n; ++i) {
      const float* r = &ref[i * 9];
      if (used[i] || static_cast<int>(r[8]) != d.label) continue;
      const Box3d b{r[0], r[1], r[2], r[3], r[4], r[5], r[6]};
      if (rotated_bev_iou(d.box, b) >= 0.99f && std::abs(d.box.z - b.z) < 0.01f) {
        used[i] = true;
        ++matched;
        break;
      }
    }
  }
  const size_t denom = std::max(got.size(), n);
  return denom == 0 ? 1.0 : static_cast<double>(matched) / static_cast<double>(denom);
}

void check_pipeline(DeviceKind device, bool fp16, bool tf32 = false) {
  auto c = config();
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  DetectorOptions o;
  o.device = device;
  o.fp16 = fp16;
  o.tf32 = tf32;
  auto det = LidarDetector::create(*c, o);
  ASSERT_TRUE(det.is_ok()) << det.status().message();
  double worst_rate = 1;
  size_t boxes = 0;
  for (const std::string& frame : frames()) {
    const Ref ref = load_ref(frame);
    auto cloud = read_point_cloud(
        (fs::path(kitti_dir()) / ref.manifest["source"].get<std::string>()).string());
    ASSERT_TRUE(cloud.is_ok());
    auto r = (*det)->detect(*cloud);
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    EXPECT_EQ(r->stats.pillars, ref.manifest["num_pillars"].get<int64_t>()) << frame;
    EXPECT_EQ(r->stats.points_in_range, ref.manifest["points_in_range"].get<int64_t>()) << frame;
    EXPECT_EQ(r->stats.points_in, ref.manifest["points_in"].get<int64_t>()) << frame;
    const double rate = match_rate(r->detections, ref.array<float>("boxes"));
    boxes += r->detections.size();
    worst_rate = std::min(worst_rate, rate);
    std::printf("%s %s %s: %zu boxes (reference %d), match rate %.3f\n",
                device == DeviceKind::kCuda ? "cuda" : "cpu",
                fp16   ? "fp16"
                : tf32 ? "fp32+tf32"
                       : "fp32",
                frame.c_str(), r->detections.size(), ref.manifest["num_boxes"].get<int>(), rate);
    if (!fp16 && !tf32) {
      EXPECT_EQ(rate, 1.0) << frame;
    }
  }
  // Float16 (and TF32) move scores near the threshold and NMS ties; most boxes must agree.
  if (fp16 || tf32) {
    EXPECT_GE(worst_rate, 0.8);
  }
  EXPECT_GT(boxes, 0u);
}

TEST(PointPillarsPipeline, CpuFloat32GivesTheReferenceBoxes) {
  REQUIRE_MODEL();
  check_pipeline(DeviceKind::kCpu, false);
}

bool have_gpu() { return query_device_identity().is_ok(); }

TEST(PointPillarsPipeline, CudaFloat32GivesTheReferenceBoxes) {
  REQUIRE_MODEL();
  if (!have_gpu()) GTEST_SKIP() << "no CUDA device";
  check_pipeline(DeviceKind::kCuda, false);
}

TEST(PointPillarsPipeline, CudaTf32MatchRate) {
  REQUIRE_MODEL();
  if (!have_gpu()) GTEST_SKIP() << "no CUDA device";
  check_pipeline(DeviceKind::kCuda, false, true);
}

TEST(PointPillarsPipeline, CudaFloat16MatchRate) {
  REQUIRE_MODEL();
  if (!have_gpu()) GTEST_SKIP() << "no CUDA device";
  check_pipeline(DeviceKind::kCuda, true);
}

/// The engines alone on the reference inputs: PFN and head outputs within tolerance.
void check_engines(DeviceKind device, bool fp16) {
  auto c = config();
  ASSERT_TRUE(c.is_ok());
  DetectorOptions o;
  o.device = device;
  o.fp16 = fp16;
  auto plans = build_pipeline_plans(*c, o);
  ASSERT_TRUE(plans.is_ok()) << plans.status().message();
  auto pfn = Engine::deserialize(plans->pfn);
  ASSERT_TRUE(pfn.is_ok()) << pfn.status().message();
  auto ctx = (*pfn)->create_execution_context();
  ASSERT_TRUE(ctx.is_ok());
  const double tol = fp16 ? 1e-2 : 1e-5;
  const Ref ref = load_ref(frames().back());
  const auto vf = ref.array<float>("voxel_features");
  const auto want = ref.array<float>("pillar_features");
  std::vector<float> in(static_cast<size_t>(c->max_voxels) * 32 * 10, 0.f);
  std::copy(vf.begin(), vf.end(), in.begin());
  std::vector<float> out(static_cast<size_t>(c->max_voxels) * 64);
  ASSERT_TRUE((*ctx)->set_tensor_address(plans->pfn_input, in.data()).is_ok());
  ASSERT_TRUE((*ctx)->set_tensor_address(plans->pfn_output, out.data()).is_ok());
  ASSERT_TRUE((*ctx)->execute().is_ok());
  EXPECT_LE(rel_l2(out.data(), want), tol);

  // Backbone + head on the scatter of the reference pillar features.
  const auto coords = ref.array<int32_t>("coords");
  std::vector<float> bev(64 * 496 * 432);
  scatter_cpu(want.data(), coords.data(), static_cast<int>(coords.size() / 4), 64, 432, 496,
              bev.data());
  auto bb = Engine::deserialize(plans->backbone);
  ASSERT_TRUE(bb.is_ok()) << bb.status().message();
  auto bctx = (*bb)->create_execution_context();
  ASSERT_TRUE(bctx.is_ok());
  ASSERT_TRUE((*bctx)->set_tensor_address(plans->backbone_input, bev.data()).is_ok());
  std::map<std::string, std::vector<float>> heads;
  for (const auto& [name, member] : head_outputs()) {
    (void)member;
    heads[name].resize(ref.array<float>(name).size());
    ASSERT_TRUE((*bctx)->set_tensor_address(name, heads[name].data()).is_ok());
  }
  ASSERT_TRUE((*bctx)->execute().is_ok());
  for (auto& [name, got] : heads) {
    const double e = rel_l2(got.data(), ref.array<float>(name));
    std::printf("%s: relative L2 %.3g\n", name.c_str(), e);
    EXPECT_LE(e, tol) << name;
  }
}

TEST(PointPillarsPipeline, CpuEnginesMatchTheReference) {
  REQUIRE_MODEL();
  check_engines(DeviceKind::kCpu, false);
}

}  // namespace
}  // namespace tarmac::lidar
