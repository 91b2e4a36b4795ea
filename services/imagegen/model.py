"""The image model: a diffusers `StableDiffusionPipeline` loaded from a local path.

`write_tiny_sd` makes a tiny, randomly initialised pipeline (8x VAE downsampling, a
two-block UNet, a byte-level tokenizer) so the whole path runs on a CPU in CI. Its pictures
are noise; everything around them (batching, storage, the saga) is real. On a GPU the same
code loads the weights in fp16.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from services.common.events import ImageParams

if TYPE_CHECKING:
    from diffusers import StableDiffusionPipeline


@dataclass(frozen=True)
class LoadedModel:
    """A pipeline on its device, ready to generate."""

    pipeline: StableDiffusionPipeline
    device: str


def _byte_level_alphabet() -> list[str]:
    """The 256 printable characters a byte-level BPE tokenizer maps bytes onto (GPT-2's table)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    extra = iter(range(256, 512))
    return [chr(b) if b in printable else chr(next(extra)) for b in range(256)]


# The model cache's name for what `write_tiny_sd` makes: change it whenever the function
# would write a different pipeline, so no machine keeps copying the old one.
TINY_SD_RECIPE = "tiny-sd-unet32x64-vae4x32-bytevocab-seed0"


def cached_tiny_sd(cache_dir: Path) -> tuple[Path, bool]:
    """The tiny pipeline in the machine's model cache, written there unless an earlier run
    did; returns its directory and whether it was written now."""
    from services.common.artifacts import build_once

    entry = cache_dir / TINY_SD_RECIPE
    return entry, build_once(entry, write_tiny_sd)


def write_tiny_sd(path: Path, seed: int = 0) -> Path:
    """Write a tiny random StableDiffusionPipeline to `path` (a few MB, a second on a CPU)."""
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=32,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
    )
    # Four blocks: the VAE downsamples 8x, like Stable Diffusion's.
    vae = AutoencoderKL(
        block_out_channels=(32, 32, 32, 32),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        latent_channels=4,
        layers_per_block=1,
    )
    # A byte-level vocabulary with no merges: every prompt tokenizes, with no hub download.
    alphabet = _byte_level_alphabet()
    vocab = {token: i for i, token in enumerate([*alphabet, *(c + "</w>" for c in alphabet), "<|startoftext|>", "<|endoftext|>"])}
    tokenizer_dir = path / "tokenizer-src"
    tokenizer_dir.mkdir(parents=True, exist_ok=True)
    (tokenizer_dir / "vocab.json").write_text(json.dumps(vocab))
    (tokenizer_dir / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(str(tokenizer_dir / "vocab.json"), str(tokenizer_dir / "merges.txt"), model_max_length=77)
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            bos_token_id=vocab["<|startoftext|>"],
            eos_token_id=vocab["<|endoftext|>"],
            pad_token_id=vocab["<|endoftext|>"],
            hidden_size=32,
            intermediate_size=37,
            num_attention_heads=4,
            num_hidden_layers=2,
            vocab_size=len(vocab),
            max_position_embeddings=77,
            projection_dim=32,
        )
    )
    scheduler = DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )
    pipeline = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipeline.save_pretrained(path)
    (path / "FORGELINE_TINY_MODEL.txt").write_text(
        "Randomly initialised test pipeline written by `forgeline models tiny-sd`. Its images are noise.\n"
    )
    return path


def load_model(path: Path, want_gpu: bool) -> LoadedModel:
    """Load the pipeline from `path`: fp16 on CUDA when a GPU is wanted and present, else fp32 on CPU."""
    import torch
    from diffusers import StableDiffusionPipeline

    if not (path / "model_index.json").exists():
        raise FileNotFoundError(f"no diffusers pipeline at {path}: run `forgeline models tiny-sd` or set IMAGEGEN_MODEL_PATH")
    on_gpu = want_gpu and torch.cuda.is_available()
    dtype = torch.float16 if on_gpu else torch.float32
    pipeline = StableDiffusionPipeline.from_pretrained(path, torch_dtype=dtype, local_files_only=True)
    device = "cuda" if on_gpu else "cpu"
    pipeline = pipeline.to(device)
    pipeline.set_progress_bar_config(disable=True)
    return LoadedModel(pipeline, device)


def generate_pngs(model: LoadedModel, batch: list[ImageParams]) -> list[bytes]:
    """Generate one PNG per request. Requests of one shape run as one pipeline call."""
    import torch

    out: list[bytes | None] = [None] * len(batch)
    groups: dict[tuple[int, int, int], list[int]] = {}
    for i, params in enumerate(batch):
        groups.setdefault((params.width, params.height, params.steps), []).append(i)
    for (width, height, steps), indexes in groups.items():
        seeds = [batch[i].seed for i in indexes]
        generators = [torch.Generator(device=model.device).manual_seed(_random_seed() if s is None else s) for s in seeds]
        with torch.inference_mode():
            result: Any = model.pipeline(
                [batch[i].prompt for i in indexes],
                width=width,
                height=height,
                num_inference_steps=steps,
                generator=generators,
            )
        for i, image in zip(indexes, result.images, strict=True):
            buffer = io.BytesIO()
            image.save(buffer, format="PNG")
            out[i] = buffer.getvalue()
    return [png for png in out if png is not None]


def _random_seed() -> int:
    import secrets

    return secrets.randbelow(2**31)
