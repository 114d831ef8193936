// Point-cloud readers: every format, every error path, and random corruptions of valid files
// (each must give a cloud or a clean error).
#include "perception/lidar/point_cloud_io.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace tarmac::lidar {
namespace {

namespace fs = std::filesystem;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

/// A temporary directory removed with the object.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "tarmac_pcio_test_XXXXXX").string();
    const char* p = mkdtemp(tmpl.data());
    EXPECT_NE(p, nullptr) << "mkdtemp failed";
    path_ = p ? fs::path(p) : fs::temp_directory_path();
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string write(const std::string& name, const std::string& bytes) const {
    const fs::path p = path_ / name;
    std::ofstream(p, std::ios::binary)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return p.string();
  }
  std::string path(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

template <typename T>
void append(std::string* s, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  s->append(b, sizeof(T));
}

std::string floats_bytes(const std::vector<float>& v) {
  std::string s;
  for (float f : v) append(&s, f);
  return s;
}

std::string pcd_header(const std::string& fields, const std::string& size, const std::string& type,
                       const std::string& count, int width, int height, const std::string& data) {
  return "# .PCD v0.7 - Point Cloud Data file format\nVERSION 0.7\nFIELDS " + fields + "\nSIZE " +
         size + "\nTYPE " + type + "\nCOUNT " + count + "\nWIDTH " + std::to_string(width) +
         "\nHEIGHT " + std::to_string(height) + "\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS " +
         std::to_string(width * height) + "\nDATA " + data + "\n";
}

std::string ascii_pcd() {
  return pcd_header("x y z intensity rgb", "4 4 4 4 4", "F F F F U", "1 1 1 1 1", 3, 1, "ascii") +
         "1.5 -2.25 0.125 7 4286611584\n"
         "nan 1 2 3 0\n"
         "-0.5 +3e1 1e-3 0.5 0\n";
}

/// Mixed types: x F4, y F8, z I2, intensity U1, a 3-value U2 field and a 1-byte pad.
std::string binary_pcd() {
  std::string s = pcd_header("x y z intensity normal _", "4 8 2 1 2 1", "F F I U U U",
                             "1 1 1 1 3 1", 2, 1, "binary");
  for (int i = 0; i < 2; ++i) {
    append(&s, 1.25f + static_cast<float>(i));
    append(&s, -3.5 * (i + 1));
    append(&s, static_cast<int16_t>(-7 + i));
    append(&s, static_cast<uint8_t>(200 + i));
    for (int k = 0; k < 3; ++k) append(&s, static_cast<uint16_t>(k));
    append(&s, static_cast<uint8_t>(0xAB));
  }
  return s;
}

void expect_points(const PointCloud& pc, const std::vector<float>& xyzi) {
  ASSERT_EQ(pc.xyzi.size(), xyzi.size());
  for (size_t i = 0; i < xyzi.size(); ++i) EXPECT_EQ(pc.xyzi[i], xyzi[i]) << "value " << i;
}

void expect_error(const StatusOr<PointCloud>& r, StatusCode code, const std::string& fragment) {
  ASSERT_FALSE(r.is_ok()) << "expected an error containing '" << fragment << "'";
  EXPECT_EQ(r.status().code(), code) << r.status().message();
  EXPECT_NE(r.status().message().find(fragment), std::string::npos) << r.status().message();
}

TEST(PointCloudIo, KittiBinDropsNonFinitePoints) {
  TempDir dir;
  const std::string path = dir.write(
      "000000.bin", floats_bytes({1, 2, 3, 0.5f, kNaN, 0, 0, 0, 4, 5, 6, 0.25f, 7, 8, 9, kInf}));
  auto r = read_point_cloud(path);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->points_read, 4);
  EXPECT_EQ(r->dropped_nonfinite, 2);
  EXPECT_EQ(r->size(), 2);
  expect_points(*r, {1, 2, 3, 0.5f, 4, 5, 6, 0.25f});
}

TEST(PointCloudIo, EmptyBinIsAnEmptyCloud) {
  TempDir dir;
  auto r = read_point_cloud(dir.write("empty.bin", ""));
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->size(), 0);
  EXPECT_EQ(r->points_read, 0);
}

