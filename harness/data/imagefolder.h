// ImageFolder datasets (a folder per class, as torchvision and timm read ImageNet val) and a synthetic
// generator of that layout for tests and the quickstart. Torch-free.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace locbench::data {

struct Sample {
  std::string path;
  int64_t label = 0;
};

struct ImageFolder {
  std::string root;
  std::vector<std::string> classes;  // sorted folder names; the label is the index
  std::vector<Sample> samples;       // sorted by class, then file name
};

// Lists root/<class>/<image> (jpg, jpeg, png, case-insensitive: timm's default extensions). A missing root, a root
// without class folders, or an empty dataset is a DataError naming the path.
ImageFolder read_image_folder(const std::string& root);

struct SynthOptions {
  int classes = 10;
  int per_class = 20;
  int size = 64;  // square images
  uint64_t seed = 0;
  std::string format = "jpg";  // jpg or png
};

// Writes an ImageFolder whose class is set by the orientation and frequency of a texture, under random colours
// and noise, so a class is learnable from local structure but not from colour. Deterministic given the seed.
// Written into a temporary folder renamed into place: an interrupted call leaves no partial dataset.
void write_synthetic_image_folder(const std::string& root, const SynthOptions& options);

}  // namespace locbench::data
