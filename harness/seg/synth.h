// A synthetic segmentation dataset in the ADE20K layout (ADEChallengeData2016/images/<split>/*.jpg,
// annotations/<split>/*.png, label 0 = "other", classes 1..K) whose labels depend on local structure:
// each region is filled with its class's texture, drawn in two colours sampled from one distribution shared by all
// classes, so colour alone cannot separate the classes. Two patterns:
// - "texture": class k's oriented stripe or checker texture (orientation, kind and a 6-12 px period set by k);
// - "period": stripes whose period alone is the class (geometrically spaced from `period` px by `period_ratio`),
//   at an orientation and phase drawn per region, so no single small patch tells the classes apart and the class
//   is read from the structure around it.
// Deterministic from the seed (own splitmix64 generator, no std:: distributions). Torch-free.
#pragma once

#include <cstdint>
#include <string>

#include "harness/data/image.h"

namespace locbench::seg {

struct SynthOptions {
  int64_t count = 8;          // images per split
  int min_size = 64;          // each side drawn uniformly in [min_size, max_size]
  int max_size = 128;
  int64_t num_classes = 4;    // K; labels 1..K in ADE encoding, 0 = "other" (noise texture, ignored)
  int regions = 6;            // Voronoi regions per image
  double other_fraction = 0.1;  // probability that a region is "other"
  uint64_t seed = 0;
  std::string pattern = "texture";  // "texture" or "period" (see above)
  double period = 6;          // "period": the first class's stripe period in pixels
  double period_ratio = 1.6;  // "period": each next class's period is this many times the previous one's
};

struct SynthSample {
  data::Image image;  // RGB
  data::Image label;  // 1 channel, ADE encoding (0 = other, 1..K)
};

// One sample; `index` selects it deterministically for a given options.seed.
SynthSample synth_sample(const SynthOptions& options, int64_t index);

// Writes options.count samples as ADE_<prefix>_%08d.{jpg,png} under root/images/<split> and
// root/annotations/<split> (split "training" uses prefix "train", otherwise "val"; the two splits draw
// different samples). Returns the number written.
int64_t write_synthetic_ade20k(const std::string& root, const std::string& split, const SynthOptions& options);

}  // namespace locbench::seg
