#include "harness/data/generated.h"

#include "harness/common/files.h"
#include "harness/common/json_input.h"
#include "harness/common/text.h"
#include "harness/data/image.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace locbench::data {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Removes a temporary folder unless released.
class TemporaryFolder {
 public:
  explicit TemporaryFolder(std::string path) : path_(std::move(path)) {}
  ~TemporaryFolder() {
    if (path_.empty()) return;
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TemporaryFolder(const TemporaryFolder&) = delete;
  TemporaryFolder& operator=(const TemporaryFolder&) = delete;
  const std::string& path() const { return path_; }
  void release() { path_.clear(); }

 private:
  std::string path_;
};

json manifest_of(const std::string& folder, const json& recipe) {
  json files = json::array();
  std::vector<std::pair<std::string, uintmax_t>> found;
  for (const auto& entry : fs::recursive_directory_iterator(folder))
    if (entry.is_regular_file()) found.emplace_back(fs::relative(entry.path(), folder).generic_string(), entry.file_size());
  std::sort(found.begin(), found.end());
  for (const auto& [path, bytes] : found) files.push_back({{"path", path}, {"bytes", bytes}});
  return {{"recipe", recipe}, {"files", files}};
}

}  // namespace

std::string incomplete_dataset(const std::string& root, const json& recipe) {
  const std::string manifest_path = (fs::path(root) / kDatasetManifest).string();
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return "not a folder";
  if (!fs::exists(manifest_path, ec))
    return std::string("no ") + kDatasetManifest + " (an interrupted generation, an older bench, or data not made by bench)";
  json manifest;
  try {
    manifest = parse_untrusted_json(read_input_file(manifest_path, "dataset manifest", size_t{64} << 20), manifest_path);
  } catch (const std::exception& e) {
    return e.what();
  }
  if (!manifest.is_object() || !manifest.contains("files") || !manifest["files"].is_array())
    return std::string(kDatasetManifest) + " is malformed";
  if (manifest.value("recipe", json()) != recipe)
    return "generated with " + json_excerpt(manifest.value("recipe", json()), 200) + ", not " + json_excerpt(recipe, 200);
  for (const auto& f : manifest["files"]) {
    if (!f.is_object() || !f.contains("path") || !f["path"].is_string() || !f.contains("bytes") ||
        !f["bytes"].is_number_unsigned())
      return std::string(kDatasetManifest) + " is malformed";
    const fs::path file = fs::path(root) / f["path"].get<std::string>();
    const uintmax_t size = fs::file_size(file, ec);
    if (ec) return one_line(file.string()) + " is missing";
    if (size != f["bytes"].get<uint64_t>())
      return one_line(file.string()) + " has " + std::to_string(size) + " bytes, the manifest says " +
             std::to_string(f["bytes"].get<uint64_t>());
  }
  return "";
}

namespace {

void require_complete(const std::string& root, const json& recipe) {
  const std::string why = incomplete_dataset(root, recipe);
  if (!why.empty())
    throw DataError(one_line(root, 200) + ": exists but is not the dataset to generate: " + why +
                    "; remove it to generate it again, or point the root elsewhere");
}

}  // namespace

bool generate_dataset(const std::string& root, const json& recipe, const std::function<void(const std::string&)>& write) {
  std::error_code ec;
  if (fs::exists(root, ec)) {
    require_complete(root, recipe);
    return false;
  }
  create_parent_directories(root);
  // Unique to this writer: two processes generating the same root never share a folder.
  std::string pattern = root + ".partial." + std::to_string(::getpid()) + ".XXXXXX";
  if (!::mkdtemp(pattern.data()))
    throw WriteError(one_line(root, 200) + ": cannot create a folder to generate into: " + std::strerror(errno));
  TemporaryFolder folder(pattern);
  write(folder.path());
  // Last: the manifest is what makes a folder a complete dataset.
  write_file_atomic((fs::path(folder.path()) / kDatasetManifest).string(), manifest_of(folder.path(), recipe).dump(1));
  if (std::rename(folder.path().c_str(), root.c_str()) == 0) {
    folder.release();
    return true;
  }
  const int err = errno;
  if (err == EEXIST || err == ENOTEMPTY) {  // another process finished first: its dataset is as good as ours
    require_complete(root, recipe);
    return false;
  }
  throw WriteError(one_line(root, 200) + ": cannot move the generated dataset into place: " + std::strerror(err));
}

}  // namespace locbench::data
