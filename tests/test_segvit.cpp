// SegViT: mmseg key names, the ATM head's semantics piece by piece (deepest feature first, stage mask logits summed,
// sigmoid once, no-object dropped after the softmax, einsum over queries), Shrunk shapes, the ATM loss on
// hand-computed cases, a loss-decreases smoke test, the generic ATM-on-any-backbone and the README GFLOPs.
#include "harness/checkpoint/checkpoint.h"
#include "harness/compute/macs.h"
#include "harness/model/registry.h"
#include "methods/segvit/losses.h"
#include "methods/segvit/segvit.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "tests/filled_tensors.h"

using namespace locbench;
using namespace locbench::segvit;

namespace {

std::map<std::string, torch::Tensor> params_of(const torch::nn::Module& m) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : m.named_parameters()) out[p.key()] = p.value();
  return out;
}

VitOptions tiny_vit() {
  VitOptions o;
  o.img_size = {64, 64};
  o.embed_dims = 32;
  o.num_layers = 5;
  o.num_heads = 2;
  o.out_indices = {1, 3, 4};
  o.drop_path_rate = 0.0;
  return o;
}

AtmHeadOptions tiny_head(int64_t num_classes = 5) {
  AtmHeadOptions h;
  h.in_channels = {32, 32, 32};
  h.embed_dims = 16;
  h.num_heads = 2;
  h.num_classes = num_classes;
  h.img_size = 64;
  return h;
}

bool close(const torch::Tensor& a, const torch::Tensor& b, double tol = 1e-5) {
  return a.sizes() == b.sizes() && torch::allclose(a, b, tol, tol);
}

}  // namespace

TEST(SegVit, KeyNamesFollowMmsegAndTheOfficialHead) {
  auto model = create_model("segvit_atm_vit_base_ade20k_512");
  auto p = params_of(*model);
  const std::map<std::string, std::vector<int64_t>> expected{
      {"backbone.patch_embed.projection.weight", {768, 3, 16, 16}},
      {"backbone.cls_token", {1, 1, 768}},
      {"backbone.pos_embed", {1, 1025, 768}},
      {"backbone.layers.0.ln1.weight", {768}},
      {"backbone.layers.0.attn.attn.in_proj_weight", {2304, 768}},
      {"backbone.layers.0.attn.attn.in_proj_bias", {2304}},
      {"backbone.layers.11.attn.attn.out_proj.weight", {768, 768}},
      {"backbone.layers.0.ln2.bias", {768}},
      {"backbone.layers.0.ffn.layers.0.0.weight", {3072, 768}},
      {"backbone.layers.0.ffn.layers.1.weight", {768, 3072}},
      {"decode_head.input_proj_1.weight", {384, 768}},
      {"decode_head.proj_norm_3.bias", {384}},
      {"decode_head.decoder_1.layers.2.self_attn.in_proj_weight", {1152, 384}},
      {"decode_head.decoder_3.layers.0.multihead_attn.q.weight", {384, 384}},
      {"decode_head.decoder_2.layers.1.multihead_attn.proj.bias", {384}},
      {"decode_head.decoder_2.layers.1.linear1.weight", {1536, 384}},
      {"decode_head.decoder_2.layers.1.norm3.weight", {384}},
      {"decode_head.q.weight", {150, 384}},
      {"decode_head.class_embed.weight", {151, 384}}};
  for (const auto& [key, shape] : expected) {
    ASSERT_TRUE(p.count(key)) << key;
    EXPECT_EQ(p[key].sizes().vec(), shape) << key;
  }
  EXPECT_FALSE(p.count("backbone.norm.weight") || p.count("backbone.ln1.weight"));  // final_norm=False
  EXPECT_TRUE(model->ignores_checkpoint_key("decode_head.loss_decode.criterion.empty_weight"));
  EXPECT_FALSE(model->ignores_checkpoint_key("decode_head.q.weight"));
}

