"""End-to-end golden runs of a tiny random Stable Diffusion pipeline, for
tests/diffusion/test_sd_pipeline.cpp: galaxyml's text-to-image and img2img
must give the images diffusers' StableDiffusionPipeline and
StableDiffusionImg2ImgPipeline give, from the same prompts, initial latents
and per-step noise.

    pip install diffusers==0.42.1 transformers==5.25.0 safetensors torch
    python tests/golden/make_sd_pipeline_golden.py
        # writes tests/golden/diffusion/tiny_sd/ (a save_pretrained directory)
        # and tests/golden/diffusion/sd_pipeline_runs.{json,safetensors}

The pipeline is SD-1.x shaped (CLIP text encoder, UNet2DConditionModel with
cross-attention down/up blocks, a four-level AutoencoderKL, so latents are
1/8 of the image, PNDM as the stored scheduler like SD-1.5) but tiny, and its
tokenizer is the real CLIP BPE cut to its first merges so the vocabulary
stays small. 48 x 40 images give 6 x 5 latents, whose odd width exercises the
UNet's upsample-size path.

Every random draw diffusers makes goes through diffusers.utils.torch_utils.
randn_tensor; it is replaced by a recorder, so the stored noise is exactly
what each run consumed, in the order it consumed it (img2img: the VAE
posterior sample, then the noise added to the reference latents, then one
draw per ancestral step).
"""
import gzip
import json
import pathlib
import shutil
import tempfile

import diffusers
import open_clip
import safetensors.torch
import torch
import transformers
from diffusers import (AutoencoderKL, DPMSolverMultistepScheduler, EulerAncestralDiscreteScheduler,
                       PNDMScheduler, StableDiffusionImg2ImgPipeline, StableDiffusionPipeline,
                       UNet2DConditionModel)
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

OUT = pathlib.Path(__file__).resolve().parent / "diffusion"
MODEL_DIR = OUT / "tiny_sd"
HEIGHT, WIDTH = 48, 40
N_MERGES = 700  # real CLIP merges kept: a vocabulary of 1,214 tokens


def build_tokenizer(tmp):
    """The real CLIP vocabulary (open_clip's BPE file) cut to its first merges."""
    bpe = pathlib.Path(open_clip.__file__).parent / "bpe_simple_vocab_16e6.txt.gz"
    merges = gzip.open(bpe).read().decode("utf-8").split("\n")[1:1 + N_MERGES]
    byte_chars = list(open_clip.tokenizer.bytes_to_unicode().values())
    vocab = byte_chars + [c + "</w>" for c in byte_chars]
    vocab += ["".join(m.split()) for m in merges] + ["<|startoftext|>", "<|endoftext|>"]
    vocab_file, merges_file = tmp / "vocab.json", tmp / "merges.txt"
    vocab_file.write_text(json.dumps({t: i for i, t in enumerate(vocab)}))
    merges_file.write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    return CLIPTokenizer(str(vocab_file), str(merges_file), pad_token="<|endoftext|>",
                         model_max_length=77)


def save_tokenizer_as_sd15(tokenizer_dir):
    """Stable Diffusion 1.5's tokenizer/ holds vocab.json and merges.txt (the
    slow tokenizer's files); transformers 5 saves tokenizer.json instead.
    Both are kept, so either layout can be read."""
    with tempfile.TemporaryDirectory() as tmp:
        tok = build_tokenizer(pathlib.Path(tmp))
        shutil.copy(pathlib.Path(tmp) / "vocab.json", tokenizer_dir / "vocab.json")
        shutil.copy(pathlib.Path(tmp) / "merges.txt", tokenizer_dir / "merges.txt")
    special = {"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>",
               "pad_token": "<|endoftext|>", "unk_token": "<|endoftext|>"}
    (tokenizer_dir / "special_tokens_map.json").write_text(json.dumps(special, indent=1) + "\n")
    return tok


