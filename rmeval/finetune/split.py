"""Seeded train / validation / held-out test split of a labelled dataset, by episode.

Frames of one episode are near-duplicates of each other (consecutive states), so a split
by frame would leak: a model could memorise an episode's look in training and meet its
neighbours again at test time. :func:`split_rows` assigns whole *groups* to one part:

- **by episode** when the labelled frames come from at least three episodes;
- **by frame groups** otherwise (a dataset without episodes, e.g. everything in episode
  0): blocks of ``group_size`` consecutive rows in dataset order, which for rendered
  sweeps are neighbouring states. :attr:`Split.by` says which was used, and the card
  repeats it.

The groups are shuffled with ``numpy.random.default_rng(seed)``; a shuffle that leaves
the validation or test part with one class only (EPIC is undefined there) is replaced by
the next one drawn from the same generator, up to 1,000 tries, so the result depends on the
seed alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rmeval.errors import InvalidInputError

#: Default shares of the groups in train, validation and test.
DEFAULT_FRACTIONS: tuple[float, float, float] = (0.7, 0.15, 0.15)
_TRIES = 1000


@dataclass(frozen=True)
class Split:
    """Row positions of the three parts (ascending int64 arrays) and the groups behind them.

    Attributes:
        train, val, test: dataset row positions of each part.
        by: ``"episode"`` or ``"frame groups of N rows"``.
        groups: part name -> the group ids it holds (episode numbers, or block numbers).
    """

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    by: str
    groups: dict[str, list[int]] = field(default_factory=dict)

    def parts(self) -> dict[str, np.ndarray]:
        return {"train": self.train, "val": self.val, "test": self.test}

    def to_json(self) -> dict[str, object]:
        return {"by": self.by, "groups": self.groups, "rows": {k: [int(r) for r in v] for k, v in self.parts().items()}}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Split:
        rows = data["rows"]
        assert isinstance(rows, dict)
        groups = data.get("groups", {})
        assert isinstance(groups, dict)
        return cls(
            train=np.asarray(rows["train"], dtype=np.int64),
            val=np.asarray(rows["val"], dtype=np.int64),
            test=np.asarray(rows["test"], dtype=np.int64),
            by=str(data["by"]),
            groups={str(k): [int(g) for g in v] for k, v in groups.items()},
        )


def parse_fractions(text: str) -> tuple[float, float, float]:
    """``"0.7,0.15,0.15"`` -> three positive shares summing to 1 (clear error otherwise)."""
    try:
        parts = tuple(float(p) for p in str(text).split(","))
    except ValueError:
        parts = ()
    if len(parts) != 3 or any(not (0 < p < 1) for p in parts) or abs(sum(parts) - 1) > 1e-6:
        raise InvalidInputError(
            f"--split {text!r}: give three shares in (0, 1) for train,validation,test that sum to 1, "
            "e.g. --split 0.7,0.15,0.15"
        )
    return parts  # type: ignore[return-value]


def split_rows(
    rows: np.ndarray,
    episodes: np.ndarray,
    labels: np.ndarray,
    *,
    fractions: tuple[float, float, float] = DEFAULT_FRACTIONS,
    seed: int = 0,
    group_size: int = 16,
) -> Split:
    """Split labelled rows into train / validation / test without cutting a group in two.

    Args:
        rows: ``(N,)`` dataset row positions of the labelled frames.
        episodes: ``(N,)`` episode of each of those rows.
        labels: ``(N,)`` 0/1 goal labels of those rows.
        fractions: shares of the groups in (train, val, test).
        seed: seed of the shuffle.
        group_size: rows per group when splitting by frame groups.

    Raises:
        InvalidInputError: fewer than three groups, or no seeded shuffle gives validation
            and test parts with both classes.
    """
    rows = np.asarray(rows, dtype=np.int64)
    episodes = np.asarray(episodes, dtype=np.int64)
    labels = np.asarray(labels).astype(bool)
    if not (len(rows) == len(episodes) == len(labels)):
        raise InvalidInputError("rows, episodes and labels must have the same length")
    unique = np.unique(episodes)
    if len(unique) >= 3:
        by = "episode"
        group_of = episodes
    else:
        order = np.argsort(rows, kind="stable")
        group_of = np.empty(len(rows), dtype=np.int64)
        group_of[order] = np.arange(len(rows)) // max(1, int(group_size))
        by = f"frame groups of {int(group_size)} consecutive rows (the dataset has {len(unique)} episode(s))"
        unique = np.unique(group_of)
    n_groups = len(unique)
    if n_groups < 3:
        raise InvalidInputError(
            f"{len(rows)} labelled frames in {n_groups} group(s): a train / validation / test split needs at "
            "least 3 episodes (or frame groups); label more frames or render more episodes."
        )
    n_test = max(1, round(fractions[2] * n_groups))
    n_val = max(1, round(fractions[1] * n_groups))
    if n_test + n_val >= n_groups:
        n_test, n_val = 1, 1
    rng = np.random.default_rng(int(seed))
    for _ in range(_TRIES):
        perm = rng.permutation(unique)
        parts = {"test": perm[:n_test], "val": perm[n_test : n_test + n_val], "train": perm[n_test + n_val :]}
        masks = {k: np.isin(group_of, v) for k, v in parts.items()}
        if all(labels[masks[k]].any() and not labels[masks[k]].all() for k in ("val", "test")) and labels[masks["train"]].any():
            return Split(
                train=np.sort(rows[masks["train"]]),
                val=np.sort(rows[masks["val"]]),
                test=np.sort(rows[masks["test"]]),
                by=by,
                groups={k: sorted(int(g) for g in v) for k, v in parts.items()},
            )
    raise InvalidInputError(
        f"no split of the {n_groups} groups gives validation and test parts with both goal and non-goal "
        "frames; label more frames of both kinds, or change --split."
    )


__all__ = ["DEFAULT_FRACTIONS", "Split", "parse_fractions", "split_rows"]
