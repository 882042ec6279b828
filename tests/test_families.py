"""open_clip families whose tokenizer comes from Hugging Face (SigLIP, SigLIP 2), with random
weights and tokenizers built here; hf-hub: and local-dir: model directories."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from hf_fixtures import build_tokenizer, cache_tokenizer, hub_cache_snapshot

from rmeval.errors import WeightsUnavailableError


@pytest.fixture(scope="module")
def hf_cache(tmp_path_factory):
    """A Hugging Face cache holding only the SigLIP and SigLIP 2 tokenizers, built locally."""
    cache = tmp_path_factory.mktemp("hf-cache")
    cache_tokenizer(cache, "timm/ViT-B-16-SigLIP")
    cache_tokenizer(cache, "timm/ViT-B-16-SigLIP2")
    return cache


@pytest.mark.parametrize("model", ["rmeval-tiny-siglip", "rmeval-tiny-siglip2"])
def test_siglip_families_through_embed_epic_and_landscape(run, tmp_path, hf_cache, model):
    common = ["--models", model, "--weights-dir", str(hf_cache), "--cache-dir", str(tmp_path / "c")]
    code, out, err = run("embed", *common)
    assert code == 0, out + err
    assert "305 frames" in out and "RANDOM" in out + err
    code, out, err = run("epic", *common, "--alpha", "0,1", "--resamples", "100", "--out", str(tmp_path / "r"))
    assert code == 0, out + err
    assert "0 frames encoded, 305 from cache" in out and f"{model}:random *" in out and "RANDOM weights" in out
    table = pd.read_csv(tmp_path / "r" / "epic_cartpole-angle.csv")
    assert table["random_weights"].all() and table["epic"].between(0, 1).all()
    assert table["image_gflops"].notna().all() and table["params_m"].gt(1).all()
    code, out, err = run("landscape", *common, "--param", "angle", "--alpha", "0,1", "--out", str(tmp_path / "r"))
    assert code == 0, out + err
    assert "RANDOM weights" in out
    assert (tmp_path / "r" / "landscape_cartpole-angle_angle.png").stat().st_size > 10_000


def test_siglip_tokenizer_is_the_hugging_face_one_and_preprocessing_is_siglips(hf_cache):
    from open_clip.tokenizer import HFTokenizer

    from rmeval.models import load_model

    m = load_model("rmeval-tiny-siglip2", device="cpu", weights_dir=hf_cache)
    assert isinstance(m.tokenizer, HFTokenizer)
    ids = m.tokenizer(["pole and cart"])
    hf = m.tokenizer.tokenizer
    assert ids.shape == (1, 16) and hf.eos_token_id in ids[0].tolist() and ids[0, -1] == hf.pad_token_id
    # SigLIP preprocessing: squash (no crop), mean/std 0.5
    assert m.preprocess.resize_mode == "squash" and m.preprocess.mean == (0.5, 0.5, 0.5)


def test_missing_hugging_face_tokenizer_is_a_short_error(run, tmp_path):
    """The issue's traceback: ViT-B-16-SigLIP:random without its tokenizer files."""
    code, out, err = run("epic", "--models", "ViT-B-16-SigLIP:random", "--weights-dir", str(tmp_path / "empty"),
                         "--cache-dir", str(tmp_path / "c"), "--out", str(tmp_path / "r"))
    text = out + err
    assert code != 0 and "Traceback" not in text
    assert "needs the Hugging Face tokenizer 'timm/ViT-B-16-SigLIP'" in text
    assert "--weights-dir" in text and "huggingface-cli download timm/ViT-B-16-SigLIP" in text


def _model_dir(directory, source_model):
    """An open_clip model directory (config, weights, tokenizer) made from a loaded model."""
    import open_clip
    from safetensors.torch import save_file

    directory.mkdir(parents=True, exist_ok=True)
    cfg = open_clip.get_model_config("rmeval-tiny-siglip")
    pre = {"size": [64, 64], "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "interpolation": "bilinear",
           "resize_mode": "squash"}
    (directory / "open_clip_config.json").write_text(json.dumps({"model_cfg": cfg, "preprocess_cfg": pre}))
    save_file({k: v.contiguous() for k, v in source_model.model.state_dict().items()},
              str(directory / "open_clip_model.safetensors"))
    build_tokenizer(directory)
    return directory


def test_local_dir_and_hf_hub_load_config_weights_and_tokenizer(tmp_path, hf_cache):
    from rmeval.models import load_model

    source = load_model("rmeval-tiny-siglip:random5", device="cpu", weights_dir=hf_cache)
    folder = _model_dir(tmp_path / "my-siglip", source)
    hub = tmp_path / "hub"
    snapshot = hub_cache_snapshot(hub, "someone/tiny-siglip")
    _model_dir(snapshot, source)
    for name, weights_dir in ((f"local-dir:{folder}", None), ("hf-hub:someone/tiny-siglip", hub)):
        m = load_model(name, device="cpu", weights_dir=weights_dir)
        assert not m.is_random and m.ref.id == name
        for key, value in source.model.state_dict().items():
            assert torch.equal(value, m.model.state_dict()[key]), key
        assert m.preprocess.interpolation == "bilinear" and m.preprocess.resize_mode == "squash"
        np.testing.assert_array_equal(m.tokenizer(["a photo of a cat"]), source.tokenizer(["a photo of a cat"]))
    rnd = load_model(f"local-dir:{folder}:random", device="cpu")
    assert rnd.is_random and rnd.ref.id == f"local-dir:{folder}:random"
    key = "text.token_embedding.weight"
    assert not torch.equal(rnd.model.state_dict()[key], source.model.state_dict()[key])
    # without weights: say so, and how to get random ones
    (folder / "open_clip_model.safetensors").unlink()
    with pytest.raises(WeightsUnavailableError, match=r"no weights in .*:random"):
        load_model(f"local-dir:{folder}", device="cpu")
    with pytest.raises(WeightsUnavailableError, match=r"no open_clip_config\.json"):
        load_model(f"local-dir:{tmp_path}", device="cpu")


def test_hf_hub_offline_without_the_repository_says_what_to_do(tmp_path):
    from rmeval.models import load_model

    with pytest.raises(WeightsUnavailableError) as info:
        load_model("hf-hub:timm/ViT-B-16-SigLIP", device="cpu", weights_dir=tmp_path)
    msg = str(info.value)
    assert "not in the Hugging Face cache" in msg and "HF_HUB_OFFLINE" in msg
    assert "hf-hub:timm/ViT-B-16-SigLIP:random" in msg and "local-dir:" in msg
