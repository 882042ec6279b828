"""Importing this module registers rmeval's gymnasium environments (Gymnasium's convention).

It is the one rmeval module that registers anything when imported: Gymnasium's
``gymnasium.make("rmeval.envs.registration:rmeval/CartPole-v0")`` imports the module
named before the colon and expects the id to be registered then, so
``import rmeval.envs.registration`` is enough before ``gymnasium.make("rmeval/CartPole-v0")``.
Everywhere else call :func:`rmeval.envs.register_rmeval_envs`. See :mod:`rmeval.envs` for the ids.
"""

from __future__ import annotations

from rmeval.envs import ENV_IDS, register_rmeval_envs

register_rmeval_envs()

__all__ = ["ENV_IDS", "register_rmeval_envs"]
