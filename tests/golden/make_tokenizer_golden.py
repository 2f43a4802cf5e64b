"""CLIP's tokenizer files, Unicode tables and golden token ids, for
core/diffusion/clip_tokenizer.cpp and tests/diffusion/test_clip_tokenizer.cpp.

    pip install transformers==5.* tokenizers ftfy regex
    pip install --no-deps open_clip_torch==3.3.0   # ships bpe_simple_vocab_16e6.txt.gz
    python tests/golden/make_tokenizer_golden.py

writes
  data/clip/{vocab.json,merges.txt}           built from open_clip's BPE file as CLIP does
  data/clip/{tokenizer_config.json,special_tokens_map.json}   as Stable Diffusion 1.5 ships them
  core/diffusion/clip_tokenizer_unicode.inc   character classes, lower-casing, NFC data
  tests/golden/diffusion/clip_tokenizer.json  ids of 1,200+ prompts

The reference is transformers' CLIPTokenizer.from_pretrained(data/clip),
what diffusers' StableDiffusionPipeline calls. In transformers 5 that class
is the `tokenizers` pipeline (NFC, \\s+ -> " ", lower-case, CLIP's split
regex, byte-level), the same object as CLIPTokenizerFast; ftfy is no longer
applied. The character classes and lower-casing are read from `tokenizers`
itself (Oniguruma's Unicode tables and Rust's char::to_lowercase), so the C++
agrees with it on code points newer than Python's unicodedata.
"""
import gzip
import json
import pathlib
import random
import shutil
import tempfile
import unicodedata

import ftfy
import open_clip
import tokenizers
import transformers
from open_clip.tokenizer import SimpleTokenizer, bytes_to_unicode
from tokenizers import Regex, normalizers, pre_tokenizers
from transformers import CLIPTokenizer

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "clip"
INC = ROOT / "core" / "diffusion" / "clip_tokenizer_unicode.inc"
OUT = ROOT / "tests" / "golden" / "diffusion" / "clip_tokenizer.json"
BPE_FILE = pathlib.Path(open_clip.__file__).parent / "bpe_simple_vocab_16e6.txt.gz"

S, E = "<|startoftext|>", "<|endoftext|>"


def added(content, normalized):
    return {"__type": "AddedToken", "content": content, "lstrip": False,
            "normalized": normalized, "rstrip": False, "single_word": False}


# runwayml/stable-diffusion-v1-5 tokenizer/: the same files as
# openai/clip-vit-large-patch14.
SD15_CONFIG = {
    "add_prefix_space": False, "bos_token": added(S, True), "do_lower_case": True,
    "eos_token": added(E, True), "errors": "replace", "model_max_length": 77,
    "name_or_path": "openai/clip-vit-large-patch14", "pad_token": E,
    "special_tokens_map_file": "./special_tokens_map.json", "tokenizer_class": "CLIPTokenizer",
    "unk_token": added(E, True)}
SD15_MAP = {k: ({kk: vv for kk, vv in v.items() if kk != "__type"} if isinstance(v, dict) else v)
            for k, v in SD15_CONFIG.items() if k.endswith("_token")}


def build_vocab():
    # open_clip's SimpleTokenizer.__init__, which follows OpenAI's CLIP.
    lines = gzip.open(BPE_FILE).read().decode("utf-8").split("\n")
    merges = [tuple(m.split()) for m in lines[1:49152 - 256 - 2 + 1]]
    vocab = list(bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab]
    vocab += ["".join(m) for m in merges]
    vocab += [S, E]
    DATA.mkdir(parents=True, exist_ok=True)
    with open(DATA / "vocab.json", "w", encoding="utf-8") as f:
        json.dump({v: i for i, v in enumerate(vocab)}, f, ensure_ascii=False)
    with open(DATA / "merges.txt", "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for m in merges:
            f.write(" ".join(m) + "\n")
    with open(DATA / "tokenizer_config.json", "w") as f:
        json.dump(SD15_CONFIG, f, indent=2)
    with open(DATA / "special_tokens_map.json", "w") as f:
        json.dump(SD15_MAP, f, indent=2)
    return len(vocab), len(merges)


def check_against_open_clip(tok):
    # open_clip cleans text with ftfy and html.unescape first; on plain
    # ASCII prompts both must give the same ids from the same files.
    ref = SimpleTokenizer(str(BPE_FILE))
    for p in ["a photo of an astronaut riding a horse", "an edge-on spiral galaxy, z=0.05",
              "it's a barred lenticular with tidal tails!!", "NGC 4565 (1e-3)"]:
        assert ref.encode(p) == tok(p, add_special_tokens=False).input_ids, p


# ---------------------------------------------------------------- tables

CPS = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]


