// Where a model's weights come from, as `--weights` and a suite's "weights" name them: a file, a release on the
// Hugging Face Hub (read from the local cache, offline), or a pretrained tag. Torch-free header.
#pragma once

#include <string>

namespace locbench {

struct ResolvedWeights {
  std::string model;   // the model to build: the given name, or `arch.tag` when the weights name a tag of it
  std::string path;    // the file to load; empty for a seeded initialisation
  std::string origin;  // what named it: "hf-hub:ORG/NAME", a tag, "file"; empty without weights
};

// `spec` is one of
//   ""                        no weights (a seeded initialisation)
//   "pretrained"              the model's own tag, or its architecture's default tag (timm's pretrained=True)
//   "augreg_in21k", "vit_tiny_patch16_224.augreg_in21k"
//                             a tag of the model's architecture: its Hub release, and the model becomes arch.tag
//                             so that the tag's config (classes, mean/std, crop, input size) comes with it
//   "hf-hub:ORG/NAME[@REV]"   a Hub repository's weights file from the local cache
//   a path                    a safetensors file
// Throws std::invalid_argument with a one-line reason (unknown model or tag, no such file) and hub::HubFileMissing
// (a runtime_error) naming the `hf download` command and the path the file will have.
ResolvedWeights resolve_weights(const std::string& model, const std::string& spec);

}  // namespace locbench
