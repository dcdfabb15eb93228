// `bench eval-seg` (see eval_seg.h): mmseg IoUMetric over prediction/label PNG folders; numbers are reported
// rounded to 2 decimals as mmseg reports them.
#include "harness/seg/eval_seg.h"

#include <cmath>
#include <filesystem>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "harness/common/exit_codes.h"
#include "harness/common/text.h"
#include "harness/data/image.h"
#include "harness/seg/datasets.h"

namespace fs = std::filesystem;

namespace locbench::seg {

namespace {

std::map<std::string, fs::path> pngs_by_stem(const fs::path& dir, const std::string& what) {
  if (!fs::is_directory(dir)) throw data::DataError(dir.string() + ": " + what + " folder not found");
  std::map<std::string, fs::path> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().extension() == ".png") out[entry.path().stem().string()] = entry.path();
  }
  if (out.empty()) throw data::DataError(dir.string() + ": no .png files in the " + what + " folder");
  return out;
}

double round2(double v) { return std::round(v * 100.0) / 100.0; }

nlohmann::json number_or_null(double v) { return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(round2(v)); }

std::string number_text(double v) { return std::isnan(v) ? "nan" : fmt::format("{:.2f}", v); }

void write_json(const IoUResult& r, std::ostream& out) {
  nlohmann::json j;
  j["aAcc"] = number_or_null(r.aAcc);
  j["mIoU"] = number_or_null(r.mIoU);
  j["mAcc"] = number_or_null(r.mAcc);
  j["per_class"] = nlohmann::json::array();
  for (size_t c = 0; c < r.iou.size(); ++c)
    j["per_class"].push_back({{"class", c}, {"IoU", number_or_null(r.iou[c])}, {"Acc", number_or_null(r.acc[c])}});
  out << j.dump(2) << "\n";
}

void write_table(const IoUResult& r, std::ostream& out) {
  out << fmt::format("{:>7} {:>8} {:>8}\n", "class", "IoU", "Acc");
  for (size_t c = 0; c < r.iou.size(); ++c)
    out << fmt::format("{:>7} {:>8} {:>8}\n", c, number_text(r.iou[c]), number_text(r.acc[c]));
  out << fmt::format("aAcc {}  mIoU {}  mAcc {}\n", number_text(r.aAcc), number_text(r.mIoU), number_text(r.mAcc));
}

}  // namespace

IoUMetric score_folders(const EvalSegOptions& options) {
  const fs::path pred_dir(options.pred_dir);
  if (!fs::is_directory(pred_dir)) throw data::DataError(pred_dir.string() + ": prediction folder not found");
  IoUMetric metric(options.num_classes);
  for (const auto& [stem, gt_path] : pngs_by_stem(options.gt_dir, "label")) {
    const fs::path pred_path = pred_dir / (stem + ".png");
    if (!fs::is_regular_file(pred_path))
      throw data::DataError(pred_path.string() + ": missing prediction for label " + gt_path.string());
    const data::Image pred = data::read_label(pred_path.string(), options.limits);
    // mmseg's IoUMetric drops predictions outside 0..K-1 from every count without a word; here a value that is
    // neither a class nor 255 (no prediction) says that --num-classes or the prediction files are wrong.
    for (size_t i = 0; i < pred.pixels.size(); ++i)
      if (pred.pixels[i] >= options.num_classes && pred.pixels[i] != 255)
        throw data::DataError(pred_path.string() + ": prediction " + std::to_string(pred.pixels[i]) + " at (" +
                              std::to_string(i % pred.width) + ", " + std::to_string(i / pred.width) +
                              ") is not a class of --num-classes " + std::to_string(options.num_classes) +
                              " (0.." + std::to_string(options.num_classes - 1) + ", or 255 for none)");
    const data::Image label =
        load_seg_map(gt_path.string(), options.reduce_zero_label, pred.width, pred.height, options.limits);
    metric.process(pred.pixels.data(), label.pixels.data(), pred.pixels.size());
  }
  return metric;
}

int eval_seg(const EvalSegOptions& options, std::ostream& out, std::ostream& err) {
  try {
    const IoUResult result = score_folders(options).compute();
    if (options.json)
      write_json(result, out);
    else
      write_table(result, out);
    return 0;
  } catch (const std::exception& e) {
    err << "eval-seg: " << one_line(e.what(), 400) << "\n";
    return exit_code_of(e);
  }
}

}  // namespace locbench::seg
