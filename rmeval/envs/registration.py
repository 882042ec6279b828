"""Importing this module registers rmeval's gymnasium environments.

So ``gymnasium.make("rmeval.envs.registration:rmeval/CartPole-v0")`` works without an
explicit import, and ``import rmeval.envs.registration`` is enough before
``gymnasium.make("rmeval/CartPole-v0")``. See :mod:`rmeval.envs` for the ids.
"""

from __future__ import annotations

from rmeval.envs import ENV_IDS, register_envs

register_envs()

__all__ = ["ENV_IDS", "register_envs"]
