"""Generative vision-language judges as reward models (``judge:...`` models).

A judge sees a frame and is asked whether it shows the goal; its reward is
``log p(yes) - log p(no)`` of the next token (:mod:`rmeval.judges.reward`). Names are parsed
by :mod:`rmeval.judges.names` (no torch); :func:`load_judge` loads one with transformers.
"""

from __future__ import annotations

from typing import Any

from rmeval.judges.names import PREFIX, JudgeRef, is_judge_name, parse_judge

__all__ = ["PREFIX", "JudgeRef", "is_judge_name", "load_judge", "parse_judge"]


def load_judge(model: str | JudgeRef, **kwargs: Any) -> Any:
    """Load a judge (imports torch and transformers); see :class:`rmeval.judges.model.Judge`."""
    from rmeval.judges.model import load_judge as _load

    return _load(model, **kwargs)