def class_set(pattern):
    split = pre_tokenizers.Split(Regex(pattern), behavior="removed", invert=True)
    found = set()
    for i in range(0, len(CPS), 50000):
        for piece, _ in split.pre_tokenize_str("".join(map(chr, CPS[i:i + 50000]))):
            found.update(map(ord, piece))
    return found


def ranges(sorted_cps):
    out = []
    for c in sorted_cps:
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return out


def rows(items, per_line):
    lines = []
    for i in range(0, len(items), per_line):
        lines.append("    " + " ".join(items[i:i + per_line]))
    return "\n".join(lines)


def write_tables():
    letters, numbers, spaces = class_set(r"\p{L}"), class_set(r"\p{N}"), class_set(r"\s")
    assert not (letters & numbers) and not (spaces & (letters | numbers))
    classes = sorted([(a, b, "L") for a, b in ranges(sorted(letters))] +
                     [(a, b, "N") for a, b in ranges(sorted(numbers))] +
                     [(a, b, "S") for a, b in ranges(sorted(spaces))])

    lower = normalizers.Lowercase()
    single, multi = {}, {}
    for c in CPS:
        r = lower.normalize_str(chr(c))
        if r != chr(c):
            (single if len(r) == 1 else multi)[c] = r
    # Runs of equal delta with stride 1 or 2 (A-Z; the alternating
    # upper/lower pairs of Latin Extended, Greek and Cyrillic).
    runs, keys, i = [], sorted(single), 0
    while i < len(keys):
        c, d = keys[i], ord(single[keys[i]]) - keys[i]
        best = (1, 1)
        for stride in (1, 2):
            n = 1
            while (i + n < len(keys) and keys[i + n] == c + n * stride and
                   ord(single[keys[i + n]]) - keys[i + n] == d):
                n += 1
            if n > best[0]:
                best = (n, stride)
        runs.append((c, best[0], best[1], d))
        i += best[0]

    ccc = ranges_with_value({c: unicodedata.combining(chr(c)) for c in CPS if unicodedata.combining(chr(c))})
    decomp = []
    for c in CPS:
        d = unicodedata.decomposition(chr(c))
        if not d or d.startswith("<"):
            continue
        parts = [int(x, 16) for x in d.split()]
        # A pair composes back unless excluded (Full_Composition_Exclusion).
        composes = len(parts) == 2 and unicodedata.normalize("NFC", chr(c)) == chr(c)
        decomp.append((c, parts[0], parts[1] if len(parts) == 2 else 0, int(composes)))
    # Below this code point text is already NFC and nothing composes with it.
    quick = min([c for c, *_ in ccc] + [b for _, _, b, k in decomp if k] +
                [c for c in CPS if unicodedata.normalize("NFC", chr(c)) != chr(c)])

    with open(INC, "w") as f:
        f.write("// Generated by tests/golden/make_tokenizer_golden.py from tokenizers "
                f"{tokenizers.__version__}\n// (Oniguruma's \\p{{L}}, \\p{{N}}, \\s; Rust's "
                f"char::to_lowercase) and Python's unicodedata {unicodedata.unidata_version}\n"
                "// (canonical decompositions and combining classes for NFC). Do not edit.\n\n")
        f.write(f"constexpr uint32_t kNfcQuickBelow = 0x{quick:X};\n\n")
        f.write(f"// {{first, last, class}}: L letter, N number, S white space.\n"
                f"constexpr ClassRange kClassRanges[] = {{\n")
        f.write(rows([f"{{0x{a:X}, 0x{b:X}, {k}}}," for a, b, k in classes], 4) + "\n};\n\n")
        f.write("// {first, count, stride, delta}: lower(first + i*stride) = first + i*stride + delta.\n"
                "constexpr LowerRun kLowerRuns[] = {\n")
        f.write(rows([f"{{0x{a:X}, {n}, {s}, {d}}}," for a, n, s, d in runs], 4) + "\n};\n\n")
        assert list(multi) == [0x130] and multi[0x130] == "i\u0307"
        f.write("// {first, last, canonical combining class}\n"
                "constexpr CccRange kCccRanges[] = {\n")
        f.write(rows([f"{{0x{a:X}, 0x{b:X}, {v}}}," for a, b, v in ccc], 4) + "\n};\n\n")
        f.write("// {code point, first, second (0: singleton), composes back}\n"
                "constexpr Decomposition kDecompositions[] = {\n")
        f.write(rows([f"{{0x{c:X}, 0x{a:X}, 0x{b:X}, {k}}}," for c, a, b, k in decomp], 3) + "\n};\n")
    return len(classes), len(runs), len(ccc), len(decomp)


