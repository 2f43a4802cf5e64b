// CLIP's byte-level BPE tokenizer: prompt text to the token ids that Stable
// Diffusion's text encoder reads, the same ids as transformers'
// CLIPTokenizer (what diffusers' pipelines call) for the same files.
//
// The text goes through what that tokenizer does: special tokens found in
// the text, Unicode NFC, runs of white space to one space, lower-casing,
// CLIP's split into letter runs, single digits, punctuation runs and
// English contractions, UTF-8 bytes mapped to printable characters, BPE by
// merge rank with "</w>" ending each word. transformers 5 no longer applies
// ftfy.fix_text (mojibake, curly quotes and HTML entities stay as typed),
// and neither does this.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace gml::diffusion {

// A token the text is split on before BPE, as a tokenizer config declares
// it. `normalized`: matched in the normalized (lower-cased) text rather
// than in the text as typed, so "<|ENDOFTEXT|>" matches too.
struct ClipSpecialToken {
  std::string content;
  bool normalized = false;
};

struct ClipTokenizerOptions {
  ClipSpecialToken bos{"<|startoftext|>"};
  ClipSpecialToken eos{"<|endoftext|>"};
  // Stable Diffusion 1.x pads with <|endoftext|>, 2.x with "!"; either way
  // the pad token is also matched in the text.
  ClipSpecialToken pad{"<|endoftext|>"};
  ClipSpecialToken unk{"<|endoftext|>"};
  int64_t model_max_length = 77;
};

// The files of a tokenizer directory as text, as a galaxyml model file
// keeps them; an absent optional file is "".
struct ClipTokenizerTexts {
  std::string vocab;               // vocab.json
  std::string merges;              // merges.txt
  std::string tokenizer_config;    // tokenizer_config.json, optional
  std::string special_tokens_map;  // special_tokens_map.json, optional

  // Error(NotFound) for a missing vocab.json or merges.txt.
  static ClipTokenizerTexts read_directory(const std::string& dir);
};

class ClipTokenizer {
 public:
  // A tokenizer directory as diffusers checkpoints ship it: vocab.json,
  // merges.txt, and tokenizer_config.json / special_tokens_map.json when
  // present (special_tokens_map.json wins where both name a token). Throws
  // Error(NotFound) for a missing vocab.json or merges.txt, Error(Format) naming
  // the file (and line) for malformed contents.
  static ClipTokenizer from_directory(const std::string& dir);
  // The same from the files' texts; `source` stands for the directory in
  // messages.
  static ClipTokenizer from_texts(const ClipTokenizerTexts& texts, const std::string& source);

  // Throws as from_directory.
  ClipTokenizer(const std::string& vocab_path, const std::string& merges_path,
                ClipTokenizerOptions options = {});
  // The same from the files' texts; the paths name them in messages.
  ClipTokenizer(const std::string& vocab_text, const std::string& vocab_path,
                const std::string& merges_text, const std::string& merges_path,
                ClipTokenizerOptions options);
  ~ClipTokenizer();
  ClipTokenizer(ClipTokenizer&&) noexcept;
  ClipTokenizer& operator=(ClipTokenizer&&) noexcept;

  // The BPE ids of `text`, special tokens typed in it included, without
  // bos/eos and untruncated. Throws Error(InvalidArgument) naming the byte
  // offset of invalid UTF-8. Safe to call from several threads.
  std::vector<int64_t> encode(const std::string& text) const;

  // bos, the first max_length - 2 ids of encode(text), eos, then pad ids up
  // to max_length: tokenizer(text, padding="max_length",
  // max_length=max_length, truncation=True).input_ids. Throws as encode, and
  // Error(InvalidArgument) for max_length < 2.
  std::vector<int64_t> encode_padded(const std::string& text, int64_t max_length = 77) const;

  int64_t bos_id() const;
  int64_t eos_id() const;
  int64_t pad_id() const;
  // Entries of vocab.json (49408 for CLIP), special tokens not among them
  // excluded.
  int64_t vocab_size() const;
  // tokenizer_config.json's model_max_length (77 when absent).
  int64_t model_max_length() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gml::diffusion
