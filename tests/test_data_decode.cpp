// Decoded pixels against the references (tests/fixtures/make_image_fixtures.py: PIL for the timm protocol, cv2 for
// the mmseg protocol, mmcv's pillow 'unchanged' for label maps), against Debian's OpenCV 4.6 cv::imdecode, and the
// hostile-file behaviour: errors that name the file, checked before anything is decoded.
#include <gtest/gtest.h>
#include <unistd.h>

#include <opencv2/imgcodecs.hpp>

#include <cstring>
#include <filesystem>

#include "harness/common/files.h"
#include "harness/data/image.h"
#include "tests/image_test_helpers.h"

namespace fs = std::filesystem;
using namespace locbench;
using namespace locbench::testing;

namespace {

const nlohmann::json& references() {
  static const nlohmann::json refs = read_json(fixture("images/references.json"));
  return refs;
}

std::string image_path(const std::string& name) { return fixture("images/" + name); }

std::vector<int64_t> shape_of(const data::Image& img) {
  if (img.channels == 1) return {img.height, img.width};
  return {img.height, img.width, img.channels};
}

// An error whose message starts with the file's path.
template <typename F>
std::string error_of(const std::string& path, F&& read) {
  try {
    read();
  } catch (const std::exception& e) {
    const std::string what = e.what();
    // Unusable files are DataErrors (bad input); failed writes are WriteErrors (a run failure).
    EXPECT_TRUE(dynamic_cast<const data::DataError*>(&e) || dynamic_cast<const WriteError*>(&e)) << what;
    EXPECT_EQ(what.rfind(path + ": ", 0), 0u) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    return what;
  }
  ADD_FAILURE() << path << ": read without an error";
  return {};
}

}  // namespace

TEST(Decode, FixturesCoverTheFormatsTheReferencesRead) {
  const auto& files = references()["files"];
  ASSERT_GE(files.size(), 30u);
  for (const char* name : {"jpeg_444.jpg", "jpeg_422.jpg", "jpeg_420.jpg", "jpeg_progressive.jpg", "jpeg_gray.jpg",
                           "jpeg_cmyk.jpg", "jpeg_exif_orientation_6.jpg", "png_rgb16.png", "png_gray16.png",
                           "png_palette8.png", "png_gray_alpha8.png", "png_rgb8_interlaced.png"})
    EXPECT_TRUE(files.contains(name)) << name;
}

// Every fixture read with `protocol` equals the reference recorded under `key` (or fails where it failed).
void expect_reference(const std::string& key, data::ReadProtocol protocol, const std::string& reference) {
  int checked = 0;
  for (const auto& [name, rec] : references()["files"].items()) {
    const auto& ref = rec[key];
    const std::string path = image_path(name);
    if (ref.contains("error")) {
      error_of(path, [&] { data::read_image(path, protocol); });
      continue;
    }
    const data::Image img = data::read_image(path, protocol);
    EXPECT_EQ(shape_of(img), ref["shape"].get<std::vector<int64_t>>()) << name;
    EXPECT_EQ(sha256_hex(img), ref["sha256"]) << name << ": pixels differ from " << reference;
    ++checked;
  }
  EXPECT_GE(checked, 30);
}

TEST(Decode, MmsegProtocolEqualsCv2Imdecode) {
  expect_reference("cv2_rgb", data::ReadProtocol::mmseg, "cv2.imdecode(IMREAD_COLOR)");
}

TEST(Decode, TimmProtocolEqualsPilConvertRgb) {
  expect_reference("pil_rgb", data::ReadProtocol::timm, "PIL .convert('RGB')");
}

TEST(Decode, LabelsEqualMmsegLoadAnnotations) {
  int exact = 0, refused = 0;
  for (const auto& [name, rec] : references()["files"].items()) {
    if (!rec.contains("mmseg_label")) continue;
    const auto& ref = rec["mmseg_label"];
    const std::string path = image_path(name);
    const auto shape = ref["shape"].get<std::vector<int64_t>>();
    // mmseg takes colour or alpha maps as multi-channel arrays and wraps 16-bit ids above 255: both are refused.
    if (shape.size() != 2 || ref["raw_max"].get<int>() > 255) {
      const std::string what = error_of(path, [&] { data::read_label(path); });
      if (ref["raw_max"].get<int>() > 255 && shape.size() == 2) EXPECT_NE(what.find("modulo 256"), std::string::npos);
      ++refused;
      continue;
    }
    const data::Image label = data::read_label(path);
    EXPECT_EQ(shape_of(label), shape) << name;
    EXPECT_EQ(sha256_hex(label), ref["sha256"]) << name;
    ++exact;
  }
  EXPECT_GE(exact, 10);
  EXPECT_GE(refused, 5);
}

