// Factories of the individual passes (one file each in src/passes/).
#pragma once

#include <memory>

#include "passes/pass.h"

namespace tarmac {

std::unique_ptr<Pass> make_constant_folding_pass();
std::unique_ptr<Pass> make_noop_elimination_pass();
std::unique_ptr<Pass> make_transpose_reshape_pass();
std::unique_ptr<Pass> make_cse_pass();
std::unique_ptr<Pass> make_conv_bn_folding_pass();
std::unique_ptr<Pass> make_matmul_add_fusion_pass();
std::unique_ptr<Pass> make_pad_folding_pass();
std::unique_ptr<Pass> make_layernorm_fusion_pass();
std::unique_ptr<Pass> make_gelu_fusion_pass();
std::unique_ptr<Pass> make_conv_residual_fusion_pass();
std::unique_ptr<Pass> make_activation_fusion_pass();
std::unique_ptr<Pass> make_elementwise_fusion_pass();
std::unique_ptr<Pass> make_dead_code_elimination_pass();

}  // namespace tarmac