TEST(SegVit, ShrunkHeadKeyNames) {
  auto model = create_model("segvit_shrunk_vit_large_pcontext_480");
  auto p = params_of(*model);
  const std::map<std::string, std::vector<int64_t>> expected{
      {"backbone.pos_embed", {1, 901, 1024}},
      {"decode_head.input_proj_2.weight", {512, 1024}},
      {"decode_head.decoder_2.layers.2.multihead_attn.in_proj_weight", {1536, 512}},
      {"decode_head.decoder_1.layers.0.multihead_attn.out_proj.weight", {512, 512}},
      {"decode_head.q.weight", {900, 512}},
      {"decode_head.atm.decoder_1.layers.2.multihead_attn.k.weight", {512, 512}},
      {"decode_head.atm.q.weight", {60, 512}},
      {"decode_head.atm.class_embed.bias", {61}}};
  for (const auto& [key, shape] : expected) {
    ASSERT_TRUE(p.count(key)) << key;
    EXPECT_EQ(p[key].sizes().vec(), shape) << key;
  }
  EXPECT_FALSE(p.count("decode_head.atm.input_proj_1.weight"));  // use_proj=False
  EXPECT_FALSE(p.count("decode_head.decoder_3.layers.0.norm1.weight"));
}

TEST(SegVit, RegisteredAsSegmentationAtTheTrainingCrop) {
  const std::map<std::string, std::pair<int64_t, int64_t>> variants{
      {"segvit_atm_vit_base_ade20k_512", {512, 150}},          {"segvit_atm_vit_large_ade20k_640", {640, 150}},
      {"segvit_shrunk_vit_large_ade20k_640", {640, 150}},      {"segvit_atm_vit_large_cocostuff10k_512", {512, 171}},
      {"segvit_shrunk_vit_large_cocostuff10k_512", {512, 171}}, {"segvit_atm_vit_large_pcontext_480", {480, 60}},
      {"segvit_shrunk_vit_large_pcontext_480", {480, 60}}};
  for (const auto& [name, crop_classes] : variants) {
    const auto* info = Registry::instance().find(name);
    ASSERT_NE(info, nullptr) << name;
    EXPECT_EQ(info->task, "segmentation");
    EXPECT_EQ(info->config.input_size[1], crop_classes.first) << name;
    EXPECT_EQ(info->config.input_size[2], crop_classes.first) << name;
    EXPECT_EQ(info->config.num_classes, crop_classes.second) << name;
  }
}

TEST(SegVit, ForwardGivesClassScoresAtTheInputSize) {
  torch::manual_seed(0);
  SegVit model(tiny_vit(), tiny_head());
  model.eval();
  torch::NoGradGuard no_grad;
  auto x = torch::randn({2, 3, 64, 64});
  EXPECT_EQ(model.forward(x).sizes().vec(), (std::vector<int64_t>{2, 5, 64, 64}));
  auto out = model.forward_head_outputs(x);
  EXPECT_EQ(out.pred_logits.sizes().vec(), (std::vector<int64_t>{2, 5, 6}));
  EXPECT_EQ(out.pred_masks.sizes().vec(), (std::vector<int64_t>{2, 5, 64, 64}));
  ASSERT_EQ(out.aux_outputs.size(), 2u);
  EXPECT_EQ(out.aux_outputs[0].second.sizes().vec(), (std::vector<int64_t>{2, 5, 4, 4}));
  // A smaller input than the head's fixed img_size: encode_decode resizes the 64x64 output to the input.
  auto small = torch::randn({1, 3, 48, 48});
  EXPECT_EQ(model.forward(small).sizes().vec(), (std::vector<int64_t>{1, 5, 48, 48}));
  EXPECT_TRUE(close(model.forward(small), torch::nn::functional::interpolate(
                                              model.forward_head_outputs(small).pred,
                                              torch::nn::functional::InterpolateFuncOptions()
                                                  .size(std::vector<int64_t>{48, 48})
                                                  .mode(torch::kBilinear)
                                                  .align_corners(false))));
}

TEST(SegVit, BackboneHasNoClassTokenAndUsesPatchPositionsOnly) {
  torch::manual_seed(1);
  VisionTransformer vit(tiny_vit());
  vit->eval();
  torch::NoGradGuard no_grad;
  auto x = torch::randn({1, 3, 64, 64});
  auto before = vit->forward_intermediates(x, {0})[0];
  vit->cls_token.fill_(100.0);                                   // unused at run time
  vit->pos_embed.narrow(1, 0, 1).fill_(100.0);                   // the class entry of pos_embed too
  EXPECT_TRUE(close(vit->forward_intermediates(x, {0})[0], before));
  vit->pos_embed.narrow(1, 1, 1).add_(1.0);                      // the first patch's entry is used
  EXPECT_FALSE(close(vit->forward_intermediates(x, {0})[0], before));
  EXPECT_EQ(before.sizes().vec(), (std::vector<int64_t>{1, 32, 4, 4}));
}

