#include "core/diffusion/clip_tokenizer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <fstream>
#include <mutex>
#include <sstream>
#include <unordered_map>
#include <utility>

#include "core/common/error.h"
#include "core/diffusion/diffusers_config.h"

namespace gml::diffusion {
namespace {

enum CharClass : uint8_t { O = 0, L, N, S };

struct ClassRange {
  uint32_t first, last;
  CharClass cls;
};
struct LowerRun {
  uint32_t first;
  uint16_t count, stride;
  int32_t delta;
};
struct CccRange {
  uint32_t first, last;
  uint8_t ccc;
};
struct Decomposition {
  uint32_t cp, first, second;
  uint8_t composes;
};

#include "core/diffusion/clip_tokenizer_unicode.inc"

template <typename Range, size_t M>
const Range* find_range(const Range (&table)[M], uint32_t cp) {
  const Range* it = std::upper_bound(std::begin(table), std::end(table), cp,
                                     [](uint32_t c, const Range& r) { return c < r.first; });
  if (it == std::begin(table)) return nullptr;
  --it;
  return cp <= it->last ? it : nullptr;
}

CharClass char_class(uint32_t cp) {
  if (cp < 0x80) {
    if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z')) return L;
    if (cp >= '0' && cp <= '9') return N;
    return (cp == ' ' || (cp >= 0x9 && cp <= 0xD)) ? S : O;
  }
  const ClassRange* r = find_range(kClassRanges, cp);
  return r ? r->cls : O;
}

uint8_t combining_class(uint32_t cp) {
  const CccRange* r = find_range(kCccRanges, cp);
  return r ? r->ccc : 0;
}

// Code point -> its lower case, from the runs of the generated table.
const std::vector<std::pair<uint32_t, uint32_t>>& lower_table() {
  static const std::vector<std::pair<uint32_t, uint32_t>> table = [] {
    std::vector<std::pair<uint32_t, uint32_t>> t;
    for (const LowerRun& r : kLowerRuns)
      for (uint32_t i = 0; i < r.count; ++i) {
        const uint32_t cp = r.first + i * r.stride;
        t.emplace_back(cp, static_cast<uint32_t>(static_cast<int64_t>(cp) + r.delta));
      }
    std::sort(t.begin(), t.end());
    return t;
  }();
  return table;
}

void append_lower(uint32_t cp, std::u32string& out) {
  if (cp < 0x80) {
    out.push_back(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
    return;
  }
  if (cp == 0x130) {  // the one lower case of two code points: i + combining dot above
    out.push_back('i');
    out.push_back(0x307);
    return;
  }
  const auto& t = lower_table();
  auto it = std::lower_bound(t.begin(), t.end(), std::make_pair(cp, uint32_t{0}));
  out.push_back(it != t.end() && it->first == cp ? it->second : cp);
}

// --- NFC (UAX #15): canonical decomposition, canonical order, composition.

constexpr uint32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr uint32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount,
                   kSCount = kLCount * kNCount;

const Decomposition* find_decomposition(uint32_t cp) {
  const Decomposition* it =
      std::lower_bound(std::begin(kDecompositions), std::end(kDecompositions), cp,
                       [](const Decomposition& d, uint32_t c) { return d.cp < c; });
  return it != std::end(kDecompositions) && it->cp == cp ? it : nullptr;
}

void decompose(uint32_t cp, std::u32string& out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    const uint32_t s = cp - kSBase;
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount) out.push_back(kTBase + s % kTCount);
    return;
  }
  const Decomposition* d = find_decomposition(cp);
  if (!d) {
    out.push_back(cp);
    return;
  }
  decompose(d->first, out);
  if (d->second) decompose(d->second, out);
}

uint32_t compose(uint32_t a, uint32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount)
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase &&
      b < kTBase + kTCount)
    return a + (b - kTBase);
  static const std::unordered_map<uint64_t, uint32_t> pairs = [] {
    std::unordered_map<uint64_t, uint32_t> m;
    for (const Decomposition& d : kDecompositions)
      if (d.composes) m.emplace((uint64_t{d.first} << 32) | d.second, d.cp);
    return m;
  }();
  auto it = pairs.find((uint64_t{a} << 32) | b);
  return it == pairs.end() ? 0 : it->second;
}

