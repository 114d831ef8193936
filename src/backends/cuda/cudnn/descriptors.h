// RAII owners of cuDNN's legacy-API descriptors (tensor, filter, convolution, activation),
// created on first set() so that constructing them never touches the library.
#pragma once

#include <cudnn.h>

#include <vector>

#include "core/status.h"

namespace tarmac::cuda::cudnn {

/// A fully packed tensor with logical dims (N, C, spatial...) (4 or 5 dims), stored NCHW /
/// NCDHW, or channels last (NHWC / NDHWC) when `channels_last`.
class TensorDesc {
 public:
  TensorDesc() = default;
  ~TensorDesc();
  TensorDesc(const TensorDesc&) = delete;
  TensorDesc& operator=(const TensorDesc&) = delete;
  Status set(cudnnDataType_t dtype, const std::vector<int>& dims, bool channels_last = false);
  cudnnTensorDescriptor_t get() const { return d_; }

 private:
  cudnnTensorDescriptor_t d_ = nullptr;
};

/// A filter with logical dims KCRS / KCTRS, stored so or channels last (KRSC / KTRSC).
class FilterDesc {
 public:
  FilterDesc() = default;
  ~FilterDesc();
  FilterDesc(const FilterDesc&) = delete;
  FilterDesc& operator=(const FilterDesc&) = delete;
  Status set(cudnnDataType_t dtype, const std::vector<int>& dims, bool channels_last = false);
  cudnnFilterDescriptor_t get() const { return d_; }

 private:
  cudnnFilterDescriptor_t d_ = nullptr;
};

/// Cross-correlation (ONNX Conv) with symmetric pads, groups and a math type.
class ConvDesc {
 public:
  ConvDesc() = default;
  ~ConvDesc();
  ConvDesc(const ConvDesc&) = delete;
  ConvDesc& operator=(const ConvDesc&) = delete;
  Status set(const std::vector<int>& pads, const std::vector<int>& strides,
             const std::vector<int>& dilations, int groups, cudnnDataType_t compute,
             cudnnMathType_t math);
  Status set_math(cudnnMathType_t math);
  cudnnConvolutionDescriptor_t get() const { return d_; }

 private:
  cudnnConvolutionDescriptor_t d_ = nullptr;
};

class ActivationDesc {
 public:
  ActivationDesc() = default;
  ~ActivationDesc();
  ActivationDesc(const ActivationDesc&) = delete;
  ActivationDesc& operator=(const ActivationDesc&) = delete;
  Status set(cudnnActivationMode_t mode, double coef);
  cudnnActivationDescriptor_t get() const { return d_; }

 private:
  cudnnActivationDescriptor_t d_ = nullptr;
};

}  // namespace tarmac::cuda::cudnn
