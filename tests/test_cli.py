"""End-to-end CLI tests on the bundled dataset with rmeval-tiny."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from rmeval.cli import SUBCOMMANDS, main
from rmeval.commands.common import bundled_dataset


def test_bundled_dataset_is_valid_and_labelled(cartpole_dataset):
    ds = cartpole_dataset
    labels = ds.labels(ds.labelled_rows())
    assert 200 <= len(ds) <= 1000
    assert 0 < labels.sum() < len(labels)
    # labelled goal exactly when the pole is within 0.1 rad of upright
    angle = ds.index["angle"].to_numpy()
    np.testing.assert_array_equal(labels, (np.abs(angle) <= 0.1 + 1e-12).astype(np.int8))
    assert ds.metadata.goal_prompts == ["pole vertically upright on top of the cart"]
    assert ds.metadata.baseline_prompts == ["pole and cart"]


def test_bundled_dataset_can_be_rebuilt(run, tmp_path):
    from rmeval.dataset import load_dataset

    bundled = load_dataset(bundled_dataset())
    command = bundled.metadata.render["command"].split()
    assert command[:2] == ["rmeval", "render"]
    code, out, _ = run(*command[1:], "--out", str(tmp_path / "rebuilt"), "--name", bundled.name)
    assert code == 0, out
    rebuilt = load_dataset(tmp_path / "rebuilt")
    pd.testing.assert_frame_equal(rebuilt.index, bundled.index)
    rows = [0, 30, 150, 304]
    np.testing.assert_array_equal(rebuilt.read_frames(rows), bundled.read_frames(rows))


def test_epic_end_to_end_with_tiny_model(run, tmp_path):
    out_dir, cache = tmp_path / "reports", tmp_path / "cache"
    args = ["epic", "--models", "rmeval-tiny", "--alpha", "0:1:0.5", "--resamples", "200",
            "--cache-dir", str(cache), "--out", str(out_dir)]
    code, out, err = run(*args)
    assert code == 0, err
    assert "RANDOM weights" in out and "rmeval-tiny:random *" in out
    assert "305 frames encoded, 0 from cache" in out
    table = pd.read_csv(out_dir / "epic_cartpole-angle.csv")
    assert table["alpha"].tolist() == [0.0, 0.5, 1.0]
    assert table["random_weights"].all()
    assert ((table["epic"] >= 0) & (table["epic"] <= 1)).all()
    assert (table["epic_ci_low"] <= table["epic"]).all() and (table["epic"] <= table["epic_ci_high"]).all()
    assert (table["n_labelled"] == 305).all() and (table["n_goal"] == 55).all()
    np.testing.assert_allclose(table["epic"], np.sqrt((1 - table["pearson_rho"]) / 2), atol=1e-9)
    report = json.loads((out_dir / "epic_cartpole-angle.json").read_text())
    assert report["random_weights_models"] == ["rmeval-tiny:random"]
    assert "RANDOM" in report["note"] and len(report["results"]) == 3

    # second run: everything from the cache, same numbers
    code, out, _ = run(*args)
    assert code == 0 and "0 frames encoded, 305 from cache" in out
    np.testing.assert_allclose(pd.read_csv(out_dir / "epic_cartpole-angle.csv")["epic"], table["epic"])


def test_epic_matches_library_computation(run, tmp_path, tiny_model):
    """The CLI's numbers equal rewards + EPIC computed by hand from the same embeddings."""
    from rmeval.dataset import load_dataset
    from rmeval.embedding import Embedder
    from rmeval.epic import epic_from_labels
    from rmeval.rewards import combine_prompts, regularized_reward

    code, _, err = run("epic", "--models", "rmeval-tiny", "--alpha", "0,0.7", "--resamples", "10",
                       "--cache-dir", str(tmp_path / "c"), "--out", str(tmp_path))
    assert code == 0, err
    ds = load_dataset(bundled_dataset())
    emb = Embedder(tiny_model, fit="squash")  # the default fit of datasets rmeval rendered
    rows = ds.labelled_rows()
    img = emb.embed_frames(ds.read_frames(rows))
    goal = combine_prompts(emb.embed_texts(ds.metadata.goal_prompts))
    base = combine_prompts(emb.embed_texts(ds.metadata.baseline_prompts))
    expected = epic_from_labels(regularized_reward(img, goal, base, [0, 0.7]), ds.labels(rows))
    got = pd.read_csv(tmp_path / "epic_cartpole-angle.csv")["epic"].to_numpy()
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_goal_override_changes_rewards(run, tmp_path):
    common = ["--models", "rmeval-tiny", "--resamples", "10", "--cache-dir", str(tmp_path / "c")]
    assert run("epic", *common, "--out", str(tmp_path / "a"))[0] == 0
    assert run("epic", *common, "--goal", "a red sports car", "--out", str(tmp_path / "b"))[0] == 0
    a = pd.read_csv(tmp_path / "a" / "epic_cartpole-angle.csv")
    b = pd.read_csv(tmp_path / "b" / "epic_cartpole-angle.csv")
    assert a["mean_reward_goal"].iloc[0] != pytest.approx(b["mean_reward_goal"].iloc[0])


