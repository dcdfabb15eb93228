// Segmentation dataset readers in mmseg's layouts (mmseg/datasets/{ade,pascal_context,coco_stuff}.py and
// configs/_base_/datasets/*.py): listing, pairing images with label maps by file stem, loading with
// reduce_zero_label. Torch-free; errors are data::DataError naming the dataset or the file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "harness/data/image.h"

namespace locbench::seg {

struct SegSample {
  std::string stem;
  std::string img_path;
  std::string seg_map_path;
};

struct SegDataset {
  std::string name;         // "ADE20K", "PASCAL-Context-59", "COCO-Stuff-164k", ...
  std::string root;
  std::string split;        // the folder / list name used, e.g. "validation", "val", "val2017"
  int64_t num_classes = 0;
  bool reduce_zero_label = false;
  std::vector<SegSample> samples;  // sorted by stem
  data::DecodeLimits limits;       // applied to every image and label map read
};

// ADEChallengeData2016: images/<split>/*.jpg with annotations/<split>/<stem>.png; split "training" or
// "validation"; 150 classes, reduce_zero_label. A missing root names the variable ADE20K_ROOT.
SegDataset ade20k(const std::string& root, const std::string& split = "validation");

// VOCdevkit/VOC2010: ImageSets/SegmentationContext/<split>.txt lists stems of JPEGImages/<stem>.jpg and
// SegmentationClassContext/<stem>.png; split "train" or "val"; 59 classes, reduce_zero_label.
SegDataset pascal_context_59(const std::string& root, const std::string& split = "val");

// PASCAL-Context with background (mmseg PascalContextDataset): the same files, 60 classes, label 0 = background
// kept (no reduce_zero_label), as SegViT's released PASCAL-Context config trains.
SegDataset pascal_context_60(const std::string& root, const std::string& split = "val");

// COCO-Stuff-10k: images/<split>/*.jpg with annotations/<split>/<stem>_labelTrainIds.png; split "train2014" or
// "test2014"; 171 classes, reduce_zero_label (mmseg's coco-stuff10k config).
SegDataset coco_stuff10k(const std::string& root, const std::string& split = "test2014");

// COCO-Stuff-164k: images/<split>/*.jpg with annotations/<split>/<stem>_labelTrainIds.png; split "train2017" or
// "val2017"; 171 classes, labels already train ids (no reduce).
SegDataset coco_stuff164k(const std::string& root, const std::string& split = "val2017");

// One decoded sample: RGB image (read as mmcv.imread(flag='color') with the cv2 backend: ReadProtocol::mmseg) and
// its label map in train ids (read as LoadAnnotations, reduce_zero_label applied when the dataset asks for it).
// A corrupt, truncated or oversized file or an image/label size mismatch throws DataError naming the file.
struct SegExample {
  data::Image image;  // 3 channels
  data::Image label;  // 1 channel, train ids 0..K-1, 255 = ignore
};
SegExample load_sample(const SegDataset& dataset, const SegSample& sample);

// A label PNG read (data::read_label) and converted to train ids; checked to be width x height when those are
// positive.
data::Image load_seg_map(const std::string& path, bool reduce_zero_label, int width = 0, int height = 0,
                         const data::DecodeLimits& limits = {});

}  // namespace locbench::seg
