"""A generative VLM judge loaded with transformers, implementing :class:`rmeval.reward_model.RewardModel`.

For each frame and goal prompt the judge is asked the question (:mod:`rmeval.judges.question`)
in its chat template, and one forward pass gives the next-token logits; the reward is
``log p(yes) - log p(no)`` (:mod:`rmeval.judges.reward`). Frames go through the processor
and the model in batches on the device; scores are cached per frame content.

Prompt-prefix sharing: the chat template puts the image first, so the tokens shared by
every sequence of a batch are only the few before the image (``USER:`` for LLaVA, the
system turn for Qwen2-VL: about 20 tokens against hundreds of image tokens); re-using
their keys and values would save under 5% of a forward pass, so it is not done. Every
sequence of a batch has the same text, so no padding is spent either.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rmeval.errors import InvalidInputError, RmevalError, WeightsUnavailableError
from rmeval.judges.build import _quiet_transformers, random_judge_dir, read_marker
from rmeval.judges.cache import JudgeCache
from rmeval.judges.names import JudgeRef, is_judge_name, parse_judge
from rmeval.judges.question import (
    DEFAULT_TEMPLATE,
    TEMPLATE_VERSION,
    chat_messages,
    check_template,
    make_question,
    yes_no_token_ids,
)
from rmeval.judges.reward import JudgeScores, yes_no_log_probs

_DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def _hub_dir(repo: str, weights_dir: str | Path | None) -> Path:
    """The snapshot of ``repo`` in the local Hugging Face cache (never downloads)."""
    from huggingface_hub import snapshot_download

    where = str(weights_dir) if weights_dir else "the Hugging Face cache ($HF_HOME)"
    try:
        return Path(snapshot_download(repo, local_files_only=True, cache_dir=str(weights_dir) if weights_dir else None))
    except Exception:  # noqa: BLE001 - every failure means: not there
        raise WeightsUnavailableError(
            f"judge weights for {repo} are not in {where}; rmeval never downloads judges.\n"
            "To provide them:\n"
            f"  - on a machine with network: `hf download {repo}`, copy the cache here and point "
            "to it with --weights-dir DIR (or HF_HOME)\n"
            f"  - or a directory written by save_pretrained: --models judge:/path/to/dir\n"
            "  - or, for an offline smoke run, random weights: --models judge:rmeval-tiny-judge:random "
            "(its numbers say nothing about a trained judge)"
        ) from None


def _dir_fingerprint(directory: Path) -> str:
    """Names, sizes and modification times of the directory's files, plus config.json's content."""
    h = hashlib.blake2b(digest_size=12)
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        st = path.stat()
        h.update(f"{path.relative_to(directory)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    config = directory / "config.json"
    if config.is_file():
        h.update(config.read_bytes())
    return h.hexdigest()


class Judge:
    """A chat VLM scoring frames by the log-odds of answering yes.

    Args:
        model: ``judge:...`` name or parsed :class:`JudgeRef`.
        device: ``cpu``, ``cuda``, ``cuda:N`` or None (cuda when available).
        precision: ``fp32``, ``fp16`` or ``bf16``: the dtype the weights are loaded in.
        batch_size: Frames per forward pass.
        question: Question template with ``{goal}`` (default :data:`DEFAULT_TEMPLATE`).
        cache_dir: Score cache root (None: the default cache; ``False``: no cache).
        weights_dir: Hugging Face cache holding ``judge:ORG/REPO`` checkpoints.
    """

    def __init__(
        self,
        model: str | JudgeRef,
        *,
        device: str | torch.device | None = None,
        precision: str = "fp32",
        batch_size: int = 16,
        question: str | None = None,
        cache_dir: str | Path | bool | None = None,
        weights_dir: str | Path | None = None,
    ) -> None:
        from rmeval.models import resolve_device

        self.ref = parse_judge(model) if isinstance(model, str) else model
        self.name = self.ref.id
        if precision not in _DTYPES:
            raise InvalidInputError(f"precision must be one of {', '.join(_DTYPES)}, got {precision!r}")
        if int(batch_size) < 1:
            raise InvalidInputError(f"batch size must be at least 1, got {batch_size}")
        self.precision = precision
        self.batch_size = int(batch_size)
        self.template = check_template(question) if question is not None else DEFAULT_TEMPLATE
        self.device = resolve_device(device)
        self.cache = None if cache_dir is False else JudgeCache(None if cache_dir is True else cache_dir)  # type: ignore[arg-type]
        self.directory = self._resolve_directory(weights_dir)
        marker = read_marker(self.directory)
        self.random_weights: bool = bool(marker and marker.get("random_weights"))
        self._load()
        self.stats = {"scored": 0, "cached": 0}

    def _resolve_directory(self, weights_dir: str | Path | None) -> Path:
        ref = self.ref
        if ref.source == "random":
            assert ref.repo is not None
            root = self.cache.root if self.cache is not None else JudgeCache().root
            return random_judge_dir(ref.repo, ref.seed, root)
        if ref.source == "hub":
            assert ref.repo is not None
            return _hub_dir(ref.repo, weights_dir)
        assert ref.path is not None
        if not ref.path.is_dir():
            raise WeightsUnavailableError(
                f"judge directory not found: {ref.path} is not a directory. Give a directory written by "
                "save_pretrained (model + processor), e.g. one built with `rmeval judge-build rmeval-tiny-judge DIR`."
            )
        if not (ref.path / "config.json").is_file():
            raise WeightsUnavailableError(
                f"{ref.path} has no config.json: not a transformers checkpoint directory (save_pretrained writes one)."
            )
        return ref.path

    def _load(self) -> None:
        from transformers import AutoModelForImageTextToText, AutoProcessor

        where = self.ref.id
        try:
            with _quiet_transformers():
                self.processor = AutoProcessor.from_pretrained(self.directory)
                model: Any = AutoModelForImageTextToText.from_pretrained(self.directory, dtype=_DTYPES[self.precision])
                self.model = model.to(self.device).eval()
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise WeightsUnavailableError(
                f"cannot load judge {where} from {self.directory}: {first}. It must hold a chat vision-language "
                "model that AutoModelForImageTextToText and AutoProcessor load."
            ) from None
        tokenizer = getattr(self.processor, "tokenizer", None)
        if tokenizer is None:
            raise InvalidInputError(f"judge {where}: its processor has no tokenizer; is it a vision-language model?")
        template = getattr(self.processor, "chat_template", None) or getattr(tokenizer, "chat_template", None)
        if not template:
            raise InvalidInputError(
                f"judge {where} has no chat template (a base model, not an instruct/chat one?): "
                f"add chat_template.jinja to {self.directory} or use the model's -Instruct checkpoint."
            )
        tokenizer.padding_side = "left"
        special = set(getattr(tokenizer, "all_special_tokens", []))
        self.yes_ids, self.no_ids = yes_no_token_ids(tokenizer.get_vocab(), special)
        self._vocab_size = int(self.model.get_output_embeddings().weight.shape[0])
        bad = [i for i in self.yes_ids + self.no_ids if i >= self._vocab_size]
        if bad:
            raise InvalidInputError(
                f"judge {where}: yes/no token ids {bad} lie outside the model's {self._vocab_size}-token "
                "output layer; the tokenizer does not belong to this model."
            )
        self._identity = "|".join(
            [
                self.ref.id,
                f"files={_dir_fingerprint(self.directory)}",
                f"precision={self.precision}",
                f"yes={self.yes_ids}",
                f"no={self.no_ids}",
                f"template_version={TEMPLATE_VERSION}",
            ]
        )

    # ------------------------------------------------------------------ RewardModel protocol
    def identity(self) -> str:
        """Checkpoint files, precision, answer tokens and template version."""
        return self._identity

    @property
    def fingerprint(self) -> str:
        """The identity, under the name training runs record for their reward model's weights."""
        return self._identity

    def parameter_count(self) -> int | None:
        return int(sum(p.numel() for p in self.model.parameters()))

    def frame_rewards(
        self, frames: np.ndarray, goal_prompts: Sequence[str], baseline_prompts: Sequence[str] = ()
    ) -> np.ndarray:
        """(n,) float64 ``log p(yes) - log p(no)``, averaged over goal prompts.

        ``baseline_prompts`` do not enter a judge's reward (there is no alpha).
        """
        return self.scores(frames, goal_prompts).reward

    # ------------------------------------------------------------------ scoring
    def question(self, goal: str) -> str:
        return make_question(self.template, goal)

    def prompt_text(self, goal: str) -> str:
        """The chat-templated text of one frame's question, ending where the answer starts."""
        try:
            return str(self.processor.apply_chat_template(
                chat_messages(self.question(goal)), add_generation_prompt=True, tokenize=False
            ))
        except Exception as exc:  # noqa: BLE001 - a template that cannot render is the user's to fix
            raise InvalidInputError(f"judge {self.ref.id}: its chat template failed to render: {exc}") from None

    def scores(self, frames: np.ndarray, goal_prompts: Sequence[str]) -> JudgeScores:
        """Scores of ``frames`` ((n, H, W, 3) uint8) against each goal prompt, averaged over prompts.

        Returns:
            :class:`JudgeScores`; with several prompts, ``log p(yes)`` and ``log p(no)`` are
            the means over prompts (so ``reward`` is the mean log-odds).
        """
        from rmeval.cache import frame_keys

        frames = self._check_frames(frames)
        goals = list(goal_prompts)
        if not goals or any(not isinstance(g, str) or not g.strip() for g in goals):
            raise InvalidInputError("a judge needs at least one non-empty goal prompt (--goal or the dataset's metadata)")
        keys = frame_keys(frames) if self.cache is not None else None
        total = np.zeros((len(frames), 2))
        for goal in goals:
            question = self.question(goal)
            found = np.zeros(len(frames), dtype=bool)
            out = np.zeros((len(frames), 2))
            store = self.cache.store(self._identity, question, self.ref.id) if self.cache is not None else None
            if store is not None and keys is not None:
                found, cached = store.lookup(keys)
                out[found] = cached[found]
            missing = np.flatnonzero(~found)
            if len(missing):
                s = self._score_uncached(frames[missing], goal)
                out[missing, 0], out[missing, 1] = s.log_p_yes, s.log_p_no
                if store is not None and keys is not None:
                    store.add(keys[missing], out[missing].astype(np.float32))
            self.stats["scored"] += len(missing)
            self.stats["cached"] += len(frames) - len(missing)
            total += out
        total /= len(goals)
        return JudgeScores(log_p_yes=total[:, 0], log_p_no=total[:, 1])

    def next_token_logits(self, frames: np.ndarray, goal: str) -> np.ndarray:
        """(n, V) float32 logits of the token after the question, batched (no cache)."""
        frames = self._check_frames(frames)
        text = self.prompt_text(goal)
        chunks = []
        for lo in range(0, len(frames), self.batch_size):
            batch = [frames[i] for i in range(lo, min(lo + self.batch_size, len(frames)))]
            chunks.append(self._forward(text, batch))
        return np.concatenate(chunks) if chunks else np.zeros((0, self._vocab_size), np.float32)

    @torch.inference_mode()
    def _forward(self, text: str, images: list[np.ndarray]) -> np.ndarray:
        inputs = self.processor(text=[text] * len(images), images=images, return_tensors="pt", padding=True)
        inputs = inputs.to(self.device)
        if "pixel_values" in inputs and inputs["pixel_values"].is_floating_point():
            inputs["pixel_values"] = inputs["pixel_values"].to(self.model.dtype)
        try:
            out = self.model(**inputs, logits_to_keep=1)  # only the last position's logits
        except TypeError:  # an architecture without logits_to_keep
            out = self.model(**inputs)
        return out.logits[:, -1, :].float().cpu().numpy()

    def _score_uncached(self, frames: np.ndarray, goal: str) -> JudgeScores:
        text = self.prompt_text(goal)
        parts: list[JudgeScores] = []
        for lo in range(0, len(frames), self.batch_size):
            logits = self._forward(text, [frames[i] for i in range(lo, min(lo + self.batch_size, len(frames)))])
            parts.append(yes_no_log_probs(logits, self.yes_ids, self.no_ids))
        # Rounded to float32, as the cache stores them: a cached run gives the same numbers.
        scores = JudgeScores(
            log_p_yes=np.concatenate([p.log_p_yes for p in parts]).astype(np.float32).astype(np.float64),
            log_p_no=np.concatenate([p.log_p_no for p in parts]).astype(np.float32).astype(np.float64),
        )
        if not (np.isfinite(scores.log_p_yes).all() and np.isfinite(scores.log_p_no).all()):
            raise RmevalError(
                f"judge {self.ref.id} gave non-finite yes/no log-probabilities (NaN/inf); try --precision fp32."
            )
        return scores

    @staticmethod
    def _check_frames(frames: np.ndarray) -> np.ndarray:
        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise InvalidInputError(f"frames must be (n, H, W, 3) uint8 RGB, got {frames.shape} {frames.dtype}")
        return frames


def load_judge(model: str | JudgeRef, **kwargs: Any) -> Judge:
    """Load a judge by name (``judge:ORG/REPO``, ``judge:/dir``, ``judge:NAME:random``); see :class:`Judge`."""
    if isinstance(model, str) and not is_judge_name(model):
        raise InvalidInputError(f"{model!r} is not a judge name (judge:ORG/REPO, judge:/dir or judge:NAME:random)")
    return Judge(model, **kwargs)
