// Loading model weights from safetensors checkpoints keyed by timm / official names, and writing tensors.
#pragma once

#include "harness/model/model.h"

#include <map>
#include <string>

namespace locbench {

// Every tensor of a safetensors file, copied into torch tensors of the file's dtype.
std::map<std::string, torch::Tensor> read_safetensors(const std::string& path);

// Writes CPU copies of the tensors atomically (nothing is left behind on failure).
void write_safetensors(const std::string& path, const std::map<std::string, torch::Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// Loads a safetensors checkpoint strictly into the model's parameters and buffers, casting to each one's dtype.
// Missing, unexpected or wrong-shaped keys raise std::runtime_error naming every offending key. A file in another
// format (a PyTorch pickle, TorchScript, NumPy) raises an error that says what it is and the command that converts
// it, with the converter's defaults for `model_name` (the registered name) when given.
void load_checkpoint(Model& model, const std::string& path, const std::string& model_name = "");

}  // namespace locbench
