"""Reward models defined in the test suite, named on the command line as
``tests.plugin_models:TinyConvReward`` (or ``...:TinyConvEmbedder``): real small torch
networks (a seeded, untrained CNN over the frame and a byte-level text encoder)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

#: Frames each class has been run on (tests check the cache through it).
CALLS: dict[str, int] = {}


class _Net(nn.Module):
    """Image: 3 conv layers on a 32x32 thumbnail -> 16-d. Text: byte embeddings, mean -> 16-d."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.image = nn.Sequential(
            nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(16, 16, 3, stride=2, padding=1), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.text = nn.EmbeddingBag(256, 16, mode="mean")

    def images(self, frames: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255.0
        x = nn.functional.interpolate(x, size=(32, 32), mode="bilinear", antialias=True)
        return self.image(x)

    def texts(self, prompts: Sequence[str]) -> torch.Tensor:
        out = []
        for p in prompts:
            ids = torch.tensor(list(p.encode()) or [0])
            out.append(self.text(ids[None, :])[0])
        return torch.stack(out)


class TinyConvReward:
    """RewardModel: reward = cosine(image features, goal text) - cosine(image features, baseline text)."""

    random_weights = True

    def __init__(self) -> None:
        self.name = "tests.plugin_models:TinyConvReward"
        self.net = _Net(seed=0).eval()

    def identity(self) -> str:
        return "TinyConvReward-v1-seed0"

    def parameter_count(self) -> int | None:
        return sum(p.numel() for p in self.net.parameters())

    @torch.no_grad()
    def frame_rewards(self, frames: np.ndarray, goal_prompts: Sequence[str], baseline_prompts: Sequence[str]) -> np.ndarray:
        CALLS["TinyConvReward"] = CALLS.get("TinyConvReward", 0) + len(frames)
        img = nn.functional.normalize(self.net.images(frames), dim=-1)
        goal = nn.functional.normalize(self.net.texts(goal_prompts).mean(0), dim=-1)
        reward = img @ goal
        if baseline_prompts:
            reward = reward - img @ nn.functional.normalize(self.net.texts(baseline_prompts).mean(0), dim=-1)
        return reward.double().numpy()


class TinyConvEmbedder:
    """EmbeddingRewardModel: the same network's embeddings; rmeval computes rewards for every alpha."""

    random_weights = True

    def __init__(self, device: str | None = None) -> None:
        self.name = "tests.plugin_models:TinyConvEmbedder"
        self.device = device
        self.net = _Net(seed=1).eval()

    def identity(self) -> str:
        return "TinyConvEmbedder-v1-seed1"

    def parameter_count(self) -> int | None:
        return sum(p.numel() for p in self.net.parameters())

    @torch.no_grad()
    def embed_images(self, frames: np.ndarray) -> np.ndarray:
        CALLS["TinyConvEmbedder"] = CALLS.get("TinyConvEmbedder", 0) + len(frames)
        return self.net.images(frames).numpy()

    @torch.no_grad()
    def embed_texts(self, prompts: Sequence[str]) -> np.ndarray:
        return self.net.texts(prompts).numpy()


class NotARewardModel:
    """Lacks the protocol's methods."""

    name = "broken"
