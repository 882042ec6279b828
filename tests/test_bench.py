"""rmeval bench end to end on the bundled data, its report section, and its bad-input errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rmeval.bench import describe, format_leaderboard, leaderboard

DATASETS = Path(__file__).resolve().parents[1] / "datasets"


def test_bundled_policies_dataset_supports_every_trajectory_metric():
    from rmeval.dataset import load_dataset

    ds = load_dataset(DATASETS / "mountaincar-policies")
    role = describe(ds)
    assert role.labels is not None and role.progress_column == "x"
    assert len(set(role.policy.values())) == 6 and any(role.success.values())
    truth = pd.Series(role.truth).groupby(pd.Series(role.policy)).mean()
    assert truth["energy"] > truth["energy@0.5"] > truth["random"] == 0  # graded ground truth
    assert ds.metadata.render["command"].startswith("rmeval render --env mountaincar")


def test_bench_end_to_end_fast(run, tmp_path):
    out = tmp_path / "out"
    code, stdout, err = run("bench", "--datasets", "mountaincar-policies", "--models", "rmeval-tiny",
                            "--alpha", "0,1", "--resamples", "50", "--cache-dir", str(tmp_path / "cache"),
                            "--out", str(out), "--no-progress")
    assert code == 0, err
    table = pd.read_csv(out / "bench.csv")
    metrics = set(table["metric"])
    assert {"epic", "auroc", "average_precision", "balanced_accuracy", "value_order", "progress_pearson",
            "progress_spearman", "policy_kendall_tau", "policy_spearman", "preference_accuracy"} <= metrics
    assert table["random_weights"].all() and set(table["alpha"]) == {0.0, 1.0}
    assert (table["ci_low"] <= table["value"] + 1e-12).all() and (table["value"] <= table["ci_high"] + 1e-12).all()
    # the leaderboard on the terminal: one line per model and alpha, the best marked
    assert "rmeval-tiny:random *" in stdout and "[" in stdout and "RANDOM weights" in stdout
    meta = json.loads((out / "bench.json").read_text())
    stats = meta["embedding"][0]  # frames repeated within a dataset are neither encoded nor cache hits
    assert stats["encoded"] + stats["cached"] + stats["repeated"] == 180
    assert (out / "bench_metrics.png").stat().st_size > 10_000
    # a second run embeds nothing: the cache holds every frame
    code, stdout, _ = run("bench", "--datasets", "mountaincar-policies", "--models", "rmeval-tiny", "--resamples", "20",
                          "--cache-dir", str(tmp_path / "cache"), "--out", str(out), "--no-progress")
    assert code == 0 and "0 frames encoded, 180 from cache" in stdout
    # the report's section
    code, stdout, err = run("report", "--dataset", str(DATASETS / "mountaincar-policies"), "--results-dir", str(out),
                            "--out", str(tmp_path / "rep"))
    assert code == 0, err
    page = (tmp_path / "rep" / "mountaincar-policies" / "index.html").read_text()
    assert "Benchmark: detection, progress, ranking, confusion" in page and "policy.tau" in page and "★" in page


def test_leaderboard_marks_best_per_column():
    table = pd.DataFrame({
        "model": ["a", "a", "b", "b"], "random_weights": [False] * 4, "alpha": [0.0] * 4, "dataset": ["d"] * 4,
        "metric": ["epic", "auroc", "epic", "auroc"], "value": [0.3, 0.7, 0.4, 0.9],
    })
    board = leaderboard(table)
    assert board.columns.tolist() == ["model", "random_weights", "alpha", "epic", "auroc"]
    text = format_leaderboard(board).splitlines()
    assert "[0.300]" in text[1] and "[0.900]" in text[2]  # EPIC: lowest is best; AUROC: highest
    assert "[0.400]" not in text[2] and "[0.700]" not in text[1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--datasets", "nope-such-dataset"], "nope-such-dataset"),
        (["--datasets", "mountaincar-policies", "--progress", "speed"], "no column 'speed'"),
        (["--resamples", "0"], "--resamples"),
        (["--ci", "1.5"], "--ci"),
        (["--datasets", "mountaincar-policies,mountaincar-policies"], "share a name"),
        (["--policy-truth", "/nonexistent/eval.csv"], "not a readable CSV"),
    ],
)
def test_bad_input_is_a_clear_error(run, tmp_path, args, message):
    code, _, err = run("bench", "--models", "rmeval-tiny", "--out", str(tmp_path), "--cache-dir", str(tmp_path / "c"),
                       *args)
    assert code == 2
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_bench_bundled_data_two_models(run, tmp_path):
    """The README example: rmeval-tiny and ViT-B-32:random on the default datasets, every metric."""
    out = tmp_path / "out"
    code, stdout, err = run("bench", "--models", "rmeval-tiny,ViT-B-32:random", "--alpha", "0,0.5",
                            "--resamples", "100", "--cache-dir", str(tmp_path / "cache"), "--out", str(out),
                            "--no-progress")
    assert code == 0, err
    table = pd.read_csv(out / "bench.csv")
    assert set(table["model"]) == {"rmeval-tiny:random", "ViT-B-32:random"}
    summary = table[table["dataset"].str.startswith("confusion:")]
    assert {"confusion_auroc_diagonal", "confusion_auroc_diagonal_best", "confusion_epic_diagonal"} <= set(summary["metric"])
    cells = table[table["metric"] == "confusion_auroc"]
    assert len(cells) == 2 * 2 * 9  # models x alphas x 3 x 3
    meta = json.loads((out / "bench.json").read_text())
    assert np.asarray(meta["confusion"][0]["matrix"]).shape == (3, 3)
    assert (out / "bench_confusion.png").is_file()
    for line in ("rmeval-tiny:random *", "ViT-B-32:random *"):
        assert line in stdout


def test_single_policy_datasets_are_ranked_together(run, tmp_path):
    """Three rollout datasets of one policy each (as one `rmeval rollout` per checkpoint gives) make one ranking."""
    paths = []
    for policy in ("energy", "energy@0.6", "random"):
        out = tmp_path / policy.replace("@", "-")
        code, _, err = run("render", "--env", "mountaincar", "--look", "standard", "--size", "64x64", "--episodes", "2",
                           "--steps", "200", "--every", "40", "--policy", policy, "--out", str(out))
        assert code == 0, err
        paths.append(str(out))
    code, _, err = run("bench", "--datasets", ",".join(paths), "--models", "rmeval-tiny", "--resamples", "30",
                       "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "res"), "--no-progress")
    assert code == 0, err
    table = pd.read_csv(tmp_path / "res" / "bench.csv")
    pooled = table[table["dataset"].str.startswith("policies:")]
    assert set(pooled["metric"]) == {"policy_kendall_tau", "policy_spearman"}
    assert "energy, energy@0.6, random" in pooled["detail"].iloc[0]
    assert pooled["value"].between(-1, 1).all()
    # the same ranking against a truth table (as `rmeval evaluate` writes): truth reversed, tau flips sign
    truth = tmp_path / "truth.csv"
    pd.DataFrame({"policy": ["energy", "energy@0.6", "random"], "success_rate": [0.0, 0.5, 1.0]}).to_csv(truth, index=False)
    code, out, err = run("bench", "--datasets", ",".join(paths), "--models", "rmeval-tiny", "--resamples", "30",
                         "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "res2"), "--no-progress",
                         "--policy-truth", str(truth))
    assert code == 0, err
    assert "policy truth: success_rate" in out
    again = pd.read_csv(tmp_path / "res2" / "bench.csv")
    tau = lambda t: t.query("metric == 'policy_kendall_tau' and dataset.str.startswith('policies:')")["value"].iloc[0]  # noqa: E731
    assert tau(again) == pytest.approx(-tau(table))


def test_policy_truth_table(tmp_path):
    from rmeval.bench import read_policy_truth, truth_of
    from rmeval.errors import InvalidInputError

    ev = tmp_path / "evaluate.csv"
    pd.DataFrame({"step": [1, 2], "checkpoint": ["checkpoints/step_1.zip", "checkpoints/step_2.zip"],
                  "mean_return": [3.0, 5.0], "success_rate": [0.2, 0.9]}).to_csv(ev, index=False)
    truth, col = read_policy_truth(ev)
    assert col == "success_rate" and truth_of("step_2", truth) == 0.9
    assert read_policy_truth(ev, "mean_return")[0]["checkpoints/step_1.zip"] == 3.0
    scores = tmp_path / "scores.csv"
    pd.DataFrame({"policy": ["a", "a", "b"], "episode": [0, 1, 0], "success": [1, 0, 1]}).to_csv(scores, index=False)
    assert read_policy_truth(scores)[0] == {"a": 0.5, "b": 1.0}
    with pytest.raises(InvalidInputError, match="not in the --policy-truth"):
        truth_of("c", {"a": 0.5})
    with pytest.raises(InvalidInputError, match="no column"):
        read_policy_truth(ev, "nope")


def test_judge_once_with_calibration_from_p_yes(run, tiny_judge_dir, tmp_path):
    """A judge is scored once (alpha NaN, '-'), and its Brier/ECE equal rmeval.metrics on its p(yes)."""
    from rmeval.dataset import load_dataset
    from rmeval.judges.model import Judge
    from rmeval.metrics import calibration
    from rmeval.registry import parse_model

    out, cache = tmp_path / "out", tmp_path / "cache"
    judge_name = f"judge:{tiny_judge_dir}"
    code, stdout, err = run("bench", "--datasets", "humanoid-poses-kneeling", "--models", f"rmeval-tiny,{judge_name}",
                            "--alpha", "0,0.5,1", "--resamples", "30", "--cache-dir", str(cache),
                            "--out", str(out), "--no-progress")
    assert code == 0, err
    table = pd.read_csv(out / "bench.csv")
    judged = table[table["model"] == judge_name]
    clip = table[table["model"] != judge_name]
    assert judged["alpha"].isna().all() and set(clip["alpha"]) == {0.0, 0.5, 1.0}
    assert (judged["metric"] == "epic").sum() == 1  # once, not once per alpha
    assert not clip["metric"].isin(["brier", "ece"]).any()  # contrastive: no probability
    board = leaderboard(table)
    assert (board["model"] == judge_name).sum() == 1 and {"brier", "ece"} <= set(board.columns)
    # the same numbers from the metric functions on the judge's p(yes) of the labelled frames
    ds = load_dataset(DATASETS / "humanoid-poses-kneeling")
    rows = ds.labelled_rows()
    p_yes = Judge(parse_model(judge_name), cache_dir=cache).scores(ds.read_frames(rows), ds.metadata.goal_prompts).p_yes
    ref = calibration(p_yes, ds.labels(rows), n_bins=10, n_resamples=30, seed=0)
    for metric, est in (("brier", ref.brier), ("ece", ref.ece)):
        got = judged[judged["metric"] == metric].iloc[0]
        assert got["value"] == pytest.approx(est.value, abs=1e-6)
        assert got["ci_low"] == pytest.approx(est.ci_low, abs=1e-6)
    frames = pd.read_csv(out / "bench_p_yes.csv")  # the judge's p(yes) per frame, = sigmoid(reward)
    assert set(frames["model"]) == {judge_name} and len(frames) == len(ds)
    np.testing.assert_allclose(frames["p_yes"], 1 / (1 + np.exp(-frames["reward"])), rtol=1e-9)
    np.testing.assert_allclose(frames["p_yes"].to_numpy()[rows], p_yes, atol=1e-6)
    np.testing.assert_array_equal(frames["label"].to_numpy()[rows], ds.labels(rows))
    lines = [line.split() for line in stdout.splitlines() if line.split()[:2] == [judge_name, "*"]]
    assert len(lines) == 1 and lines[0][2] == "-", stdout  # one leaderboard row, alpha "-"
    meta = json.loads((out / "bench.json").read_text())
    assert any(r["model"] == judge_name and r["alpha"] is None for r in meta["results"])
    assert (out / "bench_metrics.png").exists()
    code, _, err = run("report", "--dataset", str(DATASETS / "humanoid-poses-kneeling"), "--results-dir", str(out),
                       "--out", str(tmp_path / "rep"))
    assert code == 0, err
    page = (tmp_path / "rep" / "humanoid-poses-kneeling" / "index.html").read_text()
    assert "Brier" in page and "ECE" in page and ">nan<" not in page
