"""Generative judges (judge: models) with a tiny random LLaVA-style judge built offline."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rmeval.errors import InvalidInputError


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    """(16, 40, 56, 3) uint8 frames: random pixels, distinct per frame."""
    return np.random.default_rng(0).integers(0, 256, (16, 40, 56, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def judge(tiny_judge_dir):
    from rmeval.judges import load_judge

    return load_judge(f"judge:{tiny_judge_dir}", device="cpu", cache_dir=False, batch_size=16)


def test_names_parse_without_torch():
    from rmeval.judges.names import parse_judge
    from rmeval.registry import parse_model, parse_models

    hub = parse_model("judge:HuggingFaceTB/SmolVLM-256M-Instruct")
    assert hub.source == "hub" and hub.repo == "HuggingFaceTB/SmolVLM-256M-Instruct" and not hub.is_random
    rnd = parse_judge("judge:rmeval-tiny-judge:random3")
    assert rnd.source == "random" and rnd.seed == 3 and rnd.is_random and rnd.id == "judge:rmeval-tiny-judge:random3"
    assert parse_judge("judge:rmeval-tiny-judge").is_random
    mixed = parse_models("rmeval-tiny,judge:/some/dir")
    assert mixed[0].arch == "rmeval-tiny" and mixed[1].source == "dir"
    for bad in ("judge:", "judge:nonsense", "judge:rmeval-tiny-judge:v2", "judge:unknown-cfg:random"):
        with pytest.raises(InvalidInputError, match="judge:"):
            parse_judge(bad)


def test_reward_formula_matches_direct_computation_from_logits(judge, frames):
    """log p(yes) - log p(no), summed over the vocabulary's spellings, from the model's own logits."""
    import torch

    goal = "a pole upright"
    vocab = judge.processor.tokenizer.get_vocab()
    assert sorted(judge.yes_ids) == sorted(vocab[t] for t in ("yes", "Yes", "YES"))
    assert sorted(judge.no_ids) == sorted(vocab[t] for t in ("no", "No", "NO"))
    text = judge.processor.apply_chat_template(
        [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": f"Does this image show {goal}? Answer yes or no."}]}],
        add_generation_prompt=True, tokenize=False,
    )
    assert text.endswith("ASSISTANT:")
    with torch.no_grad():
        inputs = judge.processor(text=[text] * len(frames), images=list(frames), return_tensors="pt")
        z = judge.model(**inputs).logits[:, -1, :].double().numpy()
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    p_yes = p[:, judge.yes_ids].sum(1)
    p_no = p[:, judge.no_ids].sum(1)
    expected = np.log(p_yes) - np.log(p_no)

    scores = judge.scores(frames, [goal])
    np.testing.assert_allclose(scores.reward, expected, atol=1e-5)
    np.testing.assert_allclose(scores.p_yes, p_yes / (p_yes + p_no), atol=1e-5)
    np.testing.assert_allclose(scores.log_p_yes, np.log(p_yes), atol=1e-5)
    np.testing.assert_allclose(judge.frame_rewards(frames, [goal], ["ignored baseline"]), expected, atol=1e-5)
    assert len(np.unique(np.round(expected, 6))) == len(frames)  # the image matters


def test_pure_formula_sums_spellings():
    from rmeval.judges.reward import yes_no_log_probs

    z = np.log(np.array([[0.1, 0.2, 0.3, 0.4], [0.25, 0.25, 0.25, 0.25]]))
    s = yes_no_log_probs(z, [0, 1], [3])
    np.testing.assert_allclose(s.reward, [np.log(0.3 / 0.4), np.log(0.5 / 0.25)])
    np.testing.assert_allclose(s.p_yes, [0.3 / 0.7, 0.5 / 0.75])
    np.testing.assert_allclose(s.answer_mass, [0.7, 0.75])


def test_batch_of_1_and_16_give_the_same_rewards(tiny_judge_dir, judge, frames):
    from rmeval.judges import load_judge

    one = load_judge(f"judge:{tiny_judge_dir}", device="cpu", cache_dir=False, batch_size=1)
    np.testing.assert_allclose(one.frame_rewards(frames, ["a cart"], []), judge.frame_rewards(frames, ["a cart"], []),
                               atol=1e-5)


def test_scores_are_cached_per_frame_and_question(tiny_judge_dir, frames, tmp_path):
    from rmeval.judges import load_judge

    first = load_judge(f"judge:{tiny_judge_dir}", device="cpu", cache_dir=tmp_path)
    r1 = first.frame_rewards(frames[:10], ["a cart"], [])
    assert first.stats == {"scored": 10, "cached": 0}
    again = load_judge(f"judge:{tiny_judge_dir}", device="cpu", cache_dir=tmp_path)
    r2 = again.frame_rewards(frames, ["a cart"], [])
    assert again.stats == {"scored": 6, "cached": 10}  # only the 6 new frames ran
    np.testing.assert_array_equal(r2[:10], r1)
    other = load_judge(f"judge:{tiny_judge_dir}", device="cpu", cache_dir=tmp_path,
                       question="Is {goal} visible? Answer yes or no.")
    other.frame_rewards(frames[:10], ["a cart"], [])
    assert other.stats == {"scored": 10, "cached": 0}  # the question is part of the key
    infos = [json.loads(p.read_text()) for p in tmp_path.glob("v1/judge/*/info.json")]
    assert {i["question"] for i in infos} == {"Does this image show a cart? Answer yes or no.",
                                              "Is a cart visible? Answer yes or no."}
    assert all(i["template_version"] == "1" and "files=" in i["identity"] for i in infos)


def test_random_build_by_name_is_cached_and_marked(tmp_path, frames):
    from rmeval.judges import load_judge
    from rmeval.reward_model import RewardModel

    j = load_judge("judge:rmeval-tiny-judge:random", device="cpu", cache_dir=tmp_path)
    assert isinstance(j, RewardModel) and j.random_weights and 10_000 < j.parameter_count() < 200_000
    built = list((tmp_path / "judges").iterdir())
    assert len(built) == 1 and (built[0] / "rmeval_judge.json").is_file()
    assert np.isfinite(j.frame_rewards(frames[:2], ["a cart"], [])).all()


def test_epic_cli_one_table_with_both_families(run, tiny_judge_dir, tmp_path):
    from rmeval.dataset import DatasetMetadata, write_dataset

    rng = np.random.default_rng(1)
    labels = [1, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0]
    index = pd.DataFrame({"episode": 0, "step": range(len(labels)), "label": pd.array(labels, dtype="Int8"),
                          "angle": np.linspace(-0.5, 0.5, len(labels))})
    meta = DatasetMetadata(env="test", task="test", goal_prompts=["a red square"], baseline_prompts=["a square"],
                           name="small", state_columns=["angle"], extra={"judge_question": "Is there {goal} here? Answer yes or no."})
    write_dataset(tmp_path / "small", [rng.integers(0, 256, (48, 64, 3), dtype=np.uint8) for _ in labels], index, meta)
    args = ["epic", "--dataset", str(tmp_path / "small"), "--models", f"rmeval-tiny,judge:{tiny_judge_dir}",
            "--alpha", "0:1:0.5", "--resamples", "50", "--cache-dir", str(tmp_path / "c"), "--out", str(tmp_path / "o"),
            "--device", "cpu"]
    code, out, err = run(*args)
    assert code == 0, err
    assert out.count("alphas do not apply to judge") == 1
    assert "Is there {goal} here?" in out  # the dataset's question
    assert f"judge:{tiny_judge_dir} *" in out and "rmeval-tiny:random *" in out
    table = pd.read_csv(tmp_path / "o" / "epic_small.csv")
    assert table["model"].tolist() == ["rmeval-tiny:random"] * 3 + [f"judge:{tiny_judge_dir}"]
    assert table["random_weights"].all()
    assert table["alpha"].iloc[:3].tolist() == [0.0, 0.5, 1.0] and np.isnan(table["alpha"].iloc[3])
    judge_row = table.iloc[3]
    assert 0 <= judge_row["epic"] <= 1 and judge_row["params_m"] > 0
    report = json.loads((tmp_path / "o" / "epic_small.json").read_text())
    assert f"judge:{tiny_judge_dir}" in report["random_weights_models"]
    code, out, _ = run(*args)
    assert code == 0 and "0 frames judged, 12 from cache" in out

    # the labelling app's model pre-labels find the judge's cached scores, no model loaded
    from rmeval.dataset import load_dataset
    from rmeval.labeling.cached_rewards import cached_models, has_cached_models

    assert has_cached_models(tmp_path / "c")
    ds = load_dataset(tmp_path / "small")
    found = {m.model: m for m in cached_models(ds, ["a red square"], ["a square"], cache_dir=tmp_path / "c")}
    cached = found[f"judge:{tiny_judge_dir}"]
    assert cached.coverage == 1.0 and "rmeval-tiny:random" in found
    rewards = cached.rewards([0.0, 1.0])
    assert rewards.shape == (2, 12) and np.array_equal(rewards[0], rewards[1])
    from rmeval.epic import epic_from_labels

    np.testing.assert_allclose(epic_from_labels(rewards[0], np.array(labels)), judge_row["epic"], atol=1e-9)

    # landscape: the judge is one line at its own reward (alpha NaN), beside the CLIP alphas
    code, out, err = run("landscape", "--dataset", str(tmp_path / "small"), "--param", "angle", "--models",
                         f"rmeval-tiny,judge:{tiny_judge_dir}", "--alpha", "0,1", "--cache-dir", str(tmp_path / "c"),
                         "--out", str(tmp_path / "o"), "--device", "cpu")
    assert code == 0, err
    assert "0 frames judged, 12 from cache" in out and f"judge:{tiny_judge_dir} * alpha=-:" in out
    land = pd.read_csv(tmp_path / "o" / "landscape_small_angle.csv")
    jl = land[land["model"] == f"judge:{tiny_judge_dir}"]
    assert len(jl) == 12 and jl["alpha"].isna().all() and land.loc[land["model"] == "rmeval-tiny:random", "alpha"].notna().all()
    np.testing.assert_allclose(jl.sort_values("value")["reward_mean"].to_numpy(), cached.reward, atol=1e-9)

    # the report's EPIC table has the judge's row and says what its reward is
    code, _, err = run("report", "--dataset", str(tmp_path / "small"), "--results-dir", str(tmp_path / "o"),
                       "--out", str(tmp_path / "rep"))
    assert code == 0, err
    html = (tmp_path / "rep" / "small" / "index.html").read_text()
    assert "Generative judges" in html and f"judge:{tiny_judge_dir}" in html


def _copy(src, dst):
    shutil.copytree(src, dst)
    return dst


def _epic_err(run, tmp_path, model, *extra):
    code, _out, err = run("epic", "--models", model, "--cache-dir", str(tmp_path / "c"), "--out", str(tmp_path / "o"),
                         "--device", "cpu", *extra)
    assert "Traceback" not in err
    return code, err.strip()


def test_bad_input_one_clear_line_each(run, tiny_judge_dir, tmp_path):
    # a question template without {goal}: bad input before any model loads
    code, err = _epic_err(run, tmp_path, f"judge:{tiny_judge_dir}", "--question", "Is it done? Answer yes or no.")
    assert code == 2 and len(err.splitlines()) == 1 and "no {goal} placeholder" in err

    # a model without a chat template
    bare = _copy(tiny_judge_dir, tmp_path / "bare")
    (bare / "chat_template.jinja").unlink()
    code, err = _epic_err(run, tmp_path, f"judge:{bare}")
    assert code == 1 and len(err.splitlines()) == 1 and "has no chat template" in err

    # a vocabulary without yes/no tokens
    noyes = _copy(tiny_judge_dir, tmp_path / "noyes")
    tok = json.loads((noyes / "tokenizer.json").read_text())
    vocab = tok["model"]["vocab"]
    for word in ("yes", "Yes", "YES"):
        vocab["j" + word] = vocab.pop(word)
    (noyes / "tokenizer.json").write_text(json.dumps(tok))
    code, err = _epic_err(run, tmp_path, f"judge:{noyes}")
    assert code == 1 and len(err.splitlines()) == 1 and "no single token for 'yes'" in err

    # a checkpoint that is not in the local cache: the offline error, nothing downloaded
    code, err = _epic_err(run, tmp_path, "judge:SomeOrg/NotCached-VLM", "--weights-dir", str(tmp_path / "hf"))
    assert code == 1 and "not in" in err and "rmeval never downloads judges" in err


def test_scaling_has_a_judge_series_with_parameter_counts():
    import matplotlib

    matplotlib.use("Agg")
    from rmeval.plots import plot_epic_vs_alpha, plot_epic_vs_size
    from rmeval.scaling import check_results, fit_log_linear, scaling_points

    rows = [
        {"model": "rmeval-tiny:random", "alpha": a, "epic": 0.70 - 0.01 * a, "params_m": 3.57} for a in (0.0, 1.0)
    ] + [
        {"model": "ViT-B-32:random", "alpha": a, "epic": 0.60 - 0.01 * a, "params_m": 151.0} for a in (0.0, 1.0)
    ] + [
        {"model": "judge:rmeval-tiny-judge:random", "alpha": float("nan"), "epic": 0.72, "params_m": 0.0634},
        {"model": "judge:rmeval-small-judge:random", "alpha": float("nan"), "epic": 0.66, "params_m": 0.465},
    ]
    table = pd.DataFrame(rows).assign(epic_ci_low=lambda d: d["epic"] - 0.02, epic_ci_high=lambda d: d["epic"] + 0.02)
    results = check_results(table)
    points, _ = scaling_points(results)
    fits = fit_log_linear(points)
    judges = fits[fits["alpha"].isna()].iloc[0]
    assert judges["n"] == 2 and judges["slope"] == pytest.approx((0.66 - 0.72) / np.log10(0.465 / 0.0634))
    assert sorted(fits["alpha"].dropna()) == [0.0, 1.0]
    fig = plot_epic_vs_size(points, fits)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any(t.startswith("judges (own reward, no α): slope") for t in labels)
    fig = plot_epic_vs_alpha(results)
    assert any("(judge, no α)" in t.get_text() for t in fig.axes[0].get_legend().get_texts())
    with pytest.raises(InvalidInputError, match="only for judge"):
        check_results(table.assign(alpha=np.nan))


def test_train_with_a_judge_as_the_reward(run, tiny_judge_dir, tmp_path):
    code, out, err = run("train", "--env", "cartpole", "--model", f"judge:{tiny_judge_dir}", "--preset", "quick",
                         "--steps", "200", "--checkpoint-every", "100", "--episode-steps", "50", "--device", "cpu",
                         "--out", str(tmp_path / "run"))
    assert code == 0, err
    assert "reward model: 200 frames" in out and "RANDOM weights" in err
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["model"] == f"judge:{tiny_judge_dir}" and config["random_weights"] is True
    assert config["model_fingerprint"].startswith(f"judge:{tiny_judge_dir}|files=")


def test_train_question_reaches_the_judge(run, tiny_judge_dir, tmp_path, frames):
    from rmeval.judges.model import Judge
    from rmeval.judges.question import DEFAULT_TEMPLATE
    from rmeval.training.config import RunConfig, new_config
    from rmeval.training.trainer import build_reward_model

    question = "Is the pole upright, as in {goal}? Say yes or no."
    cfg = new_config("cartpole", preset="quick", model=f"judge:{tiny_judge_dir}", question=question, device="cpu")
    assert cfg.judge_question == question
    assert RunConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))).judge_question == question  # stored and read back
    reward = build_reward_model(cfg)
    assert reward.model.template == question
    direct = Judge(f"judge:{tiny_judge_dir}", device="cpu", question=question, cache_dir=False)
    np.testing.assert_allclose(reward(frames[:3]), direct.frame_rewards(frames[:3], cfg.goal_prompts, ()), atol=1e-5)
    default = new_config("cartpole", preset="quick", model=f"judge:{tiny_judge_dir}", device="cpu")
    assert default.judge_question == DEFAULT_TEMPLATE
    assert new_config("cartpole", preset="quick", model="rmeval-tiny").judge_question is None
    # bad input: one line, exit 2, before any training
    for extra, message in ((["--model", f"judge:{tiny_judge_dir}", "--question", "Done?"], "no {goal} placeholder"),
                           (["--model", "rmeval-tiny", "--question", "Is it {goal}?"], "--question is for judge")):
        code, _, err = run("train", "--env", "cartpole", "--preset", "quick", "--steps", "10", *extra,
                           "--out", str(tmp_path / "bad"))
        assert code == 2 and len(err.strip().splitlines()) == 1 and message in err, err


def test_frame_reward_table_has_p_yes_for_judges(tiny_judge_dir, tmp_path):
    from rmeval.dataset import load_dataset
    from rmeval.embedding_options import EmbeddingOptions
    from rmeval.scaling import FRAME_REWARD_COLUMNS, compute_frame_rewards

    ds = load_dataset(Path(__file__).resolve().parents[1] / "datasets" / "humanoid-poses-kneeling")
    judge_name = f"judge:{tiny_judge_dir}"
    fr = compute_frame_rewards(ds, ["rmeval-tiny", judge_name], alpha=0.0, goal_prompts=ds.metadata.goal_prompts,
                               baseline_prompts=ds.metadata.baseline_prompts,
                               embedding=EmbeddingOptions(cache_dir=tmp_path / "cache", device="cpu"))
    assert list(fr.table.columns) == FRAME_REWARD_COLUMNS and not fr.skipped
    judged = fr.table[fr.table["model"] == judge_name]
    assert len(judged) == len(ds.labelled_rows())
    np.testing.assert_allclose(judged["p_yes"], 1 / (1 + np.exp(-judged["reward"])), rtol=1e-9, atol=1e-12)
    assert fr.table.loc[fr.table["model"] != judge_name, "p_yes"].isna().all()  # CLIP: not a probability
