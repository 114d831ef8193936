#include "sim/raycast.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "sim/random.h"

namespace tarmac::sim {

namespace {

constexpr int kSectors = 720;  // half-degree azimuth bins
constexpr float kTwoPi = 6.28318530718f;
constexpr float kHalfPi = 1.57079632679f;
constexpr float kPad = 1e-3f;  // radians added around every angular bound
constexpr int32_t kGround = -1;

// Diffuse reflectivity seen at an incidence angle: mostly Lambertian with a floor for the
// back-scatter of rough surfaces; retro-reflectors send most light back at any angle.
float effective_reflectivity(const MaterialInfo& m, float cos_incidence) {
  return m.retro ? m.reflectivity * (0.75f + 0.25f * cos_incidence)
                 : m.reflectivity * (0.3f + 0.7f * cos_incidence);
}

// Corners of the primitive's oriented bounding box, or the polytope's vertices.
int hull_points(const ShapeSet& set, const Shape& s, Vec3* pts) {
  if (s.kind == ShapeKind::kConvex && s.num_vertices <= 8) {
    for (uint32_t i = 0; i < s.num_vertices; ++i) pts[i] = set.vertices[s.first_vertex + i];
    return static_cast<int>(s.num_vertices);
  }
  const Vec3 h = local_half_extents(s);
  int n = 0;
  for (float sx : {-1.f, 1.f})
    for (float sy : {-1.f, 1.f})
      for (float sz : {-1.f, 1.f})
        pts[n++] =
            s.center + s.rot.r[0] * (sx * h.x) + s.rot.r[1] * (sy * h.y) + s.rot.r[2] * (sz * h.z);
  return n;
}

// The azimuth interval [lo, hi] the points span seen from the origin; false when they
// surround it (no angular gap wider than pi).
bool azimuth_interval(const Vec3* pts, int n, float* lo, float* hi) {
  float az[8];
  for (int i = 0; i < n; ++i) {
    if (std::hypot(pts[i].x, pts[i].y) < 1e-3f) return false;
    az[i] = std::atan2(pts[i].y, pts[i].x);
  }
  // Insertion sort of at most 8 values (std::sort here trips GCC 13's -Warray-bounds).
  for (int i = 1; i < n; ++i)
    for (int j = i; j > 0 && az[j] < az[j - 1]; --j) std::swap(az[j], az[j - 1]);
  int gap_at = n - 1;
  float gap = az[0] + kTwoPi - az[n - 1];
  for (int i = 0; i + 1 < n; ++i) {
    if (az[i + 1] - az[i] > gap) {
      gap = az[i + 1] - az[i];
      gap_at = i;
    }
  }
  if (gap <= 3.14159265f) return false;
  *lo = az[(gap_at + 1) % n];
  *hi = az[gap_at];
  if (*hi < *lo) *hi += kTwoPi;
  return true;
}

}  // namespace

float return_intensity(const MaterialInfo& m, float cos_incidence, float range) {
  return std::min(1.0f, effective_reflectivity(m, cos_incidence) / (1.0f + range / 80.0f));
}

void Raycaster::build_culling(const Scene& scene) {
  const ShapeSet& set = scene.geometry;
  const size_t n = set.shapes.size();
  candidates_.resize(n);
  std::vector<std::pair<int, int>> sectors(n);
  sector_start_.assign(kSectors + 1, 0);
  for (size_t i = 0; i < n; ++i) {
    const Shape& s = set.shapes[i];
    Vec3 c;
    float r = 0;
    bounding_sphere(set, s, &c, &r);
    const float dist = length(c), dh = std::hypot(c.x, c.y);
    Candidate& cand = candidates_[i];
    cand.shape = static_cast<uint32_t>(i);
    cand.near = std::max(0.f, dist - r);
    cand.el_lo = -kHalfPi;
    cand.el_hi = kHalfPi;
    if (dist > r) {
      const float el = std::atan2(c.z, dh), half = std::asin(std::min(1.f, r / dist));
      const float zmax = support(set, s, {0, 0, 1}), zmin = -support(set, s, {0, 0, -1});
      const float dmin = std::max(0.f, dh - r), dmax = dh + r;
      const float hi2 =
          zmax >= 0 ? (dmin > 0 ? std::atan2(zmax, dmin) : kHalfPi) : std::atan2(zmax, dmax);
      const float lo2 =
          zmin <= 0 ? (dmin > 0 ? std::atan2(zmin, dmin) : -kHalfPi) : std::atan2(zmin, dmax);
      cand.el_lo = std::max(el - half, lo2) - kPad;
      cand.el_hi = std::min(el + half, hi2) + kPad;
    }
    Vec3 pts[8];
    const int np = hull_points(set, s, pts);
    float lo = 0, hi = 0;
    int k0 = 0, k1 = kSectors - 1;
    if (cand.near > 0 && azimuth_interval(pts, np, &lo, &hi)) {
      k0 = static_cast<int>(std::floor((lo - kPad) * kSectors / kTwoPi));
      k1 = static_cast<int>(std::floor((hi + kPad) * kSectors / kTwoPi));
      if (k1 - k0 + 1 >= kSectors) {
        k0 = 0;
        k1 = kSectors - 1;
      }
    }
    sectors[i] = {k0, k1};
    for (int k = k0; k <= k1; ++k)
      sector_start_[static_cast<size_t>((k % kSectors + kSectors) % kSectors) + 1]++;
  }
  for (int k = 0; k < kSectors; ++k)
    sector_start_[static_cast<size_t>(k) + 1] += sector_start_[static_cast<size_t>(k)];
  sector_items_.resize(sector_start_[kSectors]);
  std::vector<uint32_t> fill(sector_start_.begin(), sector_start_.end() - 1);
  for (size_t i = 0; i < n; ++i)
    for (int k = sectors[i].first; k <= sectors[i].second; ++k)
      sector_items_[fill[static_cast<size_t>((k % kSectors + kSectors) % kSectors)]++] =
          static_cast<uint32_t>(i);
  for (int k = 0; k < kSectors; ++k) {
    auto first = sector_items_.begin() + sector_start_[static_cast<size_t>(k)];
    auto last = sector_items_.begin() + sector_start_[static_cast<size_t>(k) + 1];
    std::sort(first, last, [&](uint32_t a, uint32_t b) {
      return candidates_[a].near < candidates_[b].near ||
             (candidates_[a].near == candidates_[b].near && a < b);
    });
  }
}

void Raycaster::build_marking_grid(const Scene& scene) {
  grid_start_.assign(1, 0);
  grid_items_.clear();
  grid_nx_ = grid_ny_ = 0;
  if (scene.markings.empty()) return;
  // Ground returns come from well within 200 m; the grid covers that square around the sensor.
  constexpr float kExtent = 200.0f;
  grid_x0_ = grid_y0_ = -kExtent;
  grid_nx_ = grid_ny_ = static_cast<int>(2 * kExtent / grid_cell_);
  const size_t cells = static_cast<size_t>(grid_nx_) * static_cast<size_t>(grid_ny_);
  std::vector<std::vector<uint32_t>> lists(cells);
  const float reach = 0.7072f * grid_cell_;
  for (size_t m = 0; m < scene.markings.size(); ++m) {
    const Marking& k = scene.markings[m];
    const float ex = std::fabs(k.half_length * k.cos_t) + std::fabs(k.half_width * k.sin_t);
    const float ey = std::fabs(k.half_length * k.sin_t) + std::fabs(k.half_width * k.cos_t);
    const int i0 = std::max(0, static_cast<int>(std::floor((k.cx - ex - grid_x0_) / grid_cell_)));
    const int i1 =
        std::min(grid_nx_ - 1, static_cast<int>(std::floor((k.cx + ex - grid_x0_) / grid_cell_)));
    const int j0 = std::max(0, static_cast<int>(std::floor((k.cy - ey - grid_y0_) / grid_cell_)));
    const int j1 =
        std::min(grid_ny_ - 1, static_cast<int>(std::floor((k.cy + ey - grid_y0_) / grid_cell_)));
    for (int i = i0; i <= i1; ++i) {
      for (int j = j0; j <= j1; ++j) {
        // Keep the cell when its centre is within reach of the stripe.
        const float x = grid_x0_ + (static_cast<float>(i) + 0.5f) * grid_cell_ - k.cx;
        const float y = grid_y0_ + (static_cast<float>(j) + 0.5f) * grid_cell_ - k.cy;
        const float u = std::fabs(x * k.cos_t + y * k.sin_t) - k.half_length;
        const float v = std::fabs(-x * k.sin_t + y * k.cos_t) - k.half_width;
        if (u <= reach && v <= reach)
          lists[static_cast<size_t>(j) * static_cast<size_t>(grid_nx_) + static_cast<size_t>(i)]
              .push_back(static_cast<uint32_t>(m));
      }
    }
  }
  grid_start_.assign(cells + 1, 0);
  for (size_t c = 0; c < cells; ++c)
    grid_start_[c + 1] = grid_start_[c] + static_cast<uint32_t>(lists[c].size());
  grid_items_.reserve(grid_start_[cells]);
  for (const auto& l : lists) grid_items_.insert(grid_items_.end(), l.begin(), l.end());
}

uint8_t Raycaster::ground_material(const Scene& scene, float x, float y) const {
  if (grid_nx_ == 0) return kConcrete;
  const int i = static_cast<int>(std::floor((x - grid_x0_) / grid_cell_));
  const int j = static_cast<int>(std::floor((y - grid_y0_) / grid_cell_));
  if (i < 0 || j < 0 || i >= grid_nx_ || j >= grid_ny_) return kConcrete;
  const size_t cell =
      static_cast<size_t>(j) * static_cast<size_t>(grid_nx_) + static_cast<size_t>(i);
  for (uint32_t k = grid_start_[cell]; k < grid_start_[cell + 1]; ++k) {
    const Marking& m = scene.markings[grid_items_[k]];
    const float dx = x - m.cx, dy = y - m.cy;
    if (std::fabs(dx * m.cos_t + dy * m.sin_t) <= m.half_length &&
        std::fabs(-dx * m.sin_t + dy * m.cos_t) <= m.half_width)
      return m.material;
  }
  return kConcrete;
}

void Raycaster::scan(const Scene& scene, const SensorModel& sensor, const ScanParams& params,
                     uint64_t noise_seed, Scan* out) {
  build_culling(scene);
  build_marking_grid(scene);
  const ShapeSet& set = scene.geometry;
  const int beams = sensor.beams(), columns = sensor.columns;
  std::vector<float> el(static_cast<size_t>(beams)), ce(el.size()), se(el.size());
  for (int b = 0; b < beams; ++b) {
    el[static_cast<size_t>(b)] = sensor.elevation_deg[static_cast<size_t>(b)] * (kTwoPi / 360.0f);
    ce[static_cast<size_t>(b)] = std::cos(el[static_cast<size_t>(b)]);
    se[static_cast<size_t>(b)] = std::sin(el[static_cast<size_t>(b)]);
  }
  out->xyzi.clear();
  out->shape.clear();
  out->material.clear();
  const size_t expected = static_cast<size_t>(beams) * static_cast<size_t>(columns) * 3 / 4;
  out->xyzi.reserve(4 * expected);
  out->shape.reserve(expected);
  out->material.reserve(expected);

  const float sigma = params.range_noise_sigma;
  const float t_limit = sensor.max_range + 5.0f * sigma + 0.5f;
  const float rmax2 = sensor.max_range * sensor.max_range / sensor.reference_reflectivity;
  for (int c = 0; c < columns; ++c) {
    const float az = kTwoPi * static_cast<float>(c) / static_cast<float>(columns);
    const float ca = std::cos(az), sa = std::sin(az);
    const size_t sector = static_cast<size_t>(static_cast<int64_t>(c) * kSectors / columns);
    const uint32_t* first = sector_items_.data() + sector_start_[sector];
    const uint32_t* last = sector_items_.data() + sector_start_[sector + 1];
    for (int b = 0; b < beams; ++b) {
      const size_t bi = static_cast<size_t>(b);
      const Vec3 d{ce[bi] * ca, ce[bi] * sa, se[bi]};
      float best = t_limit;
      int32_t hit = kGround - 1;  // nothing
      if (d.z < -1e-6f) {
        const float tg = scene.ground_z / d.z;
        if (tg < best) {
          best = tg;
          hit = kGround;
        }
      }
      for (const uint32_t* it = first; it != last; ++it) {
        const Candidate& cand = candidates_[*it];
        if (cand.near >= best) break;
        if (el[bi] < cand.el_lo || el[bi] > cand.el_hi) continue;
        const float t = intersect(set, set.shapes[cand.shape], {0, 0, 0}, d, best);
        if (t < best) {
          best = t;
          hit = static_cast<int32_t>(cand.shape);
        }
      }
      if (hit < kGround) continue;
      const Vec3 p = d * best;
      uint8_t material = kConcrete;
      Vec3 normal{0, 0, 1};
      if (hit == kGround) {
        material = ground_material(scene, p.x, p.y);
      } else {
        const Shape& s = set.shapes[static_cast<size_t>(hit)];
        material = s.material;
        normal = surface_normal(set, s, p);
      }
      const MaterialInfo& info = material_info(material);
      const float cos_i = std::min(1.0f, std::fabs(dot(normal, d)));
      // A return needs enough signal: the specified maximum range holds for the reference
      // reflectivity and the received power falls with the square of the range.
      if (best * best > rmax2 * effective_reflectivity(info, cos_i)) continue;
      const uint64_t bits = hash_combine(noise_seed, static_cast<uint64_t>(c) * 1024u + bi);
      if (unit_float(bits) < params.dropout) continue;
      const uint64_t bits2 = mix64(bits);
      const float range = best + sigma * normal_from_bits(bits2);
      if (range < sensor.min_range || range > sensor.max_range) continue;
      const float jitter = 0.95f + 0.1f * unit_float(mix64(bits2));
      const float intensity = std::min(1.0f, return_intensity(info, cos_i, best) * jitter);
      out->xyzi.insert(out->xyzi.end(), {d.x * range, d.y * range, d.z * range, intensity});
      out->shape.push_back(hit);
      out->material.push_back(material);
    }
  }
}

}  // namespace tarmac::sim
