"""Scaling fits, plots and the `rmeval scaling` command."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from rmeval.errors import InvalidInputError
from rmeval.scaling import (
    check_results,
    check_trajectory_scores,
    fit_log_linear,
    frame_rewards_table,
    log_linear_fit,
    reward_summary,
    scaling_points,
    success_rates,
)


def synthetic_results(slopes: dict[float, float], sizes: dict[str, float], *, noise: float = 0.0, random: bool = False,
                      dataset: str = "noise") -> pd.DataFrame:
    """A results table with EPIC = 0.7 + slope(alpha) * log10(size) (+ noise)."""
    rng = np.random.default_rng(1)
    rows = []
    for model, size in sizes.items():
        for alpha, slope in slopes.items():
            epic = 0.7 + slope * np.log10(size) + noise * rng.normal()
            rows.append({
                "dataset": dataset, "model": model, "arch": model.split(":")[0], "weights": "random" if random else "tag",
                "random_weights": random, "params_m": size, "image_gflops": size / 10, "alpha": alpha, "epic": epic,
                "epic_ci_low": epic - 0.02, "epic_ci_high": epic + 0.03, "ci_level": 0.95, "precision": "fp32",
            })
    return pd.DataFrame(rows)


FAKE_SIZES = {"m1": 3.0, "m2": 30.0, "m3": 120.0, "m4": 900.0, "m5": 2500.0}


# ----------------------------------------------------------------------------- fits
def test_log_linear_fit_recovers_a_known_slope():
    x = np.array([3.57, 102, 151, 428, 986, 2540])
    fit = log_linear_fit(x, 0.7 - 0.04 * np.log10(x))
    assert fit.slope == pytest.approx(-0.04, abs=1e-12)
    assert fit.intercept == pytest.approx(0.7, abs=1e-12)
    assert fit.r2 == pytest.approx(1.0) and fit.n == 6 and fit.n_sizes == 6 and fit.note == ""
    np.testing.assert_allclose(fit.predict([10, 100]), [0.66, 0.62])

    noisy = log_linear_fit(x, 0.7 - 0.04 * np.log10(x) + np.random.default_rng(0).normal(0, 0.003, x.size))
    assert noisy.slope == pytest.approx(-0.04, abs=0.01)
    assert 0.8 < noisy.r2 < 1.0 and noisy.slope_se > 0


def test_fit_handles_repeated_and_too_few_sizes():
    # two random-weight variants of one architecture share a size
    fit = log_linear_fit([3.57, 3.57, 151.0], [0.70, 0.72, 0.60])
    assert fit.n == 3 and fit.n_sizes == 2
    assert fit.slope == pytest.approx((0.60 - 0.71) / np.log10(151 / 3.57))
    assert fit.r2 < 1 and "two distinct sizes" in fit.note
    two = log_linear_fit([3.57, 151.0], [0.7, 0.6])
    assert two.r2 == pytest.approx(1.0) and "R² is 1" in two.note and np.isnan(two.slope_se)
    one = log_linear_fit([3.57, 3.57], [0.7, 0.6])
    assert np.isnan(one.slope) and np.isnan(one.r2) and "at least two different sizes" in one.note
    with pytest.raises(InvalidInputError, match="positive"):
        log_linear_fit([0.0, 1.0], [0.5, 0.5])


def test_fit_per_alpha_on_synthetic_results():
    slopes = {0.0: -0.05, 0.5: -0.03, 1.0: -0.01}
    results = check_results(synthetic_results(slopes, FAKE_SIZES))
    for size in ("params_m", "image_gflops"):
        points, warnings = scaling_points(results, size)
        assert warnings == [] and len(points) == 15
        fits = fit_log_linear(points, size=size)
        assert fits["alpha"].tolist() == [0.0, 0.5, 1.0] and (fits["size"] == size).all()
        np.testing.assert_allclose(fits["slope"], list(slopes.values()), atol=1e-12)
        np.testing.assert_allclose(fits["r2"], 1.0)
        assert (fits["n"] == 5).all() and (fits["n_sizes"] == 5).all() and not fits["random_weights"].any()
    # image GFLOPs = params / 10 shifts the intercept by +slope, not the slope
    fit_p = fit_log_linear(scaling_points(results, "params_m")[0], size="params_m")
    fit_g = fit_log_linear(scaling_points(results, "image_gflops")[0], size="image_gflops")
    np.testing.assert_allclose(fit_g["intercept"] - fit_p["intercept"], fit_p["slope"], atol=1e-12)


# ----------------------------------------------------------------------------- results tables
def test_check_results_fills_sizes_and_random_flags_from_the_registry():
    table = pd.DataFrame({
        "model": ["rmeval-tiny:random", "ViT-B-32:random", "ViT-L-14:laion2b_s32b_b82k"],
        "alpha": [0.0, 0.0, 0.0], "epic": [0.7, 0.6, 0.5],
        "epic_ci_low": [0.65, 0.55, 0.45], "epic_ci_high": [0.75, 0.65, 0.55],
    })
    out = check_results(table)
    assert out["params_m"].tolist() == [3.57, 151.0, 428.0]
    assert out["image_gflops"].tolist() == [0.003, 8.82, 162.0]
    assert out["random_weights"].tolist() == [True, True, False]


def test_check_results_rejects_bad_tables_with_clear_messages():
    good = synthetic_results({0.0: -0.05}, FAKE_SIZES)
    with pytest.raises(InvalidInputError, match=r"lacks the column.*epic_ci_high.*rmeval epic"):
        check_results(good.drop(columns=["epic_ci_high"]))
    with pytest.raises(InvalidInputError, match=r"1 model.*at least 2"):
        check_results(good[good["model"] == "m1"])
    unknown = good.copy()
    unknown.loc[unknown["model"] == "m1", "params_m"] = np.nan
    with pytest.raises(InvalidInputError, match=r"no parameter count for m1.*params_m"):
        check_results(unknown)
    with pytest.raises(InvalidInputError, match="several rows for model m1"):
        check_results(pd.concat([good, good.iloc[:1]]))
    with pytest.raises(InvalidInputError, match="numeric"):
        check_results(good.assign(epic="x"))


def test_gflops_points_leave_out_models_without_gflops():
    """A plug-in that gives its parameter count but no GFLOPs; an architecture outside the
    registry gets its GFLOPs from rmeval.sizes."""
    plugin = "mypkg.rewards:MyNet"
    results = synthetic_results({0.0: -0.05}, {plugin: 150.0, "ViT-B-16:random": 150.0, "m3": 300.0}, random=True)
    results.loc[results["model"].isin([plugin, "ViT-B-16:random"]), "image_gflops"] = np.nan
    checked = check_results(results)
    points, warnings = scaling_points(checked, "image_gflops")
    assert sorted(points["model"]) == ["ViT-B-16:random", "m3"]
    assert points.loc[points["model"] == "ViT-B-16:random", "size"].iloc[0] == pytest.approx(35.13, rel=0.01)
    assert len(warnings) == 1 and plugin in warnings[0] and "image_gflops" in warnings[0]
    assert len(scaling_points(checked, "params_m")[0]) == 3


# ----------------------------------------------------------------------------- success rates and rewards
def test_success_rates_with_seeded_bootstrap():
    scores = pd.DataFrame({
        "policy": ["ViT-bigG-14"] * 10 + ["RN50"] * 10,
        "episode": list(range(10)) * 2,
        "success": [1] * 7 + [0] * 3 + [0] * 10,
    })
    out = success_rates(scores, n_resamples=500, seed=3)
    assert out["model"].tolist() == ["RN50", "ViT-bigG-14"]  # ordered by registry size
    assert out["success_rate"].tolist() == [0.0, 0.7]
    assert out["n_success"].tolist() == [0, 7] and out["n_trajectories"].tolist() == [10, 10]
    big = out.iloc[1]
    assert big["ci_low"] < 0.7 < big["ci_high"]
    pd.testing.assert_frame_equal(out, success_rates(scores, n_resamples=500, seed=3))
    with pytest.raises(InvalidInputError, match=r"model \(or policy\), episode, success"):
        check_trajectory_scores(pd.DataFrame({"agent": ["a"], "ep": [0], "ok": [1]}))
    with pytest.raises(InvalidInputError, match="success must be 0 or 1"):
        check_trajectory_scores(pd.DataFrame({"model": ["a"], "episode": [0], "success": [0.5]}))


def test_frame_rewards_and_summary():
    table = pd.concat([
        frame_rewards_table([0.1, 0.2, 0.5, 0.7], [0, 0, 1, 1], model="a", alpha=0.0, random_weights=True),
        frame_rewards_table([0.3, 0.3, 0.31, 0.29], [0, 0, 1, 1], model="b", alpha=0.0, random_weights=False),
    ])
    summary = reward_summary(table)
    assert summary["gap"].tolist() == pytest.approx([0.45, 0.0])
    assert summary["random_weights"].tolist() == [True, False]
    with pytest.raises(InvalidInputError, match=r"0 .*or 1"):
        frame_rewards_table([0.1], [2], model="a", alpha=0.0, random_weights=False)


# ----------------------------------------------------------------------------- plots
def test_plot_functions_return_figures_and_mark_random_weights():
    from matplotlib.figure import Figure as Fig

    from rmeval.plots import (
        RANDOM_NOTE,
        plot_epic_vs_alpha,
        plot_epic_vs_size,
        plot_reward_histograms,
        plot_success_rate,
    )

    results = check_results(synthetic_results({0.0: -0.05, 1.0: -0.02}, {"rmeval-tiny:random": 3.57, "ViT-B-32:random": 151.0}, random=True))
    points, _ = scaling_points(results)
    fig = plot_epic_vs_size(points, fit_log_linear(points))
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and "(random weights)" in ax.get_title()
    texts = [t.get_text() for t in ax.texts]
    assert RANDOM_NOTE in texts and any("rmeval-tiny:random*" in t for t in texts)
    assert any("slope" in t.get_text() for t in ax.get_legend().get_texts())

    # drawn onto a given axes: returns that axes' figure
    own = Fig()
    axes = own.subplots(1, 2)
    assert plot_epic_vs_alpha(results, ax=axes[0]) is own
    frame = frame_rewards_table(np.linspace(0, 1, 8), [0, 1] * 4, model="ViT-B-32:random", alpha=0.0, random_weights=True)
    assert plot_reward_histograms(frame, axes=[axes[1]]) is own
    assert "(random weights)" in axes[1].get_title()

    hist = plot_reward_histograms(pd.concat([frame, frame.assign(model="m2", random_weights=False)]))
    assert len([a for a in hist.axes if a.get_visible()]) == 2
    success = success_rates(pd.DataFrame({"model": ["m1", "ViT-B-32:random"] * 4, "episode": range(8), "success": [1, 0] * 4}))
    sfig = plot_success_rate(success)
    assert "(random weights)" in sfig.axes[0].get_title()


# ----------------------------------------------------------------------------- command
def test_scaling_command_on_a_results_table(run, tmp_path):
    """rmeval-tiny and ViT-B-32:random results (as `rmeval epic` writes them), histograms skipped."""
    csv = tmp_path / "epic_cartpole-angle.csv"
    synthetic_results({0.0: -0.03, 0.5: -0.02}, {"rmeval-tiny:random": 3.57, "ViT-B-32:random": 151.0},
                      random=True, dataset="cartpole-angle").to_csv(csv, index=False)
    out_dir = tmp_path / "out"
    code, out, err = run("scaling", "--results", str(csv), "--no-histograms", "--out", str(out_dir))
    assert code == 0, err
    assert "RANDOM weights" in out and "R² is 1" in out
    for stem in ("scaling_cartpole-angle_params", "scaling_cartpole-angle_gflops", "scaling_cartpole-angle_alpha"):
        assert (out_dir / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        svg = (out_dir / f"{stem}.svg").read_text()
        assert svg.lstrip().startswith("<?xml") and "random weights" in svg
        assert len(pd.read_csv(out_dir / f"{stem}.csv")) == 4
    fits = pd.read_csv(out_dir / "scaling_cartpole-angle_fit.csv")
    assert sorted(fits["size"].unique()) == ["image_gflops", "params_m"]
    np.testing.assert_allclose(fits.loc[fits["size"] == "params_m", "slope"], [-0.03, -0.02], atol=1e-9)
    summary = json.loads((out_dir / "scaling_cartpole-angle.json").read_text())
    assert summary["random_weights_models"] == ["ViT-B-32:random", "rmeval-tiny:random"]
    assert "RANDOM" in summary["note"] and "scaling_cartpole-angle_params.svg" in summary["files"]
    assert not list(out_dir.glob("histograms_*"))


def test_scaling_command_computes_results_histograms_and_success(run, tmp_path, small_dataset):
    ds = small_dataset(tmp_path / "noise")
    cache, out_dir = tmp_path / "cache", tmp_path / "reports"
    scores = tmp_path / "scores.csv"
    pd.DataFrame({"model": ["rmeval-tiny:random"] * 4 + ["rmeval-tiny:random1"] * 4, "episode": list(range(4)) * 2,
                  "success": [0, 0, 1, 0, 1, 1, 0, 1]}).to_csv(scores, index=False)
    code, out, err = run("scaling", "--models", "rmeval-tiny,rmeval-tiny:random1", "--dataset", str(ds), "--alpha", "0,1",
                         "--resamples", "50", "--trajectory-scores", str(scores), "--cache-dir", str(cache),
                         "--out", str(out_dir), "--device", "cpu")
    assert code == 0, err
    assert (out_dir / "epic_noise.csv").is_file()  # the epic run's own output
    # histograms came from the cache the epic run filled: nothing encoded twice
    assert "rmeval-tiny:random: 0 frames encoded, 40 from cache" in out
    frame_rewards = pd.read_csv(out_dir / "histograms_noise.csv")
    assert sorted(frame_rewards["model"].unique()) == ["rmeval-tiny:random", "rmeval-tiny:random1"]
    assert len(frame_rewards) == 80 and frame_rewards["random_weights"].all()
    success = pd.read_csv(out_dir / "success_noise.csv")
    assert success["success_rate"].tolist() == [0.25, 0.75]
    for stem in ("histograms_noise", "success_noise", "scaling_noise_params"):
        assert (out_dir / f"{stem}.png").stat().st_size > 1000 and (out_dir / f"{stem}.svg").is_file()
    # both models share one size: no fit, said so
    fits = pd.read_csv(out_dir / "scaling_noise_fit.csv")
    assert fits["slope"].isna().all() and "at least two different sizes" in out


def test_scaling_command_skips_histograms_without_the_dataset(run, tmp_path):
    csv = tmp_path / "epic_elsewhere.csv"
    synthetic_results({0.0: -0.03}, {"rmeval-tiny:random": 3.57, "ViT-B-32:random": 151.0}, random=True,
                      dataset="elsewhere").to_csv(csv, index=False)
    code, out, err = run("scaling", "--results", str(csv), "--dataset", str(tmp_path / "missing"),
                         "--out", str(tmp_path / "o"))
    assert code == 0, err
    assert "reward histograms skipped" in out and "--dataset" in out
    assert (tmp_path / "o" / "scaling_elsewhere_params.png").is_file()


def test_scaling_command_rejects_bad_input(run, tmp_path):
    csv = tmp_path / "one.csv"
    synthetic_results({0.0: -0.03}, {"m1": 3.0}).to_csv(csv, index=False)
    code, _, err = run("scaling", "--results", str(csv), "--out", str(tmp_path / "o"))
    assert code == 2 and "at least 2" in err
    code, _, err = run("scaling", "--results", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o"))
    assert code == 2 and "does not exist" in err and "rmeval epic" in err
    good = tmp_path / "two.csv"
    synthetic_results({0.0: -0.03}, FAKE_SIZES).to_csv(good, index=False)
    bad_scores = tmp_path / "scores.csv"
    pd.DataFrame({"agent": ["m1"], "ep": [1], "ok": [1]}).to_csv(bad_scores, index=False)
    code, _, err = run("scaling", "--results", str(good), "--trajectory-scores", str(bad_scores), "--no-histograms",
                       "--out", str(tmp_path / "o"))
    assert code == 2 and "model (or policy), episode, success" in err


def test_success_rates_combine_raters_as_the_labelling_app_exports_them():
    # one row per (rater, episode): the mean fraction of timesteps on task decides
    export = pd.DataFrame({
        "dataset": "kneel", "episode": [0, 0, 1, 1, 2], "policy": ["ViT-H-14"] * 5, "rater": ["a", "b"] * 2 + ["a"],
        "n_task": [50, 25, 75, 50, 100], "n_steps": 100, "fraction": [0.5, 0.25, 0.75, 0.5, 1.0],
        "success": [True, False, True, True, True], "threshold": ">=0.5", "time": "2026-01-01T00:00:00Z",
    })
    out = success_rates(export)
    assert out["n_trajectories"].tolist() == [3] and out["n_success"].tolist() == [2]
    assert out["success_rate"].iloc[0] == pytest.approx(2 / 3)


def test_success_rates_read_the_exported_threshold():
    # three raters' mean fraction is 0.5 up to float noise (0.49999999999999994): ">=0.5" succeeds, ">0.5" does not
    export = pd.DataFrame({
        "episode": [0, 0, 0, 1, 1], "policy": "ViT-H-14", "rater": ["a", "b", "c", "a", "b"],
        "fraction": [0.7, 0.35, 0.45, 0.2, 0.3], "success": [True, False, False, False, False],
    })
    assert success_rates(export.assign(threshold=">=0.5"))["n_success"].tolist() == [1]
    assert success_rates(export.assign(threshold=">0.5"))["n_success"].tolist() == [0]
    with pytest.raises(InvalidInputError, match=r"threshold '50%' is not of the form '>=0\.5'"):
        success_rates(export.assign(threshold="50%"))


def test_scaling_takes_any_models_and_draws_one_series_per_family(run, tmp_path):
    """Models outside the registry get their sizes from rmeval.sizes; each family is one series."""
    from rmeval.plots import plot_epic_vs_size

    models = {"ViT-B-16-SigLIP:webli": 1, "ViT-SO400M-14-SigLIP:webli": 2, "PE-Core-B-16:meta": 3,
              "PE-Core-L-14-336:meta": 4, "ViT-B-32": 5, "ViT-L-14": 6}
    table = synthetic_results({0.0: -0.03}, dict.fromkeys(models, 1.0), dataset="cartpole-angle")
    table[["params_m", "image_gflops"]] = np.nan  # as for models the table's writer did not size
    checked = check_results(table)
    sizes = dict(zip(checked["model"], checked["params_m"]))
    assert sizes["ViT-B-16-SigLIP:webli"] == pytest.approx(203.16, rel=0.01)
    assert sizes["PE-Core-L-14-336:meta"] > sizes["PE-Core-B-16:meta"]
    assert dict(zip(checked["model"], checked["family"])) == {
        "ViT-B-16-SigLIP:webli": "SigLIP", "ViT-SO400M-14-SigLIP:webli": "SigLIP", "PE-Core-B-16:meta": "PE-Core",
        "PE-Core-L-14-336:meta": "PE-Core", "ViT-B-32": "LAION CLIP", "ViT-L-14": "LAION CLIP"}
    points, warnings = scaling_points(checked, "image_gflops")
    assert not warnings and len(points) == 6
    fig = plot_epic_vs_size(points, size="image_gflops")
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert {"SigLIP", "PE-Core", "LAION CLIP"} <= set(legend) and "ViT-B-32" not in legend
    family_lines = [ln for ln in fig.axes[0].get_lines() if ln.get_linestyle() == "-" and len(ln.get_xdata()) == 2]
    assert len(family_lines) == 3  # one line per family (two models each) at the one alpha

    csv = tmp_path / "epic_cartpole-angle.csv"
    table.to_csv(csv, index=False)
    code, out, err = run("scaling", "--results", str(csv), "--no-histograms", "--out", str(tmp_path / "o"))
    assert code == 0, out + err
    assert (tmp_path / "o" / "scaling_cartpole-angle_params.png").stat().st_size > 10_000
