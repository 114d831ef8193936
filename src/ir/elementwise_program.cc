#include "ir/elementwise_program.h"

#include <array>
#include <bit>

#include "ir/op_registry.h"

namespace tarmac {

namespace {

constexpr std::array<EwOpInfo, kEwOpCount> kInfo = {{
#define TARMAC_EW_INFO(name, code, operands, params) {#name, operands, params},
    TARMAC_EW_OPS(TARMAC_EW_INFO)
#undef TARMAC_EW_INFO
}};

// The table is indexed by opcode, so the opcodes must be 0, 1, 2, ... in table order.
constexpr bool codes_are_dense() {
  int i = 0;
#define TARMAC_EW_DENSE(name, code, operands, params) \
  if (code != i++) return false;
  TARMAC_EW_OPS(TARMAC_EW_DENSE)
#undef TARMAC_EW_DENSE
  return i == kEwOpCount;
}
static_assert(codes_are_dense(), "TARMAC_EW_OPS opcodes must be 0 .. kEwOpCount - 1 in order");

/// The value of operand `v` (register or constant) in `regs`.
float operand(const EwProgram& p, const float* regs, int32_t v) {
  return v >= 0 ? regs[v] : p.constants[static_cast<size_t>(-1 - v)];
}

}  // namespace

const EwOpInfo& ew_op_info(EwOp op) { return kInfo[static_cast<size_t>(op)]; }

bool ew_op_from_name(std::string_view op_type, EwOp* op) {
  for (size_t i = 0; i < kInfo.size(); ++i) {
    if (kInfo[i].name != op_type) continue;
    *op = static_cast<EwOp>(i);
    return true;
  }
  return false;
}

std::string EwProgram::ops() const {
  std::string s;
  for (const EwInstruction& in : code) {
    if (!s.empty()) s.push_back(',');
    s.append(ew_op_info(in.op).name);
  }
  return s;
}

StatusOr<EwProgram> decode_program(const Node& node) {
  EwProgram p;
  if (node.outputs.size() != 1 || !node.outputs[0])
    return node_error(node, "has {} outputs, expected exactly 1", node.outputs.size());
  p.num_inputs = static_cast<int>(node.inputs.size());
  if (p.num_inputs < 1 || p.num_inputs > kEwMaxInputs)
    return node_error(node, "has {} inputs, expected 1 to {}", p.num_inputs, kEwMaxInputs);
  for (size_t i = 0; i < node.inputs.size(); ++i)
    if (!node.inputs[i])
      return node_error(node, "input {} is absent; the program reads every input", i);
  auto it = node.attrs.find("program");
  if (it == node.attrs.end() || it->second.kind != Attribute::Kind::kInts)
    return node_error(node, "attribute 'program' (ints) is missing");
  const std::vector<int64_t>& ints = it->second.ints;
  if (ints.empty() || ints.size() % 4 != 0)
    return node_error(node, "attribute 'program' has {} ints, expected a positive multiple of 4",
                      ints.size());
  if (ints.size() / 4 > static_cast<size_t>(kEwMaxInstructions))
    return node_error(node, "program has {} instructions, at most {} are supported",
                      ints.size() / 4, kEwMaxInstructions);
  if (auto c = node.attrs.find("constants"); c != node.attrs.end()) {
    if (c->second.kind != Attribute::Kind::kFloats)
      return node_error(node, "attribute 'constants' must be floats");
    p.constants = c->second.floats;
  }
  if (p.constants.size() > static_cast<size_t>(kEwMaxConstants))
    return node_error(node, "program has {} constants, at most {} are supported",
                      p.constants.size(), kEwMaxConstants);

  const int64_t num_constants = static_cast<int64_t>(p.constants.size());
  std::array<bool, kEwMaxRegisters> defined{};
  for (int r = 0; r < p.num_inputs; ++r) defined[static_cast<size_t>(r)] = true;
  p.num_registers = p.num_inputs;
  // Why operand v of instruction k cannot be read (empty when it can), `params` constants
  // from v on.
  auto check_read = [&](int64_t v, int64_t params) -> std::string {
    if (v >= 0) {
      if (v >= kEwMaxRegisters)
        return fmt::format("register {} is out of range (0 to {})", v, kEwMaxRegisters - 1);
      if (!defined[static_cast<size_t>(v)])
        return fmt::format("register {} is read before it is written", v);
      return {};
    }
    const int64_t j = -1 - v;
    if (j + std::max<int64_t>(params, 1) > num_constants)
      return fmt::format("constant {} is out of range ({} constants)", j, num_constants);
    return {};
  };
  for (size_t k = 0; k < ints.size() / 4; ++k) {
    const int64_t code = ints[4 * k], a = ints[4 * k + 1], b = ints[4 * k + 2],
                  dst = ints[4 * k + 3];
    if (code < 0 || code >= kEwOpCount)
      return node_error(node, "program instruction {}: opcode {} is not an elementwise op", k,
                        code);
    const EwOp op = static_cast<EwOp>(code);
    const EwOpInfo& info = ew_op_info(op);
    std::string why = check_read(a, 1);
    if (why.empty() && info.operands == 2) why = check_read(b, 1);
    if (why.empty() && info.parameters > 0) {
      why = b >= 0 ? fmt::format("{} reads its parameters from constants, operand b is {}",
                                 info.name, b)
                   : check_read(b, info.parameters);
    }
    if (why.empty() && (dst < 0 || dst >= kEwMaxRegisters))
      why = fmt::format("destination register {} is out of range (0 to {})", dst,
                        kEwMaxRegisters - 1);
    if (!why.empty()) return node_error(node, "program instruction {} ({}): {}", k, info.name, why);
    defined[static_cast<size_t>(dst)] = true;
    p.num_registers = std::max(p.num_registers, static_cast<int>(dst) + 1);
    for (int64_t v : {a, b})
      if (v >= 0 && v < kEwMaxRegisters)
        p.num_registers = std::max(p.num_registers, static_cast<int>(v) + 1);
    p.code.push_back({op, static_cast<int32_t>(a),
                      info.operands == 2 || info.parameters > 0 ? static_cast<int32_t>(b) : 0,
                      static_cast<int32_t>(dst)});
  }
  return p;
}

void set_program_attrs(const EwProgram& p, Node* node) {
  Attribute prog;
  prog.kind = Attribute::Kind::kInts;
  for (const EwInstruction& in : p.code)
    prog.ints.insert(prog.ints.end(), {static_cast<int64_t>(in.op), in.a, in.b, in.dst});
  node->attrs["program"] = std::move(prog);
  Attribute consts;
  consts.kind = Attribute::Kind::kFloats;
  consts.floats = p.constants;
  node->attrs["constants"] = std::move(consts);
  Attribute ops;
  ops.kind = Attribute::Kind::kString;
  ops.s = p.ops();
  node->attrs["ops"] = std::move(ops);
}

Status infer_fused_elementwise(InferContext& ctx) {
  const Node& n = ctx.node;
  TARMAC_RETURN_IF_ERROR(decode_program(n).status());
  const DType t = ctx.input(0).dtype;
  std::vector<const ValueType*> ins;
  bool shapes = true;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    const DType ti = ctx.input(i).dtype;
    if (ti != DType::kFloat32 && ti != DType::kFloat16 && ti != DType::kBFloat16)
      return node_error(n, "input {} '{}' has dtype {}; expected float32, float16 or bfloat16", i,
                        n.inputs[i]->name, dtype_name(ti));
    if (ti != t)
      return node_error(n, "input {} '{}' has dtype {} but input 0 has {}", i, n.inputs[i]->name,
                        dtype_name(ti), dtype_name(t));
    ins.push_back(&ctx.input(i));
    if (!ctx.input(i).has_shape) shapes = false;
  }
  if (!shapes) {
    ctx.set_output_dtype(0, t);
    return Status::ok();
  }
  TARMAC_ASSIGN_OR_RETURN(Shape out, broadcast_shapes(n, ins));
  ctx.set_output(0, t, std::move(out));
  return Status::ok();
}