def ranges_with_value(values):
    out = []
    for c in sorted(values):
        if out and out[-1][1] == c - 1 and out[-1][2] == values[c]:
            out[-1][1] = c
        else:
            out.append([c, c, values[c]])
    return out


# ---------------------------------------------------------------- prompts

MORPH = ["spiral", "barred spiral", "elliptical", "lenticular", "irregular", "ring", "dwarf",
         "edge-on disk", "face-on spiral", "merging", "clumpy", "smooth", "peculiar",
         "grand-design spiral", "flocculent spiral", "S0", "cD", "polar-ring", "low surface brightness"]
FEATURES = ["a prominent bulge", "no bulge", "a strong bar", "a weak bar", "tidal tails",
            "a dust lane", "two tight arms", "loose arms", "four arms", "a bright nucleus",
            "an inner ring", "an outer ring", "a lens", "star-forming clumps", "a boxy bulge",
            "a peanut-shaped bulge", "shells", "a stellar stream", "an AGN", "H II regions",
            "a warped disk", "a thick disk", "spiral arms wound tightly", "a companion"]
STYLES = ["SDSS gri composite", "Hubble Deep Field style", "DESI Legacy Survey cutout",
          "JWST NIRCam colours", "Galaxy Zoo 2 image", "HSC deep coadd", "photorealistic",
          "high resolution", "noisy", "low signal-to-noise", "inverted greyscale", "false colour"]
WORDS = ["galaxy", "bulge", "bar", "edge-on", "merger", "tidal", "tails", "ring", "lens",
         "irregular", "smooth", "disk", "disc", "clumpy", "arms", "spiral", "redshift", "dust",
         "halo", "nucleus", "quasar", "cluster", "BCG", "stars", "foreground", "artifact"]
CONTRACTIONS = ["it's", "don't", "isn't", "we're", "they've", "I'm", "you'll", "she'd", "can't",
                "Galaxy's", "IT'S", "Don'T", "o'clock", "'s", "'re'", "rock'n'roll", "''s", "l'amour",
                "‘curly’", "“quoted”", "it’s", "won’t"]
PUNCT = ["!", "?", ".", ",", ";", ":", "...", "--", "—", "(", ")", "[", "]", "{", "}", "<", ">",
         "|", "/", "\\", "@", "#", "$", "%", "^", "&", "*", "+", "=", "~", "`", "\"", "_", "-",
         "!!", "?!", "**", ":)", "</w>", "<|", "|>"]
NUMBERS = ["z=0.05", "z = 1.2", "1e-3", "NGC 4565", "M51", "M 87", "UGC 12158", "PGC 54559",
           "2MASX J12345678+1234567", "3.14159", "10^11 M_sun", "100 kpc", "-21.5 mag", "42",
           "1,000,000", "0.5\"", "12h30m49s", "+12°23'28\"", "SDSS J1004+4112", "r < 17.77",
           "log(M*) = 10.5", "50%", "x2", "4k", "8K", "1920x1080", "v2.1", "ID 587722981741363294"]
ACCENTED = ["Señor", "Ångström", "naïve", "café", "Zoë", "Æther", "Œuvre", "façade", "Müller",
            "Łódź", "Dvořák", "Şişli", "Ærøskøbing", "crème brûlée", "São Paulo", "Ñandú",
            "ÉCOLE", "İstanbul", "ß", "STRASSE", "ẞ", "ﬁne", "Ǆemal", "ǅ", "ǈ"]
GREEK = ["Σίγμα", "ΟΔΟΣ", "ΣΑΣ", "αβγδε", "Ωμέγα", "λ = 656.3 nm", "Hα emission", "Ηλιος",
         "μ-ring", "ΑΝΔΡΟΜΕΔΑ", "γαλαξίας"]
CYRILLIC = ["Галактика", "МЛЕЧНЫЙ ПУТЬ", "спиральная галактика", "Ёжик", "ЇЖАК", "Ґанок", "ЉУБАВ"]
CJK = ["銀河", "渦巻銀河", "아름다운 은하", "星系", "アンドロメダ銀河", "ｇａｌａｘｙ", "①②③", "Ⅻ",
       "四十二", "漢字かなカナ"]
