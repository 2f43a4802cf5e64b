"""Writes a random-weight Stable Diffusion 1.x pipeline folder (diffusers'
save_pretrained layout, .safetensors) for bench/diffusion: both engines load
the same folder, so they run the same network on the same weights.

    make_pipeline.py CONFIG OUT_DIR
        CONFIG  galaxy64  a small SD-1.x-shaped pipeline sized for 64 x 64
                          galaxy images (8 x 8 latents): UNet (64, 128, 256),
                          VAE (64, 128, 128, 128), CLIP text encoder of
                          width 512 and 6 layers;
                sd15      Stable Diffusion 1.5's architecture (UNet of about
                          860 M parameters, SD's AutoencoderKL, CLIP ViT-L/14
                          text encoder): about 4.3 GB of float32 weights.

Timing depends on the architecture, not on what the weights learnt, so the
weights are diffusers' and transformers' default initialisation, seeded.
The tokenizer is the real CLIP vocabulary of data/clip, saved in SD-1.5's
tokenizer/ layout (vocab.json, merges.txt and the two configs, no
tokenizer.json), and the stored scheduler is SD-1.5's PNDM config; the
benchmark switches both engines to Euler ancestral.

OUT_DIR is left alone when it already holds the stamp file of the same
configuration (written last, so an interrupted write is redone).
"""
import json
import pathlib
import shutil
import sys

import diffusers
import torch
import transformers
from diffusers import AutoencoderKL, PNDMScheduler, StableDiffusionPipeline, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

ROOT = pathlib.Path(__file__).resolve().parents[2]
CLIP_DIR = ROOT / "data" / "clip"
STAMP = "gml_bench_pipeline.json"
SEED = 20261207

CONFIGS = {
    "galaxy64": dict(
        unet=dict(sample_size=8, block_out_channels=(64, 128, 256), layers_per_block=2,
                  down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D",
                                    "DownBlock2D"),
                  up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
                  cross_attention_dim=512, attention_head_dim=8),
        # Four levels: three downsamplings, so 64 x 64 images give 8 x 8 latents.
        vae=dict(block_out_channels=(64, 128, 128, 128), layers_per_block=2, sample_size=64),
        text=dict(hidden_size=512, intermediate_size=2048, num_hidden_layers=6,
                  num_attention_heads=8),
    ),
    "sd15": dict(
        # UNet2DConditionModel's defaults are SD-1.x's, but for the
        # cross-attention width (1280 by default, CLIP ViT-L/14's 768 in SD)
        # and the sample size.
        unet=dict(sample_size=64, cross_attention_dim=768),
        vae=dict(block_out_channels=(128, 256, 512, 512), layers_per_block=2, sample_size=512),
        text=dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                  num_attention_heads=12),
    ),
}


def build(config):
    c = CONFIGS[config]
    torch.manual_seed(SEED)
    tokenizer = CLIPTokenizer(str(CLIP_DIR / "vocab.json"), str(CLIP_DIR / "merges.txt"),
                              pad_token="<|endoftext|>", model_max_length=77)
    text_encoder = CLIPTextModel(CLIPTextConfig(
        vocab_size=len(tokenizer), max_position_embeddings=77, hidden_act="quick_gelu",
        projection_dim=c["text"]["hidden_size"], bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, **c["text"]))
    unet = UNet2DConditionModel(in_channels=4, out_channels=4, **c["unet"])
    levels = len(c["vae"]["block_out_channels"])
    vae = AutoencoderKL(in_channels=3, out_channels=3, latent_channels=4,
                        down_block_types=("DownEncoderBlock2D",) * levels,
                        up_block_types=("UpDecoderBlock2D",) * levels, scaling_factor=0.18215,
                        **c["vae"])
    for m in (text_encoder, unet, vae):
        m.eval()
    # Stable Diffusion 1.5's stored scheduler config.
    scheduler = PNDMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                              num_train_timesteps=1000, set_alpha_to_one=False,
                              skip_prk_steps=True, steps_offset=1)
    pipe = StableDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
                                   unet=unet, scheduler=scheduler, safety_checker=None,
                                   feature_extractor=None, requires_safety_checker=False)
    params = {name: sum(p.numel() for p in m.parameters())
              for name, m in (("unet", unet), ("vae", vae), ("text_encoder", text_encoder))}
    return pipe, params


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in CONFIGS:
        sys.exit(f"usage: {sys.argv[0]} {{{'|'.join(CONFIGS)}}} OUT_DIR")
    config, out = sys.argv[1], pathlib.Path(sys.argv[2])
    stamp = out / STAMP
    if stamp.is_file() and json.loads(stamp.read_text()).get("config") == config:
        print(f"make_pipeline: {out} already holds {config}", file=sys.stderr)
        return
    if out.exists():
        shutil.rmtree(out)  # an interrupted write, or another configuration
    pipe, params = build(config)
    pipe.save_pretrained(out, safe_serialization=True)
    # SD-1.5's tokenizer/ as published: the slow tokenizer's files only.
    tok_dir = out / "tokenizer"
    shutil.rmtree(tok_dir)
    tok_dir.mkdir()
    for name in ("vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(CLIP_DIR / name, tok_dir / name)
    stamp.write_text(json.dumps({
        "config": config, "seed": SEED, "parameters": params,
        "diffusers": diffusers.__version__, "transformers": transformers.__version__,
        "torch": torch.__version__}, indent=1) + "\n")
    print(f"make_pipeline: wrote {config} to {out} ({params})", file=sys.stderr)


if __name__ == "__main__":
    main()