std::u32string nfc(const std::u32string& s) {
  if (std::all_of(s.begin(), s.end(), [](char32_t c) { return c < kNfcQuickBelow; })) return s;
  std::u32string d;
  for (char32_t c : s) decompose(c, d);
  // Canonical order: stable sort of each run of non-starters by class.
  for (size_t i = 1; i < d.size(); ++i) {
    const uint8_t cc = combining_class(d[i]);
    if (cc == 0) continue;
    size_t j = i;
    while (j > 0 && combining_class(d[j - 1]) > cc) {
      std::swap(d[j], d[j - 1]);
      --j;
    }
  }
  std::u32string out;
  ptrdiff_t starter = -1;
  int last_cc = -1;  // -1: nothing between the starter and the next character
  for (char32_t c : d) {
    const int cc = combining_class(c);
    if (starter >= 0 && (last_cc == -1 || (last_cc < cc))) {
      if (const uint32_t composed = compose(out[starter], c)) {
        out[starter] = composed;
        continue;
      }
    }
    if (cc == 0) {
      starter = static_cast<ptrdiff_t>(out.size());
      last_cc = -1;
    } else {
      last_cc = cc;
    }
    out.push_back(c);
  }
  return out;
}

// --- UTF-8

std::u32string decode_utf8(const std::string& text) {
  std::u32string out;
  out.reserve(text.size());
  size_t i = 0;
  const size_t n = text.size();
  auto bad = [&](size_t at) {
    fail(Status::InvalidArgument,
         "clip tokenizer: invalid UTF-8 in the text at byte " + std::to_string(at));
  };
  while (i < n) {
    const auto b0 = static_cast<unsigned char>(text[i]);
    if (b0 < 0x80) {
      out.push_back(b0);
      ++i;
      continue;
    }
    int len;
    uint32_t cp, min;
    if ((b0 & 0xE0) == 0xC0) {
      len = 2, cp = b0 & 0x1F, min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
      len = 3, cp = b0 & 0x0F, min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
      len = 4, cp = b0 & 0x07, min = 0x10000;
    } else {
      bad(i);
    }
    if (i + len > n) bad(i);
    for (int k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(text[i + k]);
      if ((b & 0xC0) != 0x80) bad(i);
      cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) bad(i);
    out.push_back(cp);
    i += len;
  }
  return out;
}

void append_utf8(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// GPT-2's reversible byte -> printable character map: printable Latin-1
// bytes stand for themselves, the rest take code points from 256 up.
const std::array<std::string, 256>& byte_symbols() {
  static const std::array<std::string, 256> table = [] {
    std::array<std::string, 256> t;
    uint32_t next = 256;
    for (uint32_t b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      append_utf8(printable ? b : next++, t[b]);
    }
    return t;
  }();
  return table;
}

// --- splitting

// CLIP's pattern <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|
// [\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+ (the matches kept, the rest dropped),
// then the byte-level step's GPT-2 pattern inside each match. That second
// pattern only splits a spelled-out special token: "<|", letters, "|>".
size_t contraction_at(const std::u32string& s, size_t i) {
  static const std::u32string kContractions[] = {U"'s", U"'t",  U"'re", U"'ve",
                                                 U"'m", U"'ll", U"'d"};
  for (const auto& c : kContractions)
    if (s.compare(i, c.size(), c) == 0) return c.size();
  return 0;
}

size_t run_of(const std::u32string& s, size_t i, CharClass cls) {
  size_t j = i;
  if (cls == O) {
    while (j < s.size() && char_class(s[j]) == O) ++j;
  } else {
    while (j < s.size() && char_class(s[j]) == cls) ++j;
  }
  return j - i;
}

template <typename Emit>
void gpt2_split(const std::u32string& s, size_t begin, size_t end, Emit&& emit) {
  const std::u32string piece = s.substr(begin, end - begin);
  size_t i = 0;
  while (i < piece.size()) {
    size_t len = piece[i] == '\'' ? contraction_at(piece, i) : 0;
    if (!len) len = run_of(piece, i, char_class(piece[i]));
    emit(begin + i, len);
    i += len;
  }
}

template <typename Emit>
void clip_split(const std::u32string& s, Emit&& emit) {
  static const std::u32string kSpecials[] = {U"<|startoftext|>", U"<|endoftext|>"};
  size_t i = 0;
  while (i < s.size()) {
    size_t len = 0;
    bool special = false;
    if (s[i] == '<')
      for (const auto& sp : kSpecials)
        if (s.compare(i, sp.size(), sp) == 0) {
          len = sp.size();
          special = true;
          break;
        }
    if (!len && s[i] == '\'') len = contraction_at(s, i);
    if (!len) {
      const CharClass cls = char_class(s[i]);
      if (cls == S) {
        ++i;
        continue;
      }
      len = cls == N ? 1 : run_of(s, i, cls);
    }
    if (special) {
      gpt2_split(s, i, i + len, emit);
    } else {
      emit(i, len);
    }
    i += len;
  }
}

// --- files

nlohmann::json parse_json(const std::string& text, const std::string& path) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail(Status::Format, path + ": not valid JSON (" + e.what() + ")");
  }
}

std::string optional_file(const std::string& path) {
  return std::ifstream(path) ? read_text_file(path) : std::string();
}

// A special token as tokenizer_config.json or special_tokens_map.json
// declares it: a plain string, or an AddedToken object.
ClipSpecialToken special_of(const nlohmann::json& v, const std::string& path,
                            const std::string& key) {
  if (v.is_string()) return {v.get<std::string>(), false};
  if (v.is_object() && v.contains("content") && v.at("content").is_string()) {
    const auto& n = v.value("normalized", nlohmann::json(false));
    return {v.at("content").get<std::string>(), n.is_boolean() && n.get<bool>()};
  }
  fail(Status::Format, path + ": " + key + " is neither a string nor an object with \"content\"");
}

}  // namespace

struct ClipTokenizer::Impl {
  std::unordered_map<std::string, int64_t> vocab;
  std::unordered_map<std::string, int> ranks;  // "a b" -> merge rank
  int64_t vocab_size = 0;
  int64_t model_max_length = 77;
  int64_t bos = 0, eos = 0, pad = 0, unk = 0;
  // Split on before BPE: matched in the text as typed, or in the
  // normalized text.
  std::vector<std::pair<std::u32string, int64_t>> raw_specials, normalized_specials;

  mutable std::mutex cache_mutex;
  mutable std::unordered_map<std::string, std::vector<int64_t>> cache;

  void bpe(const std::string& word, std::vector<int64_t>& out) const;
  void encode_normalized(const std::u32string& text, std::vector<int64_t>& out) const;
  void encode_segment(const std::u32string& text, std::vector<int64_t>& out) const;
};

namespace {

// Leftmost-longest matches of `specials` in text[begin, end); calls
// plain(begin, end) for the text between them and special(id) for each.
template <typename Plain, typename Special>
void split_specials(const std::u32string& text,
                    const std::vector<std::pair<std::u32string, int64_t>>& specials, Plain&& plain,
                    Special&& special) {
  size_t start = 0, i = 0;
  while (i < text.size()) {
    size_t best = 0;
    int64_t id = 0;
    for (const auto& [content, sid] : specials)
      if (content.size() > best && text.compare(i, content.size(), content) == 0) {
        best = content.size();
        id = sid;
      }
    if (!best) {
      ++i;
      continue;
    }
    if (i > start) plain(text.substr(start, i - start));
    special(id);
    i += best;
    start = i;
  }
  if (start < text.size()) plain(text.substr(start));
}

}  // namespace