EMOJI = ["🌌", "✨", "🔭", "🪐", "👍🏽", "👨‍👩‍👧", "🇪🇺", "❤️", "⭐️", "☄", "🌀🌀🌀"]
OTHER = ["नमस्ते", "مجرة", "גלקסיה", "ไทย", "ᚠᚢᚦ", "𝔤𝔞𝔩𝔞𝔵𝔶", "𝟙𝟚𝟛", "ﷺ", "x²³", "½ ¾",
         "٣٤٥", "০১২", "Ⓐⓑ", "\u00ad soft", "zero\u200bwidth", "nbsp\u00a0here", "ideo\u3000space",
         "e\u0301", "E\u0301COLE", "a\u0308\u0304", "n\u0303o", "\u1100\u1161\u11a8", "\u1112\u1161\u11ab",
         "A\u030a", "\u212b", "\u2126", "o\u0328\u0301", "q\u0307\u0323", "\u0301alone",
         "\u0915\u093c", "\u00c5\u0301", "\ufb01", "\u1e9b\u0323", "\x1c\x1d\x1e\x1f", "\x85next",
         "\x0b\x0cform", "tab\tsep", "\r\nwindows"]
SPECIAL = ["<|startoftext|>", "<|endoftext|>", "<|STARTOFTEXT|>", "<|EndOfText|>", "<|endof text|>",
           "<|endoftext", "endoftext|>", "<<|endoftext|>>", "<|startoftext|><|endoftext|>",
           "<|endoftext|>\u0301", " <|endoftext|> ", "a<|endoftext|>b", "<|startoftext |>", "!"]
SPACES = [" ", "  ", "\t", "\n", "\n\n", " \t ", "\u3000", "\u00a0", "\u2003", "\r\n"]


def weighted(rng, s):
    return f"{{{s}:{rng.choice(['0.8', '1.1', '1.3', '1.5', '2'])}}}" if rng.random() < 0.3 else s


def prompts(rng):
    out = []
    for _ in range(420):
        p = f"a {weighted(rng, rng.choice(MORPH))} galaxy with {weighted(rng, rng.choice(FEATURES))}"
        if rng.random() < 0.6:
            p += f" and {rng.choice(FEATURES)}"
        if rng.random() < 0.6:
            p += f", {rng.choice(STYLES)}"
        if rng.random() < 0.3:
            p += f", {rng.choice(NUMBERS)}"
        out.append(p)
    pools = [WORDS, CONTRACTIONS, PUNCT, NUMBERS, ACCENTED, GREEK, CYRILLIC, CJK, EMOJI, OTHER, SPECIAL]
    for pool, n in [(CONTRACTIONS, 90), (PUNCT, 90), (NUMBERS, 90), (ACCENTED, 80), (GREEK, 50),
                    (CYRILLIC, 40), (CJK, 50), (EMOJI, 50), (OTHER, 90), (SPECIAL, 50)]:
        for _ in range(n):
            parts = [rng.choice(pool) for _ in range(rng.randint(1, 4))]
            parts += [rng.choice(WORDS) for _ in range(rng.randint(0, 3))]
            rng.shuffle(parts)
            out.append("".join(p + rng.choice([" ", " ", "", ", "]) for p in parts).rstrip(" "))
    for _ in range(90):  # case and white space
        words = [rng.choice(WORDS + ACCENTED + GREEK + CYRILLIC) for _ in range(rng.randint(1, 8))]
        words = [w.upper() if rng.random() < 0.3 else w.title() if rng.random() < 0.3 else w
                 for w in words]
        out.append(rng.choice(SPACES) + "".join(w + rng.choice(SPACES) for w in words))
    for _ in range(80):  # longer than 77 tokens
        n = rng.randint(30, 90)
        out.append(" ".join(rng.choice(rng.choice(pools)) for _ in range(n)))
    for _ in range(60):  # random code points from the blocks above and beyond
        cps = []
        for _ in range(rng.randint(1, 12)):
            lo, hi = rng.choice([(0x20, 0x7E), (0xA0, 0x24F), (0x300, 0x36F), (0x370, 0x4FF),
                                 (0x1100, 0x11FF), (0x2000, 0x206F), (0x3000, 0x30FF),
                                 (0x4E00, 0x4E80), (0xAC00, 0xAC40), (0x1F300, 0x1F64F),
                                 (0x1D400, 0x1D7FF), (0x10000, 0x10FFFF)])
            c = rng.randint(lo, hi)
            cps.append(c if not 0xD800 <= c <= 0xDFFF else 0x20)
        out.append("".join(map(chr, cps)))
    out += ["", " ", "\t\n", "a", "A", "!", "'", "0", "🌌", "<|endoftext|>"]
    return out


