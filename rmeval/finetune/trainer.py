"""Fine-tune an open_clip model on a labelled dataset: :func:`finetune`.

1. The labelled frames are split by episode (:mod:`rmeval.finetune.split`), seeded.
2. Each part's frames are read once and preprocessed exactly as every rmeval command
   embeds them (:func:`rmeval.preprocess.preprocess_frames` with the model's settings).
3. Each epoch visits the training frames in a seeded order (``seed``, epoch), in
   batches; the loss is one of :mod:`rmeval.finetune.objectives`; AdamW updates what
   :mod:`rmeval.finetune.trainable` leaves trainable. On a GPU, ``bf16``/``fp16`` run under
   autocast (``fp16`` with a gradient scaler).
4. After each epoch: EPIC (Lemma 1, the CLIP reward at alpha 0) on the validation part.
   The best epoch's weights are kept; training stops after ``patience`` epochs without a
   better validation EPIC, or after ``epochs``.
5. After each epoch the resume state (weights, optimiser, best weights, history, the
   split) is written atomically to ``OUT.resume.pt``; ``resume=True`` continues from it
   (the same settings; ``epochs`` may grow). Epoch ``e`` depends only on the state after
   epoch ``e - 1`` and the seed, so an interrupted and resumed run ends with the same
   weights as an uninterrupted one (on the same device and thread count).
6. The best weights (adapters merged) are written atomically to ``OUT`` as a plain
   open_clip state dict: ``ARCH:/path/OUT`` loads in every command. The held-out test
   frames are written as a dataset ``OUT_STEM.heldout/`` and its EPIC before (base
   model) and after (fine-tuned) is computed by the same code as ``rmeval epic`` on that
   dataset; both go into the card ``OUT_STEM.json`` (:mod:`rmeval.finetune.card`).
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rmeval.errors import InvalidInputError, RmevalError
from rmeval.finetune.objectives import DEFAULT_MARGIN, OBJECTIVES, combine_text, contrastive_loss, triplet_loss
from rmeval.finetune.split import DEFAULT_FRACTIONS, Split, split_rows
from rmeval.finetune.trainable import TRAIN_MODES, configure_trainable, merged_state_dict
from rmeval.registry import ModelRef

#: Frames preprocessed per chunk while loading a part.
_LOAD_CHUNK = 256


@dataclass
class FinetuneSettings:
    """What to train and how. Everything but ``epochs``, ``device`` and ``precision`` must
    stay the same when a run is resumed."""

    base_model: str
    objective: str = "contrastive"
    train: str = "all"
    last_k: int = 1
    lora_rank: int = 8
    epochs: int = 20
    batch_size: int = 64
    lr: float = 1e-4
    weight_decay: float = 0.01
    margin: float = DEFAULT_MARGIN
    patience: int = 5
    fractions: tuple[float, float, float] = DEFAULT_FRACTIONS
    seed: int = 0
    group_size: int = 16
    device: str | None = None
    precision: str = "auto"
    goal_prompts: list[str] = field(default_factory=list)
    baseline_prompts: list[str] = field(default_factory=list)
    resamples: int = 1000
    ci: float = 0.95

    #: settings that may change on resume
    RESUMABLE_CHANGES = ("epochs", "device", "precision", "patience")

    def validate(self) -> None:
        if self.objective not in OBJECTIVES:
            raise InvalidInputError(f"--objective {self.objective!r}: choose {' or '.join(OBJECTIVES)}")
        if self.train not in TRAIN_MODES:
            raise InvalidInputError(f"--train {self.train!r}: choose one of {', '.join(TRAIN_MODES)}")
        for name in ("epochs", "batch_size", "patience", "last_k", "lora_rank", "group_size", "resamples"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidInputError(f"--{name.replace('_', '-')} must be a positive integer, got {value!r}")
        if not (self.lr > 0 and np.isfinite(self.lr)):
            raise InvalidInputError(f"--lr must be a positive number, got {self.lr}")
        if self.weight_decay < 0:
            raise InvalidInputError(f"--weight-decay must be >= 0, got {self.weight_decay}")
        if self.precision not in ("auto", "fp32", "bf16", "fp16"):
            raise InvalidInputError(f"--precision {self.precision!r}: choose auto, fp32, bf16 or fp16")
        if not 0 < self.ci < 1:
            raise InvalidInputError(f"--ci must lie strictly between 0 and 1, got {self.ci}")

    def identity(self) -> dict[str, Any]:
        """The settings a resumed run must share."""
        d = asdict(self)
        for key in self.RESUMABLE_CHANGES:
            d.pop(key, None)
        d["fractions"] = list(d["fractions"])
        return d


@dataclass
class FinetuneResult:
    """What :func:`finetune` produced."""

    checkpoint: Path
    card_path: Path
    heldout_dir: Path
    card: dict[str, Any]
    history: list[dict[str, float]]


def resume_path(out: Path) -> Path:
    return out.with_name(out.name + ".resume.pt")


def card_path(out: Path) -> Path:
    return out.with_suffix(".json")


def heldout_dir(out: Path) -> Path:
    return out.with_name(out.stem + ".heldout")


def _save_torch(path: Path, obj: Any) -> None:
    buf = io.BytesIO()
    torch.save(obj, buf)
    from rmeval.fileio import write_bytes

    write_bytes(path, buf.getvalue(), what="the fine-tuned checkpoint")


def _autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager[Any]:
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device.type, dtype=dtype)


def _resolve_precision(precision: str, device: torch.device) -> str:
    if precision == "auto":
        return "bf16" if device.type == "cuda" and torch.cuda.is_bf16_supported() else "fp32"
    if precision != "fp32" and device.type != "cuda":
        raise InvalidInputError(f"--precision {precision} is for GPUs; on {device} use fp32 (or auto).")
    return precision


def _preprocessed(dataset: Any, rows: np.ndarray, loaded: Any, dtype: torch.dtype) -> torch.Tensor:
    """``(n, 3, h, w)`` model inputs of the dataset rows, on the model's device."""
    from rmeval.preprocess import preprocess_frames

    h, w = loaded.preprocess.size
    out = torch.empty((len(rows), 3, h, w), dtype=dtype, device=loaded.device)
    for lo in range(0, len(rows), _LOAD_CHUNK):
        frames = dataset.read_frames(rows[lo : lo + _LOAD_CHUNK])
        x = torch.from_numpy(frames).to(loaded.device)
        out[lo : lo + len(frames)] = preprocess_frames(x, loaded.preprocess).to(dtype)
    return out


