// Helpers shared by the tarmac subcommands: flag parsing in trtexec's formats.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/random.h"
#include "core/status.h"
#include "core/tensor.h"

namespace tarmac::cli {

/// "images:1x3x416x416,mask:1x1" -> {images: [1,3,416,416], mask: [1,1]}; `flag` names the
/// option in error messages.
StatusOr<std::map<std::string, Dims>> parse_shapes(const std::string& spec,
                                                   const std::string& flag = "--shapes");
/// "images:in.bin,mask:m.bin" -> {images: in.bin, mask: m.bin}.
StatusOr<std::map<std::string, std::string>> parse_name_files(const std::string& spec);
/// Reads a raw little-endian row-major file into a tensor of the given dtype and dims.
StatusOr<Tensor> load_raw_tensor(const std::string& path, DType dtype, const Dims& dims);
/// Writes `text` to `path` through a temporary file and a rename.
Status write_json_file(const std::string& path, const std::string& text);
/// trtexec's JSON output format: [{"name", "dimensions", "values"}].
Status write_output_json(const std::string& path, const std::vector<std::string>& names,
                         const std::vector<Tensor>& tensors);

}  // namespace tarmac::cli
