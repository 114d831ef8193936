// NumPy .npy and .npz files: reference outputs and inputs that `tarmac compare` saves and loads,
// interchangeable with numpy.save / numpy.savez / numpy.savez_compressed / numpy.load.
//   TARMAC_RETURN_IF_ERROR(write_npz_file("outputs.npz", {{"logits", logits}}));
//   TARMAC_ASSIGN_OR_RETURN(auto arrays, read_npz_file("outputs.npz"));
//   for (auto& [name, tensor] : arrays) ...
// Formats: numpy's doc/neps/nep-0001-npy-format.rst and PKWARE's APPNOTE.TXT (ZIP).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"

namespace tarmac {

/// Parses one .npy file's bytes (format versions 1.0, 2.0 and 3.0). `what` names the source in
/// errors ("outputs.npz: member 'logits.npy'"). Reads float16/32/64, int8/32/64, uint8 and bool
/// in any byte order; Fortran-order arrays are transposed into tarmac's row-major layout.
StatusOr<Tensor> parse_npy(std::string_view bytes, const std::string& what);
StatusOr<Tensor> read_npy_file(const std::string& path);

/// .npy version 1.0 bytes exactly as numpy.save writes them ('<' little-endian descr, C order,
/// header padded so the data starts at a multiple of 64 bytes). NumPy has no bfloat16, so a
/// bfloat16 tensor is written as float32 (exact) and reads back as float32. `t` must be defined.
std::string npy_bytes(const Tensor& t);
/// Writes npy_bytes(t) atomically.
Status write_npy_file(const std::string& path, const Tensor& t);

/// Every array of an .npz (a ZIP of NAME.npy members), in archive order, names without ".npy".
/// Stored members always; deflated ones (numpy.savez_compressed) when npz_supports_deflate().
/// Every member's CRC-32 is verified.
StatusOr<std::vector<std::pair<std::string, Tensor>>> parse_npz(std::string_view bytes,
                                                                const std::string& what);
StatusOr<std::vector<std::pair<std::string, Tensor>>> read_npz_file(const std::string& path);
/// Writes an uncompressed .npz as numpy.savez does (stored members with CRC-32) atomically.
/// Names must be unique and non-empty; archives over 4 GiB (which need ZIP64) are refused.
Status write_npz_file(const std::string& path,
                      const std::vector<std::pair<std::string, Tensor>>& arrays);

/// Whether this build can read deflated .npz members (it was built with zlib).
bool npz_supports_deflate();
/// CRC-32 as ZIP uses it (reflected polynomial 0xEDB88320); `crc` continues an earlier value.
uint32_t crc32_ieee(std::string_view bytes, uint32_t crc = 0);

}  // namespace tarmac
