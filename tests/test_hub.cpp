// The Hugging Face cache layout (models--ORG--NAME/refs, snapshots) read offline, its environment variables, the
// fetch command of a missing file, and file-format sniffing. Torch-free. (Files written by torch.save and
// safetensors' save_file are tested end to end in tests/test_published_weights.py.)
#include "harness/checkpoint/format.h"
#include "harness/checkpoint/hub.h"
#include "harness/checkpoint/sha256.h"
#include <unistd.h>

#include "test_helpers.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <optional>

using namespace locbench;
using locbench::testing::error_of;
namespace fs = std::filesystem;

namespace {

struct Env {
  Env(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~Env() {
    if (old_) ::setenv(name_, old_->c_str(), 1);
    else ::unsetenv(name_);
  }
  const char* name_;
  std::optional<std::string> old_;
};

// A cache as `hf download` leaves it: the blob, the snapshot's link to it, refs/main.
fs::path fake_snapshot(const fs::path& cache, const std::string& folder, const std::string& commit,
                       const std::string& file, const std::string& bytes) {
  const fs::path repo = cache / folder;
  fs::create_directories(repo / "blobs");
  fs::create_directories(repo / "refs");
  fs::create_directories(repo / "snapshots" / commit);
  locbench::testing::write_bytes(repo / "blobs" / "0123abcd", bytes);
  fs::create_symlink("../../blobs/0123abcd", repo / "snapshots" / commit / file);
  locbench::testing::write_bytes(repo / "refs" / "main", commit);
  return repo / "snapshots" / commit / file;
}

const std::string kCommit = "0b9a3c5e1f2d4a6b8c0e1f2a3b4c5d6e7f8a9b0c";

}  // namespace

TEST(Hub, ParsesReferences) {
  EXPECT_EQ(hub::parse("hf-hub:timm/vit_tiny_patch16_224.augreg_in21k").repo_id, "timm/vit_tiny_patch16_224.augreg_in21k");
  EXPECT_EQ(hub::parse("hf-hub:sinahmr/locatvit_tiny@v1").revision, "v1");
  EXPECT_EQ(hub::parse("hf-hub:sinahmr/locatvit_tiny").spec(), "hf-hub:sinahmr/locatvit_tiny");
  for (const char* bad : {"hf-hub:", "hf-hub:noslash", "hf-hub:a/b/c", "hf-hub:../x", "hf-hub:a/..", "hf-hub:a/b@",
                          "hf-hub:a b/c"})
    EXPECT_THROW(hub::parse(bad), std::invalid_argument) << bad;
}

TEST(Hub, CacheFolderFollowsHuggingfaceHubsVariables) {
  Env home("HOME", "/home/u");
  Env a("HF_HUB_CACHE", ""), b("HUGGINGFACE_HUB_CACHE", ""), c("HF_HOME", ""), d("XDG_CACHE_HOME", "");
  EXPECT_EQ(hub::cache_dir(), "/home/u/.cache/huggingface/hub");
  { Env x("XDG_CACHE_HOME", "/xdg"); EXPECT_EQ(hub::cache_dir(), "/xdg/huggingface/hub"); }
  { Env x("HF_HOME", "/hf"); EXPECT_EQ(hub::cache_dir(), "/hf/hub"); }
  { Env x("HF_HOME", "/hf"), y("HF_HUB_CACHE", "/cache"); EXPECT_EQ(hub::cache_dir(), "/cache"); }
  EXPECT_EQ(hub::repo_dir(hub::parse("hf-hub:timm/deit_tiny_patch16_224.fb_in1k")),
            "/home/u/.cache/huggingface/hub/models--timm--deit_tiny_patch16_224.fb_in1k");
}

TEST(Hub, ResolvesTheSnapshotOfMainThroughItsLink) {
  const fs::path cache = locbench::testing::temp_dir("hub_cache");
  Env env("HF_HUB_CACHE", cache.string());
  const fs::path file = fake_snapshot(cache, "models--sinahmr--locatvit_tiny", kCommit, "model.safetensors", "w");
  EXPECT_EQ(hub::resolve_file(hub::parse("hf-hub:sinahmr/locatvit_tiny"), "model.safetensors"), file.string());
  // A commit names its snapshot directly; an unknown branch has no ref.
  EXPECT_EQ(hub::resolve_file(hub::parse("hf-hub:sinahmr/locatvit_tiny@" + kCommit), "model.safetensors"),
            file.string());
  EXPECT_THROW(hub::resolve_file(hub::parse("hf-hub:sinahmr/locatvit_tiny@dev"), "model.safetensors"),
               hub::HubFileMissing);
}

TEST(Hub, AMissingFileNamesTheCommandAndThePath) {
  const fs::path cache = locbench::testing::temp_dir("hub_missing");
  Env env("HF_HUB_CACHE", cache.string());
  EXPECT_EQ(error_of([] { hub::resolve_file(hub::parse("hf-hub:sinahmr/locatvit_base"), "model.safetensors"); }),
            "hf-hub:sinahmr/locatvit_base: model.safetensors is not in the Hugging Face cache; fetch it with `hf "
            "download sinahmr/locatvit_base model.safetensors` (it will be " + cache.string() +
                "/models--sinahmr--locatvit_base/snapshots/<commit>/model.safetensors)");
  EXPECT_NE(error_of([] { hub::resolve_file(hub::parse("hf-hub:a/b@v2"), "model.safetensors"); })
                .find("`hf download a/b model.safetensors --revision v2`"),
            std::string::npos);
  // A snapshot holding only a pickle says so, with the converter.
  fake_snapshot(cache, "models--a--pickled", kCommit, "pytorch_model.bin", "x");
  const std::string msg = error_of([] { hub::resolve_file(hub::parse("hf-hub:a/pickled"), "model.safetensors"); });
  EXPECT_NE(msg.find("/snapshots/" + kCommit + "/model.safetensors)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("the snapshot has pytorch_model.bin (a PyTorch pickle): convert it with python3 "
                     "scripts/convert_checkpoint.py "),
            std::string::npos)
      << msg;
}

TEST(FileFormat, SniffsFromTheFirstBytes) {
  const fs::path dir = locbench::testing::temp_dir("sniff");
  auto sniff = [&](const std::string& name, const std::string& bytes) {
    locbench::testing::write_bytes(dir / name, bytes);
    return sniff_file((dir / name).string()).format;
  };
  EXPECT_EQ(sniff("a.safetensors", locbench::testing::safetensors_bytes("{}", "")), FileFormat::safetensors);
  EXPECT_EQ(sniff("legacy.pth", std::string("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19\x2e", 15)),
            FileFormat::torch_legacy);
  EXPECT_EQ(sniff("p.pkl", std::string("\x80\x04\x95", 3)), FileFormat::python_pickle);
  EXPECT_EQ(sniff("a.npy", std::string("\x93NUMPY\x01\x00", 8)), FileFormat::numpy);
  EXPECT_EQ(sniff("junk", "hello world"), FileFormat::unknown);
  EXPECT_THROW(sniff_file((dir / "absent").string()), std::runtime_error);
  EXPECT_THROW(sniff_file(dir.string()), std::runtime_error);
  // A pickle gets the converter command, with the model's source defaults.
  locbench::testing::write_bytes(dir / "x.pth.tar", std::string("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19", 14));
  EXPECT_EQ(error_of([&] { require_safetensors((dir / "x.pth.tar").string(), "glnet_16g"); }),
            (dir / "x.pth.tar").string() + ": this is a PyTorch pickle (torch.save legacy format), not safetensors; "
            "convert it with python3 scripts/convert_checkpoint.py " + (dir / "x.pth.tar").string() + " " +
            (dir / "x").string() + ".safetensors --model glnet_16g");
  EXPECT_NO_THROW(require_safetensors((dir / "junk").string()));  // left to the safetensors reader's own errors
}

TEST(Sha256, MatchesTheStandardVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const fs::path dir = locbench::testing::temp_dir("sha");
  std::string big(3 << 20, 'a');  // several read chunks
  locbench::testing::write_bytes(dir / "big", big);
  EXPECT_EQ(sha256_file((dir / "big").string()), sha256_hex(big));
  EXPECT_THROW(sha256_file((dir / "absent").string()), std::runtime_error);
}
