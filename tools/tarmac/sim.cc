// `tarmac sim airside --frames=N --seed=S --out=DIR [--sensor=...] [--scene=scene.json]
// [--threads=N]`: synthetic apron lidar frames written as an OpenPCDet custom dataset.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "commands.h"
#include "sim/airside.h"
#include "sim/scene_config.h"
#include "sim/sensor.h"

namespace tarmac::cli {

namespace {

struct SimOptions {
  int frames = 0;
  uint64_t seed = 0;
  std::string out;
  std::string sensor = "hdl64";
  std::string scene;
  int threads = 0;
  bool fsync = false;
};

StatusOr<std::string> read_text_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return not_found("scene file '{}' does not exist", path);
  if (!std::filesystem::is_regular_file(path, ec))
    return invalid_argument("scene file '{}' is not a regular file", path);
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error("cannot read scene file '{}'", path);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return io_error("cannot read scene file '{}'", path);
  return text.str();
}

int airside_command(const SimOptions& o) {
  if (o.frames < 1) return fail(fmt::format("--frames must be at least 1 (got {})", o.frames));
  if (o.threads < 0) return fail(fmt::format("--threads must not be negative (got {})", o.threads));
  auto sensor = sim::sensor_model(o.sensor);
  if (!sensor.is_ok()) return fail(sensor.status().message());
  sim::SceneConfig config = sim::default_scene_config();
  if (!o.scene.empty()) {
    auto text = read_text_file(o.scene);
    if (!text.is_ok()) return fail(text.status().message());
    auto parsed = sim::parse_scene_config(*text, o.scene);
    if (!parsed.is_ok()) return fail(parsed.status().message());
    config = *parsed;
  }
  sim::AirsideOptions options;
  options.frames = o.frames;
  options.seed = o.seed;
  options.out_dir = o.out;
  options.threads = o.threads;
  options.fsync = o.fsync;
  auto report = sim::write_airside_dataset(options, config, *sensor);
  if (!report.is_ok()) return fail(report.status().message());
  const sim::AirsideReport& r = *report;
  std::printf(
      "Wrote %d frames to %s (sensor %s, seed %llu): %lld points, %lld boxes; "
      "ImageSets train %d, val %d\n",
      r.frames, o.out.c_str(), sensor->name.c_str(), static_cast<unsigned long long>(o.seed),
      static_cast<long long>(r.points), static_cast<long long>(r.boxes), r.train, r.val);
  std::printf("Throughput: %.1f frames/s (%.2f s, %d threads, files included)\n",
              r.seconds > 0 ? r.frames / r.seconds : 0.0, r.seconds, r.threads);
  return 0;
}

}  // namespace

void add_sim_command(CLI::App& app, Action* action) {
  CLI::App* sim = app.add_subcommand("sim", "Generate synthetic sensor datasets");
  sim->require_subcommand(0, 1);
  sim->allow_extras();
  // Name an unknown generator instead of CLI11's "A subcommand is required".
  sim->callback([sim, action] {
    if (!sim->get_subcommands().empty()) return;
    const std::vector<std::string> extra = sim->remaining();
    const std::string word = extra.empty() ? std::string() : extra.front();
    *action = [word] {
      return fail(word.empty()
                      ? "tarmac sim: name a generator (expected: airside)"
                      : "tarmac sim: unknown generator '" + word + "' (expected: airside)");
    };
  });
  auto o = std::make_shared<SimOptions>();
  CLI::App* airside = sim->add_subcommand(
      "airside", "Airport-apron lidar scans with 3D boxes, written as an OpenPCDet custom dataset");
  airside->add_option("--frames", o->frames, "Number of frames to generate")->required();
  airside->add_option("--seed", o->seed, "Seed; the same seed gives byte-identical files")
      ->required();
  airside->add_option("--out", o->out, "Output folder (created if missing)")->required();
  airside->add_option("--sensor", o->sensor, "Lidar model: hdl64 (default), vlp32 or os128");
  airside->add_option("--scene", o->scene,
                      "scene.json overriding generation parameters (docs/airside_dataset.md)");
  airside->add_option("--threads", o->threads, "Worker threads (default: all cores)");
  airside->add_flag("--fsync", o->fsync, "Flush every file to disk before renaming it into place");
  // sim lets unknown words through (to name them above), so airside checks for leftovers.
  airside->callback([o, sim, action] {
    *action = [o, sim] {
      const std::vector<std::string> extra = sim->remaining(true);
      if (!extra.empty())
        return fail("tarmac sim airside: unexpected argument '" + extra.front() + "'");
      return airside_command(*o);
    };
  });
}

}  // namespace tarmac::cli
