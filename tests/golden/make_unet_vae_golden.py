"""Golden models and outputs of diffusers' AutoencoderKL and
UNet2DConditionModel (the Stable Diffusion 1.x block set), for
tests/diffusion/test_autoencoder_kl.cpp and tests/diffusion/test_unet.cpp.

    pip install diffusers==0.42.1 safetensors torch
    python tests/golden/make_unet_vae_golden.py
    # writes tests/golden/diffusion/{vae,unet}/<case>/

Each case is a tiny randomly initialised model saved with save_pretrained
(config.json and diffusion_pytorch_model.safetensors, as a checkpoint's vae/
or unet/ folder holds them) and io.safetensors with its inputs and outputs.
Norm affines and biases are perturbed, since their initial values (ones and
zeros) would let a wrong parameter name or a missing bias pass unnoticed.
A model stored in half precision is compared through the float32 forward of
its rounded weights, which is what a float32 engine computes from that file.
"""
import json
import pathlib

import torch
from diffusers import AutoencoderKL, UNet2DConditionModel
from safetensors.torch import save_file

ROOT = pathlib.Path(__file__).parent / "diffusion"
TOKENS = 77  # the CLIP text length the UNet is conditioned on

# (name, constructor arguments, stored dtype, input shape)
VAE_CASES = [
    ("two_level", dict(block_out_channels=(8, 16), layers_per_block=1, latent_channels=4,
                       in_channels=3, out_channels=3, norm_num_groups=4),
     torch.float32, (2, 3, 16, 16)),
    # One input channel, three latent channels, odd sizes below the input.
    ("three_level_bf16", dict(block_out_channels=(8, 16, 16), layers_per_block=2,
                              latent_channels=3, in_channels=1, out_channels=1, norm_num_groups=4,
                              scaling_factor=0.13025),
     torch.bfloat16, (1, 1, 20, 12)),
    ("no_quant_no_attention_fp16",
     dict(block_out_channels=(8, 8, 16), layers_per_block=1, latent_channels=4, in_channels=3,
          out_channels=3, norm_num_groups=8, use_quant_conv=False, use_post_quant_conv=False,
          mid_block_add_attention=False, shift_factor=0.1159, scaling_factor=0.3611),
     torch.float16, (1, 3, 24, 16)),
]

CROSS = "CrossAttnDownBlock2D"
UP_CROSS = "CrossAttnUpBlock2D"
# (name, constructor arguments, stored dtype, sample shape, timestep)
UNET_CASES = [
    ("sd_like", dict(block_out_channels=(8, 16), layers_per_block=1, norm_num_groups=4,
                     cross_attention_dim=16, attention_head_dim=2, in_channels=4, out_channels=4,
                     down_block_types=(CROSS, "DownBlock2D"),
                     up_block_types=("UpBlock2D", UP_CROSS)),
     torch.float32, (2, 4, 8, 8), torch.tensor(981)),
    # A latent of 13x11 is no multiple of 4: the up blocks take their sizes
    # from the skip connections. Heads per block, sin before cos, shift 1.
    ("odd_latent_heads_per_block",
     dict(block_out_channels=(8, 16, 16), layers_per_block=2, norm_num_groups=4,
          cross_attention_dim=24, attention_head_dim=(1, 2, 4), in_channels=3, out_channels=2,
          down_block_types=(CROSS, CROSS, "DownBlock2D"),
          up_block_types=("UpBlock2D", UP_CROSS, UP_CROSS), flip_sin_to_cos=False, freq_shift=1),
     torch.float32, (2, 3, 13, 11), torch.tensor([10.0, 500.5])),
    ("linear_projection_fp16",
     dict(block_out_channels=(8, 16, 24), layers_per_block=(1, 2, 1), norm_num_groups=8,
          cross_attention_dim=48, attention_head_dim=4, in_channels=4, out_channels=4,
          down_block_types=(CROSS, "DownBlock2D", CROSS),
          up_block_types=(UP_CROSS, "UpBlock2D", UP_CROSS), use_linear_projection=True,
          upcast_attention=True, center_input_sample=True, mid_block_scale_factor=1.5,
          downsample_padding=0, norm_eps=1e-6),
     torch.float16, (1, 4, 12, 8), torch.tensor([321])),
]


def perturb(model, g):
    with torch.no_grad():
        for name, p in model.named_parameters():
            leaf = name.rsplit(".", 2)[-2]
            if "norm" in leaf and name.endswith(".weight"):
                p.copy_(1 + 0.3 * torch.randn(p.shape, generator=g))
            elif name.endswith(".bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))


def save_model(model, dtype, directory):
    """Saves in `dtype`; returns the float32 model of the stored weights."""
    directory.mkdir(parents=True, exist_ok=True)
    model.to(dtype).save_pretrained(directory, safe_serialization=True)
    return model.float().eval()


def tensors_out(tensors, path):
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path))


def make_vae(index, name, kwargs, dtype, shape):
    torch.manual_seed(1000 + index)
    g = torch.Generator().manual_seed(2000 + index)
    n = len(kwargs["block_out_channels"])
    model = AutoencoderKL(down_block_types=("DownEncoderBlock2D",) * n,
                          up_block_types=("UpDecoderBlock2D",) * n, **kwargs)
    perturb(model, g)
    directory = ROOT / "vae" / name
    model = save_model(model, dtype, directory)
    image = torch.rand(shape, generator=g) * 2 - 1
    with torch.no_grad():
        dist = model.encode(image).latent_dist
        noise = torch.randn(dist.mean.shape, generator=g)
        sample = dist.mean + dist.std * noise
        decoded = model.decode(dist.mean).sample
    tensors_out({"image": image, "mean": dist.mean, "logvar": dist.logvar, "noise": noise,
                 "sample": sample, "decoded": decoded}, directory / "io.safetensors")
    return {"name": name, "dtype": str(dtype), "max_abs_decoded": decoded.abs().max().item()}


def make_unet(index, name, kwargs, dtype, shape, timestep):
    torch.manual_seed(3000 + index)
    g = torch.Generator().manual_seed(4000 + index)
    model = UNet2DConditionModel(**kwargs)
    perturb(model, g)
    directory = ROOT / "unet" / name
    model = save_model(model, dtype, directory)
    sample = torch.randn(shape, generator=g)
    context = torch.randn((shape[0], TOKENS, kwargs["cross_attention_dim"]), generator=g)
    with torch.no_grad():
        out = model(sample, timestep, encoder_hidden_states=context).sample
    tensors_out({"sample": sample, "timestep": timestep, "encoder_hidden_states": context,
                 "noise_pred": out}, directory / "io.safetensors")
    return {"name": name, "dtype": str(dtype), "max_abs_out": out.abs().max().item()}


def main():
    torch.set_num_threads(1)
    report = [make_vae(i, *case) for i, case in enumerate(VAE_CASES)]
    report += [make_unet(i, *case) for i, case in enumerate(UNET_CASES)]
    total = sum(f.stat().st_size for f in ROOT.glob("*/*/*") if f.parent.parent.name in
                ("vae", "unet"))
    print(json.dumps(report, indent=1))
    print(f"wrote {len(report)} cases under {ROOT} ({total} bytes)")


if __name__ == "__main__":
    main()
