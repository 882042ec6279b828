r"""Check the Humanoid pose predicates against careful human labels, blind.

Two steps, so the labeller never sees the automatic labels before writing their own:

1. ``sheets``: render a fresh pose set per task (the task's default mix, a seed of your
   choice) with shadows (``--quality fine``: a labeller needs them to judge contact with
   the floor) and write contact sheets of six numbered frames per PNG, plus ``frames.csv``
   (id, task, count, seed, index: how to rebuild each pose) with an empty ``human``
   column. Nothing written says what the predicates think.

       python scripts/pose_label_check.py sheets --per-task 13 --seed 1717 --out /tmp/poses

2. Look at each sheet, decide for each frame whether it shows the task (1) or not (0),
   and fill the ``human`` column (keep the file: ``scripts/pose_labels_human.csv`` holds
   the labels behind the README's figures). Then ``score`` rebuilds every pose from its
   (task, count, seed, index), computes the task's predicate and prints the agreement per
   task and Cohen's kappa (all frames, and per task where both labels occur):

       python scripts/pose_label_check.py score scripts/pose_labels_human.csv

``tests/test_pose_label_check.py`` runs ``score`` on the stored labels and requires at
least 90% agreement on every task.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

os.environ.setdefault("MUJOCO_GL", "egl")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

COLUMNS = ["id", "task", "count", "seed", "facing", "index", "human"]
PER_SHEET = 6
#: Frame-id prefixes, one per task.
PREFIXES = {"standing_up": "stup", "kneeling": "knee", "arms_raised": "arms", "doing_splits": "splt",
            "standing_on_one_leg": "oleg", "lotus_position": "lotu", "hands_on_hips": "hips", "arms_crossed": "crss"}


def pose_qpos(task: str, count: int, seed: int, facing: str) -> np.ndarray:
    """(count, 24) configurations of the task's pose set (default mix, ``seed``, ``facing``)."""
    from rmeval.envs.pose_predicates import qpos_names
    from rmeval.rendering.poses import PoseSetSpec, default_mix, pose_set_states

    states = pose_set_states(PoseSetSpec(count=count, mix=default_mix(task), seed=seed, facing=facing))
    return states[list(qpos_names())].to_numpy(dtype=np.float64)


def predicate_labels(frames: pd.DataFrame) -> np.ndarray:
    """The task's predicate label (0/1) of every row of ``frames`` (columns as :data:`COLUMNS`)."""
    from rmeval.envs.pose_predicates import label_qpos

    out = np.zeros(len(frames), dtype=np.int8)
    for (task, count, seed, facing), group in frames.groupby(["task", "count", "seed", "facing"], sort=False):
        qpos = pose_qpos(str(task), int(count), int(seed), str(facing))
        for pos, index in zip(group.index, group["index"]):
            out[frames.index.get_loc(pos)] = int(label_qpos(qpos[int(index)])[str(task)])
    return out


