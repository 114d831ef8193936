#include "core/file_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

namespace tarmac {

namespace fs = std::filesystem;

Status write_all(int fd, const void* data, size_t n, const std::string& path) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd, p, std::min<size_t>(n, size_t{1} << 30));
    if (w < 0) {
      if (errno == EINTR) continue;
      return io_error("cannot write '{}': {}", path, std::strerror(errno));
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return Status::ok();
}

Status write_file_atomically(const std::string& target, const std::function<Status(int)>& body) {
  const fs::path path(target);
  static std::atomic<uint64_t> counter{0};
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  fs::path tmp;
  int fd = -1;
  for (int attempt = 0; attempt < 100 && fd < 0; ++attempt) {
    tmp = dir /
          fmt::format(".{}.tmp.{}.{}", path.filename().string(), ::getpid(), counter.fetch_add(1));
    // 0666 so the final file gets the usual umask-derived permissions.
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST) {
      return io_error("cannot write '{}': cannot create '{}': {}", path.string(), tmp.string(),
                      std::strerror(errno));
    }
  }
  if (fd < 0) return io_error("cannot write '{}': no free temporary name beside it", path.string());
  Status st = body(fd);
  if (st.is_ok() && ::fsync(fd) != 0) {
    st = io_error("cannot write '{}': cannot flush '{}': {}", path.string(), tmp.string(),
                  std::strerror(errno));
  }
  if (::close(fd) != 0 && st.is_ok()) {
    st = io_error("cannot write '{}': cannot close '{}': {}", path.string(), tmp.string(),
                  std::strerror(errno));
  }
  if (st.is_ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    st = io_error("cannot write '{}': cannot rename '{}' to it: {}", path.string(), tmp.string(),
                  std::strerror(errno));
  }
  if (!st.is_ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  // Makes the rename itself durable; a folder that cannot be opened is not an error.
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::ok();
}

Status write_file_atomically(const std::string& path, std::string_view bytes) {
  return write_file_atomically(
      path, [&](int fd) { return write_all(fd, bytes.data(), bytes.size(), path); });
}

StatusOr<std::string> read_whole_file(const std::string& path, size_t max_bytes) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return not_found("no file '{}'", path);
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return io_error("cannot read '{}': {}", path, ec.message());
  if (size > max_bytes) return invalid_argument("'{}' is too large ({} bytes)", path, size);
  std::ifstream f(path, std::ios::binary);
  if (!f) return io_error("cannot open '{}'", path);
  std::string s(static_cast<size_t>(size), '\0');
  if (size > 0 && !f.read(s.data(), static_cast<std::streamsize>(size)))
    return io_error("cannot read '{}'", path);
  return s;
}

}  // namespace tarmac