def test_failing_model_fails_alone(run, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code, _out, err = run("epic", "--models", "ViT-B-32,rmeval-tiny", "--resamples", "10",
                          "--cache-dir", str(tmp_path / "c"), "--out", str(tmp_path),
                          "--weights-dir", str(tmp_path / "no-weights"))
    assert code == 1
    assert "ViT-B-32:laion2b_s34b_b79k failed" in err and "Traceback" not in err
    assert "--models ViT-B-32:/path/to" in err
    table = pd.read_csv(tmp_path / "epic_cartpole-angle.csv")
    assert set(table["model"]) == {"rmeval-tiny:random"}
    report = json.loads((tmp_path / "epic_cartpole-angle.json").read_text())
    assert "ViT-B-32:laion2b_s34b_b79k" in report["failures"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--alpha", "0:1.5:0.5"], "alpha must lie in [0, 1]"),
        (["--alpha", "0:1"], "start:stop:step"),
        (["--models", "ViT-Nope"], "unknown model 'ViT-Nope'"),
        (["--dataset", "/nonexistent/dataset"], "/nonexistent/dataset"),
        (["--ci", "95"], "--ci must lie strictly between 0 and 1"),
        (["--resamples", "0"], "--resamples must be at least 1"),
        (["--precision", "fp32", "--batch-size", "0"], "--batch-size must be a positive integer or 'auto'"),
    ],
)
def test_bad_input_is_a_clear_error(run, tmp_path, extra, message):
    args = ["epic", "--models", "rmeval-tiny", "--cache-dir", str(tmp_path), "--out", str(tmp_path), *extra]
    code, _, err = run(*args)
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def _write_small_dataset(path, labels, baseline):
    from rmeval.dataset import DatasetMetadata, write_dataset

    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (32, 48, 3), dtype=np.uint8) for _ in labels]
    index = pd.DataFrame({"episode": 0, "step": range(len(labels)), "label": pd.array(labels, dtype="Int8")})
    meta = DatasetMetadata(env="test", task="test", goal_prompts=["a goal"], baseline_prompts=baseline)
    write_dataset(path, frames, index, meta)


def test_one_class_and_missing_baseline(run, tmp_path):
    _write_small_dataset(tmp_path / "one", [1, 1, 1, None], ["base"])
    code, _, err = run("epic", "--dataset", str(tmp_path / "one"), "--models", "rmeval-tiny",
                       "--cache-dir", str(tmp_path / "c"), "--out", str(tmp_path))
    assert code == 2 and "all 3 labelled frames" in err and "both goal and non-goal" in err

    _write_small_dataset(tmp_path / "nobase", [1, 0, 1, 0], [])
    code, _, err = run("epic", "--dataset", str(tmp_path / "nobase"), "--models", "rmeval-tiny",
                       "--alpha", "0,0.5", "--cache-dir", str(tmp_path / "c"), "--out", str(tmp_path))
    assert code == 2 and "--baseline" in err
    # alpha 0 alone needs no baseline
    code, _, err = run("epic", "--dataset", str(tmp_path / "nobase"), "--models", "rmeval-tiny",
                       "--resamples", "10", "--cache-dir", str(tmp_path / "c"), "--out", str(tmp_path))
    assert code == 0, err


def test_embed_command_fills_cache(run, tmp_path):
    code, out, _ = run("embed", "--models", "rmeval-tiny", "--labelled-only", "--cache-dir", str(tmp_path))
    assert code == 0 and "305 encoded, 0 from cache" in out
    # the embedding rate is reported apart from loading the model
    m = re.search(r"\(model ([\d.]+) s; embedding ([\d.]+) s, ([\d,]+) frames/s encoded\)", out)
    assert m and float(m[3].replace(",", "")) > 0, out
    code, out, _ = run("embed", "--models", "rmeval-tiny", "--cache-dir", str(tmp_path))
    assert code == 0 and "0 encoded, 305 from cache" in out


def test_render_sweep_and_errors(run, tmp_path):
    from rmeval.dataset import load_dataset

    code, _out, err = run("render", "--env", "cartpole", "--sweep", "angle=-0.2:0.2:0.1",
                          "--sweep", "x=0,1", "--out", str(tmp_path / "ds"))
    assert code == 0, err
    ds = load_dataset(tmp_path / "ds")
    assert len(ds) == 10 and ds.index["episode"].nunique() == 2
    assert ds.labels(ds.labelled_rows()).tolist() == [0, 1, 1, 1, 0] * 2
    # refuses to overwrite; bad sweeps are clear errors
    code, _, err = run("render", "--env", "cartpole", "--sweep", "angle=0,0.1", "--out", str(tmp_path / "ds"))
    assert code == 2 and "overwrite" in err
    code, _, err = run("render", "--env", "cartpole", "--sweep", "tilt=0:1:0.5", "--out", str(tmp_path / "x"))
    assert code == 2 and "unknown parameter 'tilt'" in err


def test_models_command_and_help(run):
    code, out, _ = run("models")
    assert code == 0
    for name in ["RN50", "ViT-B-32", "ViT-L-14", "ViT-H-14", "ViT-bigG-14", "rmeval-tiny"]:
        assert name in out
    assert "laion2b_s39b_b160k" in out and "968" in out
    for name in SUBCOMMANDS:
        with pytest.raises(SystemExit) as info:
            main([name, "--help"])
        assert info.value.code == 0


def test_help_has_examples(capsys):
    for name in SUBCOMMANDS:
        with pytest.raises(SystemExit):
            main([name, "--help"])
        assert "example" in capsys.readouterr().out


def test_console_script_runs():
    """`python -m rmeval` works (that imports stay light: tests/test_imports.py)."""
    out = subprocess.run([sys.executable, "-m", "rmeval", "models"], capture_output=True, text=True, check=True)
    assert "ViT-bigG-14" in out.stdout


def test_output_into_a_closed_pipe_stops_quietly():
    """`rmeval models --all | head -1`: no traceback, no 'Broken pipe' error line."""
    import subprocess
    import sys

    proc = subprocess.run(
        f"{sys.executable} -m rmeval models --all | head -1", shell=True, capture_output=True, text=True, timeout=120,
        executable="/bin/bash", check=False,
    )
    assert proc.stdout.count("\n") == 1
    assert "Traceback" not in proc.stderr and "Broken pipe" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr
