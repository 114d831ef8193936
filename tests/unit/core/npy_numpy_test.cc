// .npy / .npz interoperability with real numpy, both ways: numpy writes (np.save, including
// big-endian and Fortran-order arrays, np.savez, np.savez_compressed) and tarmac reads; tarmac
// writes and np.load reads, and np.save of what it read must give our bytes exactly.
// Python is $TARMAC_PYTHON, else the venv scripts/setup.sh makes; without numpy the tests skip.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/file_io.h"
#include "core/npy.h"
#include "core/tensor.h"

namespace tarmac {
namespace {

namespace fs = std::filesystem;

// numpy writes each array as NAME.npy (np.save), its little-endian C-order bytes as NAME.bin and
// "NAME DTYPE DIM..." to manifest.txt, then all of them as plain.npz and compressed.npz.
constexpr const char* kNumpyWrites = R"(
import os, sys
import numpy as np
d = sys.argv[1]
rng = np.random.default_rng(7)
arrays = {
    'f16': rng.standard_normal((2, 3)).astype(np.float16),
    'f32_big_endian': rng.standard_normal((3, 4)).astype('>f4'),
    'f64_fortran': np.asfortranarray(rng.standard_normal((2, 3, 4))),
    'i32_fortran_big_endian': np.asfortranarray(rng.integers(-1000, 1000, (3, 5))).astype('>i4'),
    'bool': rng.random(7) > 0.5,
    'i64': rng.integers(-2**62, 2**62, size=(4, 2), dtype=np.int64),
    'u8': rng.integers(1, 255, size=(6,), dtype=np.uint8),
    'i8': rng.integers(-128, 127, size=(2, 2), dtype=np.int8),
    'scalar': np.array(3.25, dtype=np.float32),
    'empty': np.zeros((0, 5), dtype=np.int32),
}
with open(os.path.join(d, 'manifest.txt'), 'w') as m:
    for name, a in arrays.items():
        assert name != 'f64_fortran' or (a.flags.f_contiguous and not a.flags.c_contiguous)
        np.save(os.path.join(d, name + '.npy'), a)
        c = np.ascontiguousarray(a).astype(a.dtype.newbyteorder('<'))
        with open(os.path.join(d, name + '.bin'), 'wb') as f:
            f.write(c.tobytes())
        m.write(' '.join([name, c.dtype.name] + [str(s) for s in a.shape]) + '\n')
np.savez(os.path.join(d, 'plain.npz'), **arrays)
np.savez_compressed(os.path.join(d, 'compressed.npz'), **arrays)
)";

// Checks what tarmac wrote (same manifest layout, plus tarmac.npz holding every array).
constexpr const char* kNumpyReads = R"(
import io, os, sys
import numpy as np
d = sys.argv[1]
names = []
with np.load(os.path.join(d, 'tarmac.npz')) as z:
    archive = {k: z[k] for k in z.files}
for line in open(os.path.join(d, 'manifest.txt')):
    name, dtype, *shape = line.split()
    names.append(name)
    shape = tuple(int(s) for s in shape)
    expect = np.fromfile(os.path.join(d, name + '.bin'), dtype=dtype).reshape(shape)
    path = os.path.join(d, name + '.npy')
    for where, a in ((path, np.load(path)), ('tarmac.npz:' + name, archive[name])):
        if a.dtype != expect.dtype or a.shape != shape or a.tobytes() != expect.tobytes():
            sys.exit(f'{where}: {a.dtype} {a.shape} differs from {name}.bin ({dtype} {shape})')
    again = io.BytesIO()
    np.save(again, np.load(path))
    if again.getvalue() != open(path, 'rb').read():
        sys.exit(f'{path}: np.save writes other bytes than tarmac')
if list(archive) != names:
    sys.exit(f'tarmac.npz holds {list(archive)}, expected {names}')
print('numpy read', len(names), 'arrays')
)";

// The Python with numpy, or "" with the reason in `why`.
std::string python_with_numpy(std::string& why) {
  std::string python;
  if (const char* env = std::getenv("TARMAC_PYTHON"); env && *env) {
    python = env;
  } else if (const char* home = std::getenv("HOME"); home && *home) {
    python = fmt::format("{}/.cache/tarmac/venv/bin/python", home);
    if (!fs::exists(python)) {
      why = "TARMAC_PYTHON is not set and there is no ~/.cache/tarmac/venv (scripts/setup.sh)";
      return "";
    }
  } else {
    why = "TARMAC_PYTHON is not set";
    return "";
  }
  if (std::system(fmt::format("'{}' -c 'import numpy' >/dev/null 2>&1", python).c_str()) != 0) {
    why = fmt::format("numpy does not import in {}", python);
    return "";
  }
  return python;
}

int run_python(const std::string& python, const std::string& dir, const std::string& name,
               const char* script) {
  const std::string path = fmt::format("{}/{}", dir, name);
  std::ofstream(path) << script;
  return std::system(fmt::format("'{}' '{}' '{}'", python, path, dir).c_str());
}

