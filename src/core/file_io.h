// Whole-file reads and atomic writes (temporary file beside the target, fsync, rename, fsync of
// the folder): readers see the old file or the complete new one, never a partial one.
//   TARMAC_RETURN_IF_ERROR(write_file_atomically("model.plan", bytes));
//   TARMAC_ASSIGN_OR_RETURN(std::string text, read_whole_file("model.plan"));
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace tarmac {

/// Writes all of `data` to the file descriptor (retrying short writes); `path` names it in errors.
Status write_all(int fd, const void* data, size_t n, const std::string& path);
/// `body` writes the content to the temporary file's descriptor.
Status write_file_atomically(const std::string& path, const std::function<Status(int fd)>& body);
Status write_file_atomically(const std::string& path, std::string_view bytes);
/// The file's bytes; a missing file, a folder or one above `max_bytes` is a clear error.
StatusOr<std::string> read_whole_file(const std::string& path, size_t max_bytes = size_t{4} << 30);

}  // namespace tarmac
