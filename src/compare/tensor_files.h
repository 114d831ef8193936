// Tensor files the comparison tools read and write: raw binaries (trtexec's --loadInputs),
// trtexec's output JSON (--exportOutput) and NumPy .npy / .npz (core/npy.h).
//   TARMAC_ASSIGN_OR_RETURN(NamedTensors golden, read_tensor_set("ort_outputs.npz"));
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"

namespace tarmac {

/// A raw little-endian row-major file of exactly `dims` elements of `dtype`.
StatusOr<Tensor> read_raw_tensor(const std::string& path, DType dtype, const Dims& dims);

/// trtexec's output JSON: [{"name": ..., "dimensions": "1x1000", "values": [...]}].
Status write_trtexec_json(const std::string& path,
                          const std::vector<std::pair<std::string, Tensor>>& tensors);
/// Reads that format back, as float64 tensors (null values, which JSON writers store for NaN,
/// become NaN).
StatusOr<std::vector<std::pair<std::string, Tensor>>> read_trtexec_json(const std::string& path);

/// Named tensors from an .npz archive or a trtexec output JSON, chosen by the file's extension.
StatusOr<std::vector<std::pair<std::string, Tensor>>> read_tensor_set(const std::string& path);
/// Writes an .npz (uncompressed) or a trtexec JSON, by extension.
Status write_tensor_set(const std::string& path,
                        const std::vector<std::pair<std::string, Tensor>>& tensors);

}  // namespace tarmac
