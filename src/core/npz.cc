// .npz archives: the ZIP container around .npy members (PKWARE APPNOTE.TXT). Every offset and
// length read from the archive is checked against the buffer before use; this parser is fuzzed.
#include <algorithm>
#include <cstring>
#include <set>

#include <fmt/format.h>

#include "core/file_io.h"
#include "core/npy.h"

#ifdef TARMAC_WITH_ZLIB
#include <zlib.h>
#endif

namespace tarmac {

namespace {

constexpr uint32_t kLocalSignature = 0x04034b50;
constexpr uint32_t kCentralSignature = 0x02014b50;
constexpr uint32_t kEndSignature = 0x06054b50;
constexpr uint32_t kZip64EndSignature = 0x06064b50;
constexpr uint32_t kZip64LocatorSignature = 0x07064b50;
constexpr size_t kLocalSize = 30;
constexpr size_t kCentralSize = 46;
constexpr size_t kEndSize = 22;
constexpr size_t kZip64EndSize = 56;
constexpr size_t kZip64LocatorSize = 20;
constexpr size_t kMaxCommentSize = 0xFFFF;
constexpr uint32_t kZip64Marker32 = 0xFFFFFFFF;
constexpr uint16_t kZip64Marker16 = 0xFFFF;
constexpr uint16_t kZip64ExtraId = 0x0001;
constexpr uint16_t kFlagEncrypted = 0x0001;
constexpr uint16_t kFlagDataDescriptor = 0x0008;
constexpr uint16_t kFlagUtf8 = 0x0800;
constexpr uint16_t kMethodStored = 0;
constexpr uint16_t kMethodDeflated = 8;

// Little-endian field at `off`; callers have checked that the record lies inside `b`.
uint64_t le(std::string_view b, size_t off, size_t n) {
  uint64_t v = 0;
  std::memcpy(&v, b.data() + off, n);
  return v;
}

// Whether [off, off + len) lies inside a buffer of `size` bytes, without overflowing.
bool in_range(uint64_t off, uint64_t len, uint64_t size) {
  return off <= size && len <= size - off;
}

struct ZipEntry {
  std::string name;
  uint16_t flags = 0;
  uint16_t method = 0;
  uint32_t crc = 0;
  uint64_t compressed = 0;
  uint64_t uncompressed = 0;
  uint64_t local_offset = 0;
};

struct CentralDirectory {
  uint64_t entries = 0;
  uint64_t offset = 0;
  uint64_t size = 0;
};

StatusOr<CentralDirectory> find_central_directory(std::string_view b, const std::string& what) {
  // The end record sits at the very end unless the archive has a comment (up to 64 KiB).
  size_t end = std::string_view::npos;
  if (b.size() >= kEndSize) {
    const size_t lowest =
        b.size() - kEndSize > kMaxCommentSize ? b.size() - kEndSize - kMaxCommentSize : 0;
    for (size_t p = b.size() - kEndSize + 1; p-- > lowest;) {
      if (le(b, p, 4) == kEndSignature && le(b, p + 20, 2) <= b.size() - kEndSize - p) {
        end = p;
        break;
      }
    }
  }
  if (end == std::string_view::npos) {
    return invalid_argument("{}: not an .npz file (no ZIP end-of-central-directory record)", what);
  }
  uint64_t disk = le(b, end + 4, 2);
  uint64_t cd_disk = le(b, end + 6, 2);
  uint64_t disk_entries = le(b, end + 8, 2);
  CentralDirectory cd;
  cd.entries = le(b, end + 10, 2);
  cd.size = le(b, end + 12, 4);
  cd.offset = le(b, end + 16, 4);
  uint64_t limit = end;  // the central directory ends before the record that describes it
  if (cd.entries == kZip64Marker16 || disk_entries == kZip64Marker16 || cd.size == kZip64Marker32 ||
      cd.offset == kZip64Marker32) {
    if (end < kZip64LocatorSize || le(b, end - kZip64LocatorSize, 4) != kZip64LocatorSignature) {
      return invalid_argument("{}: ZIP64 archive without a ZIP64 end-of-central-directory locator",
                              what);
    }
    const uint64_t record = le(b, end - kZip64LocatorSize + 8, 8);
    if (!in_range(record, kZip64EndSize, end - kZip64LocatorSize) ||
        le(b, record, 4) != kZip64EndSignature) {
      return invalid_argument(
          "{}: the ZIP64 end-of-central-directory record at offset {} is missing or out of range",
          what, record);
    }
    disk = le(b, record + 16, 4);
    cd_disk = le(b, record + 20, 4);
    disk_entries = le(b, record + 24, 8);
    cd.entries = le(b, record + 32, 8);
    cd.size = le(b, record + 40, 8);
    cd.offset = le(b, record + 48, 8);
    limit = record;
  }
  if (disk != 0 || cd_disk != 0 || disk_entries != cd.entries) {
    return unsupported("{}: multi-volume ZIP archives are not supported", what);
  }
  if (!in_range(cd.offset, cd.size, limit)) {
    return invalid_argument(
        "{}: the central directory (offset {}, {} bytes) lies outside the {}-byte archive", what,
        cd.offset, cd.size, limit);
  }
  return cd;
}

// Replaces the 32-bit fields marked 0xFFFFFFFF with the 64-bit values of the ZIP64 extra field,
// which holds exactly those fields, in this order.
Status apply_zip64_extra(std::string_view extra, ZipEntry& e, bool has_offset,
                         const std::string& where) {
  uint64_t* fields[3] = {&e.uncompressed, &e.compressed, &e.local_offset};
  const size_t count = has_offset ? 3 : 2;
  size_t pos = 0;
  while (pos + 4 <= extra.size()) {
    const uint64_t id = le(extra, pos, 2);
    const uint64_t len = le(extra, pos + 2, 2);
    if (len > extra.size() - pos - 4) break;
    if (id == kZip64ExtraId) {
      size_t at = pos + 4;
      for (size_t i = 0; i < count; ++i) {
        if (*fields[i] != kZip64Marker32) continue;
        if (at + 8 > pos + 4 + len) {
          return invalid_argument("{}: the ZIP64 extra field is too short", where);
        }
        *fields[i] = le(extra, at, 8);
        at += 8;
      }
      return Status::ok();
    }
    pos += 4 + len;
  }
  for (size_t i = 0; i < count; ++i) {
    if (*fields[i] == kZip64Marker32) {
      return invalid_argument("{}: sizes marked as ZIP64 but no ZIP64 extra field", where);
    }
  }
  return Status::ok();
}

StatusOr<std::vector<ZipEntry>> read_central_directory(std::string_view b,
                                                       const CentralDirectory& cd,
                                                       const std::string& what) {
  const std::string_view dir = b.substr(cd.offset, cd.size);
  std::vector<ZipEntry> entries;
  size_t pos = 0;
  for (uint64_t i = 0; i < cd.entries; ++i) {
    if (!in_range(pos, kCentralSize, dir.size()) || le(dir, pos, 4) != kCentralSignature) {
      return invalid_argument("{}: central directory entry {} of {} is missing or corrupt", what,
                              i + 1, cd.entries);
    }
    const size_t name_len = le(dir, pos + 28, 2);
    const size_t extra_len = le(dir, pos + 30, 2);
    const size_t comment_len = le(dir, pos + 32, 2);
    if (!in_range(pos + kCentralSize, name_len + extra_len + comment_len, dir.size())) {
      return invalid_argument("{}: central directory entry {} runs past the directory", what,
                              i + 1);
    }
    ZipEntry e;
    e.flags = static_cast<uint16_t>(le(dir, pos + 8, 2));
    e.method = static_cast<uint16_t>(le(dir, pos + 10, 2));
    e.crc = static_cast<uint32_t>(le(dir, pos + 16, 4));
    e.compressed = le(dir, pos + 20, 4);
    e.uncompressed = le(dir, pos + 24, 4);
    e.local_offset = le(dir, pos + 42, 4);
    e.name = std::string(dir.substr(pos + kCentralSize, name_len));
    const std::string where = fmt::format("{}: member '{}'", what, e.name);
    TARMAC_RETURN_IF_ERROR(
        apply_zip64_extra(dir.substr(pos + kCentralSize + name_len, extra_len), e, true, where));
    entries.push_back(std::move(e));
    pos += kCentralSize + name_len + extra_len + comment_len;
  }
  return entries;
}

#ifdef TARMAC_WITH_ZLIB
// Raw deflate (no zlib header, as ZIP stores it) into exactly `expected` bytes. The output grows
// as data actually inflates, so a lying size field cannot make us allocate it up front.
StatusOr<std::string> inflate_member(std::string_view in, uint64_t expected,
                                     const std::string& where) {
  if (expected > max_host_allocation_bytes()) {
    return resource_exhausted("{}: inflates to {} bytes, above the allocation limit of {} bytes",
                              where, expected, max_host_allocation_bytes());
  }
  z_stream zs{};
  if (inflateInit2(&zs, -15) != Z_OK) return internal_error("{}: cannot start zlib", where);
  constexpr size_t kChunk = size_t{1} << 30;  // zlib counts in 32-bit unsigned
  std::string out;
  size_t produced = 0;
  size_t consumed = 0;
  // One byte beyond `expected` makes data that inflates to more than the archive says visible.
  const size_t cap = static_cast<size_t>(expected) + 1;
  Status st;
  for (;;) {
    if (zs.avail_in == 0 && consumed < in.size()) {
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + consumed));
      zs.avail_in = static_cast<uInt>(std::min(in.size() - consumed, kChunk));
      consumed += zs.avail_in;
    }
    if (produced == out.size()) {
      if (out.size() == cap) break;
      out.resize(std::min(cap, std::max<size_t>({out.size() * 2, in.size() * 4, 1 << 16})));
    }
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    zs.avail_out = static_cast<uInt>(std::min(out.size() - produced, kChunk));
    const uInt before = zs.avail_out;
    const int ret = inflate(&zs, Z_NO_FLUSH);
    produced += before - zs.avail_out;
    if (ret == Z_STREAM_END) break;
    if (ret == Z_BUF_ERROR && zs.avail_in == 0 && consumed == in.size()) {
      st = invalid_argument("{}: the deflated data is truncated", where);
      break;
    }
    if (ret != Z_OK && ret != Z_BUF_ERROR) {
      st =
          invalid_argument("{}: corrupt deflated data ({})", where, zs.msg ? zs.msg : "zlib error");
      break;
    }
  }
  inflateEnd(&zs);
  TARMAC_RETURN_IF_ERROR(st);
  if (produced != expected) {
    return invalid_argument("{}: inflates to {}{} bytes, but the archive records {}", where,
                            produced == cap ? "more than " : "", produced - (produced == cap),
                            expected);
  }
  out.resize(produced);
  return out;
}
#endif

