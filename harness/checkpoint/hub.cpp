#include "harness/checkpoint/hub.h"

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

namespace locbench::hub {

namespace fs = std::filesystem;

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : "";
}

bool valid_part(const std::string& s) {
  if (s.empty() || s.size() > 96 || s == "." || s == ".." || s.find("..") != std::string::npos) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  return true;
}

bool is_commit(const std::string& s) {
  if (s.size() != 40) return false;
  for (char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

std::string read_ref(const fs::path& file) {
  std::ifstream in(file);
  std::string commit;
  in >> commit;
  return is_commit(commit) ? commit : "";
}

}  // namespace

std::string Reference::spec() const { return "hf-hub:" + repo_id + (revision == "main" ? "" : "@" + revision); }

bool is_hub_spec(const std::string& text) { return text.rfind("hf-hub:", 0) == 0; }

Reference parse(const std::string& spec) {
  if (!is_hub_spec(spec)) throw std::invalid_argument("'" + spec + "' is not an hf-hub:ORG/NAME reference");
  Reference ref;
  std::string rest = spec.substr(7);
  if (auto at = rest.find('@'); at != std::string::npos) {
    ref.revision = rest.substr(at + 1);
    rest = rest.substr(0, at);
  }
  const auto slash = rest.find('/');
  if (slash == std::string::npos || !valid_part(rest.substr(0, slash)) || !valid_part(rest.substr(slash + 1)) ||
      !valid_part(ref.revision))
    throw std::invalid_argument("'" + spec + "': expected hf-hub:ORG/NAME or hf-hub:ORG/NAME@REVISION");
  ref.repo_id = rest;
  return ref;
}

std::string cache_dir() {
  if (auto v = env("HF_HUB_CACHE"); !v.empty()) return v;
  if (auto v = env("HUGGINGFACE_HUB_CACHE"); !v.empty()) return v;
  if (auto v = env("HF_HOME"); !v.empty()) return (fs::path(v) / "hub").string();
  if (auto v = env("XDG_CACHE_HOME"); !v.empty()) return (fs::path(v) / "huggingface" / "hub").string();
  const std::string home = env("HOME");
  return (fs::path(home.empty() ? "." : home) / ".cache" / "huggingface" / "hub").string();
}

std::string repo_dir(const Reference& ref) {
  std::string folder = "models--" + ref.repo_id;
  folder.replace(folder.find('/'), 1, "--");
  return (fs::path(cache_dir()) / folder).string();
}

std::string download_command(const Reference& ref, const std::string& filename) {
  return "hf download " + ref.repo_id + " " + filename + (ref.revision == "main" ? "" : " --revision " + ref.revision);
}

std::string resolve_file(const Reference& ref, const std::string& filename) {
  const fs::path repo = repo_dir(ref);
  std::string commit = is_commit(ref.revision) ? ref.revision : read_ref(repo / "refs" / ref.revision);
  std::error_code ec;
  if (!commit.empty()) {
    const fs::path file = repo / "snapshots" / commit / filename;
    if (fs::is_regular_file(file, ec)) return file.string();  // follows the snapshot's link into blobs/
  }
  // Not there: say how to get it, and what the snapshot holds instead when it holds a pickle.
  std::string extra;
  if (!commit.empty())
    for (const char* other : {"pytorch_model.bin", "model.pth", "model.pth.tar"}) {
      const fs::path alt = repo / "snapshots" / commit / other;
      if (fs::is_regular_file(alt, ec)) {
        extra = "; the snapshot has " + std::string(other) + " (a PyTorch pickle): convert it with python3 "
                "scripts/convert_checkpoint.py " + alt.string() + " " + filename;
        break;
      }
    }
  const std::string expected =
      (repo / "snapshots" / (commit.empty() ? "<commit>" : commit) / filename).string();
  throw HubFileMissing(ref.spec() + ": " + filename + " is not in the Hugging Face cache; fetch it with `" +
                       download_command(ref, filename) + "` (it will be " + expected + ")" + extra);
}

}  // namespace locbench::hub
