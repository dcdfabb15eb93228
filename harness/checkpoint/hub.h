// Weights published on the Hugging Face Hub, read from the local cache the `hf` tool (huggingface_hub) fills:
// <cache>/models--ORG--NAME/{refs/main, snapshots/<commit>/<file>}. Offline: nothing here touches the network;
// a missing file is an error that gives the command which fetches it and the path it will have.
#pragma once

#include <stdexcept>
#include <string>

namespace locbench::hub {

// "hf-hub:ORG/NAME" or "hf-hub:ORG/NAME@REVISION" (a branch, tag or commit; default main).
struct Reference {
  std::string repo_id, revision = "main";
  std::string spec() const;  // back to "hf-hub:ORG/NAME[@REVISION]"
};

bool is_hub_spec(const std::string& text);
// Throws std::invalid_argument for a malformed spec (the repository id must be ORG/NAME of [A-Za-z0-9._-]).
Reference parse(const std::string& spec);

// $HF_HUB_CACHE, else $HUGGINGFACE_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else
// ~/.cache/huggingface/hub (huggingface_hub's own order).
std::string cache_dir();
// <cache>/models--ORG--NAME
std::string repo_dir(const Reference& ref);

// The cached file, or HubFileMissing naming `hf download ...` and the expected path.
class HubFileMissing : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
std::string resolve_file(const Reference& ref, const std::string& filename);

// "hf download ORG/NAME FILE [--revision REV]"
std::string download_command(const Reference& ref, const std::string& filename);

}  // namespace locbench::hub
