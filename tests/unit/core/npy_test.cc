// .npy / .npz reading and writing: round trips, numpy's exact header bytes, hand-written headers
// and archives (ZIP64 included), clear errors for bad files, and truncation/mutation robustness.
// Interoperability with real numpy is in npy_numpy_test.cc.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/npy.h"
#include "core/tensor.h"

namespace tarmac {
namespace {

namespace fs = std::filesystem;

const DType kAllDTypes[] = {DType::kFloat16, DType::kFloat32, DType::kFloat64, DType::kInt8,
                            DType::kUint8,   DType::kInt32,   DType::kInt64,   DType::kBool};

// Random bit patterns (any float bits, full integer ranges), 0/1 for bool; never all zeros.
Tensor random_bits(DType dtype, const Dims& dims, uint32_t seed) {
  Tensor t = Tensor::zeros(dtype, dims);
  std::mt19937 rng(seed);
  auto* p = static_cast<uint8_t*>(t.raw());
  for (size_t i = 0; i < t.nbytes(); ++i) {
    p[i] = dtype == DType::kBool ? static_cast<uint8_t>(i % 3 != 0 || rng() % 2)
                                 : static_cast<uint8_t>(rng() | 1);
  }
  return t;
}

bool same_tensor(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.dims() == b.dims() && a.nbytes() == b.nbytes() &&
         std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

void put_le(std::string& out, uint64_t v, size_t n) {
  out.append(reinterpret_cast<const char*>(&v), n);
}

// An .npy file with the given version, header text (used as is) and data bytes.
std::string make_npy(int major, const std::string& header, const std::string& data) {
  std::string out("\x93NUMPY", 6);
  out.push_back(static_cast<char>(major));
  out.push_back('\0');
  put_le(out, header.size(), major == 1 ? 2 : 4);
  out.append(header);
  out.append(data);
  return out;
}

// A hand-built ZIP member; the fields default to what a correct stored member has.
struct ZipMember {
  std::string name;
  std::string data;  // as stored in the archive
  uint16_t method = 0;
  uint16_t flags = 0;
  int64_t crc = -1;           // -1: the CRC-32 of `data`
  int64_t uncompressed = -1;  // -1: data.size()
  int64_t offset_shift = 0;   // added to the central directory's local-header offset
};

// Writes the archive as a ZIP writer would; with `zip64` every size and offset goes through
// ZIP64 extra fields and the ZIP64 end records, as numpy does for members over 4 GiB.
std::string make_zip(const std::vector<ZipMember>& members, bool zip64) {
  std::string out, central;
  for (const ZipMember& m : members) {
    const uint32_t crc = m.crc >= 0 ? static_cast<uint32_t>(m.crc) : crc32_ieee(m.data);
    const uint64_t size =
        m.uncompressed >= 0 ? static_cast<uint64_t>(m.uncompressed) : m.data.size();
    const uint64_t offset = out.size() + static_cast<uint64_t>(m.offset_shift);
    std::string local_extra, central_extra;  // ZIP64 fields: sizes (both), offset (central)
    if (zip64) {
      put_le(local_extra, 1, 2);
      put_le(local_extra, 16, 2);
      put_le(local_extra, size, 8);
      put_le(local_extra, m.data.size(), 8);
      put_le(central_extra, 1, 2);
      put_le(central_extra, 24, 2);
      central_extra.append(local_extra.substr(4));
      put_le(central_extra, offset, 8);
    }
    const uint64_t size32 = zip64 ? 0xFFFFFFFF : size;
    const uint64_t data32 = zip64 ? 0xFFFFFFFF : m.data.size();
    std::string common;
    put_le(common, zip64 ? 45 : 20, 2);
    put_le(common, m.flags, 2);
    put_le(common, m.method, 2);
    put_le(common, 0x0021'0000, 4);  // 1980-01-01 00:00
    put_le(common, crc, 4);
    put_le(common, data32, 4);
    put_le(common, size32, 4);
    put_le(common, m.name.size(), 2);
    put_le(common, zip64 ? 20 : 0, 2);
    put_le(out, 0x04034b50, 4);
    out.append(common);
    out.append(m.name);
    out.append(local_extra);
    out.append(m.data);
    put_le(central, 0x02014b50, 4);
    put_le(central, 20, 2);
    common.replace(common.size() - 2, 2, std::string(zip64 ? "\x1c\0" : "\0\0", 2));
    central.append(common);
    put_le(central, 0, 6);  // comment length, disk, internal attributes
    put_le(central, 0, 4);  // external attributes
    put_le(central, zip64 ? 0xFFFFFFFF : offset, 4);
    central.append(m.name);
    central.append(central_extra);
  }
  const uint64_t cd_offset = out.size();
  out.append(central);
  if (zip64) {
    const uint64_t record = out.size();
    put_le(out, 0x06064b50, 4);
    put_le(out, 44, 8);
    put_le(out, 45, 2);
    put_le(out, 45, 2);
    put_le(out, 0, 8);  // disk numbers
    put_le(out, members.size(), 8);
    put_le(out, members.size(), 8);
    put_le(out, central.size(), 8);
    put_le(out, cd_offset, 8);
    put_le(out, 0x07064b50, 4);
    put_le(out, 0, 4);
    put_le(out, record, 8);
    put_le(out, 1, 4);
  }
  put_le(out, 0x06054b50, 4);
  put_le(out, 0, 4);
  put_le(out, zip64 ? 0xFFFF : members.size(), 2);
  put_le(out, zip64 ? 0xFFFF : members.size(), 2);
  put_le(out, zip64 ? 0xFFFFFFFF : central.size(), 4);
  put_le(out, zip64 ? 0xFFFFFFFF : cd_offset, 4);
  put_le(out, 0, 2);
  return out;
}

// Raw deflate of `data` as one stored block (BFINAL=1, BTYPE=00): a valid method-8 member
// that the test can build without zlib. `data` is at most 65535 bytes.
std::string deflate_stored(const std::string& data) {
  std::string out(1, '\x01');
  put_le(out, data.size(), 2);
  put_le(out, ~data.size() & 0xFFFF, 2);
  out.append(data);
  return out;
}

std::string error_of(const StatusOr<Tensor>& r) { return r.is_ok() ? "OK" : r.status().message(); }
std::string error_of(const StatusOr<std::vector<std::pair<std::string, Tensor>>>& r) {
  return r.is_ok() ? "OK" : r.status().message();
}

std::string temp_dir(const std::string& test) {
  const fs::path dir =
      fs::temp_directory_path() / fmt::format("tarmac_npy_{}_{}", test, ::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

TEST(NpyTest, RoundTripsEveryDTypeAndShape) {
  const std::vector<Dims> shapes = {{}, {7}, {2, 3}, {2, 0, 3}, {3, 1, 4, 2}};
  uint32_t seed = 1;
  for (DType dtype : kAllDTypes) {
    for (const Dims& dims : shapes) {
      const Tensor t = random_bits(dtype, dims, seed++);
      const std::string bytes = npy_bytes(t);
      SCOPED_TRACE(fmt::format("{} {}", dtype_name(dtype), dims_to_string(dims)));
      ASSERT_GE(bytes.size(), t.nbytes());
      EXPECT_EQ((bytes.size() - t.nbytes()) % 64, 0u) << "data must start 64-byte aligned";
      auto back = parse_npy(bytes, "t.npy");
      ASSERT_TRUE(back.is_ok()) << back.status().message();
      EXPECT_TRUE(same_tensor(*back, t));
    }
  }
}

TEST(NpyTest, WritesNumpysExactHeader) {
  // numpy.save of a float32 (2, 3) array: the dict repr (59 bytes), 20 spaces of room for the
  // first axis to grow (21 digits minus the one of "2"), then padding so that the 10-byte prefix
  // plus the header is a multiple of 64 (128), the last byte being '\n'; header length 118.
  std::string expected("\x93NUMPY\x01\x00\x76\x00", 10);
  expected.append("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }");
  expected.append(58, ' ');
  expected.push_back('\n');
  ASSERT_EQ(expected.size(), 128u);
  const std::string bytes = npy_bytes(random_bits(DType::kFloat32, {2, 3}, 5));
  ASSERT_EQ(bytes.size(), 128u + 24u);
  EXPECT_EQ(bytes.substr(0, 128), expected);

  // A scalar has no first axis to grow: no extra spaces. Bool is '|b1'.
  std::string scalar("\x93NUMPY\x01\x00\x76\x00", 10);
  scalar.append("{'descr': '|b1', 'fortran_order': False, 'shape': (), }");
  scalar.append(128 - 10 - 55 - 1, ' ');
  scalar.push_back('\n');
  scalar.push_back('\x01');
  EXPECT_EQ(npy_bytes(Tensor::scalar(true)), scalar);
}

TEST(NpyTest, WritesBFloat16AsExactFloat32) {
  Tensor bf = Tensor::from_vector<BFloat16>({BFloat16(1.5f), BFloat16(-0.375f)}, {2});
  auto back = parse_npy(npy_bytes(bf), "bf.npy");
  ASSERT_TRUE(back.is_ok()) << back.status().message();
  ASSERT_EQ(back->dtype(), DType::kFloat32);
  EXPECT_EQ(back->data<float>()[0], 1.5f);
  EXPECT_EQ(back->data<float>()[1], -0.375f);
}

TEST(NpyTest, ParsesHeadersWrittenOtherWays) {
  std::string ints;
  for (int32_t v : {10, -20, 30, 40, 50, 60}) put_le(ints, static_cast<uint32_t>(v), 4);
  // Any key order, double quotes, no trailing comma, extra spaces, version 2.0 and 3.0, '='.
  for (const char* header : {"{'shape':(2,3),'fortran_order':False,'descr':'<i4'}",
                             "{ \"descr\" : \"=i4\" , \"fortran_order\" : False, "
                             "\"shape\" : ( 2 , 3 , ) , }   \n",
                             "{'descr': u'<i4', 'fortran_order': False, 'shape': (2L, 3L)}"}) {
    for (int major : {1, 2, 3}) {
      auto t = parse_npy(make_npy(major, header, ints), "h.npy");
      ASSERT_TRUE(t.is_ok()) << header << ": " << t.status().message();
      EXPECT_EQ(t->dims(), (Dims{2, 3}));
      EXPECT_EQ(t->data<int32_t>()[1], -20);
    }
  }
  // "(6)" is the number 6 in Python, not a shape.
  EXPECT_NE(
      error_of(parse_npy(make_npy(1, "{'descr':'<i4','fortran_order':False,'shape':(6)}", ints),
                         "h.npy"))
          .find("'shape' is 6, expected a tuple"),
      std::string::npos);
}

TEST(NpyTest, TransposesFortranOrder) {
  // A (2, 3, 2) array whose element at [i][j][k] is 100i + 10j + k, stored column-major.
  const Dims dims = {2, 3, 2};
  std::string data;
  for (int k = 0; k < 2; ++k) {
    for (int j = 0; j < 3; ++j) {
      for (int i = 0; i < 2; ++i) put_le(data, static_cast<uint64_t>(100 * i + 10 * j + k), 8);
    }
  }
  auto t = parse_npy(
      make_npy(1, "{'descr': '<i8', 'fortran_order': True, 'shape': (2, 3, 2), }", data), "f");
  ASSERT_TRUE(t.is_ok()) << t.status().message();
  ASSERT_EQ(t->dims(), dims);
  int64_t n = 0;
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 3; ++j) {
      for (int k = 0; k < 2; ++k) EXPECT_EQ(t->data<int64_t>()[n++], 100 * i + 10 * j + k);
    }
  }
}

TEST(NpyTest, SwapsBigEndianAndNormalisesBools) {
  auto i32 = parse_npy(make_npy(1, "{'descr': '>i4', 'fortran_order': False, 'shape': (2,), }",
                                std::string("\x00\x00\x01\x02\xff\xff\xff\xfe", 8)),
                       "be");
  ASSERT_TRUE(i32.is_ok()) << i32.status().message();
  EXPECT_EQ(i32->data<int32_t>()[0], 258);
  EXPECT_EQ(i32->data<int32_t>()[1], -2);
  auto f64 = parse_npy(make_npy(1, "{'descr': '>f8', 'fortran_order': False, 'shape': (), }",
                                std::string("\x3f\xf8\0\0\0\0\0\0", 8)),
                       "be");
  ASSERT_TRUE(f64.is_ok()) << f64.status().message();
  EXPECT_EQ(f64->data<double>()[0], 1.5);
  auto b = parse_npy(make_npy(1, "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }",
                              std::string("\x00\x02\xff", 3)),
                     "b");
  ASSERT_TRUE(b.is_ok()) << b.status().message();
  EXPECT_EQ(static_cast<const uint8_t*>(b->raw())[1], 1);
  EXPECT_EQ(static_cast<const uint8_t*>(b->raw())[2], 1);
}

TEST(NpyTest, RejectsBadFilesWithClearErrors) {
  auto npy = [](const std::string& descr, const std::string& shape, size_t data_bytes) {
    return make_npy(
        1, fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}", descr, shape),
        std::string(data_bytes, '\x11'));
  };
  EXPECT_EQ(error_of(parse_npy("PK\x03\x04 not numpy", "x.npy")),
            "x.npy: not a NumPy .npy file (it does not start with \\x93NUMPY)");
  EXPECT_EQ(error_of(parse_npy(npy("<c8", "(2,)", 16), "x.npy")),
            "x.npy: dtype '<c8' is not supported: tarmac reads float16, float32, float64, int8, "
            "int32, int64, uint8 and bool arrays");
  EXPECT_EQ(error_of(parse_npy(npy("<u2", "(2,)", 4), "x.npy")),
            "x.npy: dtype '<u2' (uint16) is not supported: tarmac has no uint16 element type; "
            "convert the array with numpy's astype() first");
  EXPECT_EQ(error_of(parse_npy(npy("|f4", "(2,)", 8), "x.npy")),
            "x.npy: dtype '|f4' has no byte order ('|'), but 4 bytes per element");
  EXPECT_EQ(error_of(parse_npy(npy("<f4", "(2, 4)", 24), "out.npz: member 'logits.npy'")),
            "out.npz: member 'logits.npy': data is 24 bytes, but shape (2, 4) of <f4 needs 32");
  EXPECT_EQ(error_of(parse_npy(npy("<f4", "(2, 4)", 40), "x.npy")),
            "x.npy: data is 40 bytes, but shape (2, 4) of <f4 needs 32");
  EXPECT_EQ(
      error_of(parse_npy(npy("<f8", "(4611686018427387904, 4611686018427387904)", 8), "x.npy")),
      "x.npy: data is 8 bytes, but shape (4611686018427387904, 4611686018427387904) of <f8 "
      "needs 2^64 or more");
  EXPECT_EQ(error_of(parse_npy(npy("<f4", "(2, -1)", 8), "x.npy")),
            "x.npy: 'shape' is (2, -1), expected a tuple of non-negative integers");
  EXPECT_EQ(error_of(parse_npy(make_npy(1,
                                        "{'descr': [('a', '<f4')], 'fortran_order': False, "
                                        "'shape': (2,)}",
                                        "12345678"),
                               "x.npy")),
            "x.npy: structured dtype [('a', '<f4')] is not supported: tarmac reads plain numeric "
            "arrays");
  EXPECT_EQ(error_of(parse_npy(make_npy(1, "{'descr': '<f4', 'shape': (1,)}", "abcd"), "x.npy")),
            "x.npy: the .npy header has no 'fortran_order' key");
  EXPECT_EQ(error_of(parse_npy(make_npy(4, "{}", ""), "x.npy")),
            "x.npy: .npy format version 4.0 is not supported (1.0, 2.0 and 3.0 are)");
  EXPECT_EQ(error_of(parse_npy(make_npy(1, "{'descr': '<f4', 'fortran_order': False", ""), "x")),
            "x: malformed .npy header \"{'descr': '<f4', 'fortran_order': False\": header ends "
            "before the closing '}' at offset 39");
  EXPECT_EQ(error_of(parse_npy(make_npy(1, std::string(30, '['), ""), "x")),
            "x: malformed .npy header \"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\": literal nested too "
            "deeply at offset 17");
  EXPECT_EQ(error_of(parse_npy(std::string("\x93NUMPY\x01\x00\xff\x00{}", 12), "x.npy")),
            "x.npy: truncated .npy file: the header is 255 bytes, but only 2 follow the prefix");

  // Sizes above the host allocation limit are refused before anything is allocated.
  set_max_host_allocation_bytes(16);
  auto big = parse_npy(npy("<f4", "(2, 3)", 24), "x.npy");
  set_max_host_allocation_bytes(0);  // back to the default
  ASSERT_FALSE(big.is_ok());
  EXPECT_EQ(big.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(big.status().message().substr(0, 7), "x.npy: ");
}

TEST(NpyTest, Crc32MatchesTheStandardCheckValue) {
  EXPECT_EQ(crc32_ieee("123456789"), 0xCBF43926u);
  EXPECT_EQ(crc32_ieee("56789", crc32_ieee("1234")), 0xCBF43926u);
  EXPECT_EQ(crc32_ieee(""), 0u);
}

TEST(NpyNpzTest, RoundTripsEveryDTypeInOrder) {
  const std::string dir = temp_dir("npz_round_trip");
  std::vector<std::pair<std::string, Tensor>> arrays;
  uint32_t seed = 100;
  for (DType dtype : kAllDTypes) {
    arrays.emplace_back(fmt::format("{}_matrix", dtype_name(dtype)),
                        random_bits(dtype, {3, 5}, seed++));
    arrays.emplace_back(fmt::format("{}/scalar", dtype_name(dtype)),
                        random_bits(dtype, {}, seed++));
    arrays.emplace_back(fmt::format("{}_empty", dtype_name(dtype)),
                        random_bits(dtype, {4, 0}, seed++));
  }
  arrays.emplace_back("zz_last", random_bits(DType::kInt64, {2}, seed++));
  const std::string path = dir + "/a.npz";
  ASSERT_TRUE(write_npz_file(path, arrays).is_ok());
  auto back = read_npz_file(path);
  ASSERT_TRUE(back.is_ok()) << back.status().message();
  ASSERT_EQ(back->size(), arrays.size());
  for (size_t i = 0; i < arrays.size(); ++i) {
    EXPECT_EQ((*back)[i].first, arrays[i].first);
    EXPECT_TRUE(same_tensor((*back)[i].second, arrays[i].second)) << arrays[i].first;
  }
  // Single .npy files and an empty archive.
  ASSERT_TRUE(write_npy_file(dir + "/one.npy", arrays[0].second).is_ok());
  auto one = read_npy_file(dir + "/one.npy");
  ASSERT_TRUE(one.is_ok()) << one.status().message();
  EXPECT_TRUE(same_tensor(*one, arrays[0].second));
  ASSERT_TRUE(write_npz_file(dir + "/empty.npz", {}).is_ok());
  auto empty = read_npz_file(dir + "/empty.npz");
  ASSERT_TRUE(empty.is_ok()) << empty.status().message();
  EXPECT_TRUE(empty->empty());
  fs::remove_all(dir);
}

TEST(NpyNpzTest, ReadsZip64Archives) {
  const Tensor a = random_bits(DType::kFloat32, {4, 3}, 7);
  const Tensor b = random_bits(DType::kInt8, {9}, 8);
  auto back = parse_npz(
      make_zip({{.name = "a.npy", .data = npy_bytes(a)}, {.name = "b.npy", .data = npy_bytes(b)}},
               true),
      "z.npz");
  ASSERT_TRUE(back.is_ok()) << back.status().message();
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ((*back)[1].first, "b");
  EXPECT_TRUE(same_tensor((*back)[0].second, a));
  EXPECT_TRUE(same_tensor((*back)[1].second, b));
}

TEST(NpyNpzTest, RejectsBadArchivesWithClearErrors) {
  const std::string a = npy_bytes(random_bits(DType::kFloat32, {2, 2}, 3));
  const std::string b = npy_bytes(random_bits(DType::kInt32, {3}, 4));
  auto parse = [](const std::vector<ZipMember>& members) {
    return error_of(parse_npz(make_zip(members, false), "x.npz"));
  };
  EXPECT_EQ(parse({{.name = "a.npy", .data = a}, {.name = "b.npy", .data = b}}), "OK");
  EXPECT_EQ(error_of(parse_npz(a, "x.npz")),
            "x.npz: not an .npz file (no ZIP end-of-central-directory record)");
  EXPECT_EQ(parse({{.name = "a.npy", .data = a, .crc = 0x1234}}),
            fmt::format("x.npz: member 'a.npy': CRC-32 of the data is 0x{:08x}, but the archive "
                        "records 0x00001234; the file is corrupt",
                        crc32_ieee(a)));
  EXPECT_EQ(parse({{.name = "a.npy", .data = a}, {.name = "a.npy", .data = b}}),
            "x.npz: member 'a.npy': the archive holds two members of this name");
  EXPECT_EQ(parse({{.name = "a.txt", .data = a}}),
            "x.npz: member 'a.txt': not an array (the members of an .npz are NAME.npy files)");
  EXPECT_EQ(parse({{.name = "a.npy", .data = a, .flags = 1}}),
            "x.npz: member 'a.npy': encrypted members are not supported");
  EXPECT_EQ(parse({{.name = "a.npy", .data = a, .method = 12}}),
            "x.npz: member 'a.npy': compression method 12 is not supported (0, stored, and 8, "
            "deflated, are)");
  EXPECT_EQ(parse({{.name = "a.npy", .data = a, .uncompressed = 5}}),
            fmt::format("x.npz: member 'a.npy': stored member with {} bytes of data but an "
                        "uncompressed size of 5",
                        a.size()));
  EXPECT_EQ(parse({{.name = "a.npy", .data = a, .offset_shift = 1 << 20}}),
            fmt::format("x.npz: member 'a.npy': no local header at offset {}", 1 << 20));
  EXPECT_EQ(parse({{.name = "a.npy", .data = "\x93NUMPY"}}),
            "x.npz: member 'a.npy': truncated .npy file: 6 bytes, shorter than the header prefix");
  if (!npz_supports_deflate()) {
    EXPECT_NE(parse({{.name = "a.npy", .data = "x", .method = 8}}).find("has no zlib"),
              std::string::npos);
  }

  std::vector<std::pair<std::string, Tensor>> dup = {{"x", Tensor::scalar(1.0f)},
                                                     {"x", Tensor::scalar(2.0f)}};
  EXPECT_EQ(write_npz_file("/nonexistent/never.npz", dup).message(),
            "cannot write '/nonexistent/never.npz': two arrays are named 'x'");
}

TEST(NpyNpzTest, InflatesDeflatedMembers) {
  const Tensor a = random_bits(DType::kFloat32, {5, 2}, 21);
  const std::string npy = npy_bytes(a);
  const std::string deflated = deflate_stored(npy);
  const int64_t crc = crc32_ieee(npy);
  const int64_t size = static_cast<int64_t>(npy.size());
  auto parse = [&](const std::string& data, int64_t uncompressed) {
    return parse_npz(make_zip({{.name = "a.npy",
                                .data = data,
                                .method = 8,
                                .crc = crc,
                                .uncompressed = uncompressed}},
                              false),
                     "d.npz");
  };
  if (!npz_supports_deflate()) {
    EXPECT_NE(error_of(parse(deflated, size)).find("has no zlib"), std::string::npos);
    GTEST_SKIP() << "this build has no zlib";
  }
  auto back = parse(deflated, size);
  ASSERT_TRUE(back.is_ok()) << back.status().message();
  ASSERT_EQ(back->size(), 1u);
  EXPECT_TRUE(same_tensor((*back)[0].second, a));
  EXPECT_EQ(error_of(parse(deflated.substr(0, deflated.size() - 3), size)),
            "d.npz: member 'a.npy': the deflated data is truncated");
  EXPECT_EQ(error_of(parse(deflated, size + 1)),
            fmt::format("d.npz: member 'a.npy': inflates to {} bytes, but the archive records {}",
                        size, size + 1));
  EXPECT_EQ(error_of(parse(deflated, size - 1)),
            fmt::format("d.npz: member 'a.npy': inflates to more than {} bytes, but the archive "
                        "records {}",
                        size - 1, size - 1));
  EXPECT_EQ(error_of(parse(std::string("\x07", 1).append(deflated.substr(1)), size)),
            "d.npz: member 'a.npy': corrupt deflated data (invalid block type)");
}

// Every truncation and thousands of seeded single-byte mutations of valid files must give a
// Status (the sanitizer builds turn any out-of-bounds read into a failure here as well).
TEST(NpyRobustnessTest, SurvivesTruncationAndMutation) {
  const std::string npy = npy_bytes(random_bits(DType::kFloat32, {2, 3}, 11));
  const std::string fortran = make_npy(
      2, "{'descr': '>i2', 'fortran_order': True, 'shape': (2, 2), }", std::string(8, '\x07'));
  std::vector<ZipMember> members = {{.name = "a.npy", .data = npy},
                                    {.name = "b.npy", .data = npy_bytes(Tensor::scalar(true))}};
  const std::string zips[] = {make_zip(members, false), make_zip(members, true)};
  const std::string deflated = make_zip({{.name = "d.npy",
                                          .data = deflate_stored(npy),
                                          .method = 8,
                                          .crc = crc32_ieee(npy),
                                          .uncompressed = static_cast<int64_t>(npy.size())}},
                                        false);
  for (size_t n = 0; n < npy.size(); ++n) {
    EXPECT_FALSE(parse_npy(npy.substr(0, n), "t.npy").is_ok()) << n;
  }
  for (const std::string& zip : zips) {
    ASSERT_TRUE(parse_npz(zip, "t.npz").is_ok());
    for (size_t n = 0; n < zip.size(); ++n) {
      EXPECT_FALSE(parse_npz(zip.substr(0, n), "t.npz").is_ok()) << n;
    }
  }
  std::mt19937 rng(2024);
  int accepted = 0;
  for (const std::string& original : {npy, fortran, zips[0], zips[1], deflated}) {
    for (int i = 0; i < 3000; ++i) {
      std::string bytes = original;
      bytes[rng() % bytes.size()] = static_cast<char>(rng());
      accepted += parse_npy(bytes, "m.npy").is_ok();
      accepted += parse_npz(bytes, "m.npz").is_ok();
    }
  }
  // Mutations in the data or padding still parse; most others are refused.
  EXPECT_GT(accepted, 0);
  EXPECT_LT(accepted, 5 * 3000);
}

}  // namespace
}  // namespace tarmac
