"""rmeval finetune: objectives, the split by episode, resume, and the card against rmeval epic."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from rmeval.errors import InvalidInputError
from rmeval.finetune.split import parse_fractions, split_rows

GOAL = "pole vertically upright on top of the cart"
BASELINE = "pole and cart"


def _frame(angle_deg: float, rng: np.random.Generator) -> np.ndarray:
    """A 64x64 frame: a light bar through the centre at ``angle_deg`` from vertical, on noise."""
    img = rng.integers(0, 60, size=(64, 64, 3), dtype=np.uint8)
    t = np.linspace(-24, 24, 200)
    a = np.deg2rad(angle_deg)
    ys = np.clip(np.round(32 - t * np.cos(a)).astype(int), 0, 63)
    xs = np.clip(np.round(32 + t * np.sin(a)).astype(int), 0, 63)
    for dx in (-1, 0, 1):
        img[ys, np.clip(xs + dx, 0, 63)] = (230, 200, 60)
    return img


@pytest.fixture(scope="module")
def labelled_set(tmp_path_factory) -> Path:
    """8 episodes x 10 frames; goal = bar within 6 degrees of vertical."""
    from rmeval.dataset import DatasetMetadata, write_dataset

    rng = np.random.default_rng(0)
    frames, rows = [], []
    for ep in range(8):
        for step, angle in enumerate(np.linspace(-40, 40, 10) + rng.uniform(-3, 3)):
            frames.append(_frame(angle, rng))
            rows.append({"episode": ep, "step": step, "label": int(abs(angle) <= 12), "angle": angle})
    index = pd.DataFrame(rows)
    meta = DatasetMetadata(env="synthetic", task="upright", goal_prompts=[GOAL], baseline_prompts=[BASELINE],
                           name="bars")
    root = tmp_path_factory.mktemp("ft") / "bars"
    write_dataset(root, frames, index, meta)
    return root


# ----------------------------------------------------------------------------- objectives


@pytest.mark.parametrize("objective", ["contrastive", "triplet"])
def test_each_objective_decreases_its_loss_on_a_small_labelled_set(objective, labelled_set):
    from rmeval.dataset import load_dataset
    from rmeval.finetune.objectives import combine_text, contrastive_loss, triplet_loss
    from rmeval.models import load_model
    from rmeval.preprocess import preprocess_frames

    torch.manual_seed(0)
    ds = load_dataset(labelled_set)
    loaded = load_model("rmeval-tiny:random", device="cpu")
    model = loaded.model
    x = preprocess_frames(torch.from_numpy(ds.read_frames()), loaded.preprocess)
    y = torch.as_tensor(ds.labels())
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def loss() -> torch.Tensor:
        goal = combine_text(model.encode_text(loaded.tokenizer([GOAL])))
        if objective == "contrastive":
            base = combine_text(model.encode_text(loaded.tokenizer([BASELINE])))
            return contrastive_loss(model.encode_image(x), goal, base, y, model.logit_scale.exp())
        return triplet_loss(model.encode_image(x), goal, y)

    model.train()
    first = float(loss())
    for _ in range(15):
        opt.zero_grad()
        value = loss()
        value.backward()
        opt.step()
    last = float(loss())
    assert last < 0.7 * first, (first, last)


def test_triplet_loss_is_zero_when_goal_frames_are_closer_by_the_margin():
    from rmeval.finetune.objectives import triplet_loss

    goal = torch.tensor([1.0, 0.0])
    emb = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.9, 0.1], [-1.0, 0.2]])
    labels = torch.tensor([1, 0, 1, 0])
    assert float(triplet_loss(emb, goal, labels, margin=0.2)) == 0.0
    swapped = torch.tensor([0, 1, 0, 1])
    assert float(triplet_loss(emb, goal, swapped, margin=0.2)) > 0.5
    assert float(triplet_loss(emb, goal, torch.ones(4, dtype=torch.long))) == 0.0  # one class: no pair


# ----------------------------------------------------------------------------- split


@pytest.mark.parametrize("seed", range(6))
def test_split_never_puts_one_episode_in_two_parts(seed):
    rng = np.random.default_rng(seed)
    n = 400
    episodes = rng.integers(0, 23, size=n)
    rows = rng.permutation(1000)[:n]
    labels = rng.random(n) < 0.3
    sp = split_rows(rows, episodes, labels, seed=seed)
    parts = sp.parts()
    assert sorted(np.concatenate(list(parts.values())).tolist()) == sorted(rows.tolist())
    ep_of = dict(zip(rows.tolist(), episodes.tolist()))
    seen = {k: {ep_of[int(r)] for r in v} for k, v in parts.items()}
    assert not (seen["train"] & seen["val"]) and not (seen["train"] & seen["test"]) and not (seen["val"] & seen["test"])
    assert sp.by == "episode"
    assert {k: set(v) for k, v in sp.groups.items()} == seen
    for k in ("val", "test"):
        lab = labels[np.isin(rows, parts[k])]
        assert 0 < lab.sum() < len(lab)
    again = split_rows(rows, episodes, labels, seed=seed)
    assert all(np.array_equal(a, b) for a, b in zip(again.parts().values(), parts.values()))


def test_split_without_episodes_uses_frame_groups_and_says_so():
    rows = np.arange(100)
    labels = (np.arange(100) % 5) == 0
    sp = split_rows(rows, np.zeros(100, dtype=int), labels, seed=1, group_size=10)
    assert sp.by.startswith("frame groups of 10")
    for part in sp.parts().values():
        assert set((part // 10).tolist()).isdisjoint(set().union(*[set((p // 10).tolist()) for p in sp.parts().values()
                                                                   if p is not part]))


def test_split_refuses_too_few_groups_and_bad_fractions():
    with pytest.raises(InvalidInputError, match="at least 3"):
        split_rows(np.arange(4), np.zeros(4, dtype=int), np.array([0, 1, 0, 1]), group_size=2)
    with pytest.raises(InvalidInputError, match="--split"):
        parse_fractions("0.5,0.5")


# ----------------------------------------------------------------------------- resume and card


def _settings(**kw):
    from rmeval.finetune.trainer import FinetuneSettings

    base = {"base_model": "rmeval-tiny:random", "objective": "triplet", "epochs": 3, "batch_size": 16, "lr": 1e-3,
            "patience": 10, "seed": 0, "device": "cpu", "resamples": 200}
    base.update(kw)
    return FinetuneSettings(**base)


def test_resume_continues_from_the_checkpoint(labelled_set, tmp_path):
    from rmeval.finetune.trainer import finetune, resume_path

    full = finetune(labelled_set, tmp_path / "full" / "ft.pt", _settings(), log=lambda m: None)

    class Stop(Exception):
        pass

    def stop_after_first(row):
        if row["epoch"] == 1:
            raise Stop

    out = tmp_path / "cut" / "ft.pt"
    with pytest.raises(Stop):
        finetune(labelled_set, out, _settings(), log=lambda m: None, on_epoch_end=stop_after_first)
    assert resume_path(out).is_file() and not out.exists()
    logs: list[str] = []
    with pytest.raises(InvalidInputError, match="lr"):
        finetune(labelled_set, out, _settings(lr=5e-4), resume=True, log=logs.append)
    resumed = finetune(labelled_set, out, _settings(), resume=True, log=logs.append)
    assert any("resuming after epoch 1" in m for m in logs)
    assert [h["epoch"] for h in resumed.history] == [0, 1, 2, 3]
    assert [h["val_epic"] for h in resumed.history] == [h["val_epic"] for h in full.history]
    a = torch.load(full.checkpoint, weights_only=True)
    b = torch.load(resumed.checkpoint, weights_only=True)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert not resume_path(out).exists()


def test_card_matches_a_fresh_rmeval_epic_on_the_heldout_part(labelled_set, tmp_path, run):
    out = tmp_path / "ft" / "bars.pt"
    code, _, err = run("finetune", "--dataset", str(labelled_set), "--model", "rmeval-tiny:random",
                            "--out", str(out), "--epochs", "2", "--lr", "1e-3", "--batch-size", "16",
                            "--train", "lora", "--lora-rank", "4", "--resamples", "300", "--device", "cpu",
                            "--no-progress")
    assert code == 0, err
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["model"] == f"rmeval-tiny:{out.resolve()}" and card["random_init"] is True
    assert card["data"]["split_by"] == "episode" and card["train"]["mode"] == "lora"
    heldout = card["heldout"]["dataset"]
    from rmeval.dataset import load_dataset

    held = load_dataset(heldout)
    assert len(held) == card["data"]["frames"]["test"]
    assert sorted(held.index["episode"].unique().tolist()) == card["data"]["groups"]["test"]
    # The checkpoint loads as ARCH:/path and `rmeval epic` reproduces the card's numbers.
    code, _, err = run("epic", "--dataset", heldout, "--models", f"{card['model']},{card['base_model']}",
                       "--resamples", "300", "--out", str(tmp_path / "epic"), "--no-progress")
    assert code == 0, err
    table = pd.read_csv(tmp_path / "epic" / f"epic_{held.name}.csv").set_index("model")
    for key, model in (("after", card["model"]), ("before", card["base_model"])):
        row = table.loc[model]
        assert row["epic"] == pytest.approx(card["heldout"][key]["epic"], abs=1e-12)
        assert row["epic_ci_low"] == pytest.approx(card["heldout"][key]["ci_low"], abs=1e-12)
        assert row["epic_ci_high"] == pytest.approx(card["heldout"][key]["ci_high"], abs=1e-12)
    # an existing output is not silently replaced
    code, _, err = run("finetune", "--dataset", str(labelled_set), "--model", "rmeval-tiny:random", "--out", str(out))
    assert code == 2 and "--overwrite" in err and "Traceback" not in err


def test_finetune_bad_input_is_one_clear_line(labelled_set, tmp_path, run):
    code, _, err = run("finetune", "--dataset", str(labelled_set), "--model", "rmeval-tiny", "--out", str(tmp_path / "x.txt"))
    assert code == 2 and ".pt" in err
    code, _, err = run("finetune", "--dataset", str(labelled_set), "--model", "rmeval-tiny", "--out",
                       str(tmp_path / "x.pt"), "--split", "0.9,0.2,0.1")
    assert code == 2 and "--split" in err
    code, _, err = run("finetune", "--dataset", str(labelled_set), "--model", "rmeval-tiny", "--out",
                       str(tmp_path / "x.pt"), "--resume")
    assert code == 2 and "nothing to resume" in err


def test_last_k_and_lora_train_only_part_and_lora_merges_to_the_base_layout():
    from rmeval.finetune.trainable import configure_trainable, merged_state_dict
    from rmeval.models import load_model

    m = load_model("rmeval-tiny:random", device="cpu").model
    keys = set(m.state_dict())
    counts = configure_trainable(m, "last-k", last_k=1)
    assert 0 < counts["trainable"] < counts["total"]
    assert not any(p.requires_grad for p in m.visual.transformer.resblocks[0].parameters())
    assert all(p.requires_grad for p in m.visual.transformer.resblocks[-1].parameters())
    m2 = load_model("rmeval-tiny:random", device="cpu").model
    x = torch.zeros(2, 3, 64, 64)
    before = m2.encode_image(x).detach()
    configure_trainable(m2, "lora", lora_rank=2)
    assert torch.allclose(m2.encode_image(x), before, atol=1e-6)  # B starts at zero
    for name, p in m2.named_parameters():
        assert p.requires_grad == ("lora_" in name)
    merged = merged_state_dict(m2)
    assert set(merged) == keys
