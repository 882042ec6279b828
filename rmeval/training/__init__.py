"""Training RL agents on VLM rewards (the paper's Algorithm 1), and using their checkpoints.

Built on stable-baselines3's SAC and DQN. The agent acts on the environment's state
observations; its reward comes from a :class:`~rmeval.training.reward_models.RewardModel`
computed on frames rendered while collecting experience:

- :mod:`rmeval.training.presets`: the environments rmeval trains on and the ``paper`` and
  ``quick`` hyperparameter presets (pure Python).
- :mod:`rmeval.training.config`: the run configuration, saved as ``config.json``.
- :mod:`rmeval.training.reward_models`: ``RewardModel`` protocol, ``VLMReward``,
  ``GroundTruthReward``.
- :mod:`rmeval.training.vec_env`: environment construction, ``RenderFrame`` (a gymnasium
  wrapper that renders after each step, inside the worker) and ``RewardSwapVecEnv`` (a
  vectorised-environment wrapper that computes rewards in batches and keeps the
  environment's own reward in ``info["env_reward"]``).
- :mod:`rmeval.training.callbacks`: writes the batched rewards into the replay buffer
  before the updates that use them; checkpoints.
- :mod:`rmeval.training.checkpoints`: the run folder (``checkpoints.csv``, resume state,
  replay buffer as ``.npz``), atomic writes.
- :mod:`rmeval.training.trainer`: :func:`~rmeval.training.trainer.train`.
- :mod:`rmeval.training.policies`: choosing (``--best``) and loading checkpoints, running
  episodes.
- :mod:`rmeval.training.rollout`, :mod:`rmeval.training.evaluate`: from checkpoints to
  datasets and ground-truth evaluations.

Importing this package imports nothing heavy; stable-baselines3, torch and the simulators
load inside the modules that need them.
"""

from __future__ import annotations