// ---- builder ---------------------------------------------------------------------------

EwRef EwProgramBuilder::constant(float v) { return {EwRef::Kind::kConstant, add_constants({v})}; }

int EwProgramBuilder::add_constants(const std::vector<float>& values) {
  // Bitwise comparison: -0 and 0 differ (1 / x tells them apart) and NaN equals itself.
  auto same = [](float a, float b) {
    return std::bit_cast<uint32_t>(a) == std::bit_cast<uint32_t>(b);
  };
  for (size_t j = 0; j + values.size() <= constants_.size(); ++j) {
    bool match = true;
    for (size_t k = 0; k < values.size() && match; ++k) match = same(constants_[j + k], values[k]);
    if (match) return static_cast<int>(j);
  }
  constants_.insert(constants_.end(), values.begin(), values.end());
  return static_cast<int>(constants_.size() - values.size());
}

EwRef EwProgramBuilder::unary(EwOp op, EwRef x, float p0, float p1) {
  Step s{op, x, {}, -1};
  const int params = ew_op_info(op).parameters;
  if (params == 1) s.param = add_constants({p0});
  if (params == 2) s.param = add_constants({p0, p1});
  steps_.push_back(s);
  return {EwRef::Kind::kStep, num_steps() - 1};
}

EwRef EwProgramBuilder::binary(EwOp op, EwRef x, EwRef y) {
  steps_.push_back({op, x, y, -1});
  return {EwRef::Kind::kStep, num_steps() - 1};
}

