// mmseg's ADE20KDataset, PascalContextDataset59 and COCOStuffDataset layouts (see datasets.h).
#include "harness/seg/datasets.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include "harness/seg/iou_metric.h"

namespace fs = std::filesystem;

namespace locbench::seg {

namespace {

void require_dir(const std::string& dataset, const fs::path& dir, const std::string& hint) {
  if (fs::is_directory(dir)) return;
  throw data::DataError(dataset + ": dataset folder not found: " + dir.string() + hint);
}

// stem -> path of the regular files in `dir` whose names end with `suffix` (case-sensitive, as mmseg).
std::map<std::string, std::string> files_by_stem(const fs::path& dir, const std::string& suffix) {
  std::map<std::string, std::string> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    const std::string name = entry.path().filename().string();
    if (name.size() <= suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    out[name.substr(0, name.size() - suffix.size())] = entry.path().string();
  }
  return out;
}

// Every image must have its label and every label its image.
std::vector<SegSample> pair_by_stem(const std::map<std::string, std::string>& images,
                                    const std::map<std::string, std::string>& labels, const fs::path& img_dir,
                                    const fs::path& ann_dir, const std::string& img_suffix,
                                    const std::string& seg_map_suffix) {
  std::vector<SegSample> samples;
  for (const auto& [stem, img_path] : images) {
    auto it = labels.find(stem);
    if (it == labels.end())
      throw data::DataError(img_path + ": image has no label map (expected " +
                            (ann_dir / (stem + seg_map_suffix)).string() + ")");
    samples.push_back({stem, img_path, it->second});
  }
  for (const auto& [stem, seg_path] : labels) {
    if (!images.count(stem))
      throw data::DataError(seg_path + ": label map has no image (expected " +
                            (img_dir / (stem + img_suffix)).string() + ")");
  }
  return samples;
}

SegDataset folder_pair_dataset(const std::string& name, const std::string& root, const std::string& split,
                               const std::string& seg_map_suffix, int64_t num_classes, bool reduce_zero_label,
                               const std::string& hint) {
  const fs::path img_dir = fs::path(root) / "images" / split;
  const fs::path ann_dir = fs::path(root) / "annotations" / split;
  require_dir(name, img_dir, hint);
  require_dir(name, ann_dir, hint);
  SegDataset dataset;
  dataset.name = name;
  dataset.root = root;
  dataset.split = split;
  dataset.num_classes = num_classes;
  dataset.reduce_zero_label = reduce_zero_label;
  dataset.samples = pair_by_stem(files_by_stem(img_dir, ".jpg"), files_by_stem(ann_dir, seg_map_suffix), img_dir,
                                 ann_dir, ".jpg", seg_map_suffix);
  return dataset;
}

}  // namespace

SegDataset ade20k(const std::string& root, const std::string& split) {
  return folder_pair_dataset(
      "ADE20K", root, split, ".png", 150, true,
      " (set ADE20K_ROOT to the ADEChallengeData2016 folder, which holds images/ and annotations/)");
}

SegDataset coco_stuff164k(const std::string& root, const std::string& split) {
  return folder_pair_dataset(
      "COCO-Stuff-164k", root, split, "_labelTrainIds.png", 171, false,
      " (expected the coco_stuff164k layout: images/{train2017,val2017}, annotations/{train2017,val2017} with "
      "*_labelTrainIds.png from mmseg's tools/dataset_converters/coco_stuff164k.py)");
}

SegDataset coco_stuff10k(const std::string& root, const std::string& split) {
  return folder_pair_dataset(
      "COCO-Stuff-10k", root, split, "_labelTrainIds.png", 171, true,
      " (expected the coco_stuff10k layout: images/{train2014,test2014}, annotations/{train2014,test2014} with "
      "*_labelTrainIds.png from mmseg's tools/dataset_converters/coco_stuff10k.py)");
}

namespace {

SegDataset pascal_context(const std::string& root, const std::string& split, bool with_background) {
  const std::string name = with_background ? "PASCAL-Context-60" : "PASCAL-Context-59";
  const std::string hint = " (expected VOCdevkit/VOC2010 with JPEGImages, SegmentationClassContext and "
                           "ImageSets/SegmentationContext)";
  const fs::path img_dir = fs::path(root) / "JPEGImages";
  const fs::path ann_dir = fs::path(root) / "SegmentationClassContext";
  const fs::path split_file = fs::path(root) / "ImageSets" / "SegmentationContext" / (split + ".txt");
  require_dir(name, img_dir, hint);
  require_dir(name, ann_dir, hint);
  std::ifstream list(split_file);
  if (!list) throw data::DataError(name + ": split file not found: " + split_file.string() + hint);
  SegDataset dataset{name, root, split, with_background ? 60 : 59, !with_background, {}, {}};
  std::string line;
  while (std::getline(list, line)) {
    line.erase(line.find_last_not_of(" \t\r\n") + 1);
    line.erase(0, line.find_first_not_of(" \t"));
    if (line.empty()) continue;
    const fs::path img = img_dir / (line + ".jpg");
    const fs::path seg = ann_dir / (line + ".png");
    if (!fs::is_regular_file(img))
      throw data::DataError(img.string() + ": image listed in " + split_file.string() + " is missing");
    if (!fs::is_regular_file(seg))
      throw data::DataError(seg.string() + ": label map of an image listed in " + split_file.string() +
                            " is missing");
    dataset.samples.push_back({line, img.string(), seg.string()});
  }
  std::sort(dataset.samples.begin(), dataset.samples.end(),
            [](const SegSample& a, const SegSample& b) { return a.stem < b.stem; });
  return dataset;
}

}  // namespace

SegDataset pascal_context_59(const std::string& root, const std::string& split) {
  return pascal_context(root, split, false);
}

SegDataset pascal_context_60(const std::string& root, const std::string& split) {
  return pascal_context(root, split, true);
}

data::Image load_seg_map(const std::string& path, bool reduce_zero, int width, int height,
                         const data::DecodeLimits& limits) {
  data::Image label = data::read_label(path, limits);
  if (width > 0 && height > 0 && (label.width != width || label.height != height))
    throw data::DataError(path + ": label map is " + std::to_string(label.width) + "x" +
                          std::to_string(label.height) + ", expected " + std::to_string(width) + "x" +
                          std::to_string(height));
  if (reduce_zero) reduce_zero_label(label.pixels);
  return label;
}

SegExample load_sample(const SegDataset& dataset, const SegSample& sample) {
  SegExample example;
  example.image = data::read_image(sample.img_path, data::ReadProtocol::mmseg, dataset.limits);
  example.label = load_seg_map(sample.seg_map_path, dataset.reduce_zero_label, example.image.width,
                               example.image.height, dataset.limits);
  return example;
}

}  // namespace locbench::seg
