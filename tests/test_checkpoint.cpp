// Checkpoint loading: strict key/shape matching, dtype casting, and clear errors for bad files.
#include "harness/checkpoint/checkpoint.h"
#include "harness/model/registry.h"
#include "methods/vit/vision_transformer.h"
#include "tests/test_helpers.h"

#include <gtest/gtest.h>

using namespace locbench;
using namespace locbench::testing;

namespace {

std::shared_ptr<vit::VisionTransformer> micro_vit(int64_t classes = 10) {
  vit::VitConfig c;
  c.embed_dim = 48;
  c.depth = 2;
  c.num_heads = 3;
  c.num_classes = classes;
  return std::make_shared<vit::VisionTransformer>(c);
}

std::map<std::string, torch::Tensor> state_dict(const torch::nn::Module& m) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : m.named_parameters(true)) out.emplace(p.key(), p.value().detach().clone());
  for (const auto& b : m.named_buffers(true)) out.emplace(b.key(), b.value().detach().clone());
  return out;
}

std::string load_error(Model& model, const std::string& path) {
  try {
    load_checkpoint(model, path);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Checkpoint, LoadsFloat32Exactly) {
  torch::manual_seed(1);
  auto src = micro_vit();
  auto dir = temp_dir("ckpt_f32");
  const auto path = (dir / "w.safetensors").string();
  write_safetensors(path, state_dict(*src));
  torch::manual_seed(2);
  auto dst = micro_vit();
  load_checkpoint(*dst, path);
  for (const auto& [name, t] : state_dict(*src)) EXPECT_TRUE(torch::equal(t, state_dict(*dst).at(name))) << name;
}

TEST(Checkpoint, HalfPrecisionFilesAreCastToTheModelDtype) {
  torch::manual_seed(1);
  auto src = micro_vit();
  auto dir = temp_dir("ckpt_half");
  for (auto dtype : {torch::kFloat16, torch::kBFloat16}) {
    std::map<std::string, torch::Tensor> half;
    for (const auto& [name, t] : state_dict(*src)) half.emplace(name, t.to(dtype));
    const auto path = (dir / "w.safetensors").string();
    write_safetensors(path, half);
    auto dst = micro_vit();
    load_checkpoint(*dst, path);
    for (const auto& [name, t] : state_dict(*dst)) {
      EXPECT_EQ(t.scalar_type(), torch::kFloat32) << name;
      EXPECT_TRUE(torch::equal(t, half.at(name).to(torch::kFloat32))) << name;
    }
  }
}

TEST(Checkpoint, ListsMissingUnexpectedAndMismatchedKeys) {
  auto src = micro_vit();
  auto sd = state_dict(*src);
  sd.erase("blocks.1.mlp.fc2.bias");
  sd.erase("cls_token");
  sd.emplace("blocks.0.attn.extra", torch::zeros({2}));
  sd["head.weight"] = torch::zeros({5, 48});
  auto dir = temp_dir("ckpt_mismatch");
  const auto path = (dir / "w.safetensors").string();
  write_safetensors(path, sd);
  auto dst = micro_vit();
  const auto before = state_dict(*dst);
  const std::string msg = load_error(*dst, path);
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing keys [blocks.1.mlp.fc2.bias, cls_token]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unexpected keys [blocks.0.attn.extra]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("head.weight [5, 48] vs model [10, 48]"), std::string::npos) << msg;
  // Nothing was loaded: the model is untouched.
  for (const auto& [name, t] : state_dict(*dst)) EXPECT_TRUE(torch::equal(t, before.at(name))) << name;
}

TEST(Checkpoint, TruncatedAndMalformedFilesAreErrorsNotCrashes) {
  auto src = micro_vit();
  auto dir = temp_dir("ckpt_bad");
  const auto good = (dir / "good.safetensors").string();
  write_safetensors(good, state_dict(*src));
  const std::string bytes = read_bytes(good);
  const auto cut = (dir / "cut.safetensors").string();
  for (size_t keep : {size_t{0}, size_t{5}, size_t{12}, bytes.size() / 2, bytes.size() - 1}) {
    write_bytes(cut, bytes.substr(0, keep));
    auto dst = micro_vit();
    const std::string msg = load_error(*dst, cut);
    EXPECT_NE(msg.find(cut), std::string::npos) << "kept " << keep << ": " << msg;
  }
  const auto garbage = (dir / "garbage.safetensors").string();
  std::string noise = bytes;
  for (size_t i = 8; i < 64 && i < noise.size(); ++i) noise[i] = static_cast<char>(0xA5 ^ i);
  write_bytes(garbage, noise);
  auto dst = micro_vit();
  EXPECT_NE(load_error(*dst, garbage).find("malformed header"), std::string::npos);
}

TEST(Checkpoint, ModelsMayDeclareDerivedKeysAsIgnorable) {
  struct IgnoringVit : vit::VisionTransformer {
    using VisionTransformer::VisionTransformer;
    bool ignores_checkpoint_key(const std::string& key) const override { return key.find("relative_coords") == 0; }
  };
  vit::VitConfig c;
  c.embed_dim = 48;
  c.depth = 1;
  c.num_heads = 3;
  c.num_classes = 10;
  auto model = std::make_shared<IgnoringVit>(c);
  auto sd = state_dict(*model);
  sd.emplace("relative_coords_table", torch::zeros({3}));
  auto dir = temp_dir("ckpt_ignore");
  const auto path = (dir / "w.safetensors").string();
  write_safetensors(path, sd);
  EXPECT_EQ(load_error(*model, path), "");
}
