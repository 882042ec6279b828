"""Hugging Face files made locally for tests (no hub is reachable): a small SentencePiece-style
(Unigram) tokenizer saved the way ``AutoTokenizer.from_pretrained`` reads it, placed either in
a Hugging Face cache layout (``models--ORG--REPO/snapshots/<rev>/``) or in a plain directory."""

from __future__ import annotations

from pathlib import Path

#: Words the tokenizer is trained on: the prompts the tests use, and a few more.
CORPUS = [
    "pole vertically upright on top of the cart", "pole and cart", "a humanoid robot kneeling",
    "a humanoid robot", "a car at the peak of the mountain, next to the yellow flag",
    "a car in the mountain", "a photo of a dog", "a photo of a cat", "standing up",
]


_TRAINED: dict[tuple[str, str], object] = {}


def build_tokenizer(directory: Path, *, eos: str = "</s>", pad: str = "<pad>") -> Path:
    """Save a tiny Unigram tokenizer (T5/Gemma style: Metaspace, EOS appended) into ``directory``.
    Trained once per process (training is not bit-for-bit repeatable), saved as often as asked."""
    if (eos, pad) not in _TRAINED:
        _TRAINED[(eos, pad)] = _train(eos, pad)
    directory.mkdir(parents=True, exist_ok=True)
    _TRAINED[(eos, pad)].save_pretrained(str(directory))  # type: ignore[attr-defined]
    return directory


def _train(eos: str, pad: str) -> object:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = trainers.UnigramTrainer(vocab_size=120, special_tokens=[pad, eos, "<unk>"], unk_token="<unk>")
    tok.train_from_iterator(CORPUS * 4, trainer=trainer)
    tok.post_processor = processors.TemplateProcessing(
        single=f"$A {eos}", special_tokens=[(eos, tok.token_to_id(eos))]
    )
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token=pad, eos_token=eos, unk_token="<unk>")


def hub_cache_snapshot(cache_dir: Path, repo_id: str, revision: str = "0" * 40) -> Path:
    """The snapshot directory of ``repo_id`` in a Hugging Face cache at ``cache_dir``
    (created, with ``refs/main`` pointing at it)."""
    repo_dir = cache_dir / ("models--" + repo_id.replace("/", "--"))
    (repo_dir / "refs").mkdir(parents=True, exist_ok=True)
    (repo_dir / "refs" / "main").write_text(revision)
    snapshot = repo_dir / "snapshots" / revision
    snapshot.mkdir(parents=True, exist_ok=True)
    return snapshot


def cache_tokenizer(cache_dir: Path, repo_id: str) -> Path:
    """Put a locally built tokenizer into the Hugging Face cache at ``cache_dir`` as ``repo_id``."""
    return build_tokenizer(hub_cache_snapshot(cache_dir, repo_id))
