// Precompiled header for every translation unit that uses LibTorch.
#pragma once
#include <torch/torch.h>
#include <ATen/record_function.h>