TEST(SegVit, BackbonePadsInsideThePatchEmbeddingAndResizesPositionsAsMmseg) {
  // mmseg 0.24's own VisionTransformer (tests/fixtures/make_mmseg_vit_fixture.py) on 37x45, 16x64 (2 x 8 = 16
  // tokens: the 4 x 4 embedding is taken as stored, not resized), 32x32 and 33x31 inputs.
  const std::string dir = std::string(LOCBENCH_SOURCE_DIR) + "/tests/fixtures/mmseg_vit_padding/";
  const auto config = locbench::testing::read_json(dir + "config.json");
  VitOptions o;
  o.img_size = {config["img_size"][0], config["img_size"][1]};
  o.patch_size = config["patch_size"];
  o.embed_dims = config["embed_dims"];
  o.num_layers = config["num_layers"];
  o.num_heads = config["num_heads"];
  o.out_indices = config["out_indices"].get<std::vector<int64_t>>();
  o.drop_path_rate = 0.0;
  VisionTransformer vit(o);
  vit->eval();
  torch::NoGradGuard no_grad;
  std::set<std::string> reference_keys(config["weights"].begin(), config["weights"].end());
  for (auto& p : vit->named_parameters()) {
    EXPECT_TRUE(reference_keys.count(p.key())) << p.key();
    p.value().copy_(locbench::testing::fill_tensor(p.key(), p.value().sizes().vec()));
  }
  const auto io = read_safetensors(dir + "io.safetensors");
  for (size_t i = 0; i < config["sizes"].size(); ++i) {
    const auto outs = vit->forward(io.at("input_" + std::to_string(i)));
    ASSERT_EQ(outs.size(), 2u);
    for (size_t j = 0; j < outs.size(); ++j) {
      const auto& ref = io.at("output_" + std::to_string(i) + "_" + std::to_string(j));
      ASSERT_EQ(outs[j].sizes(), ref.sizes()) << config["sizes"][i].dump();
      EXPECT_TRUE(torch::allclose(outs[j], ref, 1e-4, 1e-5))
          << config["sizes"][i].dump() << " out " << j << ": max |diff| "
          << (outs[j] - ref).abs().max().item<double>();
    }
  }
}

TEST(SegVit, AtmAttentionReturnsHeadAveragedPreSoftmaxLogits) {
  torch::manual_seed(2);
  AtmAttention attn(8, 2, 0.0);
  attn->eval();
  torch::NoGradGuard no_grad;
  auto q = torch::randn({1, 3, 8}), mem = torch::randn({1, 5, 8});
  auto [out, logits] = attn->forward(q, mem);
  auto qh = attn->q->forward(q).view({1, 3, 2, 4}).transpose(1, 2);
  auto kh = attn->k->forward(mem).view({1, 5, 2, 4}).transpose(1, 2);
  auto vh = attn->v->forward(mem).view({1, 5, 2, 4}).transpose(1, 2);
  auto per_head = torch::matmul(qh, kh.transpose(-2, -1)) / 2.0;  // sqrt(head_dim 4)
  EXPECT_TRUE(close(logits, (per_head[0][0] + per_head[0][1]).unsqueeze(0) / 2));
  auto expected = attn->proj->forward(torch::matmul(per_head.softmax(-1), vh).transpose(1, 2).reshape({1, 3, 8}));
  EXPECT_TRUE(close(out, expected));
}

