"""Sizes without weights: parameters and image GFLOPs counted from the architecture on the
meta device, checked against open_clip's published profile; ``rmeval models --all``."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from rmeval.sizes import catalogue, count_size, model_size, shipped_table

#: open_clip's docs/model_profile.csv (mlfoundations/open_clip): mparams, image_gflops.
PROFILE = {
    "RN50": (102.01, 12.22),
    "ViT-B-32": (151.28, 8.82),
    "ViT-L-14": (427.62, 162.03),
    "ViT-H-14": (986.11, 334.59),
    "ViT-bigG-14": (2539.57, 967.5),
    "ViT-B-16-SigLIP": (203.16, 35.42),  # and one model outside the registry
}


@pytest.mark.parametrize("arch", list(PROFILE))
def test_counted_sizes_match_open_clips_profile(arch):
    params, gflops = PROFILE[arch]
    counted = count_size(arch)  # meta device: no weights, no memory
    assert counted.params_m == pytest.approx(params, rel=0.01)
    assert counted.image_gflops == pytest.approx(gflops, rel=0.01)
    assert shipped_table()[arch][1] == counted  # the shipped table is what counting gives


def test_registry_sizes_agree_with_the_counted_ones():
    from rmeval.registry import get_spec, list_models

    for name in list_models():
        spec = get_spec(name)
        size = model_size(spec.arch, compute=False)
        assert size is not None, name
        assert size.params_m == pytest.approx(spec.params_m, rel=0.01), name
        assert size.image_gflops == pytest.approx(spec.image_gflops, rel=0.02, abs=0.001), name


def test_a_configuration_outside_the_table_is_counted_once_and_cached(tmp_path):
    """A local-dir: model has no shipped size: counted from its config, then read from the cache."""
    from rmeval.sizes import _cache_path, config_digest, model_config

    folder = tmp_path / "my-model"
    folder.mkdir()
    cfg = model_config("rmeval-tiny")
    cfg["vision_cfg"]["layers"] = 3  # a different architecture
    (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": cfg}))
    name = f"local-dir:{folder}"
    first = model_size(name, cache_dir=tmp_path / "c")
    assert first is not None and first.params_m > shipped_table()["rmeval-tiny"][1].params_m
    cached = json.loads(_cache_path(tmp_path / "c").read_text())
    assert cached[config_digest(model_config(name))]["params_m"] == first.params_m
    assert model_size(name, cache_dir=tmp_path / "c", compute=False) == first
    # a stale table entry (another configuration under the same name) is not trusted
    assert model_size(name, cache_dir=tmp_path / "other", compute=False) is None


def test_models_all_lists_every_architecture_and_tag_offline_and_fast():
    import open_clip

    rows = catalogue()
    pairs = {(r["model"], r["tag"]) for r in rows}
    assert set(open_clip.list_pretrained()) <= pairs
    by_model = {r["model"]: r for r in rows}
    assert set(open_clip.list_models()) <= set(by_model)
    siglip2 = by_model["ViT-B-16-SigLIP2"]
    assert siglip2["family"] == "SigLIP 2" and siglip2["image_size"] == "224x224" and siglip2["embed_dim"] == 768
    families = {r["family"] for r in rows}
    assert {"SigLIP", "SigLIP 2", "PE-Core", "EVA-CLIP", "DFN CLIP", "MetaCLIP", "LAION CLIP", "OpenAI CLIP"} <= families
    counted = [r for r in rows if r["params_m"] == r["params_m"]]
    assert len(counted) >= 0.9 * len(rows)

    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "rmeval", "models", "--all"], check=False, capture_output=True,
                          text=True, env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin", **_pythonpath()}, timeout=60)
    wall = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stderr
    assert "ViT-B-16-SigLIP2" in proc.stdout and "PE-Core-B-16" in proc.stdout and "dfn5b" in proc.stdout
    assert "ViT-B-32 *" in proc.stdout
    assert wall < 10, f"rmeval models --all took {wall:.1f} s"


def _pythonpath() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k in ("PYTHONPATH", "HOME", "VIRTUAL_ENV")}


def test_models_all_family_filter(run):
    code, out, _ = run("models", "--all", "--family", "pe-core")
    assert code == 0 and "PE-Core-B-16" in out and "ViT-B-32 " not in out
    code, _, err = run("models", "--all", "--family", "nosuchfamily")
    assert code == 2 and "families:" in err and "SigLIP 2" in err