// The member's .npy bytes: a view into the archive when stored, inflated into `storage` when
// deflated; CRC-32 checked either way.
StatusOr<std::string_view> member_bytes(std::string_view b, const ZipEntry& e, uint64_t data_end,
                                        std::string& storage, const std::string& where) {
  if (e.flags & kFlagEncrypted)
    return unsupported("{}: encrypted members are not supported", where);
  if (!in_range(e.local_offset, kLocalSize, data_end) ||
      le(b, e.local_offset, 4) != kLocalSignature) {
    return invalid_argument("{}: no local header at offset {}", where, e.local_offset);
  }
  const size_t off = e.local_offset;
  const uint64_t local_method = le(b, off + 8, 2);
  const uint64_t local_crc = le(b, off + 14, 4);
  const uint64_t local_compressed = le(b, off + 18, 4);
  const uint64_t local_uncompressed = le(b, off + 22, 4);
  const uint64_t name_len = le(b, off + 26, 2);
  const uint64_t extra_len = le(b, off + 28, 2);
  if (!in_range(off + kLocalSize, name_len + extra_len, data_end) ||
      b.substr(off + kLocalSize, name_len) != e.name) {
    return invalid_argument("{}: the local header names another member", where);
  }
  if (local_method != e.method) {
    return invalid_argument(
        "{}: the local header says compression method {}, the central directory {}", where,
        local_method, e.method);
  }
  // With a data descriptor (flag bit 3) the local fields are zero; ZIP64 ones are 0xFFFFFFFF.
  if (!(e.flags & kFlagDataDescriptor) && local_compressed != kZip64Marker32 &&
      local_uncompressed != kZip64Marker32 &&
      (local_crc != e.crc || local_compressed != e.compressed ||
       local_uncompressed != e.uncompressed)) {
    return invalid_argument(
        "{}: the local header (CRC-32 0x{:08x}, {} -> {} bytes) disagrees with the central "
        "directory (CRC-32 0x{:08x}, {} -> {} bytes)",
        where, local_crc, local_compressed, local_uncompressed, e.crc, e.compressed,
        e.uncompressed);
  }
  const uint64_t start = off + kLocalSize + name_len + extra_len;
  if (!in_range(start, e.compressed, data_end)) {
    return invalid_argument(
        "{}: its {} bytes of data at offset {} run past the end of the archive's members", where,
        e.compressed, start);
  }
  const std::string_view raw = b.substr(start, e.compressed);
  std::string_view data;
  if (e.method == kMethodStored) {
    if (e.compressed != e.uncompressed) {
      return invalid_argument(
          "{}: stored member with {} bytes of data but an uncompressed size of {}", where,
          e.compressed, e.uncompressed);
    }
    data = raw;
  } else if (e.method == kMethodDeflated) {
#ifdef TARMAC_WITH_ZLIB
    TARMAC_ASSIGN_OR_RETURN(storage, inflate_member(raw, e.uncompressed, where));
    data = storage;
#else
    (void)storage;
    return unavailable(
        "{}: the member is deflated (numpy.savez_compressed), but this build of tarmac has no "
        "zlib; save the arrays with numpy.savez instead, or rebuild tarmac with zlib1g-dev "
        "installed",
        where);
#endif
  } else {
    return unsupported(
        "{}: compression method {} is not supported (0, stored, and 8, deflated, are)", where,
        e.method);
  }
  const uint32_t crc = crc32_ieee(data);
  if (crc != e.crc) {
    return invalid_argument(
        "{}: CRC-32 of the data is 0x{:08x}, but the archive records 0x{:08x}; the file is corrupt",
        where, crc, e.crc);
  }
  return data;
}

