// The written dataset: layout, byte-identical files for any thread count, seeds that differ.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "sim/airside.h"

namespace tarmac::sim {
namespace {

namespace fs = std::filesystem;

fs::path temp_dir(const std::string& name) {
  const fs::path p =
      fs::path(::testing::TempDir()) / ("tarmac_sim_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  return p;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

AirsideReport write(const fs::path& dir, uint64_t seed, int frames, int threads) {
  AirsideOptions o;
  o.frames = frames;
  o.seed = seed;
  o.out_dir = dir.string();
  o.threads = threads;
  auto r = write_airside_dataset(o, default_scene_config(), *sensor_model("hdl64"));
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return r.is_ok() ? *r : AirsideReport{};
}

std::vector<fs::path> files_under(const fs::path& root) {
  std::vector<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file()) out.push_back(fs::relative(e.path(), root));
  std::sort(out.begin(), out.end());
  return out;
}

TEST(SimDataset, SameSeedGivesIdenticalBytesForAnyThreadCount) {
  const fs::path one = temp_dir("t1"), two = temp_dir("t2"), other = temp_dir("seed");
  write(one, 21, 4, 1);
  write(two, 21, 4, 2);
  write(other, 22, 4, 2);
  const std::vector<fs::path> names = files_under(one);
  ASSERT_EQ(names, files_under(two));
  ASSERT_EQ(names.size(), 4u * 3u + 3u);  // bin, txt, counts per frame; 2 splits; dataset.json
  for (const fs::path& n : names) EXPECT_EQ(read_file(one / n), read_file(two / n)) << n;
  for (const char* n : {"points/000000.bin", "labels/000000.txt", "points/000003.bin"})
    EXPECT_NE(read_file(one / n), read_file(other / n)) << n;
  for (const fs::path& p : {one, two, other}) fs::remove_all(p);
}

TEST(SimDataset, LayoutFollowsTheOpenPcdetCustomConvention) {
  const fs::path dir = temp_dir("layout");
  const AirsideReport r = write(dir, 5, 6, 0);
  EXPECT_EQ(r.frames, 6);
  EXPECT_EQ(r.train + r.val, 6);
  std::set<std::string> ids;
  for (const char* split : {"train", "val"}) {
    std::istringstream in(read_file(dir / "ImageSets" / (std::string(split) + ".txt")));
    for (std::string id; std::getline(in, id);) EXPECT_TRUE(ids.insert(id).second) << id;
  }
  EXPECT_EQ(ids.size(), 6u);
  const std::set<std::string> names(class_names().begin(), class_names().end());
  for (const std::string& id : ids) {
    EXPECT_EQ(is_val_frame(id),
              read_file(dir / "ImageSets" / "val.txt").find(id) != std::string::npos);
    const auto size = fs::file_size(dir / "points" / (id + ".bin"));
    EXPECT_GT(size, 0u);
    EXPECT_EQ(size % 16, 0u);
    std::istringstream labels(read_file(dir / "labels" / (id + ".txt")));
    std::istringstream counts(read_file(dir / "labels" / (id + ".counts")));
    int lines = 0;
    for (std::string line; std::getline(labels, line); ++lines) {
      // OpenPCDet splits on single spaces: seven floats, then the class name last.
      std::istringstream fields(line);
      std::vector<std::string> f;
      for (std::string w; std::getline(fields, w, ' ');) f.push_back(w);
      ASSERT_EQ(f.size(), 8u) << line;
      for (int k = 0; k < 7; ++k) EXPECT_NO_THROW((void)std::stof(f[static_cast<size_t>(k)]));
      EXPECT_TRUE(names.count(f[7])) << f[7];
      std::string count;
      ASSERT_TRUE(static_cast<bool>(std::getline(counts, count)));
      EXPECT_GE(std::stoi(count), 0);
    }
    std::string extra;
    EXPECT_FALSE(static_cast<bool>(std::getline(counts, extra)));
    EXPECT_GT(lines, 0);
  }
  const std::string meta = read_file(dir / "dataset.json");
  for (const char* key : {"\"class_names\"", "\"seed\": 5", "\"frames\": 6", "\"tool_version\"",
                          "\"hdl64\"", "\"PassengerStairs\""})
    EXPECT_NE(meta.find(key), std::string::npos) << key;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    EXPECT_EQ(e.path().string().find(".partial"), std::string::npos);
  fs::remove_all(dir);
}

TEST(SimDataset, RejectsBadOptions) {
  AirsideOptions o;
  o.frames = 0;
  o.out_dir = temp_dir("bad").string();
  const SensorModel s = *sensor_model("hdl64");
  auto r = write_airside_dataset(o, default_scene_config(), s);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("--frames must be at least 1"), std::string::npos);
  o.frames = 1;
  o.out_dir = "/proc/tarmac_cannot_create_this";
  r = write_airside_dataset(o, default_scene_config(), s);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("cannot create output folder"), std::string::npos)
      << r.status().message();
}

TEST(SimDataset, SplitIsAboutEightyTwenty) {
  int val = 0;
  for (int i = 0; i < 1000; ++i) val += is_val_frame(frame_id(i));
  EXPECT_GT(val, 150);
  EXPECT_LT(val, 250);
  EXPECT_EQ(frame_id(42), "000042");
}

}  // namespace
}  // namespace tarmac::sim