void ClipTokenizer::Impl::bpe(const std::string& word, std::vector<int64_t>& out) const {
  {
    std::lock_guard<std::mutex> lock(cache_mutex);
    auto it = cache.find(word);
    if (it != cache.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  const auto& symbols_of = byte_symbols();
  std::vector<std::string> parts;
  parts.reserve(word.size());
  for (char c : word) parts.push_back(symbols_of[static_cast<unsigned char>(c)]);
  parts.back() += "</w>";
  // Merge the lowest-ranked adjacent pair, every occurrence left to right,
  // until no adjacent pair is a merge.
  std::string key;
  while (parts.size() > 1) {
    int best = -1;
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      key = parts[i] + " " + parts[i + 1];
      auto it = ranks.find(key);
      if (it != ranks.end() && (best < 0 || it->second < best)) best = it->second;
    }
    if (best < 0) break;
    std::vector<std::string> merged;
    merged.reserve(parts.size());
    for (size_t i = 0; i < parts.size();) {
      if (i + 1 < parts.size()) {
        key = parts[i] + " " + parts[i + 1];
        auto it = ranks.find(key);
        if (it != ranks.end() && it->second == best) {
          merged.push_back(parts[i] + parts[i + 1]);
          i += 2;
          continue;
        }
      }
      merged.push_back(std::move(parts[i]));
      ++i;
    }
    parts = std::move(merged);
  }
  std::vector<int64_t> ids;
  ids.reserve(parts.size());
  for (const auto& p : parts) {
    auto it = vocab.find(p);
    ids.push_back(it == vocab.end() ? unk : it->second);
  }
  out.insert(out.end(), ids.begin(), ids.end());
  std::lock_guard<std::mutex> lock(cache_mutex);
  if (cache.size() > 20000) cache.clear();  // bounded: prompts repeat few distinct words
  cache.emplace(word, std::move(ids));
}

void ClipTokenizer::Impl::encode_normalized(const std::u32string& text,
                                            std::vector<int64_t>& out) const {
  std::string word;
  clip_split(text, [&](size_t begin, size_t len) {
    word.clear();
    for (size_t k = begin; k < begin + len; ++k) append_utf8(text[k], word);
    bpe(word, out);
  });
}

void ClipTokenizer::Impl::encode_segment(const std::u32string& text,
                                         std::vector<int64_t>& out) const {
  // NFC, white-space runs to one space, lower case: the order transformers' normalizer uses.
  const std::u32string composed = nfc(text);
  std::u32string normalized;
  normalized.reserve(composed.size());
  for (size_t i = 0; i < composed.size();) {
    if (char_class(composed[i]) == S) {
      normalized.push_back(' ');
      while (i < composed.size() && char_class(composed[i]) == S) ++i;
      continue;
    }
    append_lower(composed[i++], normalized);
  }
  split_specials(
      normalized, normalized_specials, [&](const std::u32string& s) { encode_normalized(s, out); },
      [&](int64_t id) { out.push_back(id); });
}

ClipTokenizer::ClipTokenizer(const std::string& vocab_path, const std::string& merges_path,
                             ClipTokenizerOptions options)
    : ClipTokenizer(read_text_file(vocab_path), vocab_path, read_text_file(merges_path),
                    merges_path, std::move(options)) {}

ClipTokenizer::ClipTokenizer(const std::string& vocab_text, const std::string& vocab_path,
                             const std::string& merges_text, const std::string& merges_path,
                             ClipTokenizerOptions options)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  const nlohmann::json vocab = parse_json(vocab_text, vocab_path);
  if (!vocab.is_object() || vocab.empty())
    fail(Status::Format, vocab_path + ": expected a JSON object of token -> id");
  for (const auto& [token, id] : vocab.items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0)
      fail(Status::Format, vocab_path + ": the id of \"" + token + "\" is not an integer >= 0");
    m.vocab.emplace(token, id.get<int64_t>());
  }
  m.vocab_size = static_cast<int64_t>(m.vocab.size());
  for (const std::string& sym : byte_symbols())
    if (!m.vocab.count(sym) || !m.vocab.count(sym + "</w>"))
      fail(Status::Format, vocab_path + ": lacks byte symbol \"" + sym + "\" (or with </w>)");

  std::istringstream merges(merges_text);
  std::string line;
  int line_no = 0;
  int rank = 0;
  while (std::getline(merges, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line_no == 1 && line.rfind("#version", 0) == 0) continue;
    if (line.empty()) continue;
    const size_t sp = line.find(' ');
    const std::string where = merges_path + ":" + std::to_string(line_no) + ": ";
    if (sp == std::string::npos || sp == 0 || sp + 1 == line.size() ||
        line.find(' ', sp + 1) != std::string::npos)
      fail(Status::Format,
           where + "expected two symbols separated by one space, got \"" + line + "\"");
    const std::string a = line.substr(0, sp), b = line.substr(sp + 1);
    if (!m.vocab.count(a) || !m.vocab.count(b) || !m.vocab.count(a + b))
      fail(Status::Format,
           where + "merge \"" + line + "\" names a token missing from " + vocab_path);
    m.ranks.emplace(line, rank++);
  }
  if (rank == 0) fail(Status::Format, merges_path + ": no merges");

  // Special tokens missing from the vocabulary get the next ids, as
  // transformers adds them.
  int64_t next_id = 0;
  for (const auto& [t, id] : m.vocab) next_id = std::max(next_id, id + 1);
  std::unordered_map<std::string, int64_t> new_ids;  // content -> id, once declared
  const std::pair<const ClipSpecialToken*, int64_t*> declared[] = {{&options.bos, &m.bos},
                                                                   {&options.eos, &m.eos},
                                                                   {&options.pad, &m.pad},
                                                                   {&options.unk, &m.unk}};
  for (const auto& [token, id] : declared) {
    require(!token->content.empty(), "clip tokenizer: empty special token");
    auto in_vocab = m.vocab.find(token->content);
    const bool first = !new_ids.count(token->content);
    if (in_vocab != m.vocab.end()) {
      *id = in_vocab->second;
    } else {
      if (first) new_ids.emplace(token->content, next_id++);
      *id = new_ids.at(token->content);
    }
    if (in_vocab != m.vocab.end()) new_ids.emplace(token->content, *id);
    if (first) {
      auto& list = token->normalized ? m.normalized_specials : m.raw_specials;
      list.emplace_back(decode_utf8(token->content), *id);
    }
  }
  m.model_max_length = options.model_max_length;
}

