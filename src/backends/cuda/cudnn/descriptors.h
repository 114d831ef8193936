// RAII owners of cuDNN's legacy-API descriptors (tensor, filter, convolution, activation),
// created on first set() so that constructing them never touches the library.
#pragma once

#include <cudnn.h>

#include <vector>

#include "core/status.h"

namespace tarmac::cuda::cudnn {

/// A fully packed NCHW / NCDHW tensor (4 or 5 dims).
class TensorDesc {
 public:
  TensorDesc() = default;
  ~TensorDesc();
  TensorDesc(const TensorDesc&) = delete;
  TensorDesc& operator=(const TensorDesc&) = delete;
  Status set(cudnnDataType_t dtype, const std::vector<int>& dims);
  cudnnTensorDescriptor_t get() const { return d_; }

 private:
  cudnnTensorDescriptor_t d_ = nullptr;
};

/// A KCRS / KCTRS filter.
class FilterDesc {
 public:
  FilterDesc() = default;
  ~FilterDesc();
  FilterDesc(const FilterDesc&) = delete;
  FilterDesc& operator=(const FilterDesc&) = delete;
  Status set(cudnnDataType_t dtype, const std::vector<int>& dims);
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