// Debian's libopencv-imgcodecs 4.6 over Debian's libjpeg62-turbo and libpng16: the library mmcv's cv2 backend would
// use if it were linked against the system's codecs.
TEST(Decode, MmsegProtocolEqualsDebianOpenCvImdecode) {
  int checked = 0;
  for (const auto& [name, rec] : references()["files"].items()) {
    const std::string path = image_path(name);
    const std::string bytes = read_bytes(path);
    const cv::Mat buf(1, static_cast<int>(bytes.size()), CV_8U, const_cast<char*>(bytes.data()));
    cv::Mat bgr = cv::imdecode(buf, cv::IMREAD_COLOR);
    if (bgr.empty()) continue;
    cv::Mat rgb(bgr.rows, bgr.cols, CV_8UC3);
    for (int y = 0; y < bgr.rows; ++y)
      for (int x = 0; x < bgr.cols; ++x) {
        const auto p = bgr.at<cv::Vec3b>(y, x);
        rgb.at<cv::Vec3b>(y, x) = {p[2], p[1], p[0]};
      }
    const data::Image img = data::read_image(path, data::ReadProtocol::mmseg);
    ASSERT_EQ(img.height, rgb.rows) << name;
    ASSERT_EQ(img.width, rgb.cols) << name;
    EXPECT_EQ(std::memcmp(img.pixels.data(), rgb.data, img.pixels.size()), 0) << name;
    ++checked;
  }
  EXPECT_GE(checked, 30);
}

TEST(Decode, HeaderIsReadWithoutDecoding) {
  const data::ImageHeader jpeg = data::read_header(image_path("jpeg_420.jpg"));
  EXPECT_EQ(jpeg.format, "jpeg");
  EXPECT_EQ(jpeg.width, 61);
  EXPECT_EQ(jpeg.height, 45);
  EXPECT_EQ(jpeg.channels, 3);
  const data::ImageHeader png = data::read_header(image_path("png_palette4_trns.png"));
  EXPECT_EQ(png.format, "png");
  EXPECT_TRUE(png.palette);
  EXPECT_EQ(png.bit_depth, 4);
}

// ------------------------------------------------------------------------------------------------ hostile files
namespace {

// A real JPEG with its SOF dimensions rewritten.
std::string jpeg_claiming(uint16_t width, uint16_t height) {
  std::string bytes = read_bytes(image_path("jpeg_420.jpg"));
  for (size_t i = 2; i + 9 < bytes.size(); ++i) {
    if (static_cast<unsigned char>(bytes[i]) == 0xFF && static_cast<unsigned char>(bytes[i + 1]) == 0xC0) {
      bytes[i + 5] = static_cast<char>(height >> 8), bytes[i + 6] = static_cast<char>(height & 255);
      bytes[i + 7] = static_cast<char>(width >> 8), bytes[i + 8] = static_cast<char>(width & 255);
      return bytes;
    }
  }
  throw std::runtime_error("no SOF0 marker");
}

}  // namespace

TEST(HostileFiles, DecompressionBombsAreRefusedFromTheHeader) {
  const auto dir = temp_dir("bombs");
  const std::string png = (dir / "bomb.png").string(), jpg = (dir / "bomb.jpg").string();
  write_bytes(png, png_claiming(50000, 50000, '\x02'));
  write_bytes(jpg, jpeg_claiming(65000, 65000));
  for (const auto& path : {png, jpg}) {
    for (auto protocol : {data::ReadProtocol::mmseg, data::ReadProtocol::timm}) {
      const std::string what = error_of(path, [&] { data::read_image(path, protocol); });
      EXPECT_EQ(what.find(path + ": image is "), 0u) << what;
      EXPECT_NE(what.find("above the limit of 89478485 (max_pixels)"), std::string::npos) << what;
    }
  }
  EXPECT_NE(error_of(png, [&] { data::read_label(png); }).find("above the limit"), std::string::npos);
  EXPECT_EQ(data::read_header(png).width, 50000);  // the header itself reads fine
}

TEST(HostileFiles, ThePixelLimitIsConfigurable) {
  const std::string path = image_path("jpeg_420.jpg");  // 61 x 45 = 2745 pixels
  data::DecodeLimits limits;
  limits.max_pixels = 2744;
  EXPECT_NE(error_of(path, [&] { data::read_image(path, data::ReadProtocol::mmseg, limits); }).find("2744"),
            std::string::npos);
  limits.max_pixels = 2745;
  EXPECT_EQ(data::read_image(path, data::ReadProtocol::mmseg, limits).width, 61);
  limits.max_pixels = 0;
  error_of(path, [&] { data::read_image(path, data::ReadProtocol::timm, limits); });
}

