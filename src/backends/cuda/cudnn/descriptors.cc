#include "backends/cuda/cudnn/descriptors.h"

#include "backends/cuda/cuda_common.h"

namespace tarmac::cuda::cudnn {

TensorDesc::~TensorDesc() {
  if (d_) cudnnDestroyTensorDescriptor(d_);
}

Status TensorDesc::set(cudnnDataType_t dtype, const std::vector<int>& dims, bool channels_last) {
  if (!d_) TARMAC_CUDNN_CHECK(cudnnCreateTensorDescriptor(&d_));
  // Memory order of the logical axes (N, C, spatial...): packed row-major, or channels last.
  std::vector<size_t> order(dims.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  if (channels_last && dims.size() > 2) {
    order.erase(order.begin() + 1);
    order.push_back(1);
  }
  std::vector<int> strides(dims.size(), 1);
  int stride = 1;
  for (size_t i = order.size(); i-- > 0;) {
    strides[order[i]] = stride;
    stride *= dims[order[i]];
  }
  TARMAC_CUDNN_CHECK(cudnnSetTensorNdDescriptor(d_, dtype, static_cast<int>(dims.size()),
                                                dims.data(), strides.data()));
  return Status::ok();
}

FilterDesc::~FilterDesc() {
  if (d_) cudnnDestroyFilterDescriptor(d_);
}

Status FilterDesc::set(cudnnDataType_t dtype, const std::vector<int>& dims, bool channels_last) {
  if (!d_) TARMAC_CUDNN_CHECK(cudnnCreateFilterDescriptor(&d_));
  TARMAC_CUDNN_CHECK(
      cudnnSetFilterNdDescriptor(d_, dtype, channels_last ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW,
                                 static_cast<int>(dims.size()), dims.data()));
  return Status::ok();
}

ConvDesc::~ConvDesc() {
  if (d_) cudnnDestroyConvolutionDescriptor(d_);
}

Status ConvDesc::set(const std::vector<int>& pads, const std::vector<int>& strides,
                     const std::vector<int>& dilations, int groups, cudnnDataType_t compute,
                     cudnnMathType_t math) {
  if (!d_) TARMAC_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&d_));
  TARMAC_CUDNN_CHECK(cudnnSetConvolutionNdDescriptor(d_, static_cast<int>(pads.size()), pads.data(),
                                                     strides.data(), dilations.data(),
                                                     CUDNN_CROSS_CORRELATION, compute));
  TARMAC_CUDNN_CHECK(cudnnSetConvolutionGroupCount(d_, groups));
  TARMAC_CUDNN_CHECK(cudnnSetConvolutionMathType(d_, math));
  return Status::ok();
}

Status ConvDesc::set_math(cudnnMathType_t math) {
  TARMAC_CUDNN_CHECK(cudnnSetConvolutionMathType(d_, math));
  return Status::ok();
}

ActivationDesc::~ActivationDesc() {
  if (d_) cudnnDestroyActivationDescriptor(d_);
}

Status ActivationDesc::set(cudnnActivationMode_t mode, double coef) {
  if (!d_) TARMAC_CUDNN_CHECK(cudnnCreateActivationDescriptor(&d_));
  TARMAC_CUDNN_CHECK(cudnnSetActivationDescriptor(d_, mode, CUDNN_NOT_PROPAGATE_NAN, coef));
  return Status::ok();
}

}  // namespace tarmac::cuda::cudnn