TEST(SegVit, SemanticInferenceDropsNoObjectAfterSoftmaxAndSumsOverQueries) {
  // Two queries, two classes + no-object. Query 0: logits (0, 0, ln 2) -> softmax (1/4, 1/4, 1/2), mask logit 0 ->
  // 1/2. Query 1: logits (ln 3, 0, 0) -> (3/5, 1/5, 1/5), mask logit ln 3 -> 3/4.
  auto cls = torch::tensor({0.0, 0.0, std::log(2.0), std::log(3.0), 0.0, 0.0}).view({1, 2, 3});
  auto masks = torch::tensor({0.0, std::log(3.0)}).view({1, 2, 1, 1});
  auto s = semantic_inference(cls, masks);
  ASSERT_EQ(s.sizes().vec(), (std::vector<int64_t>{1, 2, 1, 1}));
  EXPECT_NEAR(s[0][0][0][0].item<double>(), 0.25 * 0.5 + 0.6 * 0.75, 1e-6);
  EXPECT_NEAR(s[0][1][0][0].item<double>(), 0.25 * 0.5 + 0.2 * 0.75, 1e-6);
}

TEST(SegVit, StagesDecodeDeepestFirstAndSumMaskLogitsBeforeOneSigmoid) {
  torch::manual_seed(3);
  AtmHead head(tiny_head(4));
  head->eval();
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> features{torch::randn({1, 32, 4, 4}), torch::randn({1, 32, 4, 4}),
                                      torch::randn({1, 32, 4, 4})};
  auto out = head->forward(features);
  // Re-run the stages by hand: stage i reads features[2 - i] through input_proj_i and proj_norm_i.
  auto q = head->q->weight.unsqueeze(0);
  std::vector<torch::Tensor> stage_masks;
  torch::Tensor last_q;
  for (int i = 0; i < 3; ++i) {
    auto tokens = features[2 - i].flatten(2).transpose(1, 2);
    auto lateral = head->proj_norm[i]->forward(head->input_proj[i]->forward(tokens));
    auto layers = head->decoders[i]->forward(q, lateral);
    q = layers.back().first;
    stage_masks.push_back(layers.back().second.reshape({1, 4, 4, 4}));  // (B, queries, h, w)
  }
  EXPECT_TRUE(close(out.aux_outputs[0].second, stage_masks[0]));
  EXPECT_TRUE(close(out.aux_outputs[1].second, stage_masks[0] + stage_masks[1]));
  auto summed = stage_masks[0] + stage_masks[1] + stage_masks[2];
  auto up = torch::nn::functional::interpolate(
      summed, torch::nn::functional::InterpolateFuncOptions()
                  .size(std::vector<int64_t>{64, 64})
                  .mode(torch::kBilinear)
                  .align_corners(false));
  EXPECT_TRUE(close(out.pred_masks, up));
  EXPECT_TRUE(close(out.pred_logits, head->class_embed->forward(q)));
  auto probs = out.pred_logits.softmax(-1).narrow(-1, 0, 4);
  EXPECT_TRUE(close(out.pred, torch::einsum("bqc,bqhw->bchw", {probs, up.sigmoid()})));
  // Summing sigmoids instead of logits would give a different answer.
  EXPECT_FALSE(close(out.pred_masks.sigmoid(), torch::nn::functional::interpolate(
                                                   stage_masks[0].sigmoid() + stage_masks[1].sigmoid() +
                                                       stage_masks[2].sigmoid(),
                                                   torch::nn::functional::InterpolateFuncOptions()
                                                       .size(std::vector<int64_t>{64, 64})
                                                       .mode(torch::kBilinear)
                                                       .align_corners(false))));
}

TEST(SegVit, ShrinkBlockHalvesTheGridWithTopLeftQueriesAndFullGridKeys) {
  torch::manual_seed(4);
  VitOptions o = tiny_vit();
  o.shrink_idx = 2;
  VisionTransformer vit(o);
  vit->eval();
  torch::NoGradGuard no_grad;
  auto x = torch::randn({2, 3, 128, 128});  // 8 x 8 grid
  auto maps = vit->forward_intermediates(x, {1, 2, 4});
  EXPECT_EQ(maps[0].sizes().vec(), (std::vector<int64_t>{2, 32, 8, 8}));
  EXPECT_EQ(maps[1].sizes().vec(), (std::vector<int64_t>{2, 32, 4, 4}));
  EXPECT_EQ(maps[2].sizes().vec(), (std::vector<int64_t>{2, 32, 4, 4}));
  auto layer = vit->layers->ptr<EncoderLayerImpl>(2);
  auto full = maps[0].flatten(2).transpose(1, 2);
  auto top_left = maps[0].index({torch::indexing::Slice(), torch::indexing::Slice(),
                                 torch::indexing::Slice(0, 8, 2), torch::indexing::Slice(0, 8, 2)})
                      .flatten(2)
                      .transpose(1, 2);
  auto expected = layer->forward_shrink(top_left, full).transpose(1, 2).reshape({2, 32, 4, 4});
  EXPECT_TRUE(close(maps[1], expected));
  // Keys/values come from the full grid: attending only among the queries differs.
  auto queries_only = layer->forward(top_left).transpose(1, 2).reshape({2, 32, 4, 4});
  EXPECT_FALSE(close(maps[1], queries_only));
}