TEST(HostileFiles, TruncatedAndMalformedFilesAreErrorsNamingTheFile) {
  const auto dir = temp_dir("malformed");
  auto write = [&](const std::string& name, const std::string& bytes) {
    const std::string path = (dir / name).string();
    write_bytes(path, bytes);
    return path;
  };
  const std::string jpeg = read_bytes(image_path("jpeg_420.jpg"));
  const std::string png = read_bytes(image_path("png_rgb8.png"));
  const std::string progressive = read_bytes(image_path("jpeg_progressive.jpg"));
  struct Case {
    std::string path, expect;
  };
  const std::vector<Case> cases{
      {write("half.jpg", jpeg.substr(0, jpeg.size() / 2)), "truncated"},
      {write("half_progressive.jpg", progressive.substr(0, progressive.size() / 2)), "truncated"},
      {write("header_only.jpg", jpeg.substr(0, 200)), "cannot decode JPEG"},
      {write("soi_only.jpg", std::string("\xFF\xD8\xFF\xE0 truncated", 15)), "cannot decode JPEG"},
      {write("half.png", png.substr(0, png.size() / 2)), "cannot decode PNG"},
      {write("bad_crc.png", png.substr(0, 29) + "XXXX" + png.substr(33)), "cannot decode PNG"},
      {write("signature_only.png", png.substr(0, 8)), "cannot decode PNG"},
      {write("empty.jpg", ""), "an empty file"},
      {write("image.gif", "GIF89a\x01\x00\x01\x00"), "GIF"},
      {write("text.png", "not an image at all"), "not a JPEG or PNG"},
      {(dir / "missing.png").string(), "No such file"},
  };
  for (const auto& c : cases) {
    for (auto protocol : {data::ReadProtocol::mmseg, data::ReadProtocol::timm}) {
      const std::string what = error_of(c.path, [&] { data::read_image(c.path, protocol); });
      EXPECT_NE(what.find(c.expect), std::string::npos) << what;
    }
    error_of(c.path, [&] { data::read_label(c.path); });
  }
}

TEST(HostileFiles, ProgressiveScanCountIsBounded) {
  const std::string path = image_path("jpeg_progressive.jpg");
  data::DecodeLimits limits;
  limits.max_jpeg_scans = 2;
  EXPECT_NE(error_of(path, [&] { data::read_image(path, data::ReadProtocol::timm, limits); })
                .find("more than 2 scans (max_jpeg_scans)"),
            std::string::npos);
  EXPECT_EQ(data::read_image(path, data::ReadProtocol::timm).width, 61);
}

TEST(HostileFiles, LabelMapsMustBeSingleChannelPng) {
  EXPECT_NE(error_of(image_path("label_rgb.png"), [] { data::read_label(image_path("label_rgb.png")); })
                .find("expected one channel"),
            std::string::npos);
  EXPECT_NE(error_of(image_path("jpeg_gray.jpg"), [] { data::read_label(image_path("jpeg_gray.jpg")); })
                .find("must be PNG"),
            std::string::npos);
}

TEST(ImageWrite, PngRoundTripsAndJpegDecodesBack) {
  const auto dir = temp_dir("write");
  const data::Image rgb = pattern_image(19, 23, 5);
  const std::string png = (dir / "a.png").string(), jpg = (dir / "a.jpg").string();
  data::write_png(png, rgb);
  EXPECT_EQ(data::read_image(png, data::ReadProtocol::timm).pixels, rgb.pixels);
  const data::Image gray = pattern_image(7, 9, 1, 1);
  data::write_png(png, gray);
  EXPECT_EQ(data::read_label(png).pixels, gray.pixels);
  data::write_jpeg(jpg, rgb, 95);
  const data::Image back = data::read_image(jpg, data::ReadProtocol::mmseg);
  ASSERT_EQ(back.pixels.size(), rgb.pixels.size());
  double err = 0;
  for (size_t i = 0; i < rgb.pixels.size(); ++i) err += std::abs(back.pixels[i] - rgb.pixels[i]);
  EXPECT_LT(err / rgb.pixels.size(), 30.0);
}

TEST(ImageWrite, FailuresLeaveNoFile) {
  const auto dir = temp_dir("write_fail");
  const std::string missing_dir = (dir / "no" / "such" / "a.png").string();
  error_of(missing_dir, [&] { data::write_png(missing_dir, pattern_image(4, 4, 0)); });
  const std::string bad = (dir / "bad.png").string();
  error_of(bad, [&] { data::write_png(bad, data::Image{4, 4, 3, std::vector<uint8_t>(10)}); });
  const std::string cmyk = (dir / "four.jpg").string();
  error_of(cmyk, [&] { data::write_jpeg(cmyk, pattern_image(4, 4, 0, 4)); });
  EXPECT_TRUE(fs::is_empty(dir)) << "a failed write left a file behind";
}