StatusOr<EwProgram> EwProgramBuilder::finish() const {
  const int n = num_steps();
  if (n == 0) return invalid_argument("an elementwise program needs at least one instruction");
  if (n > kEwMaxInstructions)
    return unsupported("{} instructions exceed the limit of {}", n, kEwMaxInstructions);
  if (num_inputs_ < 1 || num_inputs_ > kEwMaxInputs)
    return unsupported("{} inputs, expected 1 to {}", num_inputs_, kEwMaxInputs);
  if (constants_.size() > static_cast<size_t>(kEwMaxConstants))
    return unsupported("{} constants exceed the limit of {}", constants_.size(), kEwMaxConstants);
  auto reads = [&](const Step& s) {
    std::vector<EwRef> r = {s.a};
    if (ew_op_info(s.op).operands == 2) r.push_back(s.b);
    return r;
  };
  // Last step reading each input and step result; the final result is read "after the end".
  std::vector<int> input_last(static_cast<size_t>(num_inputs_), -1);
  std::vector<int> step_last(static_cast<size_t>(n), -1);
  for (int i = 0; i < n; ++i) {
    for (const EwRef& r : reads(steps_[static_cast<size_t>(i)])) {
      const bool bad =
          r.index < 0 || (r.kind == EwRef::Kind::kInput && r.index >= num_inputs_) ||
          (r.kind == EwRef::Kind::kStep && r.index >= i) ||
          (r.kind == EwRef::Kind::kConstant && r.index >= static_cast<int>(constants_.size()));
      if (bad) return internal_error("elementwise program step {} reads an undefined value", i);
      if (r.kind == EwRef::Kind::kInput) input_last[static_cast<size_t>(r.index)] = i;
      if (r.kind == EwRef::Kind::kStep) step_last[static_cast<size_t>(r.index)] = i;
    }
  }
  step_last.back() = n;

  EwProgram p;
  p.num_inputs = num_inputs_;
  p.constants = constants_;
  std::array<bool, kEwMaxRegisters> busy{};
  std::vector<int> step_reg(static_cast<size_t>(n), -1);
  for (int i = 0; i < num_inputs_; ++i)
    busy[static_cast<size_t>(i)] = input_last[static_cast<size_t>(i)] >= 0;
  p.num_registers = num_inputs_;
  auto encode = [&](const EwRef& r) -> int32_t {
    switch (r.kind) {
      case EwRef::Kind::kInput:
        return r.index;
      case EwRef::Kind::kConstant:
        return -1 - r.index;
      case EwRef::Kind::kStep:
        return step_reg[static_cast<size_t>(r.index)];
    }
    return 0;
  };
  for (int i = 0; i < n; ++i) {
    const Step& s = steps_[static_cast<size_t>(i)];
    EwInstruction in;
    in.op = s.op;
    in.a = encode(s.a);
    in.b = ew_op_info(s.op).operands == 2 ? encode(s.b) : (s.param >= 0 ? -1 - s.param : 0);
    // Operands read for the last time free their registers before the destination is chosen:
    // the interpreter reads operands first, so the result may land on one of them.
    for (const EwRef& r : reads(s)) {
      if (r.kind == EwRef::Kind::kInput && input_last[static_cast<size_t>(r.index)] == i)
        busy[static_cast<size_t>(r.index)] = false;
      if (r.kind == EwRef::Kind::kStep && step_last[static_cast<size_t>(r.index)] == i)
        busy[static_cast<size_t>(step_reg[static_cast<size_t>(r.index)])] = false;
    }
    int dst = 0;
    while (dst < kEwMaxRegisters && busy[static_cast<size_t>(dst)]) ++dst;
    if (dst == kEwMaxRegisters)
      return unsupported("the program needs more than {} registers", kEwMaxRegisters);
    busy[static_cast<size_t>(dst)] = step_last[static_cast<size_t>(i)] >= 0;
    step_reg[static_cast<size_t>(i)] = dst;
    in.dst = dst;
    p.num_registers = std::max(p.num_registers, dst + 1);
    p.code.push_back(in);
  }
  return p;
}

float evaluate_program(const EwProgram& p, const float* inputs) {
  std::array<float, kEwMaxRegisters> regs{};
  for (int i = 0; i < p.num_inputs; ++i) regs[static_cast<size_t>(i)] = inputs[i];
  for (const EwInstruction& in : p.code) {
    const EwOpInfo& info = ew_op_info(in.op);
    const float x = operand(p, regs.data(), in.a);
    float y = 0.f, z = 0.f;
    if (info.operands == 2) y = operand(p, regs.data(), in.b);
    if (info.parameters > 0) y = p.constants[static_cast<size_t>(-1 - in.b)];
    if (info.parameters > 1) z = p.constants[static_cast<size_t>(-1 - in.b) + 1];
    regs[static_cast<size_t>(in.dst)] = ew_apply<float>(in.op, x, y, z);
  }
  return regs[static_cast<size_t>(p.result_register())];
}

}  // namespace tarmac
