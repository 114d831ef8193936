#include "sim/airside.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <new>
#include <thread>

#include <nlohmann/json.hpp>

#include "sim/apron.h"
#include "sim/random.h"

namespace tarmac::sim {

namespace fs = std::filesystem;

namespace {

constexpr uint64_t kNoiseSalt = 0x6C69646172ull;

// Writes through "<name>.partial" and a rename, so an interrupted run never leaves a truncated
// file under its final name.
Status write_file_atomic(const fs::path& path, const void* data, size_t size, bool sync) {
  const std::string tmp = path.string() + ".partial";
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return io_error("cannot write '{}': {}", tmp, std::strerror(errno));
  bool ok = size == 0 || std::fwrite(data, 1, size, f) == size;
  ok = std::fflush(f) == 0 && ok;
  if (ok && sync) ok = ::fsync(fileno(f)) == 0;
  int err = ok ? 0 : errno;
  if (std::fclose(f) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (!ok) {
    std::remove(tmp.c_str());
    return io_error("cannot write '{}': {}", tmp, std::strerror(err ? err : EIO));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    err = errno;
    std::remove(tmp.c_str());
    return io_error("cannot rename '{}' to '{}': {}", tmp, path.string(), std::strerror(err));
  }
  return Status::ok();
}

Status write_text_atomic(const fs::path& path, const std::string& text, bool sync) {
  return write_file_atomic(path, text.data(), text.size(), sync);
}

// Rounds to the printed precision and turns -0 into 0, so files never show "-0.0000".
float r4(float v) { return std::round(v * 10000.0f) / 10000.0f + 0.0f; }

Status write_frame(const fs::path& root, const std::string& id, const Frame& f, bool sync) {
  const std::vector<float>& pts = f.scan.xyzi;
  Status s;
  if constexpr (std::endian::native == std::endian::little) {
    s = write_file_atomic(root / "points" / (id + ".bin"), pts.data(), pts.size() * sizeof(float),
                          sync);
  } else {
    std::vector<uint32_t> swapped(pts.size());
    for (size_t i = 0; i < pts.size(); ++i) {
      uint32_t u;
      std::memcpy(&u, &pts[i], 4);
      swapped[i] = __builtin_bswap32(u);
    }
    s = write_file_atomic(root / "points" / (id + ".bin"), swapped.data(), swapped.size() * 4,
                          sync);
  }
  TARMAC_RETURN_IF_ERROR(s);
  std::string labels, counts;
  for (const Label& l : f.labels) {
    labels += label_line(l) + "\n";
    counts += fmt::format("{}\n", l.num_points);
  }
  TARMAC_RETURN_IF_ERROR(write_text_atomic(root / "labels" / (id + ".txt"), labels, sync));
  return write_text_atomic(root / "labels" / (id + ".counts"), counts, sync);
}

Status make_dir(const fs::path& p) {
  std::error_code ec;
  fs::create_directories(p, ec);
  if (ec) return io_error("cannot create output folder '{}': {}", p.string(), ec.message());
  if (!fs::is_directory(p, ec))
    return io_error("cannot create output folder '{}': a file of that name exists", p.string());
  return Status::ok();
}

}  // namespace

ScanParams scan_params(const SceneConfig& config, const SensorModel& sensor) {
  ScanParams p;
  p.range_noise_sigma = config.range_noise.value_or(sensor.range_noise_sigma);
  p.dropout = config.dropout.value_or(sensor.dropout);
  return p;
}

Frame simulate_frame(const SceneConfig& config, const SensorModel& sensor, uint64_t seed, int index,
                     Raycaster* caster) {
  Frame f;
  f.scene = generate_scene(config, seed, index);
  to_sensor_frame(&f.scene);
  f.labels = scene_labels(f.scene);
  caster->scan(f.scene, sensor, scan_params(config, sensor),
               hash_combine(seed ^ kNoiseSalt, static_cast<uint64_t>(index)), &f.scan);
  std::vector<int> per_object(f.scene.objects.size(), 0);
  for (int32_t s : f.scan.shape)
    if (s >= 0) per_object[f.scene.geometry.shapes[static_cast<size_t>(s)].object]++;
  for (Label& l : f.labels) l.num_points = per_object[static_cast<size_t>(l.object)];
  return f;
}

std::string frame_id(int index) { return fmt::format("{:06d}", index); }

bool is_val_frame(const std::string& id) {
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a
  for (char c : id) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ull;
  }
  return mix64(h) % 10 < 2;
}

std::string label_line(const Label& l) {
  const Box3d& b = l.box;
  return fmt::format("{:.4f} {:.4f} {:.4f} {:.4f} {:.4f} {:.4f} {:.4f} {}", r4(b.x), r4(b.y),
                     r4(b.z), r4(b.dx), r4(b.dy), r4(b.dz), r4(b.heading), class_name(l.cls));
}

StatusOr<AirsideReport> write_airside_dataset(const AirsideOptions& options,
                                              const SceneConfig& config,
                                              const SensorModel& sensor) {
  if (options.frames < 1)
    return invalid_argument("--frames must be at least 1 (got {})", options.frames);
  if (options.threads < 0)
    return invalid_argument("--threads must not be negative (got {})", options.threads);
  if (options.out_dir.empty()) return invalid_argument("--out: an output folder is required");
  const fs::path root(options.out_dir);
  for (const char* sub : {"", "points", "labels", "ImageSets"})
    TARMAC_RETURN_IF_ERROR(make_dir(*sub ? root / sub : root));
  {
    const fs::path probe = root / ".tarmac_write_probe";
    Status s = write_file_atomic(probe, "", 0, false);
    if (!s.is_ok())
      return io_error("output folder '{}' is not writable: {}", root.string(), s.message());
    std::error_code ec;
    fs::remove(probe, ec);
  }

  const auto start = std::chrono::steady_clock::now();
  int threads = options.threads > 0
                    ? options.threads
                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  threads = std::min(threads, options.frames);
  std::atomic<int> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  Status first_error;
  std::atomic<int64_t> points{0};
  std::vector<std::array<int64_t, kNumClasses>> per_class(static_cast<size_t>(threads));
  auto worker = [&](int t) {
    Raycaster caster;
    std::array<int64_t, kNumClasses>& mine = per_class[static_cast<size_t>(t)];
    mine.fill(0);
    while (!failed.load()) {
      const int i = next.fetch_add(1);
      if (i >= options.frames) break;
      Status s;
      try {
        const Frame f = simulate_frame(config, sensor, options.seed, i, &caster);
        s = write_frame(root, frame_id(i), f, options.fsync);
        points += static_cast<int64_t>(f.scan.size());
        for (const Label& l : f.labels) mine[static_cast<size_t>(l.cls)]++;
      } catch (const std::bad_alloc&) {
        s = resource_exhausted("frame {}: out of memory", i);
      } catch (const std::exception& e) {
        s = internal_error("frame {}: {}", i, e.what());
      }
      if (!s.is_ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (first_error.is_ok()) first_error = s;
        failed = true;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker, t);
  worker(0);
  for (std::thread& th : pool) th.join();
  if (failed) return first_error;

  AirsideReport report;
  report.frames = options.frames;
  report.threads = threads;
  report.points = points.load();
  std::string train, val;
  for (int i = 0; i < options.frames; ++i) {
    const std::string id = frame_id(i);
    if (is_val_frame(id)) {
      val += id + "\n";
      report.val++;
    } else {
      train += id + "\n";
      report.train++;
    }
  }
  TARMAC_RETURN_IF_ERROR(write_text_atomic(root / "ImageSets" / "train.txt", train, options.fsync));
  TARMAC_RETURN_IF_ERROR(write_text_atomic(root / "ImageSets" / "val.txt", val, options.fsync));

  nlohmann::json boxes = nlohmann::json::object();
  for (int c = 0; c < kNumClasses; ++c) {
    int64_t n = 0;
    for (const auto& a : per_class) n += a[static_cast<size_t>(c)];
    boxes[class_name(static_cast<ObjectClass>(c))] = n;
    report.boxes += n;
  }
  nlohmann::json j;
  j["generator"] = "tarmac sim airside";
  j["tool_version"] = TARMAC_VERSION;
  j["format"] = "OpenPCDet custom dataset; points are float32 little-endian x y z intensity";
  j["seed"] = options.seed;
  j["frames"] = options.frames;
  j["class_names"] = class_names();
  j["point_features"] = {"x", "y", "z", "intensity"};
  j["label_line"] = "x y z dx dy dz heading class";
  j["counts_line"] = "lidar returns on the object of the same line in labels/<id>.txt";
  j["splits"] = {{"train", report.train}, {"val", report.val}};
  j["total_points"] = report.points;
  j["boxes_per_class"] = boxes;
  nlohmann::json s;
  s["name"] = sensor.name;
  s["model"] = sensor.description;
  s["beams"] = sensor.beams();
  s["columns"] = sensor.columns;
  const ScanParams p = scan_params(config, sensor);
  auto num = [](float v) { return std::stod(fmt::format("{}", v)); };
  s["elevation_deg"] = {{"min", num(sensor.min_elevation_deg())},
                        {"max", num(sensor.max_elevation_deg())}};
  s["range_m"] = {{"min", num(sensor.min_range)}, {"max", num(sensor.max_range)}};
  s["range_noise_sigma_m"] = num(p.range_noise_sigma);
  s["dropout"] = num(p.dropout);
  j["sensor"] = s;
  j["scene"] = nlohmann::json::parse(scene_config_to_json(config, -1));
  TARMAC_RETURN_IF_ERROR(write_text_atomic(root / "dataset.json", j.dump(2) + "\n", options.fsync));
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace tarmac::sim
