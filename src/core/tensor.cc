#include "core/tensor.h"

#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <new>

namespace tarmac {

int64_t num_elements(const Dims& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

std::string dims_to_string(const Dims& dims) {
  if (dims.empty()) return "scalar";
  std::string s;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += 'x';
    s += std::to_string(dims[i]);
  }
  return s;
}

Dims row_major_strides(const Dims& dims) {
  Dims s(dims.size(), 1);
  for (int i = static_cast<int>(dims.size()) - 2; i >= 0; --i) s[i] = s[i + 1] * dims[i + 1];
  return s;
}

namespace {
size_t physical_memory_bytes() {
  long pages = sysconf(_SC_PHYS_PAGES);
  long page = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0) return size_t{16} << 30;
  return static_cast<size_t>(pages) * static_cast<size_t>(page);
}
std::atomic<size_t> g_max_alloc{0};
}  // namespace

size_t max_host_allocation_bytes() {
  size_t v = g_max_alloc.load();
  return v ? v : physical_memory_bytes();
}
void set_max_host_allocation_bytes(size_t bytes) { g_max_alloc.store(bytes); }

StatusOr<Tensor> Tensor::create(DType dtype, Dims dims) {
  if (dtype_size(dtype) == 0)
    return invalid_argument("cannot allocate a tensor of undefined dtype");
  unsigned __int128 bytes = dtype_size(dtype);
  for (int64_t d : dims) {
    if (d < 0) return invalid_argument("negative dimension in shape {}", dims_to_string(dims));
    bytes *= static_cast<unsigned __int128>(d);
    if (bytes > static_cast<unsigned __int128>(std::numeric_limits<int64_t>::max())) {
      return resource_exhausted("tensor of shape {} and dtype {} is too large",
                                dims_to_string(dims), dtype_name(dtype));
    }
  }
  if (bytes > max_host_allocation_bytes()) {
    return resource_exhausted(
        "tensor of shape {} ({} bytes of {}) exceeds the allocation limit of {} bytes",
        dims_to_string(dims), static_cast<uint64_t>(bytes), dtype_name(dtype),
        max_host_allocation_bytes());
  }
  Tensor t;
  t.dtype_ = dtype;
  t.dims_ = std::move(dims);
  const size_t n = static_cast<size_t>(bytes);
  uint8_t* p = new (std::nothrow) uint8_t[n ? n : 1]();
  if (!p) return resource_exhausted("out of host memory allocating {} bytes", n);
  t.buffer_.reset(p);
  return t;
}

Tensor Tensor::zeros(DType dtype, Dims dims) {
  auto t = create(dtype, std::move(dims));
  TARMAC_CHECK(t.is_ok(), "{}", t.status().message());
  return std::move(t).value();
}

Tensor Tensor::reshaped(Dims dims) const {
  TARMAC_CHECK(num_elements(dims) == numel(), "reshape {} -> {}", dims_to_string(dims_),
               dims_to_string(dims));
  Tensor t = *this;
  t.dims_ = std::move(dims);
  return t;
}

Tensor Tensor::clone() const {
  Tensor t = zeros(dtype_, dims_);
  if (nbytes()) std::memcpy(t.raw(), raw(), nbytes());
  return t;
}

double Tensor::as_double(int64_t i) const {
  return dispatch_all(dtype_, [&](auto tag) -> double {
    using T = decltype(tag);
    return static_cast<double>(load(data<T>()[i]));
  });
}

int64_t Tensor::as_int64(int64_t i) const {
  return dispatch_all(dtype_, [&](auto tag) -> int64_t {
    using T = decltype(tag);
    if constexpr (std::is_integral_v<T>) {
      return static_cast<int64_t>(data<T>()[i]);
    } else {
      double v = static_cast<double>(load(data<T>()[i]));
      if (!std::isfinite(v)) return 0;
      return static_cast<int64_t>(v);
    }
  });
}

std::vector<int64_t> Tensor::to_int64_vector() const {
  std::vector<int64_t> v(static_cast<size_t>(numel()));
  for (int64_t i = 0; i < numel(); ++i) v[static_cast<size_t>(i)] = as_int64(i);
  return v;
}

namespace {
template <typename To, typename From>
To cast_one(From v) {
  if constexpr (std::is_same_v<To, bool>) {
    return static_cast<double>(load(v)) != 0.0;
  } else if constexpr (std::is_same_v<To, Half> || std::is_same_v<To, BFloat16>) {
    return To(static_cast<float>(load(v)));
  } else if constexpr (std::is_integral_v<To> && !std::is_integral_v<From>) {
    // Float -> int: truncate toward zero; NaN/Inf are implementation-defined in ONNX.
    double d = static_cast<double>(load(v));
    if (!std::isfinite(d)) return To{0};
    if constexpr (sizeof(To) < 8) {
      // Wrap like a two's-complement conversion through int64, as common runtimes do.
      return static_cast<To>(static_cast<int64_t>(d));
    } else {
      if (d >= 9.2233720368547758e18 || d < -9.2233720368547758e18)
        return std::numeric_limits<To>::min();
      return static_cast<To>(d);
    }
  } else {
    return static_cast<To>(load(v));
  }
}
}  // namespace

Tensor Tensor::wrap(DType dtype, Dims dims, std::shared_ptr<uint8_t[]> storage) {
  Tensor t;
  t.dtype_ = dtype;
  t.dims_ = std::move(dims);
  t.buffer_ = std::move(storage);
  return t;
}

Tensor Tensor::cast(DType to) const {
  Tensor out = zeros(to, dims_);
  const int64_t n = numel();
  dispatch_all(dtype_, [&](auto from_tag) {
    using From = decltype(from_tag);
    dispatch_all(to, [&](auto to_tag) {
      using To = decltype(to_tag);
      const From* src = data<From>();
      To* dst = out.data<To>();
      for (int64_t i = 0; i < n; ++i) dst[i] = cast_one<To, From>(src[i]);
    });
  });
  return out;
}

double relative_l2_error(const Tensor& got, const Tensor& ref) {
  if (got.dims() != ref.dims() || got.dtype() != ref.dtype()) return 1e30;
  double num = 0, den = 0;
  for (int64_t k = 0; k < ref.numel(); ++k) {
    const double a = got.as_double(k), b = ref.as_double(k);
    if (std::isnan(a) || std::isnan(b)) {
      if (std::isnan(a) != std::isnan(b)) return 1e30;
      continue;
    }
    if (std::isinf(a) || std::isinf(b)) {
      if (a != b) return 1e30;
      continue;
    }
    num += (a - b) * (a - b);
    den += b * b;
  }
  if (!is_floating(ref.dtype())) return num == 0 ? 0 : 1e30;
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

}  // namespace tarmac