def sheets(args: argparse.Namespace) -> int:
    from PIL import Image, ImageDraw

    from rmeval.envs.humanoid import HumanoidPoseRenderer
    from rmeval.envs.pose_predicates import PREDICATE_TASKS

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    with HumanoidPoseRenderer(look=args.look, quality="fine", width=args.size, height=args.size) as renderer:
        for t, task in enumerate(PREDICATE_TASKS):
            if args.tasks and task not in args.tasks.split(","):
                continue
            qpos = pose_qpos(task, args.per_task, args.seed + t, args.facing)
            tiles = []
            for i, q in enumerate(qpos):
                frame_id = f"{PREFIXES[task]}{i:02d}"
                image = Image.fromarray(renderer.render(q))
                ImageDraw.Draw(image).text((4, 4), frame_id, fill=(0, 0, 0))
                tiles.append(image)
                rows.append({"id": frame_id, "task": task, "count": args.per_task, "seed": args.seed + t,
                             "facing": args.facing, "index": i, "human": ""})
            for s in range(0, len(tiles), PER_SHEET):
                part = tiles[s:s + PER_SHEET]
                sheet = Image.new("RGB", (3 * args.size, 2 * args.size), "white")
                for k, tile in enumerate(part):
                    sheet.paste(tile, ((k % 3) * args.size, (k // 3) * args.size))
                sheet.save(out / f"{task}-{s // PER_SHEET:02d}.png")
    pd.DataFrame(rows, columns=COLUMNS).to_csv(out / "frames.csv", index=False)
    print(f"{len(rows)} frames in {out}; label them in {out / 'frames.csv'} (column human: 1 = shows the task)")
    return 0


def zoom(args: argparse.Namespace) -> int:
    """Render chosen frames of ``frames.csv`` larger (the same camera), four per sheet."""
    from PIL import Image, ImageDraw

    from rmeval.envs.humanoid import HumanoidPoseRenderer

    frames = pd.read_csv(args.frames).set_index("id")
    ids = [i.strip() for i in args.ids.split(",") if i.strip()]
    unknown = [i for i in ids if i not in frames.index]
    if unknown:
        raise SystemExit(f"unknown frame ids {unknown}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tiles = []
    with HumanoidPoseRenderer(look=args.look, quality="fine", width=args.size, height=args.size) as renderer:
        for frame_id in ids:
            row = frames.loc[frame_id]
            q = pose_qpos(str(row["task"]), int(row["count"]), int(row["seed"]), str(row["facing"]))[int(row["index"])]
            image = Image.fromarray(renderer.render(q))
            ImageDraw.Draw(image).text((6, 6), frame_id, fill=(0, 0, 0))
            tiles.append(image)
    for s in range(0, len(tiles), 4):
        sheet = Image.new("RGB", (2 * args.size, 2 * args.size), "white")
        for k, tile in enumerate(tiles[s:s + 4]):
            sheet.paste(tile, ((k % 2) * args.size, (k // 2) * args.size))
        sheet.save(out / f"zoom-{s // 4:02d}.png")
    print(f"{len(tiles)} frames in {out}")
    return 0


def score_table(labels: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    """Per-task agreement of human and predicate labels, and Cohen's kappa over all frames."""
    from rmeval.labeling.agreement import cohen_kappa

    missing = [c for c in COLUMNS if c not in labels.columns]
    if missing:
        raise SystemExit(f"the labels file lacks columns {missing}")
    if labels["human"].isna().any() or not set(labels["human"].astype(int)) <= {0, 1}:
        raise SystemExit("every row needs a human label 0 or 1")
    labels = labels.reset_index(drop=True)
    human = labels["human"].astype(int).to_numpy()
    auto = predicate_labels(labels)
    rows = []
    for task, group in labels.groupby("task", sort=False):
        h, a = human[group.index], auto[group.index]
        kappa = cohen_kappa(h, a) if len(set(h)) > 1 or len(set(a)) > 1 else float("nan")
        rows.append({"task": task, "frames": len(group), "human_yes": int(h.sum()), "auto_yes": int(a.sum()),
                     "agreement": float((h == a).mean()), "kappa": kappa})
    return pd.DataFrame(rows), float(cohen_kappa(human, auto))


def score(args: argparse.Namespace) -> int:
    labels = pd.read_csv(args.labels)
    table, kappa = score_table(labels)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    total = (table["agreement"] * table["frames"]).sum() / table["frames"].sum()
    print(f"all {int(table['frames'].sum())} frames: agreement {total:.3f}, Cohen's kappa {kappa:.3f}")
    if args.show_disagreements:
        auto = predicate_labels(labels.reset_index(drop=True))
        bad = labels.reset_index(drop=True)[labels["human"].astype(int).to_numpy() != auto]
        print("disagreements (id, human):", ", ".join(f"{r.id}:{r.human}" for r in bad.itertuples()) or "none")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("sheets", help="render fresh pose sets as numbered contact sheets, without labels")
    s.add_argument("--per-task", type=int, default=13, help="frames per task (default: 13; 8 tasks -> 104)")
    s.add_argument("--seed", type=int, default=1717, help="seed of the first task's set (+1 per task)")
    s.add_argument("--tasks", default=None, help="comma-separated tasks (default: all eight)")
    s.add_argument("--look", default="textured", help="textured (default), robot or original")
    s.add_argument("--facing", default="three-quarter", choices=["three-quarter", "any"],
                   help="headings of the poses (default: three-quarter, as rmeval render's pose sets)")
    s.add_argument("--size", type=int, default=224, help="frame side in pixels (default: 224)")
    s.add_argument("--out", required=True, help="folder for the sheets and frames.csv")
    s.set_defaults(run=sheets)
    z = sub.add_parser("zoom", help="render chosen frames larger, to look closer")
    z.add_argument("frames", help="frames.csv written by sheets")
    z.add_argument("--ids", required=True, help="comma-separated frame ids")
    z.add_argument("--look", default="textured", help="textured (default), robot or original")
    z.add_argument("--size", type=int, default=448, help="frame side in pixels (default: 448)")
    z.add_argument("--out", required=True, help="folder for the sheets")
    z.set_defaults(run=zoom)
    c = sub.add_parser("score", help="agreement of the filled-in labels with the predicates")
    c.add_argument("labels", help="frames.csv with the human column filled in")
    c.add_argument("--show-disagreements", action="store_true", help="list the frames where they differ")
    c.set_defaults(run=score)
    args = p.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    raise SystemExit(main())
