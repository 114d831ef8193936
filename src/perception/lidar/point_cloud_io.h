// Point-cloud input: KITTI .bin, nuScenes .bin and PCD (DATA ascii / binary) into float32
// (x, y, z, intensity) records, with non-finite records dropped and counted.
//   TARMAC_ASSIGN_OR_RETURN(PointCloud cloud, read_point_cloud("velodyne/000000.bin"));
//   TARMAC_RETURN_IF_ERROR(voxelize_cpu(cloud.xyzi.data(), cloud.size(), params, &pillars));
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace tarmac::lidar {

enum class PointFormat {
  kAuto,         ///< from the name: *.pcd.bin nuScenes, *.bin KITTI, *.pcd (or a PCD header) PCD
  kKittiBin,     ///< float32 records (x, y, z, intensity)
  kNuscenesBin,  ///< float32 records (x, y, z, intensity, ring index or time); the fifth is unused
  kPcd,          ///< PCD v0.5-0.7, DATA ascii or binary (binary_compressed is refused)
};

/// "kitti", "nuscenes", "pcd" or "auto".
std::string_view point_format_name(PointFormat format);

/// The finite records of one file.
struct PointCloud {
  std::vector<float> xyzi;        // [N, 4] x, y, z, intensity of the kept records, file order
  int64_t points_read = 0;        // records in the file
  int64_t dropped_nonfinite = 0;  // records with a NaN or Inf among x, y, z, intensity
  int64_t size() const { return static_cast<int64_t>(xyzi.size() / 4); }
};

/// Most records one file may hold (a header asking for more is refused before allocating).
inline constexpr int64_t kMaxCloudPoints = int64_t{1} << 30;
/// Largest file read (bigger ones are refused before allocating).
inline constexpr int64_t kMaxCloudFileBytes = int64_t{1} << 34;

/// Reads a point cloud. PCD: fields x, y, z are required, intensity is optional (0 when absent),
/// other fields are skipped; types F (4, 8 bytes), I and U (1, 2, 4, 8 bytes); little-endian
/// binary records. Every defect of the file (missing, wrong size, malformed header, truncated
/// data, absurd counts) is an error naming the file, never a crash.
StatusOr<PointCloud> read_point_cloud(const std::string& path,
                                      PointFormat format = PointFormat::kAuto);

/// Parses the bytes of a file; `name` names it in errors and picks the format under kAuto.
StatusOr<PointCloud> parse_point_cloud(std::string_view bytes, PointFormat format,
                                       const std::string& name);

}  // namespace tarmac::lidar