TEST(PointCloudIo, NuscenesBinBySuffixOrExplicitFormat) {
  TempDir dir;
  const std::string bytes = floats_bytes({1, 2, 3, 40, 5, -1, -2, -3, 0, 31});
  auto r = read_point_cloud(dir.write("LIDAR_TOP.pcd.bin", bytes));
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  expect_points(*r, {1, 2, 3, 40, -1, -2, -3, 0});
  auto e = read_point_cloud(dir.write("sweep.bin", bytes), PointFormat::kNuscenesBin);
  ASSERT_TRUE(e.is_ok()) << e.status().message();
  expect_points(*e, {1, 2, 3, 40, -1, -2, -3, 0});
  // The same 40 bytes read as KITTI: 2.5 records.
  expect_error(read_point_cloud(dir.path("sweep.bin")), StatusCode::kInvalidArgument, "16");
}

TEST(PointCloudIo, BinSizeNotAMultipleOfTheRecordNamesBoth) {
  TempDir dir;
  const std::string path = dir.write("bad.bin", std::string(17, '\0'));
  auto r = read_point_cloud(path);
  expect_error(r, StatusCode::kInvalidArgument, "size 17 bytes");
  EXPECT_NE(r.status().message().find("16 bytes"), std::string::npos) << r.status().message();
  expect_error(read_point_cloud(path, PointFormat::kNuscenesBin), StatusCode::kInvalidArgument,
               "20 bytes");
}

TEST(PointCloudIo, MissingFileAndDirectory) {
  TempDir dir;
  expect_error(read_point_cloud(dir.path("nope.bin")), StatusCode::kNotFound, "no such file");
  expect_error(read_point_cloud(dir.path("")), StatusCode::kInvalidArgument, "directory");
}

TEST(PointCloudIo, UnknownExtensionNeedsAFormat) {
  TempDir dir;
  const std::string path = dir.write("cloud.xyz", floats_bytes({1, 2, 3, 4}));
  expect_error(read_point_cloud(path), StatusCode::kInvalidArgument, "format");
  auto r = read_point_cloud(path, PointFormat::kKittiBin);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  // A PCD header is recognised whatever the name.
  auto p = read_point_cloud(dir.write("cloud.txt", ascii_pcd()));
  ASSERT_TRUE(p.is_ok()) << p.status().message();
  EXPECT_EQ(p->size(), 2);
}

TEST(PointCloudIo, PcdAsciiSkipsOtherFieldsAndNonFinite) {
  TempDir dir;
  auto r = read_point_cloud(dir.write("a.pcd", ascii_pcd()));
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->points_read, 3);
  EXPECT_EQ(r->dropped_nonfinite, 1);
  expect_points(*r, {1.5f, -2.25f, 0.125f, 7.f, -0.5f, 30.f, 1e-3f, 0.5f});
}

TEST(PointCloudIo, PcdAsciiCrLfCommentsAndNoIntensity) {
  const std::string s =
      "# comment\r\nVERSION .7\r\nFIELDS y x z\r\nSIZE 4 4 8\r\nTYPE F F F\r\nWIDTH 2\r\n"
      "HEIGHT 1\r\nPOINTS 2\r\nDATA ascii\r\n1 2 3\r\n\r\n4 5 6\r\n";
  auto r = parse_point_cloud(s, PointFormat::kPcd, "c.pcd");
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  expect_points(*r, {2, 1, 3, 0, 5, 4, 6, 0});
}

TEST(PointCloudIo, PcdBinaryMixedTypes) {
  TempDir dir;
  auto r = read_point_cloud(dir.write("b.pcd", binary_pcd()));
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  expect_points(*r, {1.25f, -3.5f, -7.f, 200.f, 2.25f, -7.f, -6.f, 201.f});
}

