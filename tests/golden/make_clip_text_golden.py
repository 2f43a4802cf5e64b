"""Golden values of transformers' CLIPTextModel, for
tests/diffusion/test_clip_text_model.cpp: three small random text encoders
saved as a Stable Diffusion checkpoint's text_encoder/ directory
(config.json + model.safetensors), token ids laid out as the CLIP tokenizer
lays them out, and what transformers makes of them: last_hidden_state,
diffusers' clip_skip=1 prompt embeddings, the pooled (eos) output, and
GalaxySD's Eq. 4 weighted embeddings with and without A1111's mean restore.

    pip install transformers==5.25.0 safetensors==0.8.0 torch
    python tests/golden/make_clip_text_golden.py
    # writes tests/golden/diffusion/clip_text/<name>/{config.json,model.safetensors,expected.safetensors}

The three directories cover the layouts checkpoints come in:
  legacy_quick  SD 1.5's: keys under text_model., the int64
                text_model.embeddings.position_ids buffer older transformers
                saved, and eos_token_id = 2 (pooled output at argmax(ids));
  gelu_proj     SD 2's gelu, pad id 0, saved as CLIPTextModelWithProjection
                (text_model. keys plus text_projection.weight);
  half_quick    transformers 5's save_pretrained of a CLIPTextModel (keys
                without text_model.), stored in float16; its expected values
                are the fp32 outputs of the fp16-rounded weights.
"""
import json
import math
import pathlib

import torch
from safetensors.torch import load_file, save_file
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

OUT = pathlib.Path(__file__).parent / "diffusion" / "clip_text"
SEQ = 77
CONFIGS = {
    "legacy_quick": dict(vocab_size=600, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, hidden_act="quick_gelu", layer_norm_eps=1e-5,
                         bos_token_id=0, eos_token_id=2, pad_token_id=1),
    "gelu_proj": dict(vocab_size=500, hidden_size=48, intermediate_size=96, num_hidden_layers=3,
                      num_attention_heads=3, hidden_act="gelu", layer_norm_eps=1e-5,
                      bos_token_id=498, eos_token_id=499, pad_token_id=0, projection_dim=16),
    "half_quick": dict(vocab_size=800, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                       num_attention_heads=8, hidden_act="quick_gelu", layer_norm_eps=1e-5,
                       bos_token_id=798, eos_token_id=799, pad_token_id=799),
}


def randomize(model, g):
    # transformers' init (std 0.02, unit LayerNorms) leaves every layer close
    # to the identity; scaled weights make each operation visible.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "layer_norm" in name:
                shift = 1.0 if name.endswith("weight") else 0.0
                p.copy_(shift + 0.3 * torch.randn(p.shape, generator=g))
            elif "embedding" in name:
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            elif name.endswith("weight"):
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(p.shape[-1]))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))


def token_ids(cfg, g):
    # As the CLIP tokenizer pads to 77: bos, words, eos, then pad. The
    # legacy case (eos_token_id = 2) finds eos as the largest id, as SD 1.5's
    # real eos 49407 is, so its bos/eos are the two top ids of the vocabulary.
    v = cfg["vocab_size"]
    if cfg["eos_token_id"] == 2:
        bos, eos, pad = v - 2, v - 1, v - 1
    else:
        bos, eos, pad = cfg["bos_token_id"], cfg["eos_token_id"], cfg["pad_token_id"]
    rows, weights = [], []
    for n_words in (5, 17, SEQ - 2):
        words = torch.randint(3, v - 2, (n_words,), generator=g).tolist()
        ids = [bos] + words + [eos] + [pad] * (SEQ - 2 - n_words)
        # Eq. 4 weights on two "tags" of the prompt, 1 elsewhere (bos, eos, pad).
        w = [1.0] * SEQ
        for i in range(1, min(4, n_words) + 1):
            w[i] = 1.3
        for i in range(n_words // 2 + 1, n_words + 1):
            w[i] = 0.7
        rows.append(ids)
        weights.append(w)
    return torch.tensor(rows, dtype=torch.int64), torch.tensor(weights, dtype=torch.float32)


def expected(model, ids, weights):
    # CLIPTextModelWithProjection holds a CLIPTextModel as text_model.
    text = model.text_model if hasattr(model, "text_model") else model
    with torch.no_grad():
        out = text(ids, output_hidden_states=True)
        z = out.last_hidden_state
        # diffusers' StableDiffusionPipeline.encode_prompt with clip_skip=1:
        # hidden_states[-(clip_skip + 1)] through the final LayerNorm.
        skip1 = text.final_layer_norm(out.hidden_states[-2])
        pooled = out.pooler_output
        # Eq. 4: each token's contextual embedding times its weight; then
        # A1111's sd_hijack_clip restore of the whole tensor's mean.
        weighted = z * weights[..., None]
        original_mean = z.mean()
        restored = weighted * (original_mean / weighted.mean())
    return {"input_ids": ids, "weights": weights, "last_hidden_state": z,
            "clip_skip_1": skip1, "pooler_output": pooled, "weighted": weighted,
            "weighted_mean_restored": restored}


def main():
    torch.manual_seed(0)
    for seed, (name, kwargs) in enumerate(CONFIGS.items()):
        g = torch.Generator().manual_seed(1000 + seed)
        cfg = CLIPTextConfig(max_position_embeddings=SEQ, **kwargs)
        cls = CLIPTextModelWithProjection if name == "gelu_proj" else CLIPTextModel
        model = cls(cfg).eval()
        randomize(model, g)
        out = OUT / name
        out.mkdir(parents=True, exist_ok=True)
        if name == "half_quick":
            model = model.half()
            model.save_pretrained(out, safe_serialization=True)
            model = model.float()
        else:
            model.save_pretrained(out, safe_serialization=True)
        if name == "legacy_quick":
            # Rewrite as SD 1.5's file: text_model. keys and the position_ids buffer.
            sd = load_file(out / "model.safetensors")
            sd = {(k if k.startswith("text_model.") else "text_model." + k): v for k, v in sd.items()}
            sd["text_model.embeddings.position_ids"] = torch.arange(SEQ).reshape(1, SEQ)
            save_file(sd, out / "model.safetensors", metadata={"format": "pt"})
        # What transformers itself loads back must give the same numbers.
        reloaded = cls.from_pretrained(out, dtype=torch.float32).eval()
        ids, weights = token_ids(kwargs, g)
        want = expected(model, ids, weights)
        again = expected(reloaded, ids, weights)
        for k in want:
            assert torch.equal(want[k], again[k]), (name, k)
        save_file({k: v.contiguous() for k, v in want.items()}, out / "expected.safetensors")
        keys = sorted(load_file(out / "model.safetensors"))
        size = sum(p.stat().st_size for p in out.iterdir())
        print(f"{name}: {len(keys)} tensors, first {keys[0]}, {size} bytes")


if __name__ == "__main__":
    main()
