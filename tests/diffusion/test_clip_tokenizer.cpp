// CLIP's tokenizer against transformers' CLIPTokenizer
// (tests/golden/make_tokenizer_golden.py): every prompt's ids, unpadded and
// padded to 77, for data/clip as Stable Diffusion 1.5 ships it, and for
// tokenizer configs that change the special tokens.
#include <gtest/gtest.h>

#include <unistd.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/common/error.h"
#include "core/diffusion/clip_tokenizer.h"

namespace gml::diffusion {
namespace {

const std::string kClipDir = std::string(GML_DATA_DIR) + "/clip";

const nlohmann::json& tokenizer_golden() {
  static const nlohmann::json j = [] {
    std::ifstream in(std::string(GML_GOLDEN_DIR) + "/diffusion/clip_tokenizer.json");
    return nlohmann::json::parse(in);
  }();
  return j;
}

const ClipTokenizer& sd15() {
  static const ClipTokenizer t = ClipTokenizer::from_directory(kClipDir);
  return t;
}

std::string ids_text(const std::vector<int64_t>& ids) {
  std::string s;
  for (int64_t id : ids) s += (s.empty() ? "" : " ") + std::to_string(id);
  return s;
}

// A scratch tokenizer directory, removed with the object. Plain POSIX
// calls: libtorch carries its own std::filesystem symbols, which crash
// remove_all in this binary.
struct ScratchDir {
  std::string path;
  std::vector<std::string> files;
  explicit ScratchDir(const std::string& name) {
    std::string templ = "/tmp/gml_clip_tokenizer_" + name + ".XXXXXX";
    if (!::mkdtemp(templ.data())) throw std::runtime_error("mkdtemp " + templ);
    path = templ;
  }
  ~ScratchDir() {
    for (const auto& f : files) std::remove((path + "/" + f).c_str());
    ::rmdir(path.c_str());
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  void write(const std::string& name, const std::string& text) {
    std::ofstream(path + "/" + name, std::ios::binary) << text;
    files.push_back(name);
  }
  void copy_vocab() {
    for (const char* f : {"vocab.json", "merges.txt"}) {
      std::ifstream in(kClipDir + "/" + f, std::ios::binary);
      std::ostringstream text;
      text << in.rdbuf();
      write(f, text.str());
    }
  }
};

// The status of the gml::Error `f` throws, its message in `message`.
template <typename F>
Status status_of(F&& f, std::string* message = nullptr) {
  try {
    f();
  } catch (const Error& e) {
    if (message) *message = e.what();
    return e.status();
  }
  return Status::Ok;
}

TEST(ClipTokenizer, EveryGoldenPromptTokenForToken) {
  const ClipTokenizer& t = sd15();
  EXPECT_EQ(t.vocab_size(), tokenizer_golden().at("vocab_size").get<int64_t>());
  EXPECT_EQ(t.bos_id(), tokenizer_golden().at("bos_id").get<int64_t>());
  EXPECT_EQ(t.eos_id(), tokenizer_golden().at("eos_id").get<int64_t>());
  EXPECT_EQ(t.pad_id(), tokenizer_golden().at("pad_id").get<int64_t>());
  EXPECT_EQ(t.model_max_length(), 77);
  const auto& cases = tokenizer_golden().at("cases");
  ASSERT_GE(cases.size(), 1000u);
  size_t mismatches = 0;
  for (const auto& c : cases) {
    const std::string text = c.at("text");
    const auto want = c.at("ids").get<std::vector<int64_t>>();
    const auto want_padded = c.at("padded").get<std::vector<int64_t>>();
    const auto got = t.encode(text);
    const auto got_padded = t.encode_padded(text);
    if (got == want && got_padded == want_padded) continue;
    // The first few in full; a systematic error would otherwise flood the log.
    if (++mismatches <= 3)
      ADD_FAILURE() << "prompt " << nlohmann::json(text).dump() << "\n  want " << ids_text(want)
                    << "\n  got  " << ids_text(got) << "\n  want padded " << ids_text(want_padded)
                    << "\n  got padded  " << ids_text(got_padded);
  }
  EXPECT_EQ(mismatches, 0u) << "of " << cases.size() << " prompts";
}

TEST(ClipTokenizer, SpecialTokenDeclarationsOfTokenizerConfigs) {
  for (const auto& v : tokenizer_golden().at("configs")) {
    const std::string name = v.at("name");
    SCOPED_TRACE(name);
    ScratchDir dir(name);
    dir.copy_vocab();
    if (!v.at("tokenizer_config").is_null())
      dir.write("tokenizer_config.json", v.at("tokenizer_config").dump());
    if (!v.at("special_tokens_map").is_null())
      dir.write("special_tokens_map.json", v.at("special_tokens_map").dump());
    const ClipTokenizer t = ClipTokenizer::from_directory(dir.path);
    EXPECT_EQ(t.bos_id(), v.at("bos_id").get<int64_t>());
    EXPECT_EQ(t.eos_id(), v.at("eos_id").get<int64_t>());
    EXPECT_EQ(t.pad_id(), v.at("pad_id").get<int64_t>());
    for (const auto& c : v.at("cases")) {
      const std::string text = c.at("text");
      SCOPED_TRACE(nlohmann::json(text).dump());
      EXPECT_EQ(ids_text(t.encode(text)), ids_text(c.at("ids").get<std::vector<int64_t>>()));
      EXPECT_EQ(ids_text(t.encode_padded(text)),
                ids_text(c.at("padded").get<std::vector<int64_t>>()));
    }
  }
}

TEST(ClipTokenizer, PadsWithThePadTokenAndKeepsEosLastWhenTruncating) {
  ScratchDir dir("bang");
  dir.copy_vocab();
  dir.write("tokenizer_config.json", R"({"pad_token": "!", "model_max_length": 77})");
  const ClipTokenizer bang = ClipTokenizer::from_directory(dir.path);
  EXPECT_EQ(bang.pad_id(), 0);
  const auto cat = bang.encode_padded("a cat");
  EXPECT_EQ(ids_text(std::vector<int64_t>(cat.begin(), cat.begin() + 6)),
            "49406 320 2368 49407 0 0");
  EXPECT_EQ(cat.size(), 77u);

  std::string lots;
  for (int i = 0; i < 200; ++i) lots += "galaxy ";
  const auto ids = sd15().encode(lots);
  EXPECT_EQ(ids.size(), 200u);  // encode never truncates
  const auto padded = sd15().encode_padded(lots, 10);
  ASSERT_EQ(padded.size(), 10u);
  EXPECT_EQ(padded.front(), sd15().bos_id());
  EXPECT_EQ(padded.back(), sd15().eos_id());
  EXPECT_EQ(std::vector<int64_t>(padded.begin() + 1, padded.end() - 1),
            std::vector<int64_t>(ids.begin(), ids.begin() + 8));
  EXPECT_EQ(status_of([] { sd15().encode_padded("x", 1); }), Status::InvalidArgument);
}

TEST(ClipTokenizer, RejectsInvalidUtf8NamingTheByte) {
  std::string message;
  for (const std::string& bad : {std::string("ok \xff"), std::string("\xc3"),
                                 std::string("\xed\xa0\x80"),  // a surrogate
                                 std::string("\xc0\xaf"),      // over-long '/'
                                 std::string("\xf4\x90\x80\x80")}) {
    EXPECT_EQ(status_of([&] { sd15().encode(bad); }, &message), Status::InvalidArgument)
        << "case of " << bad.size() << " bytes ending in byte "
        << static_cast<int>(static_cast<unsigned char>(bad.back()));
  }
  status_of([] { sd15().encode("ok \xff"); }, &message);
  EXPECT_NE(message.find("byte 3"), std::string::npos) << message;
}

TEST(ClipTokenizer, MissingOrMalformedFilesAreErrorsNamingTheFile) {
  std::string message;
  ScratchDir empty("empty");
  EXPECT_EQ(status_of([&] { ClipTokenizer::from_directory(empty.path); }, &message),
            Status::NotFound);
  EXPECT_NE(message.find("vocab.json"), std::string::npos) << message;

  ScratchDir dir("malformed");
  dir.copy_vocab();
  dir.write("merges.txt", "#version: 0.2\ni n\nt h\nthree parts here\n");
  EXPECT_EQ(status_of([&] { ClipTokenizer::from_directory(dir.path); }, &message), Status::Format);
  EXPECT_NE(message.find("merges.txt:4:"), std::string::npos) << message;

  dir.write("merges.txt", "#version: 0.2\ni n\nq\xc3\xa9 zz9\n");
  EXPECT_EQ(status_of([&] { ClipTokenizer::from_directory(dir.path); }, &message), Status::Format);
  EXPECT_NE(message.find("merges.txt:3:"), std::string::npos) << message;

  dir.write("vocab.json", "{\"a\": 1,");
  EXPECT_EQ(status_of([&] { ClipTokenizer::from_directory(dir.path); }, &message), Status::Format);
  EXPECT_NE(message.find("vocab.json"), std::string::npos) << message;

  dir.write("vocab.json", "{\"a\": 1}");
  EXPECT_EQ(status_of([&] { ClipTokenizer::from_directory(dir.path); }, &message), Status::Format);
  EXPECT_NE(message.find("byte symbol"), std::string::npos) << message;

  ScratchDir config("bad_config");
  config.copy_vocab();
  config.write("tokenizer_config.json", R"({"pad_token": 5})");
  EXPECT_EQ(status_of([&] { ClipTokenizer::from_directory(config.path); }, &message),
            Status::Format);
  EXPECT_NE(message.find("tokenizer_config.json: pad_token"), std::string::npos) << message;
}

TEST(ClipTokenizer, SeventySevenTokenPromptTakesMicroseconds) {
  const ClipTokenizer& t = sd15();
  const std::string prompt =
      "a {barred spiral:1.3} galaxy with two tight arms, a prominent bulge and tidal tails, "
      "edge-on dust lane, SDSS gri composite, z=0.05, NGC 4565, it's clumpy and smooth";
  t.encode(prompt);  // warm the cache, as repeated prompts in a run do
  const auto start = std::chrono::steady_clock::now();
  constexpr int kRuns = 200;
  size_t n = 0;
  for (int i = 0; i < kRuns; ++i) n += t.encode_padded(prompt).size();
  const double us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() /
      kRuns;
  EXPECT_EQ(n, 77u * kRuns);
  // Generous for a loaded machine; measured in the tens of microseconds.
  EXPECT_LT(us, 2000.0);
  RecordProperty("microseconds_per_prompt", std::to_string(us));
}

}  // namespace
}  // namespace gml::diffusion