def _text(model: Any, tokenizer: Callable[[list[str]], torch.Tensor], prompts: Sequence[str], device: torch.device) -> torch.Tensor:
    return combine_text(model.encode_text(tokenizer(list(prompts)).to(device)))


@torch.no_grad()
def clip_rewards(model: Any, tokenizer: Any, pixels: torch.Tensor, goal_prompts: Sequence[str],
                 device: torch.device, batch_size: int = 256) -> np.ndarray:
    """``(n,)`` float64 CLIP rewards ``<s, g>`` (alpha 0) of preprocessed frames."""
    was_training = model.training
    model.eval()
    goal = _text(model, tokenizer, goal_prompts, device)
    out = []
    for lo in range(0, len(pixels), batch_size):
        s = torch.nn.functional.normalize(model.encode_image(pixels[lo : lo + batch_size].float()).float(), dim=-1)
        out.append((s @ goal).double().cpu().numpy())
    model.train(was_training)
    return np.concatenate(out) if out else np.zeros(0)


def _batches(n: int, batch_size: int, seed: int, epoch: int) -> Iterator[np.ndarray]:
    order = np.random.default_rng([int(seed), int(epoch)]).permutation(n)
    for lo in range(0, n, batch_size):
        yield order[lo : lo + batch_size]


def finetune(
    dataset_path: str | Path,
    out: str | Path,
    settings: FinetuneSettings,
    *,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool | None = None,
    log: Callable[[str], None] = print,
    on_epoch_end: Callable[[dict[str, float]], None] | None = None,
    weights_dir: str | Path | None = None,
    command: str = "",
) -> FinetuneResult:
    """Fine-tune ``settings.base_model`` on ``dataset_path``'s labelled frames; write ``out``.

    Args:
        dataset_path: a dataset (format v1) with goal / non-goal labels.
        out: the checkpoint to write (``.pt``); the card, the held-out dataset and the
            resume state go next to it.
        settings: what to train and how.
        resume: continue from ``OUT.resume.pt``.
        overwrite: replace an existing ``out`` (and its card and held-out dataset).
        progress: show a progress bar (None: on a terminal).
        log: where progress lines go.
        on_epoch_end: called with each epoch's history row, after its resume state is saved.
        weights_dir: where pretrained weights are looked up.
        command: the command line, for the card.
    """
    from rmeval.dataset import load_dataset
    from rmeval.epic import epic_from_labels
    from rmeval.models import load_model
    from rmeval.registry import parse_model

    settings.validate()
    out = Path(out).expanduser().resolve()
    if out.suffix not in (".pt", ".pth", ".bin"):
        raise InvalidInputError(f"--out {out}: name the checkpoint file with a .pt extension, e.g. runs/ft/cartpole.pt")
    rpath = resume_path(out)
    if not resume and not overwrite and (out.exists() or card_path(out).exists()):
        raise InvalidInputError(f"{out} already exists; pass --overwrite to replace it, or choose another --out.")
    if resume and not rpath.is_file():
        raise InvalidInputError(f"--resume: {rpath} does not exist (nothing to resume; start without --resume).")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInputError(f"--out {out}: cannot create its folder: {exc.strerror}") from None
    ref = parse_model(settings.base_model)
    if not isinstance(ref, ModelRef) or not ref.is_open_clip:
        raise InvalidInputError(
            f"--model {settings.base_model}: fine-tuning takes an open_clip model (NAME, NAME:TAG, NAME:random, "
            "NAME:/path/to/checkpoint, hf-hub:, local-dir:), not a judge or plug-in"
        )
    if ref.weights == "checkpoint" and ref.path is not None and ref.path.resolve() == out:
        raise InvalidInputError("--out must differ from the base model's checkpoint file")
    dataset = load_dataset(dataset_path)
    rows = dataset.labelled_rows()
    if len(rows) == 0:
        raise InvalidInputError(f"dataset {dataset.name!r} has no labelled frames; label some first (rmeval label).")
    labels_all = dataset.labels(rows)
    if not settings.goal_prompts:
        settings.goal_prompts = list(dataset.metadata.goal_prompts)
    if not settings.baseline_prompts:
        settings.baseline_prompts = list(dataset.metadata.baseline_prompts)
    if settings.objective == "contrastive" and not settings.baseline_prompts:
        raise InvalidInputError(
            "--objective contrastive needs a baseline prompt and the dataset has none; pass --baseline 'PROMPT' "
            "or use --objective triplet."
        )

    state: dict[str, Any] | None = None
    if resume:
        try:
            state = torch.load(rpath, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is one clear error
            raise RmevalError(f"cannot read the resume state {rpath}: {type(exc).__name__}: {exc}") from None
        if not isinstance(state, dict) or "settings" not in state:
            raise RmevalError(f"{rpath} is not an rmeval fine-tuning resume state")
        saved = dict(state["settings"])
        now = settings.identity()
        differ = sorted(k for k in now if saved.get(k) != now[k])
        if differ:
            raise InvalidInputError(
                f"--resume: {', '.join(differ)} differ from the interrupted run's "
                f"({', '.join(f'{k}={saved.get(k)!r}' for k in differ)}); leave them as they were."
            )
        split = Split.from_json(state["split"])
    else:
        episodes = dataset.index["episode"].to_numpy(dtype=np.int64)[rows]
        split = split_rows(rows, episodes, labels_all, fractions=settings.fractions, seed=settings.seed,
                           group_size=settings.group_size)

    torch.manual_seed(settings.seed)
    loaded = load_model(ref, device=settings.device, weights_dir=weights_dir)
    device = loaded.device
    precision = _resolve_precision(settings.precision, device)
    model: Any = loaded.model  # open_clip's CLIP (typed as a plain Module)
    counts = configure_trainable(model, settings.train, last_k=settings.last_k, lora_rank=settings.lora_rank)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=settings.lr, weight_decay=settings.weight_decay)
    scaler = torch.amp.GradScaler(device.type, enabled=(precision == "fp16"))

    label_of = dict(zip(rows.tolist(), labels_all.tolist()))
    part_labels = {k: np.array([label_of[int(r)] for r in v], dtype=np.int8) for k, v in split.parts().items()}
    log(f"dataset {dataset.name}: {len(rows)} labelled frames; split by {split.by}: "
        + ", ".join(f"{k} {len(v)} frames ({int(part_labels[k].sum())} goal)" for k, v in split.parts().items()))
    log(f"{ref.id}: {settings.objective} loss, training {settings.train} "
        f"({counts['trainable']:,} of {counts['total']:,} parameters), {precision} on {device}")
    store = torch.float16 if device.type == "cuda" else torch.float32
    t_load = time.perf_counter()
    pixels = {k: _preprocessed(dataset, v, loaded, store) for k, v in split.parts().items() if k != "test"}
    log(f"frames read and preprocessed in {time.perf_counter() - t_load:.1f} s")
    train_y = torch.as_tensor(part_labels["train"], device=device)

    history: list[dict[str, float]] = []
    start_epoch = 0
    best_val = float("inf")
    best_state: dict[str, torch.Tensor] | None = None
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if "scaler" in state and precision == "fp16":
            scaler.load_state_dict(state["scaler"])
        history = [dict(h) for h in state["history"]]
        start_epoch = int(state["epoch"])
        best_val = float(state["best_val_epic"])
        best_state = state["best_model"]
        log(f"resuming after epoch {start_epoch} (best validation EPIC so far {best_val:.4f})")
    else:
        val0 = float(epic_from_labels(clip_rewards(model, loaded.tokenizer, pixels["val"], settings.goal_prompts, device),
                                      part_labels["val"]))
        log(f"epoch 0: validation EPIC {val0:.4f} (before fine-tuning)")
        history.append({"epoch": 0, "train_loss": float("nan"), "val_epic": val0, "seconds": 0.0})
        best_val, best_state = val0, {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}

    since_best = sum(1 for _ in _epochs_since_best(history))
    show = progress if progress is not None else _isatty()
    for epoch in range(start_epoch + 1, settings.epochs + 1):
        if since_best >= settings.patience:
            log(f"early stop: no better validation EPIC for {settings.patience} epochs")
            break
        t0 = time.perf_counter()
        model.train()
        losses = []
        batches = list(_batches(len(train_y), settings.batch_size, settings.seed, epoch))
        bar = _bar(show, len(batches), f"epoch {epoch}/{settings.epochs}")
        for idx in batches:
            idx_t = torch.as_tensor(idx, device=device)
            x = pixels["train"][idx_t].float()
            y = train_y[idx_t]
            with _autocast(device, precision):
                image = model.encode_image(x)
                goal = _text(model, loaded.tokenizer, settings.goal_prompts, device)
                if settings.objective == "contrastive":
                    base = _text(model, loaded.tokenizer, settings.baseline_prompts, device)
                    loss = contrastive_loss(image, goal, base, y, model.logit_scale.exp())
                else:
                    loss = triplet_loss(image, goal, y, settings.margin)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            losses.append(float(loss.detach()))
            bar.update(1)
            bar.set_postfix(loss=f"{losses[-1]:.4f}")
        bar.close()
        val = float(epic_from_labels(clip_rewards(model, loaded.tokenizer, pixels["val"], settings.goal_prompts, device),
                                     part_labels["val"]))
        row = {"epoch": epoch, "train_loss": float(np.mean(losses)), "val_epic": val,
               "seconds": round(time.perf_counter() - t0, 3)}
        history.append(row)
        if val < best_val:
            best_val, since_best = val, 0
            best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        else:
            since_best += 1
        log(f"epoch {epoch}: loss {row['train_loss']:.4f}, validation EPIC {val:.4f}"
            f"{' (best)' if since_best == 0 else ''}, {row['seconds']:.1f} s")
        _save_torch(rpath, {
            "settings": settings.identity(),
            "split": split.to_json(),
            "epoch": epoch,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scaler": scaler.state_dict(),
            "best_val_epic": best_val,
            "best_model": best_state,
            "history": history,
        })
        if on_epoch_end is not None:
            on_epoch_end(row)

    assert best_state is not None
    model.load_state_dict(best_state)
    final = merged_state_dict(model)
    _save_torch(out, {k: v.cpu() for k, v in final.items()})
    del pixels

    from rmeval.finetune.card import build_card, write_card, write_heldout

    held = write_heldout(dataset, split.test, heldout_dir(out), source_checkpoint=out)
    card = build_card(
        dataset=dataset, heldout=held, base=ref, checkpoint=out, settings=settings, split=split,
        history=history, counts=counts, precision=precision, device=str(device), weights_dir=weights_dir,
        command=command, log=log,
    )
    cpath = card_path(out)
    write_card(cpath, card)
    rpath.unlink(missing_ok=True)
    return FinetuneResult(out, cpath, held.root, card, history)


def _epochs_since_best(history: list[dict[str, float]]) -> Iterator[int]:
    """Epochs after the best validation EPIC in ``history`` (one item each)."""
    if not history:
        return
    vals = [h["val_epic"] for h in history]
    best = int(np.argmin(vals))
    yield from range(len(vals) - 1 - best)


def _isatty() -> bool:
    import sys

    return sys.stderr.isatty()


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def set_postfix(self, **kwargs: Any) -> None:
        pass

    def close(self) -> None:
        pass


def _bar(show: bool, total: int, desc: str) -> Any:
    if not show:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="batch", dynamic_ncols=True, leave=False)


__all__ = ["FinetuneResult", "FinetuneSettings", "card_path", "clip_rewards", "finetune", "heldout_dir", "resume_path"]
