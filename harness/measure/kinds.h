// One entry per measurement kind, each in its own file (harness/measure/<kind>.cpp); measure.cpp dispatches.
// Internal to harness/measure.
#pragma once

#include "harness/measure/measure.h"

#include <vector>

namespace locbench::measure::kinds {

std::vector<store::Result> params(Context& ctx);      // params.cpp
std::vector<store::Result> macs(Context& ctx);        // macs.cpp
std::vector<store::Result> latency(Context& ctx);     // latency.cpp
std::vector<store::Result> throughput(Context& ctx);  // throughput.cpp
std::vector<store::Result> fps(Context& ctx);         // fps.cpp
std::vector<store::Result> memory(Context& ctx);      // memory.cpp
std::vector<store::Result> accuracy(Context& ctx);    // accuracy.cpp
std::vector<store::Result> miou(Context& ctx);        // miou.cpp (`miou` and `train`)
std::vector<store::Result> kernels(Context& ctx);     // kernels.cpp

}  // namespace locbench::measure::kinds
