// Untrusted input and all-or-nothing output (harness/common, harness/data/generated.h, the ordered loader):
// hostile JSON, hostile strings in messages, files that cannot be read, writes that fail under `ulimit -f`,
// threads that cannot start, and two processes generating one dataset.
#include "harness/common/files.h"
#include "harness/common/json_input.h"
#include "harness/common/text.h"
#include "harness/data/generated.h"
#include "harness/data/image.h"
#include "harness/data/ordered_loader.h"
#include "tests/test_helpers.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <functional>

using namespace locbench;
using namespace locbench::testing;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string json_error(const std::string& text, JsonLimits limits = {}) {
  try {
    parse_untrusted_json(text, "in.json", limits);
  } catch (const JsonInputError& e) {
    return e.what();
  }
  return "";
}

// Runs `body` in a child process and returns its exit code (-signal when a signal ended it).
int in_child(const std::function<int()>& body) {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    int code = 99;
    try {
      code = body();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child: %s\n", e.what());
    }
    ::_exit(code);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

// Writes beyond `bytes` fail with EFBIG (SIGXFSZ ignored, as bench ignores it), as under `ulimit -f`.
void limit_file_size(rlim_t bytes) {
  ::signal(SIGXFSZ, SIG_IGN);
  rlimit limit{bytes, bytes};
  ::setrlimit(RLIMIT_FSIZE, &limit);
}

size_t entries(const fs::path& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

}  // namespace

TEST(UntrustedJson, DeepNestingIsRefusedWithoutRecursion) {
  for (const std::string& open : {std::string("["), std::string("{\"a\":")}) {
    std::string text;
    for (int i = 0; i < 200000; ++i) text += open;
    const std::string msg = json_error(text);
    EXPECT_NE(msg.find("nested deeper than 64 levels"), std::string::npos) << msg.substr(0, 300);
    EXPECT_EQ(msg.rfind("in.json: ", 0), 0u);
    EXPECT_LT(msg.size(), 600u) << "the message names where, not the whole path";
  }
  std::string ok = std::string(64, '[') + std::string(64, ']');
  EXPECT_EQ(json_error(ok), "");
  EXPECT_NE(json_error(std::string(65, '[') + std::string(65, ']')), "");
  EXPECT_NE(json_error("[[[1]]]", {2}), "");
}

TEST(UntrustedJson, DuplicateKeysAreRefusedNamingTheKeyAndObject) {
  EXPECT_EQ(json_error(R"({"models": [{"name": "a"}, {"name": "b", "name": "c"}]})"),
            "in.json: models[1]: duplicate key 'name' (a key may appear once in an object)");
  EXPECT_EQ(json_error(R"({"w": 1, "w": 2})"),
            "in.json: duplicate key 'w' in the top-level object (a key may appear once in an object)");
  EXPECT_EQ(json_error(R"({"a": {"w": 1}, "b": {"w": 2}})"), "") << "the same key in two objects is fine";
}

TEST(UntrustedJson, NumberOverflowAndSyntaxErrorsNameTheField) {
  const std::string overflow = json_error(R"({"settings": {"repeats": 1e400}})");
  EXPECT_EQ(overflow.rfind("in.json: settings.repeats: number overflow parsing '1e400'", 0), 0u) << overflow;
  const std::string syntax = json_error("{\"models\": [\"a\",\n  ]}");
  EXPECT_EQ(syntax.rfind("in.json: models[1]: invalid JSON: parse error at line 2, column 3: syntax error", 0), 0u)
      << syntax;
  const std::string cut = json_error(R"({"name": "x", )");
  EXPECT_EQ(cut.rfind("in.json: invalid JSON: parse error at line 1, column 15", 0), 0u) << cut;
  // A huge bad token is quoted, not copied whole.
  const std::string huge = json_error("{\"a\": \"" + std::string(1 << 20, 'x') + "\x01\"}");
  EXPECT_LT(huge.size(), 400u);
  EXPECT_EQ(huge.find('\n'), std::string::npos);
  EXPECT_EQ(parse_untrusted_json(R"({"n": 18446744073709551615, "m": -9223372036854775808})", "x")["n"].get<uint64_t>(),
            UINT64_MAX);
}

TEST(UntrustedJson, ExcerptsAreShortOneLineAndNeverTheWholeValue) {
  json big = json::array();
  for (int i = 0; i < 100000; ++i) big.push_back({{"k", std::string(100, 'v')}});
  const std::string e = json_excerpt(big, 60);
  EXPECT_LE(e.size(), 64u) << e;
  EXPECT_EQ(e.substr(0, 7), "[{\"k\":\"");
  EXPECT_EQ(json_excerpt(json("line\nbreak")), "\"line\\nbreak\"");
  EXPECT_EQ(json_excerpt(json(42)), "42");
}

TEST(Text, OneLineEscapesControlsAndBadUtf8AndCutsLongText) {
  EXPECT_EQ(one_line("a\nb\rc\td"), "a\\nb\\rc\\td");
  EXPECT_EQ(one_line("\x1b[31mred"), "\\x1b[31mred");
  EXPECT_EQ(one_line("\xC2\x9B" "2J"), "\\u009b2J") << "C1 control (CSI)";
  EXPECT_EQ(one_line("ok \xFF\xC3"), "ok \\xff\\xc3");
  EXPECT_EQ(one_line("caf\xC3\xA9"), "caf\xC3\xA9");
  EXPECT_EQ(one_line(std::string(1000, 'x'), 10), "xxxxxxxxxx...");
  EXPECT_EQ(valid_utf8("a\xFF" "b\xED\xA0\x80"), "a\xEF\xBF\xBD" "b\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(utf8_sequence_length("\xF4\x90\x80\x80", 0), 0u) << "above U+10FFFF";
  EXPECT_EQ(utf8_sequence_length("\xE0\x80\x80", 0), 0u) << "overlong";
  EXPECT_EQ(utf8_sequence_length("\xF0\x9F\x98\x80", 0), 4u);
}

TEST(InputFiles, UnreadableInputsAreOneLineNamingTheFile) {
  auto dir = temp_dir("input_files");
  auto message = [](const std::string& path, size_t max = 1 << 20) {
    try {
      read_input_file(path, "suite file", max);
    } catch (const InputFileError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(message(dir.string()), dir.string() + ": is a directory, expected a suite file");
  EXPECT_EQ(message((dir / "none.json").string()), (dir / "none.json").string() + ": no such suite file");
  const std::string long_name = (dir / std::string(NAME_MAX + 1, 'n')).string();
  EXPECT_NE(message(long_name).find("the path or one of its names is too long"), std::string::npos)
      << message(long_name);
  write_bytes(dir / "big.json", std::string(3 << 20, ' '));
  EXPECT_NE(message((dir / "big.json").string()).find("larger than the 1 MiB a suite file may have"), std::string::npos);
  EXPECT_NE(message("/dev/null").find("not a regular file"), std::string::npos);
  write_bytes(dir / "ok.json", "{}");
  EXPECT_EQ(read_input_file((dir / "ok.json").string(), "suite file", 16), "{}");
}

TEST(AtomicFile, AFailedWriteLeavesNothingUnderUlimitF) {
  auto dir = temp_dir("atomic_ulimit");
  const auto target = (dir / "out.bin").string();
  const int code = in_child([&] {
    limit_file_size(64 << 10);
    try {
      write_file_atomic(target, std::string(1 << 20, 'x'));
    } catch (const WriteError& e) {
      const std::string msg = e.what();
      return msg == target + ": cannot write: File too large" ? 0 : 2;
    }
    return 1;
  });
  EXPECT_EQ(code, 0);
  EXPECT_EQ(entries(dir), 0u) << "neither the file nor its temporary remains";
  write_file_atomic(target, "complete");
  EXPECT_EQ(read_bytes(target), "complete");
  EXPECT_EQ(entries(dir), 1u);
  EXPECT_THROW(write_file_atomic((dir / "missing" / "x").string(), "x"), WriteError);
  {
    AtomicFile abandoned((dir / "abandoned").string());
    abandoned.write("partial");
  }
  EXPECT_FALSE(fs::exists(dir / "abandoned"));
  EXPECT_EQ(entries(dir), 1u);
}

TEST(OrderedLoader, ThreadsThatCannotStartAreJoinedNotTerminated) {
  // 100000 workers in 256 MiB of address space: stacks run out after a few dozen threads.
  const int code = in_child([] {
    rlimit limit{256u << 20, 256u << 20};
    ::setrlimit(RLIMIT_AS, &limit);
    std::vector<data::Sample> samples(200000);
    try {
      data::OrderedLoader<int> loader(samples, 100000, [](const data::Sample&) { return 1; });
      return 3;  // the limit did not bite: the test proves nothing
    } catch (const std::system_error&) {
      return 0;
    }
  });
  EXPECT_EQ(code, 0) << "a negative code is the signal that ended it (std::terminate aborts)";
}

TEST(OrderedLoader, GivesSamplesInOrderAndRethrowsAWorkersError) {
  std::vector<data::Sample> samples;
  for (int i = 0; i < 1000; ++i) samples.push_back({"s" + std::to_string(i), i});
  data::OrderedLoader<int64_t> loader(samples, 8, [](const data::Sample& s) {
    if (s.label == 700) throw data::DataError(s.path + ": cannot decode image");
    return s.label * 2;
  });
  for (size_t i = 0; i < 700; ++i) ASSERT_EQ(loader.get(i), static_cast<int64_t>(2 * i));
  EXPECT_THROW(loader.get(700), data::DataError);
  EXPECT_EQ(data::OrderedLoader<int>(samples, 100000, [](const data::Sample&) { return 0; }).threads(), samples.size())
      << "never more threads than samples";
}

namespace {

const json kRecipe{{"generator", "test"}, {"files", 3}};

void write_three(const std::string& folder) {
  fs::create_directories(fs::path(folder) / "images");
  for (int i = 0; i < 3; ++i)
    write_file_atomic((fs::path(folder) / "images" / ("f" + std::to_string(i))).string(), std::string(1000 + i, 'a'));
}

}  // namespace

TEST(GeneratedDataset, ManifestIsWrittenLastAndCheckedOnReuse) {
  auto dir = temp_dir("generated");
  const auto root = (dir / "ds").string();
  EXPECT_TRUE(data::generate_dataset(root, kRecipe, write_three));
  EXPECT_TRUE(fs::exists(fs::path(root) / data::kDatasetManifest));
  EXPECT_EQ(data::incomplete_dataset(root, kRecipe), "");
  EXPECT_FALSE(data::generate_dataset(root, kRecipe, [](const std::string&) { FAIL() << "regenerated"; }));
  EXPECT_EQ(entries(dir), 1u) << "no temporary folder is left beside the root";
  // Another recipe, a truncated file, no manifest: each refused with what to do.
  const json other{{"generator", "test"}, {"files", 4}};
  try {
    data::generate_dataset(root, other, write_three);
    FAIL();
  } catch (const data::DataError& e) {
    EXPECT_NE(std::string(e.what()).find("exists but is not the dataset to generate: generated with"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("remove it"), std::string::npos);
  }
  write_bytes(fs::path(root) / "images" / "f1", "short");
  EXPECT_NE(data::incomplete_dataset(root, kRecipe).find("images/f1 has 5 bytes, the manifest says 1001"),
            std::string::npos)
      << data::incomplete_dataset(root, kRecipe);
  fs::remove(fs::path(root) / data::kDatasetManifest);
  EXPECT_NE(data::incomplete_dataset(root, kRecipe).find("no locbench-dataset.json"), std::string::npos);
}

TEST(GeneratedDataset, AFailedWriteLeavesNoDatasetUnderUlimitF) {
  auto dir = temp_dir("generated_ulimit");
  const auto root = (dir / "ds").string();
  const int code = in_child([&] {
    limit_file_size(1500);  // the second file cannot be written whole
    try {
      data::generate_dataset(root, kRecipe, [](const std::string& folder) {
        write_three(folder);
        write_file_atomic((fs::path(folder) / "big").string(), std::string(4000, 'b'));
      });
    } catch (const WriteError& e) {
      return std::string(e.what()).find("File too large") != std::string::npos ? 0 : 2;
    }
    return 1;
  });
  EXPECT_EQ(code, 0);
  EXPECT_EQ(entries(dir), 0u) << "neither the root nor a partial folder";
}

TEST(GeneratedDataset, TwoProcessesGeneratingOneRootBothEndWithTheWinnersData) {
  for (int trial = 0; trial < 5; ++trial) {
    auto dir = temp_dir("generated_race");
    const auto root = (dir / "ds").string();
    std::vector<pid_t> children;
    for (int k = 0; k < 2; ++k) {
      const pid_t pid = ::fork();
      if (pid == 0) {
        int code = 1;
        try {
          data::generate_dataset(root, kRecipe, write_three);
          code = data::incomplete_dataset(root, kRecipe).empty() ? 0 : 2;
        } catch (const std::exception& e) {
          std::fprintf(stderr, "child: %s\n", e.what());
        }
        ::_exit(code);
      }
      children.push_back(pid);
    }
    for (pid_t pid : children) {
      int status = 0;
      ::waitpid(pid, &status, 0);
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "trial " << trial;
    }
    EXPECT_EQ(data::incomplete_dataset(root, kRecipe), "");
    EXPECT_EQ(entries(dir), 1u) << "the loser's folder is removed";
  }
}

TEST(ImageReaders, PnmIsRefusedByName) {
  // 19 bytes on which Debian's stb_image 2.27 read past its buffer (found by tests/fuzz/fuzz_image); PNM is not a
  // format the references' datasets use, and the readers refuse it from its first bytes.
  auto dir = temp_dir("pnm16");
  const auto path = (dir / "a.pgm").string();
  write_bytes(path, read_bytes(fs::path(source_dir()) / "tests/fuzz/corpus/fuzz_image/pgm16_overread.pgm"));
  for (auto protocol : {data::ReadProtocol::mmseg, data::ReadProtocol::timm}) {
    try {
      data::read_image(path, protocol);
      FAIL() << "decoded";
    } catch (const data::DataError& e) {
      EXPECT_EQ(std::string(e.what()), path + ": cannot read a file that is not a JPEG or PNG (JPEG and PNG are read)");
    }
  }
  EXPECT_THROW(data::read_label(path), data::DataError);
}