// Floats uniform in [-100, 100], integers over their whole range, bools 50/50.
Tensor random_values(DType dtype, const Dims& dims, uint32_t seed) {
  Tensor t = Tensor::zeros(dtype, dims);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> real(-100.0f, 100.0f);
  dispatch_all(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    for (int64_t i = 0; i < t.numel(); ++i) {
      if constexpr (std::is_same_v<T, bool>) {
        p[i] = (rng() & 1) != 0;
      } else if constexpr (std::is_integral_v<T>) {
        p[i] = static_cast<T>(rng());
      } else {
        p[i] = store<T>(static_cast<compute_t<T>>(real(rng)));
      }
    }
  });
  return t;
}

struct Expected {
  std::string name;
  std::string dtype;
  Dims dims;
  std::string bytes;
};

std::vector<Expected> read_manifest(const std::string& dir) {
  std::vector<Expected> out;
  std::ifstream manifest(dir + "/manifest.txt");
  for (std::string line; std::getline(manifest, line);) {
    std::istringstream fields(line);
    Expected e;
    fields >> e.name >> e.dtype;
    for (int64_t d; fields >> d;) e.dims.push_back(d);
    auto bytes = read_whole_file(fmt::format("{}/{}.bin", dir, e.name));
    EXPECT_TRUE(bytes.is_ok()) << bytes.status().message();
    if (bytes.is_ok()) e.bytes = *bytes;
    out.push_back(std::move(e));
  }
  return out;
}

void expect_matches(const Tensor& t, const Expected& e, const std::string& where) {
  EXPECT_EQ(dtype_name(t.dtype()), e.dtype) << where;
  EXPECT_EQ(t.dims(), e.dims) << where;
  ASSERT_EQ(t.nbytes(), e.bytes.size()) << where;
  EXPECT_EQ(std::memcmp(t.raw(), e.bytes.data(), e.bytes.size()), 0) << where << ": values differ";
}

class NpyNumpyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    python_ = python_with_numpy(why);
    if (python_.empty()) GTEST_SKIP() << why;
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = (fs::temp_directory_path() / fmt::format("tarmac_{}_{}", info->name(), ::getpid()))
               .string();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  std::string python_;
  std::string dir_;
};

TEST_F(NpyNumpyTest, ReadsWhatNumpyWrites) {
  ASSERT_EQ(run_python(python_, dir_, "write.py", kNumpyWrites), 0);
  const std::vector<Expected> expected = read_manifest(dir_);
  ASSERT_EQ(expected.size(), 10u);
  for (const Expected& e : expected) {
    auto t = read_npy_file(fmt::format("{}/{}.npy", dir_, e.name));
    ASSERT_TRUE(t.is_ok()) << t.status().message();
    expect_matches(*t, e, fmt::format("{}.npy", e.name));
  }
  for (const char* archive : {"plain.npz", "compressed.npz"}) {
    auto arrays = read_npz_file(fmt::format("{}/{}", dir_, archive));
    if (!npz_supports_deflate() && std::string(archive) == "compressed.npz") {
      ASSERT_FALSE(arrays.is_ok());
      EXPECT_NE(arrays.status().message().find("has no zlib"), std::string::npos);
      continue;
    }
    ASSERT_TRUE(arrays.is_ok()) << arrays.status().message();
    ASSERT_EQ(arrays->size(), expected.size()) << archive;
    for (size_t i = 0; i < expected.size(); ++i) {
      EXPECT_EQ((*arrays)[i].first, expected[i].name) << archive;
      expect_matches((*arrays)[i].second, expected[i],
                     fmt::format("{}:{}", archive, expected[i].name));
    }
  }
}

TEST_F(NpyNumpyTest, NumpyReadsWhatTarmacWrites) {
  const std::vector<std::pair<std::string, Dims>> shapes = {
      {"matrix", {3, 4}}, {"scalar", {}}, {"empty", {2, 0}}, {"tensor4d", {2, 1, 3, 2}}};
  std::vector<std::pair<std::string, Tensor>> arrays;
  std::ofstream manifest(dir_ + "/manifest.txt");
  uint32_t seed = 1;
  for (DType dtype : {DType::kFloat16, DType::kFloat32, DType::kFloat64, DType::kBFloat16,
                      DType::kInt8, DType::kUint8, DType::kInt32, DType::kInt64, DType::kBool}) {
    for (const auto& [shape_name, dims] : shapes) {
      const Tensor t = random_values(dtype, dims, seed++);
      // NumPy has no bfloat16: tarmac writes it as float32.
      const std::string name = fmt::format("{}_{}", dtype_name(dtype), shape_name);
      const Tensor written = dtype == DType::kBFloat16 ? t.cast(DType::kFloat32) : t;
      ASSERT_TRUE(write_npy_file(fmt::format("{}/{}.npy", dir_, name), t).is_ok());
      std::ofstream(fmt::format("{}/{}.bin", dir_, name), std::ios::binary)
          .write(static_cast<const char*>(written.raw()),
                 static_cast<std::streamsize>(written.nbytes()));
      manifest << fmt::format("{} {} {}\n", name, dtype_name(written.dtype()),
                              fmt::join(dims, " "));
      arrays.emplace_back(name, t);
    }
  }
  manifest.close();
  ASSERT_TRUE(write_npz_file(dir_ + "/tarmac.npz", arrays).is_ok());
  EXPECT_EQ(run_python(python_, dir_, "read.py", kNumpyReads), 0);
}

}  // namespace
}  // namespace tarmac
