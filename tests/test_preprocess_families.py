"""rmeval's tensor preprocessing matches open_clip's own transform for one model of every family
(SigLIP squashes without a crop; families differ in mean/std, interpolation and size)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from rmeval.preprocess import PreprocessConfig, preprocess_frames

#: family -> (architecture, tag) of open_clip.
ONE_PER_FAMILY = {
    "OpenAI CLIP": ("RN50", "openai"),
    "LAION CLIP": ("ViT-B-32", "laion2b_s34b_b79k"),
    "DataComp CLIP": ("ViT-B-16", "datacomp_xl_s13b_b90k"),
    "DFN CLIP": ("ViT-H-14-quickgelu", "dfn5b"),
    "MetaCLIP": ("ViT-B-32-quickgelu", "metaclip_400m"),
    "MetaCLIP 2": ("ViT-H-14-worldwide", "metaclip2_worldwide"),
    "SigLIP": ("ViT-B-16-SigLIP", "webli"),
    "SigLIP 2": ("ViT-B-16-SigLIP2-256", "webli"),
    "PE-Core": ("PE-Core-B-16", "meta"),
    "EVA-CLIP": ("EVA02-B-16", "merged2b_s8b_b131k"),
    "CLIPA": ("ViT-L-14-CLIPA", "datacomp1b"),
    "ConvNeXt CLIP": ("convnext_base_w", "laion2b_s13b_b82k"),
    "CoCa": ("coca_ViT-B-32", "laion2b_s13b_b90k"),
    "MobileCLIP": ("MobileCLIP-S1", "datacompdr"),
    "ViTamin": ("ViTamin-S", "datacomp1b"),
}


def _open_clip_cfg(arch: str, tag: str):
    """open_clip's final preprocessing for ``arch`` with ``tag``'s weights (what
    create_model_and_transforms would use): defaults, the tag's settings, the tower's size."""
    import open_clip
    from open_clip.transform import PreprocessCfg, merge_preprocess_dict

    from rmeval.sizes import model_config

    size = model_config(arch)["vision_cfg"]["image_size"]
    merged = merge_preprocess_dict(PreprocessCfg(), open_clip.get_pretrained_cfg(arch, tag))
    merged["size"] = size if isinstance(size, int) else tuple(size)
    return PreprocessCfg(**merged)


@pytest.mark.parametrize("family", list(ONE_PER_FAMILY))
def test_one_model_per_family_matches_open_clip(cartpole_frames, family):
    import open_clip
    from open_clip.transform import image_transform_v2

    from rmeval.models import reference_preprocess_cfg
    from rmeval.registry import parse_model

    arch, tag = ONE_PER_FAMILY[family]
    assert parse_model(f"{arch}:{tag}").family == family
    cfg = _open_clip_cfg(arch, tag)
    ours = PreprocessConfig.from_open_clip(vars(cfg))
    frames = cartpole_frames[::6]
    tf = image_transform_v2(cfg, is_train=False)
    ref = torch.stack([tf(Image.fromarray(f)) for f in frames])
    got = preprocess_frames(torch.from_numpy(frames), ours)
    assert got.shape == ref.shape
    std = torch.tensor(ours.std).view(1, 3, 1, 1)
    levels = ((got - ref).abs() * std * 255).max().item()
    assert levels <= 1.01, f"{family}: {levels:.2f} levels from open_clip's transform"
    # random weights of the architecture preprocess like the tag (a random SigLIP squashes)
    if tag == (open_clip.list_pretrained_tags_by_model(arch) or [None])[0]:
        assert PreprocessConfig.from_open_clip({**vars(cfg), **reference_preprocess_cfg(arch)}) == ours


def test_families_really_differ():
    cfgs = {f: PreprocessConfig.from_open_clip(vars(_open_clip_cfg(*at))) for f, at in ONE_PER_FAMILY.items()}
    assert cfgs["SigLIP"].resize_mode == "squash" and cfgs["LAION CLIP"].resize_mode == "shortest"
    assert len({c.mean for c in cfgs.values()}) >= 3 and len({c.interpolation for c in cfgs.values()}) == 2
    assert len({c.size for c in cfgs.values()}) >= 2
    assert np.allclose(cfgs["SigLIP 2"].mean, 0.5)