def perturb(module, gen):
    """Random norms and biases: default inits (ones, zeros) would hide a
    swapped or missing affine term."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith("bias") or "norm" in name:
                p.add_(0.1 * torch.randn(p.shape, generator=gen))


def build_pipeline():
    gen = torch.Generator().manual_seed(20261206)
    torch.manual_seed(20261206)
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = build_tokenizer(pathlib.Path(tmp))
    text_encoder = CLIPTextModel(CLIPTextConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, max_position_embeddings=77, hidden_act="quick_gelu",
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id))
    unet = UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, block_out_channels=(8, 16),
        layers_per_block=1, down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=32,
        attention_head_dim=2, norm_num_groups=4)
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(8, 16, 16, 16),
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
        layers_per_block=1, norm_num_groups=4, sample_size=HEIGHT)
    for m in (text_encoder, unet, vae):
        perturb(m, gen)
        m.eval()
    # Stable Diffusion 1.5's stored scheduler config.
    scheduler = PNDMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                              num_train_timesteps=1000, set_alpha_to_one=False,
                              skip_prk_steps=True, steps_offset=1)
    return StableDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
                                   unet=unet, scheduler=scheduler, safety_checker=None,
                                   feature_extractor=None, requires_safety_checker=False)


class NoiseRecorder:
    """Stands in for randn_tensor in every module that draws, keeping each
    draw in order."""
    MODULES = [diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion,
               diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion_img2img,
               diffusers.models.autoencoders.vae,
               diffusers.schedulers.scheduling_euler_ancestral_discrete,
               diffusers.schedulers.scheduling_dpmsolver_multistep]

    def __init__(self, seed):
        self.gen = torch.Generator().manual_seed(seed)
        self.draws = []

    def __call__(self, shape, generator=None, device=None, dtype=None, layout=None):
        x = torch.randn(tuple(shape), generator=self.gen, dtype=torch.float32)
        self.draws.append(x.clone())
        return x.to(dtype or torch.float32)

    def __enter__(self):
        self.saved = [m.randn_tensor for m in self.MODULES]
        for m in self.MODULES:
            m.randn_tensor = self
        return self

    def __exit__(self, *exc):
        for m, f in zip(self.MODULES, self.saved):
            m.randn_tensor = f


def reference_image():
    """A smooth two-component galaxy (bulge + inclined disc, redder bulge) in
    [0, 1], HEIGHT x WIDTH, so img2img starts from something image-like."""
    y, x = torch.meshgrid(torch.arange(HEIGHT) - HEIGHT / 2 + 0.5,
                          torch.arange(WIDTH) - WIDTH / 2 + 0.3, indexing="ij")
    xr, yr = 0.8 * x + 0.6 * y, -0.6 * x + 0.8 * y
    bulge = torch.exp(-((x ** 2 + y ** 2) / 18.0) ** 0.5)
    disc = torch.exp(-(xr ** 2 + (yr / 0.35) ** 2) ** 0.5 / 6.0)
    rgb = torch.stack([0.9 * bulge + 0.5 * disc, 0.7 * bulge + 0.6 * disc, 0.4 * bulge + 0.8 * disc])
    return (rgb / rgb.max()).clamp(0, 1).unsqueeze(0)


def weighted_embeds(pipe, segments, restore_mean):
    """Eq. 4 of GalaxySD: each segment tokenized alone, its tokens' contextual
    embeddings multiplied by the segment's weight; optionally the mean of the
    whole embedding restored afterwards (as common web UIs do)."""
    tok = pipe.tokenizer
    ids, weights = [tok.bos_token_id], [1.0]
    for text, w in segments:
        t = tok(text, add_special_tokens=False).input_ids
        ids += t
        weights += [w] * len(t)
    ids, weights = ids[:76] + [tok.eos_token_id], weights[:76] + [1.0]
    pad = 77 - len(ids)
    ids += [tok.pad_token_id] * pad
    weights += [1.0] * pad
    with torch.no_grad():
        z = pipe.text_encoder(torch.tensor([ids]))[0]
    w = torch.tensor([weights]).unsqueeze(-1)
    mean = z.mean()
    z = z * w
    if restore_mean:
        z = z * (mean / z.mean())
    return z, ids, weights


RUNS = [
    dict(name="txt2img_euler_a", mode="txt2img", scheduler="euler_a", steps=40, guidance=6.5,
         prompt="a barred spiral galaxy with tight arms", negative="blurry, artifacts",
         n=2, seed=1),
    dict(name="txt2img_dpmpp_2m", mode="txt2img", scheduler="dpmpp_2m", steps=20, guidance=7.5,
         prompt="an edge-on disc galaxy, dust lane", negative="", n=2, seed=2),
    dict(name="img2img_euler_a", mode="img2img", scheduler="euler_a", steps=40, guidance=6.5,
         strength=0.6, prompt="a merger with tidal tails", negative="star, artifact", n=2, seed=3),
    dict(name="img2img_dpmpp_2m", mode="img2img", scheduler="dpmpp_2m", steps=20, guidance=5.0,
         strength=0.75, prompt="a smooth elliptical galaxy", negative="", n=1, seed=4),
    dict(name="weighted_euler_a", mode="txt2img", scheduler="euler_a", steps=40, guidance=6.5,
         segments=[["a ", 1.0], ["spiral", 1.3], [" galaxy with ", 1.0], ["bright bulge", 1.2]],
         negative="blurry", n=1, seed=5, restore_mean=False),
    dict(name="weighted_mean_euler_a", mode="txt2img", scheduler="euler_a", steps=12,
         guidance=6.5, segments=[["a ", 1.0], ["ring", 1.4], [" galaxy", 1.0]], negative="",
         n=1, seed=6, restore_mean=True),
]
SCHEDULERS = {"euler_a": EulerAncestralDiscreteScheduler, "dpmpp_2m": DPMSolverMultistepScheduler}


def main():
    pipe = build_pipeline()
    if MODEL_DIR.exists():
        shutil.rmtree(MODEL_DIR)
    pipe.save_pretrained(MODEL_DIR, safe_serialization=True)
    save_tokenizer_as_sd15(MODEL_DIR / "tokenizer")
    pipe = StableDiffusionPipeline.from_pretrained(MODEL_DIR, safety_checker=None,
                                                   requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    i2i = StableDiffusionImg2ImgPipeline(**pipe.components)
    i2i.set_progress_bar_config(disable=True)
    tensors = {"reference": reference_image()}
    meta = {"diffusers": diffusers.__version__, "transformers": transformers.__version__,
            "torch": torch.__version__, "height": HEIGHT, "width": WIDTH, "runs": []}
    for run in RUNS:
        sched = SCHEDULERS[run["scheduler"]].from_config(pipe.scheduler.config)
        pipe.scheduler = sched
        i2i.scheduler = sched
        args = dict(num_inference_steps=run["steps"], guidance_scale=run["guidance"],
                    num_images_per_prompt=run["n"], output_type="pt")
        entry = {k: v for k, v in run.items()}
        if "segments" in run:
            embeds, ids, weights = weighted_embeds(pipe, run["segments"], run["restore_mean"])
            args["prompt_embeds"] = embeds
            with torch.no_grad():
                neg = pipe.tokenizer(run["negative"], padding="max_length", max_length=77,
                                     truncation=True, return_tensors="pt").input_ids
                args["negative_prompt_embeds"] = pipe.text_encoder(neg)[0]
            entry["input_ids"], entry["token_weights"] = ids, weights
            # The same prompt in galaxyml's syntax.
            entry["prompt"] = "".join(t if w == 1.0 else "{%s:%g}" % (t, w)
                                      for t, w in run["segments"])
        else:
            args["prompt"] = run["prompt"]
            args["negative_prompt"] = run["negative"] or None
        with NoiseRecorder(run["seed"]) as rec, torch.no_grad():
            if run["mode"] == "txt2img":
                images = pipe(height=HEIGHT, width=WIDTH, **args).images
            else:
                images = i2i(image=tensors["reference"], strength=run["strength"], **args).images
        entry["draws"] = len(rec.draws)
        for k, d in enumerate(rec.draws):
            tensors[f"{run['name']}.noise.{k}"] = d.contiguous()
        tensors[f"{run['name']}.images"] = images.float().contiguous()
        meta["runs"].append(entry)
        print(run["name"], "draws", len(rec.draws), "images", tuple(images.shape),
              "range", float(images.min()), float(images.max()))
    safetensors.torch.save_file(tensors, str(OUT / "sd_pipeline_runs.safetensors"))
    (OUT / "sd_pipeline_runs.json").write_text(json.dumps(meta, indent=1) + "\n")


if __name__ == "__main__":
    main()
