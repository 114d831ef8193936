// Builds without CUDA: the device engine (and so the device executor) reports that it is not
// available.
#include "runtime/device_engine.h"

#ifndef TARMAC_WITH_CUDA
namespace tarmac {

StatusOr<std::shared_ptr<DeviceEngine>> DeviceEngine::create(Model, const DeviceExecutorOptions&) {
  return unavailable("this tarmac was built without CUDA (configure with -DTARMAC_CUDA=ON)");
}

StatusOr<DeviceIdentity> query_device_identity() {
  return unavailable("this tarmac was built without CUDA (configure with -DTARMAC_CUDA=ON)");
}

}  // namespace tarmac
#endif
