// Dense copies of strided views: the engine of Transpose, Slice, Expand, DepthToSpace and
// SpaceToDepth. Views are simplified first (unit dims dropped, mergeable dims merged) so that
// the common cases reduce to a few long memcpy runs or a 2-D transpose.
#include <cstring>

#if defined(__SSE2__)
#include <xmmintrin.h>
#endif

#include "backends/cpu/tensor_util.h"

namespace tarmac::tensor_ops {

namespace {

// Bytes a parallel chunk should move at least, so thread start-up stays negligible.
constexpr int64_t kGrainBytes = 64 * 1024;
// Tile edge of the blocked 2-D transpose: a tile of 8-byte elements fits in L1.
constexpr int64_t kTile = 32;

template <typename U>
void strided_run(const uint8_t* src, uint8_t* dst, int64_t n, int64_t stride) {
  const U* s = reinterpret_cast<const U*>(src);
  U* d = reinterpret_cast<U*>(dst);
  if (stride == 0) {
    std::fill(d, d + n, *s);
    return;
  }
  for (int64_t i = 0; i < n; ++i) d[i] = s[i * stride];
}

/// Copies n elements read with a stride (0: broadcast one element) into a dense run.
void copy_run(const uint8_t* src, uint8_t* dst, size_t elem, int64_t n, int64_t stride) {
  if (stride == 1) {
    std::memcpy(dst, src, static_cast<size_t>(n) * elem);
    return;
  }
  switch (elem) {
    case 1:
      return strided_run<uint8_t>(src, dst, n, stride);
    case 2:
      return strided_run<uint16_t>(src, dst, n, stride);
    case 4:
      return strided_run<uint32_t>(src, dst, n, stride);
    case 8:
      return strided_run<uint64_t>(src, dst, n, stride);
    default:
      for (int64_t i = 0; i < n; ++i)
        std::memcpy(dst + static_cast<size_t>(i) * elem,
                    src + static_cast<ptrdiff_t>(i * stride) * static_cast<ptrdiff_t>(elem), elem);
  }
}

/// Walks a multi-index over `dims` and keeps the matching source offset.
struct Odometer {
  const Dims& dims;
  const Dims& strides;
  Dims idx;
  int64_t offset = 0;

