// The harness itself: it must refuse ops without a CUDA kernel with a clear message.
#include "gpu_test_util.h"

namespace tarmac::testing {
namespace {

TEST(GpuHarness, UnknownOpIsReportedUnsupported) {
  TARMAC_REQUIRE_GPU();
  GpuCase c("NoSuchOp");
  c.input(random_tensor(DType::kFloat32, {2}, 1));
  auto r = run_gpu_case(c);
  ASSERT_FALSE(r.is_ok());
}

}  // namespace
}  // namespace tarmac::testing
