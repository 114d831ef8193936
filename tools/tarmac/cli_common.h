// Helpers shared by the tarmac subcommands: flag parsing in trtexec's formats.
#pragma once

#include <map>
#include <set>
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
/// trtexec's --layerPrecisions list "layer:fp32,layer2:fp32" -> the layers kept in float32
/// (only fp32 is accepted: other layers follow --fp16 / --bf16).
StatusOr<std::set<std::string>> parse_fp32_layers(const std::string& spec);
/// Writes `text` to `path` through a temporary file and a rename.
Status write_json_file(const std::string& path, const std::string& text);

}  // namespace tarmac::cli