TEST(SegVit, ShrunkHeadShapes) {
  torch::manual_seed(5);
  VitOptions o = tiny_vit();
  o.shrink_idx = 2;
  o.out_indices = {1, 4};
  TpnAtmHeadOptions h;
  h.in_channels = {32, 32};
  h.embed_dims = 16;
  h.num_heads = 2;
  h.num_classes = 3;
  h.img_size = 64;
  SegVit model(o, h);
  model.eval();
  torch::NoGradGuard no_grad;
  auto out = model.forward_head_outputs(torch::randn({1, 3, 64, 64}));
  EXPECT_EQ(model.tpn_head->q->weight.sizes().vec(), (std::vector<int64_t>{16, 16}));  // (64 / 16)^2 queries
  EXPECT_EQ(out.pred.sizes().vec(), (std::vector<int64_t>{1, 3, 64, 64}));
  // ATMSingleHead: every decoder layer is an output, masks are not summed (aux masks at the 1/16 query grid).
  ASSERT_EQ(out.aux_outputs.size(), 2u);
  EXPECT_EQ(out.aux_outputs[1].second.sizes().vec(), (std::vector<int64_t>{1, 3, 4, 4}));
}

TEST(SegVitLoss, PrepareTargetsListsPresentClassesWithoutIgnore) {
  auto labels = torch::tensor({0, 255, 2, 2}, torch::kLong).view({1, 2, 2});
  auto t = prepare_targets(labels, 255);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_TRUE(torch::equal(t[0].labels, torch::tensor({0, 2}, torch::kLong)));
  EXPECT_TRUE(torch::equal(t[0].masks, torch::tensor({1.f, 0.f, 0.f, 0.f, 0.f, 0.f, 1.f, 1.f}).view({2, 2, 2})));
}

TEST(SegVitLoss, FocalAndDiceOnHandComputedCases) {
  // Logit 0 -> p = 1/2; BCE = ln 2; (1 - p_t)^2 = 1/4; alpha_t = 1/4 (positive) or 3/4 (negative).
  auto inputs = torch::zeros({1, 2}), targets = torch::tensor({1.f, 0.f}).view({1, 2});
  EXPECT_NEAR(sigmoid_focal_loss(inputs, targets, 1.0).item<double>(), (0.0625 + 0.1875) / 2 * std::log(2.0), 1e-6);
  EXPECT_NEAR(sigmoid_focal_loss(inputs, targets, 2.0).item<double>(), (0.0625 + 0.1875) / 4 * std::log(2.0), 1e-6);
  // Dice: 1 - (2 * 1/2 + 1) / (1 + 1 + 1) = 1/3.
  EXPECT_NEAR(dice_loss(inputs, targets, 1.0).item<double>(), 1.0 / 3.0, 1e-6);
}

TEST(SegVitLoss, CrossEntropyWeighsNoObjectByOneTenth) {
  // 3 classes + no-object; classes {0, 2} present. Queries 0 and 2 (uniform logits): NLL ln 4. Query 1 targets
  // no-object with logits (0, 0, 0, ln 3): p = 1/2, NLL ln 2, weight 0.1. Weighted mean: (2 ln 4 + 0.1 ln 2) / 2.1.
  auto logits = torch::zeros({1, 3, 4});
  logits[0][1][3] = std::log(3.0);
  auto targets = prepare_targets(torch::tensor({0, 2}, torch::kLong).view({1, 1, 2}), 255);
  EXPECT_NEAR(classification_loss(logits, targets, 0.1).item<double>(), 4.1 * std::log(2.0) / 2.1, 1e-6);
}

