#include "harness/data/imagefolder.h"

#include "harness/data/generated.h"
#include "harness/data/image.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>
#include <set>

namespace locbench::data {

namespace fs = std::filesystem;

namespace {

bool is_image(const fs::path& p) {
  // timm's default IMG_EXTENSIONS.
  static const std::set<std::string> exts{".jpg", ".jpeg", ".png"};
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return exts.count(ext) > 0;
}

}  // namespace

ImageFolder read_image_folder(const std::string& root) {
  if (!fs::is_directory(root)) throw DataError(root + ": no such dataset directory");
  ImageFolder folder;
  folder.root = root;
  for (const auto& entry : fs::directory_iterator(root))
    if (entry.is_directory()) folder.classes.push_back(entry.path().filename().string());
  std::sort(folder.classes.begin(), folder.classes.end());
  if (folder.classes.empty()) throw DataError(root + ": no class folders (expected root/<class>/<image>)");
  for (size_t label = 0; label < folder.classes.size(); ++label) {
    std::vector<std::string> files;
    for (const auto& entry : fs::directory_iterator(fs::path(root) / folder.classes[label]))
      if (entry.is_regular_file() && is_image(entry.path())) files.push_back(entry.path().string());
    std::sort(files.begin(), files.end());
    for (auto& f : files) folder.samples.push_back({std::move(f), static_cast<int64_t>(label)});
  }
  if (folder.samples.empty()) throw DataError(root + ": no images in the class folders");
  return folder;
}

void write_synthetic_image_folder(const std::string& root, const SynthOptions& o) {
  if (o.classes < 2 || o.per_class < 1 || o.size < 8)
    throw DataError(root + ": synthetic data needs at least 2 classes, 1 image per class and size 8");
  if (o.format != "jpg" && o.format != "png") throw DataError(root + ": format must be jpg or png");
  const nlohmann::json recipe{{"generator", "imagefolder textures"}, {"classes", o.classes}, {"per_class", o.per_class},
                               {"size", o.size}, {"seed", o.seed}, {"format", o.format}};
  generate_dataset(root, recipe, [&](const std::string& folder) {
    std::mt19937_64 rng(o.seed);
    std::uniform_real_distribution<double> uni(0.0, 1.0);
    std::normal_distribution<double> noise(0.0, 12.0);
    for (int c = 0; c < o.classes; ++c) {
      const fs::path dir = fs::path(folder) / ("class_" + std::to_string(c / 10) + std::to_string(c % 10));
      fs::create_directories(dir);
      // Each class is a stripe orientation x frequency pair.
      const double angle = M_PI * (c % 4) / 4.0;
      const double period = 4.0 + 3.0 * (c / 4);
      for (int i = 0; i < o.per_class; ++i) {
        Image img{o.size, o.size, 3, std::vector<uint8_t>(static_cast<size_t>(o.size) * o.size * 3)};
        double fg[3], bg[3];
        for (int k = 0; k < 3; ++k) {
          fg[k] = 255 * uni(rng);
          bg[k] = 255 * uni(rng);
        }
        const double phase = 2 * M_PI * uni(rng);
        const double jitter = 0.15 * (uni(rng) - 0.5);
        const double ca = std::cos(angle + jitter), sa = std::sin(angle + jitter);
        for (int y = 0; y < o.size; ++y)
          for (int x = 0; x < o.size; ++x) {
            const double t = 0.5 + 0.5 * std::sin(2 * M_PI * (x * ca + y * sa) / period + phase);
            for (int k = 0; k < 3; ++k) {
              const double v = t * fg[k] + (1 - t) * bg[k] + noise(rng);
              img.pixels[(static_cast<size_t>(y) * o.size + x) * 3 + k] =
                  static_cast<uint8_t>(std::clamp(v, 0.0, 255.0));
            }
          }
        const std::string name = "img_" + std::to_string(1000 + i).substr(1) + "." + o.format;
        if (o.format == "jpg") write_jpeg((dir / name).string(), img, 92);
        else write_png((dir / name).string(), img);
      }
    }
  });
}

}  // namespace locbench::data