void put_le(std::string& out, uint64_t v, size_t n) {
  out.append(reinterpret_cast<const char*>(&v), n);
}

}  // namespace

StatusOr<std::vector<std::pair<std::string, Tensor>>> parse_npz(std::string_view bytes,
                                                                const std::string& what) {
  TARMAC_ASSIGN_OR_RETURN(CentralDirectory cd, find_central_directory(bytes, what));
  TARMAC_ASSIGN_OR_RETURN(std::vector<ZipEntry> entries, read_central_directory(bytes, cd, what));
  std::vector<std::pair<std::string, Tensor>> arrays;
  std::set<std::string> seen;
  for (const ZipEntry& e : entries) {
    const std::string where = fmt::format("{}: member '{}'", what, e.name);
    constexpr std::string_view kSuffix = ".npy";
    if (e.name.size() <= kSuffix.size() || !e.name.ends_with(kSuffix)) {
      return invalid_argument("{}: not an array (the members of an .npz are NAME.npy files)",
                              where);
    }
    if (!seen.insert(e.name).second) {
      return invalid_argument("{}: the archive holds two members of this name", where);
    }
    std::string storage;
    // Members lie before the central directory.
    TARMAC_ASSIGN_OR_RETURN(std::string_view data,
                            member_bytes(bytes, e, cd.offset, storage, where));
    TARMAC_ASSIGN_OR_RETURN(Tensor t, parse_npy(data, where));
    arrays.emplace_back(e.name.substr(0, e.name.size() - kSuffix.size()), std::move(t));
  }
  return arrays;
}