TEST(SegVitLoss, WeightsApplyToFinalAndAuxiliaryOutputs) {
  AtmOutput out;
  out.pred_logits = torch::zeros({1, 3, 4});
  out.pred_masks = torch::zeros({1, 3, 2, 2});
  out.aux_outputs = {{torch::zeros({1, 3, 4}), torch::zeros({1, 3, 1, 1})},
                     {torch::zeros({1, 3, 4}), torch::zeros({1, 3, 1, 1})}};
  auto labels = torch::tensor({1, 1, 1, 1}, torch::kLong).view({1, 2, 2});
  AtmLossOptions options;
  options.num_classes = 3;
  auto terms = atm_loss(out, labels, options);
  ASSERT_EQ(terms.size(), 9u);
  // One mask (class 1, all 4 pixels), logits 0: focal = 1/16 ln 2 per pixel, dice = 1 - (2 * 2 + 1) / (2 + 4 + 1).
  for (const std::string suffix : {"", "_0", "_1"}) {
    EXPECT_NEAR(terms.at("loss_ce" + suffix).item<double>(), std::log(4.0), 1e-6);
    EXPECT_NEAR(terms.at("loss_mask" + suffix).item<double>(), 20.0 * 0.0625 * std::log(2.0), 1e-5);
    EXPECT_NEAR(terms.at("loss_dice" + suffix).item<double>(), 2.0 / 7.0, 1e-6);
  }
}

TEST(SegVitLoss, TrainingATinySegVitDecreasesTheLoss) {
  torch::manual_seed(6);
  VitOptions o = tiny_vit();
  o.img_size = {32, 32};
  SegVit model(o, [] {
    auto h = tiny_head(4);
    h.img_size = 32;
    return h;
  }());
  auto images = torch::randn({2, 3, 32, 32});
  auto labels = torch::randint(0, 4, {2, 32, 32}, torch::kLong);
  labels.narrow(2, 0, 4).fill_(255);
  AtmLossOptions options;
  options.num_classes = 4;
  auto eval_loss = [&] {
    torch::NoGradGuard no_grad;
    model.eval();
    return total_loss(atm_loss(model.forward_head_outputs(images), labels, options)).item<double>();
  };
  const double before = eval_loss();
  torch::optim::AdamW optimizer(model.parameters(), torch::optim::AdamWOptions(1e-3));
  model.train();
  for (int step = 0; step < 8; ++step) {
    optimizer.zero_grad();
    auto loss = total_loss(atm_loss(model.forward_head_outputs(images), labels, options));
    ASSERT_TRUE(std::isfinite(loss.item<double>()));
    loss.backward();
    optimizer.step();
  }
  EXPECT_LT(eval_loss(), 0.9 * before);
}

TEST(SegVit, AtmHeadOnAnyBackboneWithIntermediates) {
  torch::manual_seed(7);
  auto model = segvit_atm_on("locatvit_tiny", {3, 7, 11}, 6, 64, 64, 2);
  model->eval();
  torch::NoGradGuard no_grad;
  EXPECT_EQ(model->forward(torch::randn({1, 3, 64, 64})).sizes().vec(), (std::vector<int64_t>{1, 6, 64, 64}));
  auto p = params_of(*model);
  EXPECT_EQ(p.at("decode_head.input_proj_1.weight").sizes().vec(), (std::vector<int64_t>{64, 192}));
  EXPECT_TRUE(p.count("backbone.blocks.0.attn.qkv.weight"));
  EXPECT_EQ(model->variant_config().input_size[1], 64);
}

TEST(SegVit, ParameterCountsMatchTheDerivedValues) {
  // Counts derived by hand from the released configs (ViT-B 108.7 M, ViT-L 344.3 M, Shrunk ViT-L 344.6 M), within
  // 0.5 %.
  const std::map<std::string, double> expected{{"segvit_atm_vit_base_ade20k_512", 108.7e6},
                                               {"segvit_atm_vit_large_ade20k_640", 344.3e6},
                                               {"segvit_shrunk_vit_large_ade20k_640", 344.6e6}};
  for (const auto& [name, count] : expected) {
    auto model = create_model(name);
    EXPECT_NEAR(static_cast<double>(count_params(*model)), count, 0.005 * count) << name;
  }
}

