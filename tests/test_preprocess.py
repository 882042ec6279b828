"""Tensor preprocessing against open_clip's own PIL transform, on real rendered frames."""

import numpy as np
import pytest
import torch
from PIL import Image

from rmeval.preprocess import PreprocessConfig, preprocess_frames


def open_clip_reference(frames: np.ndarray, cfg: PreprocessConfig) -> torch.Tensor:
    import open_clip

    tf = open_clip.image_transform(
        cfg.size[0], is_train=False, mean=cfg.mean, std=cfg.std,
        interpolation=cfg.interpolation, resize_mode=cfg.resize_mode,
    )
    return torch.stack([tf(Image.fromarray(f)) for f in frames])


@pytest.mark.parametrize("size", [64, 224])
@pytest.mark.parametrize("resize_mode", ["shortest", "squash"])
def test_matches_open_clip_pil_transform(cartpole_frames, size, resize_mode):
    """Tolerance: within one 8-bit level of PIL per pixel (CPU uint8 path)."""
    cfg = PreprocessConfig(size=(size, size), resize_mode=resize_mode)
    ref = open_clip_reference(cartpole_frames, cfg)
    ours = preprocess_frames(torch.from_numpy(cartpole_frames), cfg)
    assert ours.shape == ref.shape == (len(cartpole_frames), 3, size, size)
    std = torch.tensor(cfg.std).view(1, 3, 1, 1)
    levels = ((ours - ref).abs() * std * 255).max().item()
    assert levels <= 1.01, f"differs from open_clip's PIL preprocessing by {levels:.2f} levels"
    # and almost everywhere identical
    assert ((ours - ref).abs() * std * 255 > 0.5).float().mean().item() < 0.01


def test_float_path_tolerance(cartpole_frames):
    """The float32 path used on GPUs: mean error tiny, worst pixel within a few levels."""
    from rmeval.preprocess import _resize

    x = torch.from_numpy(cartpole_frames).permute(0, 3, 1, 2).float()
    y = _resize(x, (224, 336), "bicubic")
    ref = np.stack([np.asarray(Image.fromarray(f).resize((336, 224), Image.BICUBIC)) for f in cartpole_frames])
    diff = np.abs(y.permute(0, 2, 3, 1).numpy() - ref)
    assert diff.mean() < 0.05 and diff.max() <= 16


def test_embeddings_match_pil_path(cartpole_frames, tiny_model):
    """What matters downstream: embeddings through both paths agree."""
    cfg = tiny_model.preprocess
    with torch.no_grad():
        a = tiny_model.model.encode_image(open_clip_reference(cartpole_frames, cfg))
        b = tiny_model.model.encode_image(preprocess_frames(torch.from_numpy(cartpole_frames), cfg))
    cos = torch.nn.functional.cosine_similarity(a, b)
    assert cos.min().item() > 0.999


def test_frames_already_at_size_are_not_resized():
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (2, 64, 64, 3), dtype=np.uint8)
    cfg = PreprocessConfig(size=(64, 64))
    out = preprocess_frames(torch.from_numpy(frames), cfg)
    mean = torch.tensor(cfg.mean).view(1, 3, 1, 1)
    std = torch.tensor(cfg.std).view(1, 3, 1, 1)
    back = ((out * std + mean) * 255).round().permute(0, 2, 3, 1).to(torch.uint8).numpy()
    assert np.array_equal(back, frames)


def test_rejects_bad_frames():
    from rmeval.errors import InvalidInputError

    cfg = PreprocessConfig(size=(64, 64))
    with pytest.raises(InvalidInputError, match="uint8"):
        preprocess_frames(torch.zeros(1, 64, 64, 3), cfg)
    with pytest.raises(InvalidInputError, match=r"\(N, H, W, 3\)"):
        preprocess_frames(torch.zeros(1, 64, 64, 4, dtype=torch.uint8), cfg)


def test_config_from_open_clip_and_key():
    cfg = PreprocessConfig.from_open_clip({"size": 224, "mean": (0.5,), "std": (0.5,), "interpolation": "random"})
    assert cfg.size == (224, 224) and cfg.mean == (0.5, 0.5, 0.5) and cfg.interpolation == "bicubic"
    assert cfg.key() != PreprocessConfig(size=(224, 224)).key()
    from rmeval.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="longest"):
        PreprocessConfig.from_open_clip({"size": 224, "resize_mode": "longest"})
