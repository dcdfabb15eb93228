// Counting compute by observing the aten ops a real forward executes (RecordFunction callbacks), with one
// handler per op type following fvcore's convention: one multiply-add = one MAC, attention counted as its two
// matmuls, layer/group norm 5 per element with affine, bilinear upsampling 4 per output element.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <map>
#include <string>

namespace locbench {

struct MacCount {
  double macs = 0;                                // total multiply-accumulates
  std::map<std::string, double> macs_by_op;       // handled op type -> MACs
  std::map<std::string, int64_t> calls_by_op;     // every top-level op seen -> calls
  std::map<std::string, int64_t> unhandled_ops;   // ops with no handler (contribute 0) -> calls
};

// Runs `fn` on this thread and counts the outermost aten ops it executes (nested ops are part of their caller).
MacCount count_macs(const std::function<void()>& fn);

// Sum of numel over the module's parameters (timm's param_count, buffers excluded).
int64_t count_params(const torch::nn::Module& module);

}  // namespace locbench