  Odometer(const Dims& d, const Dims& s, int64_t linear) : dims(d), strides(s), idx(d.size(), 0) {
    for (int k = static_cast<int>(d.size()) - 1; k >= 0; --k) {
      const size_t u = static_cast<size_t>(k);
      if (dims[u] == 0) continue;
      idx[u] = linear % dims[u];
      linear /= dims[u];
      offset += idx[u] * strides[u];
    }
  }
  void next() {
    for (int k = static_cast<int>(dims.size()) - 1; k >= 0; --k) {
      const size_t u = static_cast<size_t>(k);
      offset += strides[u];
      if (++idx[u] < dims[u]) return;
      offset -= strides[u] * dims[u];
      idx[u] = 0;
    }
  }
};

/// d[p * ds + l] = s[p + l * ss] over a pn x ln tile.
template <typename U>
void transpose_tile(const U* s, U* d, int64_t pn, int64_t ln, int64_t ss, int64_t ds) {
  int64_t p = 0;
#if defined(__SSE2__)
  if constexpr (sizeof(U) == 4) {
    // 4x4 register transposes: about twice as fast as the scalar tile. Shuffles move bits
    // unchanged, so going through float registers is exact for any 4-byte type.
    for (; p + 4 <= pn; p += 4) {
      int64_t l = 0;
      for (; l + 4 <= ln; l += 4) {
        const float* sp = reinterpret_cast<const float*>(s + p + l * ss);
        __m128 r0 = _mm_loadu_ps(sp), r1 = _mm_loadu_ps(sp + ss);
        __m128 r2 = _mm_loadu_ps(sp + 2 * ss), r3 = _mm_loadu_ps(sp + 3 * ss);
        _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
        float* dp = reinterpret_cast<float*>(d + p * ds + l);
        _mm_storeu_ps(dp, r0);
        _mm_storeu_ps(dp + ds, r1);
        _mm_storeu_ps(dp + 2 * ds, r2);
        _mm_storeu_ps(dp + 3 * ds, r3);
      }
      for (; l < ln; ++l)
        for (int64_t j = 0; j < 4; ++j) d[(p + j) * ds + l] = s[p + j + l * ss];
    }
  }
#endif
  for (; p < pn; ++p)
    for (int64_t l = 0; l < ln; ++l) d[p * ds + l] = s[p + l * ss];
}

/// dims/strides simplified; last dim has a non-unit source stride and dim `p` a unit one.
template <typename U>
void copy_transposed(const U* src, U* dst, const Dims& dims, const Dims& strides, size_t p) {
  const size_t last = dims.size() - 1;
  const Dims dst_strides = row_major_strides(dims);
  // The other dims form an outer loop; each outer position holds a dims[p] x dims[last] block.
  Dims outer_dims, outer_src, outer_dst;
  for (size_t k = 0; k < last; ++k) {
    if (k == p) continue;
    outer_dims.push_back(dims[k]);
    outer_src.push_back(strides[k]);
    outer_dst.push_back(dst_strides[k]);
  }
  const int64_t outer = num_elements(outer_dims);
  const int64_t p_tiles = (dims[p] + kTile - 1) / kTile;
  const int64_t rows = dims[p], cols = dims[last];
  const int64_t ss = strides[last], ds = dst_strides[p];
  const int64_t grain =
      std::max<int64_t>(1, kGrainBytes / (kTile * cols * static_cast<int64_t>(sizeof(U))));
  parallel_for(outer * p_tiles, grain, [&](int64_t b, int64_t e) {
    for (int64_t job = b; job < e; ++job) {
      const int64_t o = job / p_tiles, p0 = (job % p_tiles) * kTile;
      int64_t so = 0, dof = 0, rem = o;
      for (int k = static_cast<int>(outer_dims.size()) - 1; k >= 0; --k) {
        const size_t u = static_cast<size_t>(k);
        const int64_t i = rem % outer_dims[u];
        rem /= outer_dims[u];
        so += i * outer_src[u];
        dof += i * outer_dst[u];
      }
      const int64_t pn = std::min(kTile, rows - p0);
      for (int64_t l0 = 0; l0 < cols; l0 += kTile) {
        transpose_tile<U>(src + so + p0 + l0 * ss, dst + dof + p0 * ds + l0, pn,
                          std::min(kTile, cols - l0), ss, ds);
      }
    }
  });
}

}  // namespace

void parallel_copy(const void* src, void* dst, size_t elem, int64_t n) {
  const auto* s = static_cast<const uint8_t*>(src);
  auto* d = static_cast<uint8_t*>(dst);
  const int64_t bytes = n * static_cast<int64_t>(elem);
  parallel_for(bytes, kGrainBytes * 4, [&](int64_t b, int64_t e) {
    std::memcpy(d + b, s + b, static_cast<size_t>(e - b));
  });
}

void copy_strided(const void* src_v, void* dst_v, size_t elem, const Dims& in_dims,
                  const Dims& in_strides) {
  const auto* src = static_cast<const uint8_t*>(src_v);
  auto* dst = static_cast<uint8_t*>(dst_v);
  Dims dims, strides;
  for (size_t k = 0; k < in_dims.size(); ++k) {
    if (in_dims[k] == 0) return;
    if (in_dims[k] == 1) continue;
    // Merge into the previous dim when stepping it equals stepping over this whole dim.
    if (!dims.empty() && strides.back() == in_strides[k] * in_dims[k]) {
      dims.back() *= in_dims[k];
      strides.back() = in_strides[k];
      continue;
    }
    dims.push_back(in_dims[k]);
    strides.push_back(in_strides[k]);
  }
  if (dims.empty()) {
    std::memcpy(dst, src, elem);
    return;
  }
  const size_t last = dims.size() - 1;
  const int64_t inner = dims[last];
  const int64_t inner_stride = strides[last];
  if (inner_stride == 1 && dims.size() == 1) {
    parallel_copy(src, dst, elem, inner);
    return;
  }
  const bool word = elem == 1 || elem == 2 || elem == 4 || elem == 8;
  if (word && inner_stride != 1 && inner_stride != 0 && inner >= 4) {
    for (size_t p = 0; p < last; ++p) {
      if (strides[p] == 1 && dims[p] >= 4) {
        switch (elem) {
          case 1:
            return copy_transposed(src, dst, dims, strides, p);
          case 2:
            return copy_transposed(reinterpret_cast<const uint16_t*>(src),
                                   reinterpret_cast<uint16_t*>(dst), dims, strides, p);
          case 4:
            return copy_transposed(reinterpret_cast<const uint32_t*>(src),
                                   reinterpret_cast<uint32_t*>(dst), dims, strides, p);
          default:
            return copy_transposed(reinterpret_cast<const uint64_t*>(src),
                                   reinterpret_cast<uint64_t*>(dst), dims, strides, p);
        }
      }
    }
  }
  const Dims outer_dims(dims.begin(), dims.end() - 1);
  const Dims outer_strides(strides.begin(), strides.end() - 1);
  const int64_t rows = num_elements(outer_dims);
  const int64_t row_bytes = inner * static_cast<int64_t>(elem);
  const int64_t grain = std::max<int64_t>(1, kGrainBytes / std::max<int64_t>(row_bytes, 1));
  parallel_for(rows, grain, [&](int64_t b, int64_t e) {
    Odometer od(outer_dims, outer_strides, b);
    for (int64_t r = b; r < e; ++r) {
      copy_run(src + od.offset * static_cast<int64_t>(elem), dst + r * row_bytes, elem, inner,
               inner_stride);
      od.next();
    }
  });
}

}  // namespace tarmac::tensor_ops
