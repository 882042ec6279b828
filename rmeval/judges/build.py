"""Random-weight judges built offline: a LLaVA-style model (CLIP vision tower, Llama language
model), a word-level tokenizer built with ``tokenizers`` (the ``<image>`` token the
processor needs, single tokens for yes/no), a chat template and an image-processor config,
saved with ``save_pretrained`` so that it loads through the same public path as a user's
checkpoint (``judge:/dir``).

``rmeval-tiny-judge`` (63k parameters, 32 px images, 16 image tokens) and
``rmeval-small-judge`` (about 0.4M, 64 px) are for tests and smoke runs (two sizes make a
judge series for scaling plots); ``llava-small`` (about 250M parameters, 224 px, 196 image tokens) is a
real-size shape for speed measurements. Their numbers say nothing about a trained judge:
every directory written here carries :data:`MARKER` saying the weights are random.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rmeval.errors import InvalidInputError, RmevalError
from rmeval.judges.names import KNOWN_CONFIG_NAMES, MARKER

# MARKER is written last into every built directory: {"random_weights": true, "config": ..., "seed": ...}.

#: Bump when a build's files change for the same name and seed.
BUILD_VERSION = 1

#: A LLaVA-1.5-style chat template (one user turn, image then text, then ``ASSISTANT:``).
CHAT_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] == 'user' %}USER: {% else %}ASSISTANT: {% endif %}"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for item in message['content'] %}{% if item['type'] == 'image' %}<image>\n"
    "{% elif item['type'] == 'text' %}{{ item['text'] }}{% endif %}{% endfor %}{% endif %}"
    "{% if message['role'] == 'user' %} {% else %}{{ eos_token }}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}ASSISTANT:{% endif %}"
)

_SPECIAL = ["<pad>", "<s>", "</s>", "<unk>", "<image>"]
# Words of the default question, the chat template and the paper's prompts; anything
# else is <unk> (the weights are random: only the token positions matter).
_WORDS = (
    "USER ASSISTANT : ? . , ! ' \" - yes Yes YES no No NO Does does Is is this image show shown "
    "Answer answer or and a an the of on in at to with up down its both one next car pole cart "
    "vertically upright top mountain peak yellow flag humanoid robot kneeling seated meditating "
    "lotus position standing arms raised practicing gymnastics doing side splits hands hips "
    "crossed leg task done success goal state frame"
).split()


@dataclass(frozen=True)
class JudgeShape:
    """Sizes of a LLaVA-style judge."""

    image_size: int
    patch_size: int
    vision_width: int
    vision_layers: int
    vision_heads: int
    text_width: int
    text_layers: int
    text_heads: int
    vocab_size: int | None = None  # None: the tokenizer's size


KNOWN_CONFIGS: dict[str, JudgeShape] = {
    "rmeval-tiny-judge": JudgeShape(32, 8, 32, 2, 2, 32, 2, 2),
    "rmeval-small-judge": JudgeShape(64, 16, 64, 4, 4, 64, 4, 4),
    "llava-small": JudgeShape(224, 16, 768, 12, 12, 768, 12, 12, vocab_size=32000),
}
assert tuple(KNOWN_CONFIGS) == KNOWN_CONFIG_NAMES


def _tokenizer() -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {t: i for i, t in enumerate(dict.fromkeys(_SPECIAL + _WORDS))}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation()])
    tok.decoder = decoders.WordPiece()
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", bos_token="<s>", eos_token="</s>", unk_token="<unk>",
        extra_special_tokens={"image_token": "<image>"}, padding_side="left",
    )


def build_judge(name: str, directory: str | Path, *, seed: int = 0) -> Path:
    """Build the random judge ``name`` (one of :data:`KNOWN_CONFIGS`) into ``directory``.

    The directory must not exist or be empty; it is written whole or not at all (built in
    a temporary sibling and renamed). Returns the directory.
    """
    if name not in KNOWN_CONFIGS:
        raise InvalidInputError(f"no known judge config {name!r}; known: {', '.join(KNOWN_CONFIGS)}.")
    target = Path(directory).expanduser().resolve()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InvalidInputError(f"{target} exists and is not an empty directory; choose a new one.")
    import torch
    import transformers
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
    )

    shape = KNOWN_CONFIGS[name]
    tokenizer = _tokenizer()
    image_token_id = tokenizer.convert_tokens_to_ids("<image>")
    vision = CLIPVisionConfig(
        hidden_size=shape.vision_width, intermediate_size=4 * shape.vision_width,
        num_hidden_layers=shape.vision_layers, num_attention_heads=shape.vision_heads,
        image_size=shape.image_size, patch_size=shape.patch_size, projection_dim=shape.vision_width,
    )
    n_image_tokens = (shape.image_size // shape.patch_size) ** 2
    text = LlamaConfig(
        vocab_size=shape.vocab_size or len(tokenizer), hidden_size=shape.text_width,
        intermediate_size=(8 * shape.text_width) // 3 // 8 * 8 or 8, num_hidden_layers=shape.text_layers,
        num_attention_heads=shape.text_heads, num_key_value_heads=shape.text_heads,
        max_position_embeddings=max(256, 2 * n_image_tokens + 128),
        pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
    )
    config = LlavaConfig(
        vision_config=vision, text_config=text, image_token_index=image_token_id,
        image_seq_length=n_image_tokens, vision_feature_layer=-2, vision_feature_select_strategy="default",
    )
    size = shape.image_size
    processor = LlavaProcessor(
        image_processor=CLIPImageProcessor(size={"shortest_edge": size}, crop_size={"height": size, "width": size}),
        tokenizer=tokenizer, patch_size=shape.patch_size, vision_feature_select_strategy="default",
        num_additional_image_tokens=1, chat_template=CHAT_TEMPLATE,
    )
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        model = LlavaForConditionalGeneration(config).eval()
    finally:
        torch.random.set_rng_state(state)
    tmp = target.with_name(f".{target.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        tmp.mkdir(parents=True)
        with _quiet_transformers():
            model.save_pretrained(tmp)
            processor.save_pretrained(tmp)
        marker = {
            "random_weights": True, "config": name, "seed": seed, "build_version": BUILD_VERSION,
            "torch": torch.__version__.split("+")[0], "transformers": transformers.__version__,
            "parameters": sum(p.numel() for p in model.parameters()),
        }
        (tmp / MARKER).write_text(json.dumps(marker, indent=2) + "\n")
        if target.exists():
            target.rmdir()
        os.replace(tmp, target)
    except OSError as exc:
        raise RmevalError(f"cannot write the judge to {target}: {exc.strerror or exc}") from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def read_marker(directory: Path) -> dict[str, Any] | None:
    """The build marker of a directory, or None when it has none (a user's checkpoint)."""
    try:
        data = json.loads((directory / MARKER).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def random_judge_dir(name: str, seed: int, cache_root: Path) -> Path:
    """The directory of the random build ``name``/``seed`` under ``cache_root``, built on first use.

    A directory without its marker (an interrupted build from an older rmeval) is rebuilt.
    """
    import torch
    import transformers

    versions = f"b{BUILD_VERSION}-torch{torch.__version__.split('+')[0]}-tf{transformers.__version__}"
    directory = cache_root / "judges" / f"{name}-seed{seed}-{versions}"
    marker = read_marker(directory)
    if marker is not None and marker.get("config") == name and marker.get("seed") == seed:
        return directory
    if directory.exists():
        shutil.rmtree(directory, ignore_errors=True)
    directory.parent.mkdir(parents=True, exist_ok=True)
    try:
        return build_judge(name, directory, seed=seed)
    except InvalidInputError:
        # Another process built it first.
        if read_marker(directory) is not None:
            return directory
        raise


class _quiet_transformers:
    """Silence transformers' progress bars and info logs inside a ``with``."""

    def __enter__(self) -> None:
        from transformers.utils import logging as hf_logging

        self._level = hf_logging.get_verbosity()
        self._bars = hf_logging.is_progress_bar_enabled()
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()

    def __exit__(self, *exc: object) -> None:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity(self._level)
        if self._bars:
            hf_logging.enable_progress_bar()