StatusOr<std::vector<std::pair<std::string, Tensor>>> read_npz_file(const std::string& path) {
  TARMAC_ASSIGN_OR_RETURN(std::string bytes, read_whole_file(path));
  return parse_npz(bytes, path);
}

Status write_npz_file(const std::string& path,
                      const std::vector<std::pair<std::string, Tensor>>& arrays) {
  // Everything is checked before the file is created so that a refusal leaves no trace.
  std::set<std::string> names;
  for (const auto& [name, tensor] : arrays) {
    if (name.empty() || name.size() > 0xFFFF - 4) {
      return invalid_argument("cannot write '{}': array names must be 1 to 65531 bytes long", path);
    }
    if (!names.insert(name).second) {
      return invalid_argument("cannot write '{}': two arrays are named '{}'", path, name);
    }
    if (!tensor.defined()) {
      return invalid_argument("cannot write '{}': array '{}' is undefined", path, name);
    }
  }
  if (arrays.size() >= kZip64Marker16) {
    return unsupported("cannot write '{}': {} arrays need ZIP64, which tarmac does not write", path,
                       arrays.size());
  }
  return write_file_atomically(path, [&](int fd) -> Status {
    std::string central;
    uint64_t offset = 0;
    for (const auto& [name, tensor] : arrays) {
      std::string member = name;
      member.append(".npy");
      const std::string data = npy_bytes(tensor);
      if (data.size() >= kZip64Marker32 || offset >= kZip64Marker32) {
        return unsupported(
            "cannot write '{}': array '{}' would end beyond 4 GiB, which needs ZIP64; tarmac does "
            "not write it (save fewer or smaller arrays)",
            path, name);
      }
      const uint32_t crc = crc32_ieee(data);
      const bool ascii = std::all_of(member.begin(), member.end(),
                                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
      const uint16_t flags = ascii ? 0 : kFlagUtf8;
      // Shared by the local header (from offset 4) and the central entry (from offset 6): version
      // needed 2.0, flags, stored, 1980-01-01 00:00 (fixed, so equal arrays give equal files),
      // CRC-32, sizes and the name length.
      std::string common;
      put_le(common, 20, 2);
      put_le(common, flags, 2);
      put_le(common, kMethodStored, 2);
      put_le(common, 0, 2);
      put_le(common, (1 << 5) | 1, 2);
      put_le(common, crc, 4);
      put_le(common, data.size(), 4);
      put_le(common, data.size(), 4);
      put_le(common, member.size(), 2);
      put_le(common, 0, 2);  // extra field length

      std::string local;
      put_le(local, kLocalSignature, 4);
      local.append(common);
      local.append(member);
      TARMAC_RETURN_IF_ERROR(write_all(fd, local.data(), local.size(), path));
      TARMAC_RETURN_IF_ERROR(write_all(fd, data.data(), data.size(), path));

      put_le(central, kCentralSignature, 4);
      put_le(central, (3 << 8) | 20, 2);  // made by Unix, ZIP 2.0: the attributes are Unix ones
      central.append(common);
      put_le(central, 0, 2);                        // comment length
      put_le(central, 0, 2);                        // disk
      put_le(central, 0, 2);                        // internal attributes
      put_le(central, uint64_t{0100644} << 16, 4);  // regular file, rw-r--r--
      put_le(central, offset, 4);
      central.append(member);
      offset += local.size() + data.size();
    }
    if (offset + central.size() >= kZip64Marker32) {
      return unsupported(
          "cannot write '{}': the archive would exceed 4 GiB, which needs ZIP64; tarmac does not "
          "write it (save fewer or smaller arrays)",
          path);
    }
    std::string end;
    put_le(end, kEndSignature, 4);
    put_le(end, 0, 4);  // this disk, the central directory's disk
    put_le(end, arrays.size(), 2);
    put_le(end, arrays.size(), 2);
    put_le(end, central.size(), 4);
    put_le(end, offset, 4);
    put_le(end, 0, 2);  // comment length
    central.append(end);
    return write_all(fd, central.data(), central.size(), path);
  });
}

bool npz_supports_deflate() {
#ifdef TARMAC_WITH_ZLIB
  return true;
#else
  return false;
#endif
}

}  // namespace tarmac