# Configurations whose special-token declarations change what the text
# splits on (Stable Diffusion 2.x pads with "!", which then is a special
# token everywhere in the text) or whether "<|ENDOFTEXT|>" in a prompt
# counts as the token once lower-cased.
def variants():
    base = {"model_max_length": 77, "tokenizer_class": "CLIPTokenizer", "do_lower_case": True}

    def cfg(**tokens):
        return dict(base, **{k + "_token": v for k, v in tokens.items()})
    return [
        ("sd2_pad_bang", dict(SD15_CONFIG, pad_token="!"), dict(SD15_MAP, pad_token="!")),
        ("no_config", None, None),
        ("all_normalized", cfg(bos=added(S, True), eos=added(E, True), unk=added(E, True),
                               pad=added(E, True)), None),
        ("eos_plain_string", cfg(bos=added(S, True), eos=E, unk=added(E, True),
                                 pad=added(E, True)), None),
        ("unk_plain_string", cfg(bos=added(S, True), eos=added(E, True), unk=E,
                                 pad=added(E, True)), None),
        ("plain_strings", cfg(bos=S, eos=E, unk=E, pad=E), None),
        ("map_overrides_config", dict(base, pad_token=E), {"pad_token": "!"}),
        ("pad_not_in_vocab", cfg(bos=added(S, True), eos=added(E, True), unk=added(E, True),
                                 pad="<pad>"), None),
    ]


VARIANT_TEXTS = ["a galaxy!", "wow!! <|ENDOFTEXT|> <|STARTOFTEXT|>!", "x<|endoftext|>y!?",
                 "hello <pad> world", "<PAD>!", "it's a merger!" + " tail" * 80, ""]


def encode(tok, text):
    return (tok(text, add_special_tokens=False).input_ids,
            tok(text, padding="max_length", max_length=77, truncation=True).input_ids)


def main():
    n_vocab, n_merges = build_vocab()
    tok = CLIPTokenizer.from_pretrained(str(DATA))
    assert tok.model_max_length == 77 and tok.pad_token_id == 49407
    check_against_open_clip(tok)
    table_sizes = write_tables()

    rng = random.Random(20240611)
    texts = prompts(rng)
    assert len(set(texts)) >= 1000, len(set(texts))
    cases = []
    for t in dict.fromkeys(texts):  # unique, in order
        ids, padded = encode(tok, t)
        assert len(padded) == 77
        # The padded ids follow from the unpadded ones except where special
        # tokens sit in the text: stored whole anyway, it is what the test asserts.
        cases.append({"text": t, "ids": ids, "padded": padded})

    configs = []
    for name, config, special_map in variants():
        with tempfile.TemporaryDirectory() as d:
            for f in ("vocab.json", "merges.txt"):
                shutil.copy(DATA / f, d)
            if config is not None:
                json.dump(config, open(pathlib.Path(d) / "tokenizer_config.json", "w"))
            if special_map is not None:
                json.dump(special_map, open(pathlib.Path(d) / "special_tokens_map.json", "w"))
            vt = CLIPTokenizer.from_pretrained(d)
            configs.append({
                "name": name, "tokenizer_config": config, "special_tokens_map": special_map,
                "bos_id": vt.bos_token_id, "eos_id": vt.eos_token_id, "pad_id": vt.pad_token_id,
                "cases": [dict(zip(("text", "ids", "padded"), (t, *encode(vt, t))))
                          for t in VARIANT_TEXTS]})

    golden = {
        "versions": {"transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
                     "open_clip": open_clip.__version__, "ftfy": ftfy.__version__,
                     "unicodedata": unicodedata.unidata_version},
        "vocab_size": n_vocab, "merges": n_merges, "bos_id": tok.bos_token_id,
        "eos_id": tok.eos_token_id, "pad_id": tok.pad_token_id,
        "cases": cases, "configs": configs}
    OUT.write_text(json.dumps(golden, ensure_ascii=False, separators=(",", ":")) + "\n")
    print(f"{len(cases)} prompts, {OUT.stat().st_size} bytes; tables {table_sizes}")


if __name__ == "__main__":
    main()