TEST(PointCloudIo, PcdBinaryEveryIntegerSize) {
  // x: I1, y: U2, z: I4, intensity: U8; then x: I8, y: U1, z: U4, intensity: I2.
  std::string a = pcd_header("x y z intensity", "1 2 4 8", "I U I U", "1 1 1 1", 1, 1, "binary");
  append(&a, int8_t{-100});
  append(&a, uint16_t{60000});
  append(&a, int32_t{-123456});
  append(&a, uint64_t{1} << 40);
  auto r = parse_point_cloud(a, PointFormat::kPcd, "a.pcd");
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  expect_points(*r, {-100.f, 60000.f, -123456.f, 1099511627776.f});
  std::string b = pcd_header("x y z intensity", "8 1 4 2", "I U U I", "1 1 1 1", 1, 1, "binary");
  append(&b, int64_t{-5});
  append(&b, uint8_t{255});
  append(&b, uint32_t{4000000000u});
  append(&b, int16_t{-300});
  auto q = parse_point_cloud(b, PointFormat::kPcd, "b.pcd");
  ASSERT_TRUE(q.is_ok()) << q.status().message();
  expect_points(*q, {-5.f, 255.f, 4e9f, -300.f});
}

TEST(PointCloudIo, PcdOrganizedCloudWithNaNs) {
  std::string s = pcd_header("x y z", "4 4 4", "F F F", "1 1 1", 2, 2, "binary");
  for (float v : {1.f, 2.f, 3.f, kNaN, kNaN, kNaN, 4.f, 5.f, 6.f, 7.f, 8.f, 9.f}) append(&s, v);
  auto r = parse_point_cloud(s, PointFormat::kPcd, "o.pcd");
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->points_read, 4);
  EXPECT_EQ(r->dropped_nonfinite, 1);
  EXPECT_EQ(r->size(), 3);
}

TEST(PointCloudIo, PcdBinaryCompressedIsUnsupported) {
  const std::string s = pcd_header("x y z", "4 4 4", "F F F", "1 1 1", 1, 1, "binary_compressed");
  expect_error(parse_point_cloud(s + std::string(32, '\0'), PointFormat::kPcd, "c.pcd"),
               StatusCode::kUnsupported, "unsupported");
}

TEST(PointCloudIo, PcdMalformedHeaderNamesTheLine) {
  const auto parse = [](const std::string& s) {
    return parse_point_cloud(s, PointFormat::kPcd, "h.pcd");
  };
  // SIZE has three values for four FIELDS: line 4.
  expect_error(parse("# c\nVERSION 0.7\nFIELDS x y z i\nSIZE 4 4 4\nTYPE F F F F\nWIDTH 1\n"
                     "DATA ascii\n1 2 3 4\n"),
               StatusCode::kInvalidArgument, "line 4");
  expect_error(parse("FIELDS x y z\nSIZE 4 4 4\nTYPE F F Q\nWIDTH 1\nDATA ascii\n1 2 3\n"),
               StatusCode::kInvalidArgument, "line 3");
  expect_error(parse("FIELDS x y z\nSIZE 4 3 4\nTYPE F F F\nWIDTH 1\nDATA ascii\n1 2 3\n"),
               StatusCode::kInvalidArgument, "line 2");
  expect_error(parse("FIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nWIDTH -1\nDATA ascii\n"),
               StatusCode::kInvalidArgument, "line 4");
  expect_error(parse("FIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nWIDTH 1\nCOLOR 3\nDATA ascii\n"),
               StatusCode::kInvalidArgument, "unknown keyword");
  expect_error(parse("FIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nWIDTH 1\nDATA zip\n"),
               StatusCode::kInvalidArgument, "line 5");
  expect_error(parse("FIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nWIDTH 1\n"),
               StatusCode::kInvalidArgument, "no DATA");
  expect_error(parse("FIELDS x y\nSIZE 4 4\nTYPE F F\nWIDTH 1\nDATA ascii\n1 2\n"),
               StatusCode::kInvalidArgument, "x, y, z");
  expect_error(parse("FIELDS x y z\nSIZE 4 4 2\nTYPE F F F\nWIDTH 1\nDATA ascii\n1 2 3\n"),
               StatusCode::kInvalidArgument, "TYPE F and SIZE 2");
  expect_error(parse("FIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nCOUNT 1 2 1\nWIDTH 1\nDATA ascii\n"),
               StatusCode::kInvalidArgument, "COUNT 2");
  expect_error(parse("FIELDS x y z x\nSIZE 4 4 4 4\nTYPE F F F F\nWIDTH 1\nDATA ascii\n"),
               StatusCode::kInvalidArgument, "twice");
}

