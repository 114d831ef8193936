// Builds without CUDA: the device executor reports that it is not available.
#include "runtime/device_executor.h"

#ifndef TARMAC_WITH_CUDA
namespace tarmac {

StatusOr<std::unique_ptr<DeviceExecutor>> DeviceExecutor::create(Model,
                                                                 const DeviceExecutorOptions&) {
  return unavailable("this tarmac was built without CUDA (configure with -DTARMAC_CUDA=ON)");
}

}  // namespace tarmac
#endif
