// The safetensors reader: every header offset is checked against the file size; defects are clear errors.
#include "harness/checkpoint/safetensors.h"
#include "tests/test_helpers.h"

#include <gtest/gtest.h>

#include <cstring>

using namespace locbench;
using namespace locbench::testing;

namespace {

std::string floats(std::initializer_list<float> values) {
  std::string out(values.size() * 4, '\0');
  size_t i = 0;
  for (float v : values) std::memcpy(&out[4 * i++], &v, 4);
  return out;
}

void expect_error(const std::string& bytes, const std::string& fragment) {
  auto dir = temp_dir("st_bad");
  auto path = dir / "bad.safetensors";
  write_bytes(path, bytes);
  try {
    safetensors::File file(path.string());
    FAIL() << "no error for a file that should be rejected (" << fragment << ")";
  } catch (const safetensors::FormatError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find(fragment), std::string::npos) << msg;
  }
}

}  // namespace

TEST(Safetensors, ReadsTensorsAndMetadata) {
  auto dir = temp_dir("st_good");
  auto path = dir / "good.safetensors";
  write_bytes(path, safetensors_bytes(
                        R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                        R"("b":{"dtype":"F16","shape":[1,1],"data_offsets":[8,10]}})",
                        floats({1.5f, -2.0f}) + std::string("\x00\x3c", 2)));
  safetensors::File file(path.string());
  ASSERT_EQ(file.tensors().size(), 2u);
  EXPECT_EQ(file.metadata().at("format"), "pt");
  const auto& a = file.at("a");
  EXPECT_EQ(a.dtype, safetensors::Dtype::F32);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2}));
  float v[2];
  std::memcpy(v, a.data, 8);
  EXPECT_EQ(v[0], 1.5f);
  EXPECT_EQ(v[1], -2.0f);
  EXPECT_EQ(file.at("b").nbytes, 2u);
}

TEST(Safetensors, WriteThenReadRoundTrips) {
  auto dir = temp_dir("st_rt");
  auto path = (dir / "rt.safetensors").string();
  safetensors::TensorBytes t{safetensors::Dtype::F32, {2, 1}, {}};
  auto bytes = floats({3.0f, 4.0f});
  t.bytes.assign(bytes.begin(), bytes.end());
  safetensors::write(path, {{"x", t}}, {{"producer", "test"}});
  safetensors::File file(path);
  EXPECT_EQ(file.at("x").shape, (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(file.metadata().at("producer"), "test");
  EXPECT_EQ(std::memcmp(file.at("x").data, bytes.data(), 8), 0);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp." + std::to_string(::getpid())));
}

TEST(Safetensors, RejectsFileShorterThanLengthField) { expect_error("abc", "truncated"); }

TEST(Safetensors, RejectsHeaderLengthPastEndOfFile) {
  std::string bytes = safetensors_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", floats({1}));
  bytes[0] = static_cast<char>(0xff);  // header length now far larger than the file
  bytes[1] = static_cast<char>(0x7f);
  expect_error(bytes, "header length");
}

TEST(Safetensors, RejectsTruncatedData) {
  std::string bytes = safetensors_bytes(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})",
                                        floats({1, 2, 3, 4}));
  expect_error(bytes.substr(0, bytes.size() - 5), "truncated");
}

TEST(Safetensors, RejectsMalformedJson) {
  expect_error(safetensors_bytes(R"({"a":{"dtype":"F32",)", ""), "malformed header");
  expect_error(safetensors_bytes(R"([1,2,3])", ""), "not a JSON object");
}

TEST(Safetensors, RejectsInconsistentEntries) {
  expect_error(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", floats({1, 2})),
               "needs 12");
  expect_error(safetensors_bytes(R"({"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,4]}})", floats({1})),
               "unsupported dtype");
  expect_error(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", floats({1})),
               "negative");
  expect_error(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", floats({1})),
               "begin > end");
  expect_error(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[1]}})", floats({1})), "data_offsets");
  expect_error(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                 R"("b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                                 floats({1})),
               "overlap");
  expect_error(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,4]}})",
                                 floats({1})),
               "shape");
}

TEST(Safetensors, MissingFileNamesThePath) {
  try {
    safetensors::File file("/nonexistent/x.safetensors");
    FAIL();
  } catch (const safetensors::FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/x.safetensors"), std::string::npos);
  }
}

TEST(Safetensors, DuplicateTensorNamesAreRefusedNamingTheKey) {
  // nlohmann keeps the last of two equal keys: the first tensor would vanish without a word.
  expect_error(safetensors_bytes(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                 R"("w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                 floats({1, 2})),
               "malformed header: duplicate key 'w' in the top-level object");
}

TEST(Safetensors, ShapesPastInt64AreRefusedNamingTheTensor) {
  expect_error(safetensors_bytes(R"({"big":{"dtype":"U8","shape":[9223372036854775808],"data_offsets":[0,1]}})", "x"),
               "tensor 'big': shape [9223372036854775808] exceeds 2^63 - 1 elements");
  expect_error(safetensors_bytes(R"({"z":{"dtype":"U8","shape":[0,4294967296,4294967296],"data_offsets":[0,0]}})", ""),
               "tensor 'z': shape [0,4294967296,4294967296] exceeds 2^63 - 1 elements");
  expect_error(safetensors_bytes(R"({"f":{"dtype":"U8","shape":[1.5],"data_offsets":[0,1]}})", "x"),
               "tensor 'f': shape[0] is 1.5, not a non-negative integer");
}

TEST(Safetensors, HostileHeadersAreOneBoundedLine) {
  std::string deep = R"({"a":)";
  for (int i = 0; i < 100000; ++i) deep += "[";
  expect_error(safetensors_bytes(deep, ""), "malformed header: a[0][0]");
  const std::string name(100000, 'n');
  auto dir = temp_dir("st_hostile");
  auto path = dir / "long.safetensors";
  write_bytes(path, safetensors_bytes(R"({")" + name + "\n" + R"(":{"dtype":"Q1","shape":[1],"data_offsets":[0,1]}})", "x"));
  try {
    safetensors::File file(path.string());
    FAIL();
  } catch (const safetensors::FormatError& e) {
    const std::string msg = e.what();
    EXPECT_LT(msg.size(), 400u);
    EXPECT_EQ(msg.find('\n'), std::string::npos);
  }
}