TEST(PointCloudIo, PcdPointsMustMatchWidthTimesHeight) {
  const std::string s =
      "FIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nWIDTH 2\nHEIGHT 3\nPOINTS 5\n"
      "DATA ascii\n";
  expect_error(parse_point_cloud(s, PointFormat::kPcd, "p.pcd"), StatusCode::kInvalidArgument,
               "POINTS 5 differs from WIDTH 2 × HEIGHT 3");
}

TEST(PointCloudIo, PcdTruncatedData) {
  const std::string bin = binary_pcd();
  expect_error(parse_point_cloud(bin.substr(0, bin.size() - 1), PointFormat::kPcd, "t.pcd"),
               StatusCode::kInvalidArgument, "truncated");
  std::string ascii = ascii_pcd();
  ascii.resize(ascii.rfind("-0.5"));
  expect_error(parse_point_cloud(ascii, PointFormat::kPcd, "t.pcd"), StatusCode::kInvalidArgument,
               "truncated");
  const std::string short_line =
      pcd_header("x y z", "4 4 4", "F F F", "1 1 1", 1, 1, "ascii") + "1 2\n";
  expect_error(parse_point_cloud(short_line, PointFormat::kPcd, "t.pcd"),
               StatusCode::kInvalidArgument, "has 2 values, expected 3");
  const std::string word =
      pcd_header("x y z", "4 4 4", "F F F", "1 1 1", 1, 1, "ascii") + "1 two 3\n";
  expect_error(parse_point_cloud(word, PointFormat::kPcd, "t.pcd"), StatusCode::kInvalidArgument,
               "'two'");
}

TEST(PointCloudIo, AbsurdCountsAreRefusedBeforeAllocating) {
  const std::string huge =
      "FIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nWIDTH 1000000000000\n"
      "HEIGHT 1\nDATA binary\n";
  expect_error(parse_point_cloud(huge, PointFormat::kPcd, "h.pcd"), StatusCode::kInvalidArgument,
               "WIDTH");
  // Within the point limit, but far more than the data holds.
  const std::string many =
      "FIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nWIDTH 1000000000\nHEIGHT 1\n"
      "DATA binary\n";
  expect_error(parse_point_cloud(many, PointFormat::kPcd, "h.pcd"), StatusCode::kInvalidArgument,
               "truncated");
  const std::string many_ascii =
      "FIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nWIDTH 1000000000\n"
      "HEIGHT 1\nDATA ascii\n1 2 3\n";
  expect_error(parse_point_cloud(many_ascii, PointFormat::kPcd, "h.pcd"),
               StatusCode::kInvalidArgument, "truncated");
  const std::string wide =
      "FIELDS x y z w\nSIZE 4 4 4 8\nTYPE F F F F\nCOUNT 1 1 1 1000000\n"
      "WIDTH 1\nDATA binary\n";
  expect_error(parse_point_cloud(wide, PointFormat::kPcd, "h.pcd"), StatusCode::kInvalidArgument,
               "bytes are refused");
}

// ---- corruption ------------------------------------------------------------------------------

