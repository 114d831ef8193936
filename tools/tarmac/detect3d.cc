// `tarmac detect3d --config=pointpillars.json --points=FILE|DIR [--fp16] [--device=cuda|cpu]
//  [--out=DIR] [--export=results.json] [--warmup=N] [--repeat=N]`: PointPillars on point clouds.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "commands.h"
#include "perception/lidar/pipeline.h"
#include "perception/lidar/results_io.h"

namespace tarmac::cli {

namespace {

struct Detect3dOptions {
  std::string config, points, device = "cuda", out, export_path, timing_cache;
  bool fp16 = false, no_tf32 = false;
  int warmup = 0, repeat = 1;
};

/// The point-cloud files of a path: the file itself, or a folder's .bin and .pcd files sorted.
StatusOr<std::vector<std::filesystem::path>> cloud_files(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) return std::vector<fs::path>{path};
  if (!fs::is_directory(path, ec)) return not_found("--points: '{}' does not exist", path);
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(path, ec)) {
    const std::string ext = e.path().extension().string();
    if (e.is_regular_file() && (ext == ".bin" || ext == ".pcd")) files.push_back(e.path());
  }
  if (ec) return io_error("cannot list '{}': {}", path, ec.message());
  std::sort(files.begin(), files.end());
  if (files.empty()) return not_found("--points: no .bin or .pcd files in '{}'", path);
  return files;
}

std::string frame_id(const std::filesystem::path& p) {
  std::string name = p.filename().string();
  for (const char* ext : {".pcd.bin", ".bin", ".pcd"}) {
    const std::string e = ext;
    if (name.size() > e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0)
      return name.substr(0, name.size() - e.size());
  }
  return name;
}

int detect3d_command(const Detect3dOptions& o) {
  if (o.device != "cuda" && o.device != "cpu")
    return fail("--device must be cuda or cpu, got '" + o.device + "'");
  if (o.warmup < 0 || o.repeat < 1) return fail("--warmup must be >= 0 and --repeat >= 1");
  auto config = lidar::load_config(o.config);
  if (!config.is_ok()) return fail(config.status().message());
  auto files = cloud_files(o.points);
  if (!files.is_ok()) return fail(files.status().message());
  if (!o.out.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(o.out, ec);
    if (ec) return fail(fmt::format("--out: cannot create '{}': {}", o.out, ec.message()));
  }
  lidar::DetectorOptions d;
  d.device = o.device == "cuda" ? DeviceKind::kCuda : DeviceKind::kCpu;
  d.fp16 = o.fp16;
  d.tf32 = !o.no_tf32;
  d.timing_cache_file = o.timing_cache;
  d.log = [](const std::string& m) {
    if (m.rfind("warning:", 0) == 0) std::fprintf(stderr, "%s\n", m.c_str());
  };
  auto detector = lidar::LidarDetector::create(*config, d);
  if (!detector.is_ok()) return fail(detector.status().message());
  const std::vector<std::string> names = config->class_names();
  nlohmann::json frames = nlohmann::json::array();
  std::printf("%-12s %8s %8s %8s %6s %9s %9s %9s %9s %9s %9s\n", "frame", "points", "in_range",
              "pillars", "boxes", "voxel_ms", "pfn_ms", "scat_ms", "bb_ms", "post_ms", "total_ms");
  for (const auto& file : *files) {
    auto cloud = lidar::read_point_cloud(file.string());
    if (!cloud.is_ok()) return fail(cloud.status().message());
    for (int i = 0; i < o.warmup; ++i)
      if (auto r = (*detector)->detect(*cloud); !r.is_ok()) return fail(r.status().message());
    // With --repeat, the stage times are medians over the repeats (the boxes are the same).
    std::vector<lidar::FrameResult> runs;
    for (int i = 0; i < o.repeat; ++i) {
      auto r = (*detector)->detect(*cloud);
      if (!r.is_ok()) return fail(fmt::format("{}: {}", file.string(), r.status().message()));
      runs.push_back(std::move(r).value());
    }
    lidar::FrameResult r = runs.back();
    auto median = [&](double lidar::StageTimes::*m) {
      std::vector<double> v;
      for (const auto& x : runs) v.push_back(x.stats.ms.*m);
      std::sort(v.begin(), v.end());
      return v[v.size() / 2];
    };
    for (auto m :
         {&lidar::StageTimes::voxelize, &lidar::StageTimes::pfn, &lidar::StageTimes::scatter,
          &lidar::StageTimes::backbone, &lidar::StageTimes::postprocess, &lidar::StageTimes::total})
      r.stats.ms.*m = median(m);
    const std::string id = frame_id(file);
    const auto& s = r.stats;
    std::printf("%-12s %8lld %8lld %8lld %6zu %9.3f %9.3f %9.3f %9.3f %9.3f %9.3f\n", id.c_str(),
                static_cast<long long>(s.points_in), static_cast<long long>(s.points_in_range),
                static_cast<long long>(s.pillars), r.detections.size(), s.ms.voxelize, s.ms.pfn,
                s.ms.scatter, s.ms.backbone, s.ms.postprocess, s.ms.total);
    if (!o.out.empty()) {
      const std::string base = (std::filesystem::path(o.out) / id).string();
      Status st = lidar::write_text_file(base + ".txt", lidar::to_kitti_lines(r.detections, names));
      if (st.is_ok())
        st = lidar::write_text_file(base + ".boxes.txt", lidar::to_box_lines(r.detections, names));
      if (!st.is_ok()) return fail(st.message());
    }
    frames.push_back(
        lidar::results_to_json(id, r.detections, names, lidar::stats_to_json(r.stats)));
  }
  if (!o.export_path.empty()) {
    nlohmann::json doc = {{"config", o.config},
                          {"device", o.device},
                          {"precision", o.fp16 ? "fp16" : "fp32"},
                          {"classes", names},
                          {"frames", frames}};
    if (Status s = write_json_file(o.export_path, doc.dump(1)); !s.is_ok())
      return fail(s.message());
  }
  return 0;
}

}  // namespace

void add_detect3d_command(CLI::App& app, Action* action) {
  auto o = std::make_shared<Detect3dOptions>();
  CLI::App* sub = app.add_subcommand("detect3d", "Run the PointPillars lidar detector on clouds");
  sub->add_option("--config", o->config, "Pipeline config (pointpillars.json)")->required();
  sub->add_option("--points", o->points,
                  "A .bin (KITTI, nuScenes .pcd.bin) or .pcd file, or a "
                  "folder of them")
      ->required();
  sub->add_flag("--fp16", o->fp16, "Run the engines in float16");
  sub->add_flag("--noTF32", o->no_tf32, "Exact float32 convolutions and GEMMs (no TF32)");
  sub->add_option("--device", o->device, "cuda (default) or cpu");
  sub->add_option("--out", o->out,
                  "Folder for KITTI label lines (<frame>.txt) and box lines "
                  "(<frame>.boxes.txt, as tarmac eval3d reads)");
  sub->add_option("--export", o->export_path, "JSON with every frame's boxes and stats");
  sub->add_option("--timingCacheFile", o->timing_cache, "Timing cache for the engines' builds");
  sub->add_option("--warmup", o->warmup, "Untimed runs per frame first (default 0)");
  sub->add_option("--repeat", o->repeat, "Timed runs per frame; stage times are medians");
  sub->callback([o, action] { *action = [o] { return detect3d_command(*o); }; });
}

}  // namespace tarmac::cli