ClipTokenizerTexts ClipTokenizerTexts::read_directory(const std::string& dir) {
  const std::string root = dir.empty() || dir.back() == '/' ? dir : dir + "/";
  return {read_text_file(root + "vocab.json"), read_text_file(root + "merges.txt"),
          optional_file(root + "tokenizer_config.json"),
          optional_file(root + "special_tokens_map.json")};
}

ClipTokenizer ClipTokenizer::from_directory(const std::string& dir) {
  return from_texts(ClipTokenizerTexts::read_directory(dir), dir);
}

ClipTokenizer ClipTokenizer::from_texts(const ClipTokenizerTexts& texts,
                                        const std::string& source) {
  const std::string root = source.empty() || source.back() == '/' ? source : source + "/";
  // Declarations of each special token: special_tokens_map.json over
  // tokenizer_config.json over CLIPTokenizer's defaults.
  std::array<std::string, 4> keys = {"bos_token", "eos_token", "unk_token", "pad_token"};
  std::array<ClipSpecialToken, 4> tokens = {
      ClipSpecialToken{"<|startoftext|>"}, ClipSpecialToken{"<|endoftext|>"},
      ClipSpecialToken{"<|endoftext|>"}, ClipSpecialToken{"<|endoftext|>"}};
  ClipTokenizerOptions options;
  const std::pair<const char*, const std::string*> configs[] = {
      {"tokenizer_config.json", &texts.tokenizer_config},
      {"special_tokens_map.json", &texts.special_tokens_map}};
  for (const auto& [name, text] : configs) {
    if (text->empty()) continue;  // optional files
    const std::string path = root + name;
    const nlohmann::json j = parse_json(*text, path);
    if (!j.is_object()) fail(Status::Format, path + ": expected a JSON object");
    for (size_t k = 0; k < keys.size(); ++k)
      if (j.contains(keys[k]) && !j.at(keys[k]).is_null())
        tokens[k] = special_of(j.at(keys[k]), path, keys[k]);
    if (j.contains("model_max_length")) {
      const auto& v = j.at("model_max_length");
      if (!v.is_number()) fail(Status::Format, path + ": model_max_length is not a number");
      options.model_max_length = v.is_number_integer() ? v.get<int64_t>() : INT64_MAX;
    }
  }
  // Whether a token is matched after normalization, as transformers 5
  // settles tokens declared more than once: every unk/pad/bos declaration
  // of the content must say normalized; eos's counts only when neither
  // unk nor pad names the same content.
  const ClipSpecialToken &bos = tokens[0], &eos = tokens[1], &unk = tokens[2], &pad = tokens[3];
  auto settled = [&](const std::string& content) {
    bool normalized = true, seen = false;
    for (const ClipSpecialToken* t : {&bos, &unk, &pad})
      if (t->content == content) normalized &= t->normalized, seen = true;
    if (!seen && eos.content == content) normalized = eos.normalized;
    return ClipSpecialToken{content, normalized};
  };
  options.bos = settled(bos.content);
  options.eos = settled(eos.content);
  options.unk = settled(unk.content);
  options.pad = settled(pad.content);
  return ClipTokenizer(texts.vocab, root + "vocab.json", texts.merges, root + "merges.txt",
                       options);
}