/// A random corruption of `s`: byte flips, truncation, insertion or deletion of a span, a digit
/// string of random length spliced in, or a duplicated line.
std::string mutate(const std::string& s, std::mt19937& rng) {
  std::string m = s;
  const auto pick = [&](size_t n) { return n == 0 ? size_t{0} : size_t{rng() % n}; };
  const int rounds = 1 + static_cast<int>(rng() % 3);
  for (int r = 0; r < rounds; ++r) {
    switch (rng() % 6) {
      case 0:
        for (int k = 0; k < 4 && !m.empty(); ++k) m[pick(m.size())] ^= static_cast<char>(rng());
        break;
      case 1:
        m.resize(pick(m.size() + 1));
        break;
      case 2:
        m.insert(pick(m.size() + 1), std::string(1 + pick(8), static_cast<char>(rng())));
        break;
      case 3: {
        const size_t at = pick(m.size() + 1);
        m.erase(at, pick(16));
        break;
      }
      case 4: {
        const char* digits[] = {"0", "-1", "99999999999999999999", "4294967297", "1e9", "nan"};
        m.insert(pick(m.size() + 1), digits[rng() % 6]);
        break;
      }
      default: {
        const size_t at = m.find('\n', pick(m.size()));
        if (at != std::string::npos) {
          const size_t begin = m.rfind('\n', at == 0 ? 0 : at - 1);
          const size_t b = begin == std::string::npos ? 0 : begin + 1;
          m.insert(b, m.substr(b, at - b + 1));
        }
      }
    }
  }
  return m;
}

void expect_clean(const StatusOr<PointCloud>& r, const std::string& what) {
  if (!r.is_ok()) {
    EXPECT_FALSE(r.status().message().empty()) << what;
    EXPECT_NE(r.status().code(), StatusCode::kInternal) << what << ": " << r.status().message();
    return;
  }
  const PointCloud& pc = *r;
  ASSERT_EQ(pc.xyzi.size() % 4, 0u) << what;
  EXPECT_EQ(pc.points_read, pc.size() + pc.dropped_nonfinite) << what;
  for (float v : pc.xyzi) ASSERT_TRUE(std::isfinite(v)) << what;
}

TEST(PointCloudIo, RandomCorruptionsGiveACloudOrACleanError) {
  std::string pcd_big =
      pcd_header("x y z intensity t", "4 4 4 4 8", "F F F F F", "1 1 1 1 1", 64, 1, "binary");
  std::mt19937 values(7);
  for (int i = 0; i < 64; ++i) {
    for (int k = 0; k < 4; ++k) append(&pcd_big, static_cast<float>(values() % 1000) * 0.01f);
    append(&pcd_big, 0.5);
  }
  const struct {
    std::string name;
    std::string bytes;
    PointFormat format;
  } seeds[] = {
      {"a.pcd", ascii_pcd(), PointFormat::kPcd},
      {"b.pcd", binary_pcd(), PointFormat::kPcd},
      {"c.pcd", pcd_big, PointFormat::kPcd},
      {"d.bin", floats_bytes({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}), PointFormat::kKittiBin},
      {"e.pcd.bin", floats_bytes({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}), PointFormat::kNuscenesBin},
      {"f", ascii_pcd(), PointFormat::kAuto},
  };
  std::mt19937 rng(20240611);
  int ok = 0, failed = 0;
  for (const auto& seed : seeds) {
    for (int i = 0; i < 1500; ++i) {
      const std::string m = mutate(seed.bytes, rng);
      const auto r = parse_point_cloud(m, seed.format, seed.name);
      expect_clean(r, seed.name + " mutation " + std::to_string(i));
      (r.is_ok() ? ok : failed) += 1;
    }
  }
  // Both outcomes occur: the mutations neither all break nor all spare the files.
  EXPECT_GT(ok, 100);
  EXPECT_GT(failed, 100);
}

}  // namespace
}  // namespace tarmac::lidar
