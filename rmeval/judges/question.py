"""The question a judge is asked, and the tokens that answer it.

The question comes from a template with a ``{goal}`` placeholder, filled with each goal
prompt; the default is :data:`DEFAULT_TEMPLATE`. A dataset may set its own in
``metadata.json`` (key ``judge_question``); ``--question`` overrides both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rmeval.errors import InvalidInputError

DEFAULT_TEMPLATE = "Does this image show {goal}? Answer yes or no."

#: Version of how a question and its chat messages are built (image first, then the
#: question, one user turn, generation prompt). Part of every judge-reward cache key:
#: bump it when the construction changes.
TEMPLATE_VERSION = 1

#: The metadata.json key a dataset uses to set its question template.
METADATA_KEY = "judge_question"

YES = "yes"
NO = "no"


def check_template(template: str) -> str:
    """Return ``template`` when it has exactly one ``{goal}``; else InvalidInputError."""
    if not isinstance(template, str) or not template.strip():
        raise InvalidInputError(
            f"judge question template is empty; e.g. --question {DEFAULT_TEMPLATE!r}"
        )
    if template.count("{goal}") != 1:
        found = "no" if "{goal}" not in template else "more than one"
        raise InvalidInputError(
            f"judge question template {template!r} has {found} {{goal}} placeholder; it needs exactly "
            f"one, where the goal prompt goes, e.g. --question {DEFAULT_TEMPLATE!r}"
        )
    return template


def question_template(override: str | None, metadata_extra: Mapping[str, Any] | None = None) -> str:
    """The template to use: ``override`` (``--question``), else the dataset's, else the default."""
    if override is not None:
        return check_template(override)
    value = (metadata_extra or {}).get(METADATA_KEY)
    if value is not None:
        if not isinstance(value, str):
            raise InvalidInputError(
                f"metadata.json's {METADATA_KEY!r} must be a string with {{goal}}, not {type(value).__name__}"
            )
        return check_template(value)
    return DEFAULT_TEMPLATE


def make_question(template: str, goal: str) -> str:
    """The template with ``{goal}`` replaced by the goal prompt (other braces left alone)."""
    return check_template(template).replace("{goal}", goal.strip())


def chat_messages(question: str) -> list[dict[str, Any]]:
    """One user turn: the image, then the question."""
    return [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]}]


def _bare(token: str) -> str:
    """A vocabulary entry without its word-boundary marker (SentencePiece ``▁``, byte-level ``Ġ``)."""
    return token.lstrip("\u2581\u0120 ").strip().lower()


def yes_no_token_ids(vocab: Mapping[str, int], special: set[str] | None = None) -> tuple[list[int], list[int]]:
    """Token ids of the spellings of yes and no: every vocabulary entry that is the word in any
    case, with or without a word-boundary marker (``yes``, ``Yes``, ``▁Yes``, ``ĠYES``...).

    Raises:
        InvalidInputError: when either word has no token of its own.
    """
    special = special or set()
    yes = sorted(i for t, i in vocab.items() if t not in special and _bare(t) == YES)
    no = sorted(i for t, i in vocab.items() if t not in special and _bare(t) == NO)
    missing = [w for w, ids in ((YES, yes), (NO, no)) if not ids]
    if missing:
        raise InvalidInputError(
            f"the judge's vocabulary has no single token for {' or '.join(repr(w) for w in missing)}: "
            "its answer cannot be read from one next-token distribution; use a checkpoint whose "
            "tokenizer has 'yes'/'no' tokens (any chat VLM's does)."
        )
    return yes, no
