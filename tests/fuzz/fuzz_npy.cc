// libFuzzer target: arbitrary bytes as an .npy file and as an .npz archive (`tarmac compare
// --load-outputs` / --loadInputs read both from users). Bad files must come back as a Status;
// any crash, hang, sanitizer report or abort is a bug. Arrays that parse are written back and
// must parse again to the same bytes.
//   build-fuzz/tests/fuzz/fuzz_npy -max_len=65536 corpus/
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/npy.h"
#include "core/parallel.h"
#include "core/tensor.h"

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  // Keep every allocation far below libFuzzer's default -malloc_limit_mb (2 GiB): a file that
  // declares a larger array must be refused with kResourceExhausted, not attempted.
  tarmac::set_max_host_allocation_bytes(size_t{64} << 20);
  tarmac::set_num_threads(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto npy = tarmac::parse_npy(bytes, "fuzz.npy");
  if (npy.is_ok()) {
    // What we write must read back as the same array.
    const std::string again = tarmac::npy_bytes(*npy);
    auto reread = tarmac::parse_npy(again, "rewritten.npy");
    if (!reread.is_ok() || tarmac::npy_bytes(*reread) != again) std::abort();
  }
  auto npz = tarmac::parse_npz(bytes, "fuzz.npz");
  (void)npz;
  return 0;
}
