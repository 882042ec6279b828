"""The notebook API: from a dataset to an EPIC table and plot in a few lines.

.. code-block:: python

    import rmeval
    ds = rmeval.load_dataset("cartpole-angle")          # a path, or a bundled dataset's name
    res = rmeval.epic(ds, models=["rmeval-tiny", "ViT-B-32:random"], alphas="0:1:0.25")
    res.table                                            # the columns of `rmeval epic`'s CSV
    res.plot()                                           # EPIC against alpha, one line per model

Both are reached lazily from the top-level package (``import rmeval`` loads neither torch
nor pandas). :func:`epic` runs the same job as ``rmeval epic`` (one embedding pass per
model, cached; every alpha from it; EPIC by Lemma 1 with a bootstrap CI). A model that
fails raises :class:`~rmeval.errors.RmevalError` naming it (pass ``errors="warn"`` to keep
the others' results and get a warning instead); nothing fails silently.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rmeval.errors import InvalidInputError, RmevalError

if TYPE_CHECKING:
    from rmeval.dataset import Dataset
    from rmeval.epic_table import EpicResults

__all__ = ["epic", "load_dataset"]

def load_dataset(path_or_name: str | os.PathLike[str], *, check_frames: bool = True) -> Dataset:
    """Load a dataset from its directory, or a bundled dataset by name (``"cartpole-angle"``).

    Raises :class:`~rmeval.errors.DatasetError` listing every problem found.
    """
    from rmeval.dataset import load_dataset as _load
    from rmeval.dataset.bundled import resolve_dataset_path

    return _load(resolve_dataset_path(path_or_name), check_frames=check_frames)


def epic(
    dataset: Dataset | str | os.PathLike[str],
    models: Sequence[str] | str,
    alphas: str | Sequence[float] = "0",
    *,
    goal_prompts: Sequence[str] | None = None,
    baseline_prompts: Sequence[str] | None = None,
    n_resamples: int = 1000,
    ci_level: float = 0.95,
    seed: int = 0,
    device: str | None = None,
    batch_size: int | str = 64,
    precision: str = "fp32",
    cache_dir: str | os.PathLike[str] | None = None,
    weights_dir: str | os.PathLike[str] | None = None,
    progress: bool | None = None,
    errors: str = "raise",
) -> EpicResults:
    """EPIC distance of each model's reward to the dataset's labels, for every alpha.

    Args:
        dataset: A loaded dataset, its directory, or a bundled dataset's name.
        models: Model names as for ``rmeval epic --models`` (a list, or one comma-separated string).
        alphas: A range or list as for ``--alpha`` (``"0:1:0.25"``, ``"0,0.5"``), or numbers.
        goal_prompts, baseline_prompts: Default: the dataset's metadata.
        n_resamples, ci_level, seed: The bootstrap CI.
        device, batch_size, precision, cache_dir, weights_dir, progress: The embedding
            options of ``rmeval epic`` (``cache_dir`` None: ``$RMEVAL_CACHE_DIR`` or
            ``~/.cache/rmeval``).
        errors: ``"raise"`` (default): a failing model raises
            :class:`~rmeval.errors.RmevalError` naming it; ``"warn"``: a warning per failed
            model, the others' rows kept.

    Returns:
        :class:`~rmeval.epic_table.EpicResults`: ``.table`` (the columns of ``rmeval epic``'s
        CSV), ``.plot()``, ``.failures`` (with ``errors="warn"``), ``.random_models``.
    """
    from rmeval.dataset import Dataset
    from rmeval.embedding_options import EmbeddingOptions
    from rmeval.epic_table import EpicJob, run_epic
    from rmeval.ranges import parse_alphas
    from rmeval.registry import parse_models

    if errors not in ("raise", "warn"):
        raise InvalidInputError(f"errors must be 'raise' or 'warn', not {errors!r}")
    ds = dataset if isinstance(dataset, Dataset) else load_dataset(dataset)
    if isinstance(alphas, str):
        alpha_list = parse_alphas(alphas)
    else:
        alpha_list = parse_alphas(",".join(repr(float(a)) for a in alphas))
    refs = parse_models(models if isinstance(models, str) else ",".join(models))
    job = EpicJob(
        alphas=alpha_list,
        goal_prompts=list(goal_prompts) if goal_prompts is not None else list(ds.metadata.goal_prompts),
        baseline_prompts=list(baseline_prompts) if baseline_prompts is not None else list(ds.metadata.baseline_prompts),
        embedding=EmbeddingOptions(
            device=device, batch_size=batch_size, precision=precision, cache_dir=None if cache_dir is None else Path(cache_dir),
            weights_dir=None if weights_dir is None else Path(weights_dir), progress=progress,
        ),
        n_resamples=n_resamples,
        ci_level=ci_level,
        seed=seed,
    )
    results = run_epic(ds, refs, job)
    if results.failures:
        lines = [f"{m}: {msg}" for m, msg in results.failures.items()]
        if errors == "raise":
            raise RmevalError(f"{len(lines)} of {len(refs)} models failed:\n  " + "\n  ".join(lines))
        for line in lines:
            warnings.warn(f"rmeval.epic: {line}", stacklevel=2)
    return results