namespace {

double gmacs_at_crop(const std::string& name) {
  auto model = create_model(name);
  model->eval();
  const auto& c = model->variant_config();
  auto x = torch::randn({1, 3, c.input_size[1], c.input_size[2]});
  torch::NoGradGuard no_grad;
  return count_macs([&] { model->forward(x); }).macs / 1e9;
}

}  // namespace

// The README's GFLOPs (fvcore, one multiply-add = one flop, at the training crop), within 1 %.
TEST(SegVit, MacsMatchTheReadmeForViTBase) { EXPECT_NEAR(gmacs_at_crop("segvit_atm_vit_base_ade20k_512"), 120.9, 1.209); }

TEST(SegVit, MacsMatchTheReadmeForViTLarge) {
  const std::map<std::string, double> readme{{"segvit_atm_vit_large_ade20k_640", 637.9},
                                             {"segvit_shrunk_vit_large_ade20k_640", 373.5},
                                             {"segvit_atm_vit_large_cocostuff10k_512", 383.9},
                                             {"segvit_shrunk_vit_large_cocostuff10k_512", 224.8},
                                             {"segvit_atm_vit_large_pcontext_480", 321.6},
                                             {"segvit_shrunk_vit_large_pcontext_480", 186.9}};
  for (const auto& [name, gflops] : readme) EXPECT_NEAR(gmacs_at_crop(name), gflops, 0.01 * gflops) << name;
}

// Parity with tests/fixtures/make_segvit_fixtures.py: a labelled Python re-implementation of the official heads
// (decoder layers subclass torch.nn.TransformerDecoderLayer as the official TPN_DecoderLayer does) and of mmseg's
// ViT / vit_shrink, with mmseg key names; mmcv/mmseg 0.24 cannot be installed here to run the originals.
namespace {

std::map<std::string, torch::Tensor> read_fixture(const std::string& name, const std::string& file) {
  return read_safetensors(std::string(LOCBENCH_SOURCE_DIR) + "/tests/fixtures/" + name + "/" + file);
}

VitOptions micro_vit(std::vector<int64_t> out_indices, int64_t shrink_idx) {
  VitOptions o = tiny_vit();
  o.out_indices = std::move(out_indices);
  o.shrink_idx = shrink_idx;
  return o;
}

void expect_parity(SegVit& model, const std::string& name, const std::vector<int64_t>& sizes, int64_t num_classes) {
  load_checkpoint(model, std::string(LOCBENCH_SOURCE_DIR) + "/tests/fixtures/" + name + "/weights.safetensors");
  model.eval();
  auto io = read_fixture(name, "io.safetensors");
  torch::NoGradGuard no_grad;
  for (int64_t s : sizes) {
    const std::string tag = std::to_string(s) + "x" + std::to_string(s);
    SCOPED_TRACE(name + " " + tag);
    auto input = io.at("input_" + tag);
    EXPECT_TRUE(close(model.forward(input), io.at("seg_" + tag), 1e-4));
    auto out = model.forward_head_outputs(input);
    EXPECT_TRUE(close(out.pred_logits, io.at("pred_logits_" + tag), 1e-4));
    EXPECT_TRUE(close(out.pred_masks, io.at("pred_masks_" + tag), 1e-4));
    if (io.count("label_" + tag)) {
      AtmLossOptions options;
      options.num_classes = num_classes;
      auto loss = total_loss(atm_loss(out, io.at("label_" + tag), options));
      EXPECT_NEAR(loss.item<double>(), io.at("loss_" + tag).item<double>(), 1e-4);
    }
  }
}

}  // namespace

TEST(SegVitParity, AtmMatchesTheReferenceIncludingPositionResize) {
  SegVit model(micro_vit({1, 3, 4}, -1), tiny_head(5));
  expect_parity(model, "segvit_atm_micro", {64, 96}, 5);
}

TEST(SegVitParity, ShrunkMatchesTheReference) {
  TpnAtmHeadOptions h;
  h.in_channels = {32, 32};
  h.embed_dims = 16;
  h.num_heads = 2;
  h.num_classes = 4;
  h.img_size = 64;
  SegVit model(micro_vit({1, 4}, 2), h);
  expect_parity(model, "segvit_shrunk_micro", {64}, 4);
}
