"""The judge reward: log-odds of "yes" over "no" for the next token.

For a frame and the chat-templated question, one forward pass gives the next-token logits
``z`` (V,). With ``Y`` and ``N`` the vocabulary's spellings of yes and no
(:func:`rmeval.judges.question.yes_no_token_ids`)::

    log p(yes) = logsumexp(z[Y]) - logsumexp(z)        log p(no) = logsumexp(z[N]) - logsumexp(z)
    reward     = log p(yes) - log p(no)                 (the softmax normaliser cancels)
    p_yes      = p(yes) / (p(yes) + p(no)) = sigmoid(reward)

``p_yes`` is the judge's probability of success normalised over the two answers (for
calibration metrics); ``p(yes) + p(no)`` says how much of the next-token mass the judge
puts on an answer at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class JudgeScores:
    """Per-frame judge outputs, all (n,) float64.

    Attributes:
        log_p_yes: log of the total next-token probability of the yes spellings.
        log_p_no: the same for no.
    """

    log_p_yes: np.ndarray
    log_p_no: np.ndarray

    @property
    def reward(self) -> np.ndarray:
        """(n,) ``log p(yes) - log p(no)``."""
        return self.log_p_yes - self.log_p_no

    @property
    def p_yes(self) -> np.ndarray:
        """(n,) ``p(yes) / (p(yes) + p(no))`` in [0, 1]."""
        return np.exp(-np.logaddexp(0.0, -self.reward))

    @property
    def answer_mass(self) -> np.ndarray:
        """(n,) ``p(yes) + p(no)``: next-token mass on an answer."""
        return np.exp(self.log_p_yes) + np.exp(self.log_p_no)


def yes_no_log_probs(logits: np.ndarray, yes_ids: Sequence[int], no_ids: Sequence[int]) -> JudgeScores:
    """log p(yes), log p(no) from next-token logits.

    Args:
        logits: (n, V) next-token logits (any float dtype; computed in float64).
        yes_ids, no_ids: token ids of the spellings of yes and of no (non-empty, disjoint).

    Returns:
        :class:`JudgeScores` with (n,) arrays.
    """
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim != 2:
        raise ValueError(f"logits must have shape (n, V), got {z.shape}")
    if not len(yes_ids) or not len(no_ids):
        raise ValueError("yes_ids and no_ids must be non-empty")
    norm = _logsumexp(z, np.arange(z.shape[1]))
    return JudgeScores(
        log_p_yes=_logsumexp(z, np.asarray(yes_ids)) - norm,
        log_p_no=_logsumexp(z, np.asarray(no_ids)) - norm,
    )


def _logsumexp(z: np.ndarray, cols: np.ndarray) -> np.ndarray:
    sub = z[:, cols]
    m = sub.max(axis=1, keepdims=True)
    return (m + np.log(np.exp(sub - m).sum(axis=1, keepdims=True)))[:, 0]