ClipTokenizer::~ClipTokenizer() = default;
ClipTokenizer::ClipTokenizer(ClipTokenizer&&) noexcept = default;
ClipTokenizer& ClipTokenizer::operator=(ClipTokenizer&&) noexcept = default;

std::vector<int64_t> ClipTokenizer::encode(const std::string& text) const {
  const std::u32string cps = decode_utf8(text);
  std::vector<int64_t> out;
  split_specials(
      cps, impl_->raw_specials, [&](const std::u32string& s) { impl_->encode_segment(s, out); },
      [&](int64_t id) { out.push_back(id); });
  return out;
}

std::vector<int64_t> ClipTokenizer::encode_padded(const std::string& text,
                                                  int64_t max_length) const {
  require(max_length >= 2, "clip tokenizer: max_length " + std::to_string(max_length) +
                               " leaves no room for bos and eos");
  const std::vector<int64_t> ids = encode(text);
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(max_length));
  out.push_back(impl_->bos);
  const size_t keep = std::min(ids.size(), static_cast<size_t>(max_length - 2));
  out.insert(out.end(), ids.begin(), ids.begin() + static_cast<ptrdiff_t>(keep));
  out.push_back(impl_->eos);
  out.resize(static_cast<size_t>(max_length), impl_->pad);
  return out;
}

int64_t ClipTokenizer::bos_id() const {
  return impl_->bos;
}
int64_t ClipTokenizer::eos_id() const {
  return impl_->eos;
}
int64_t ClipTokenizer::pad_id() const {
  return impl_->pad;
}
int64_t ClipTokenizer::vocab_size() const {
  return impl_->vocab_size;
}
int64_t ClipTokenizer::model_max_length() const {
  return impl_->model_max_length;
}

}  // namespace gml::diffusion
