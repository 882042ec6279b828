"""Checks that need a CUDA device (run with `bash scripts/test.sh -m gpu`)."""

import numpy as np
import pytest
import torch

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def test_gpu_preprocessing_matches_cpu(cartpole_frames):
    """The float32 GPU path stays within a few 8-bit levels of the CPU (PIL-exact) path."""
    from rmeval.preprocess import PreprocessConfig, preprocess_frames

    cfg = PreprocessConfig(size=(224, 224))
    cpu = preprocess_frames(torch.from_numpy(cartpole_frames), cfg)
    gpu = preprocess_frames(torch.from_numpy(cartpole_frames).cuda(), cfg).cpu()
    levels = (cpu - gpu).abs() * torch.tensor(cfg.std).view(1, 3, 1, 1) * 255
    assert levels.mean().item() < 0.05 and levels.max().item() <= 16


@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
def test_gpu_embeddings_match_cpu(cartpole_frames, precision):
    from rmeval.embedding import Embedder
    from rmeval.models import load_model

    cpu = Embedder(load_model("ViT-B-32:random", device="cpu")).embed_frames(cartpole_frames)
    gpu_model = load_model("ViT-B-32:random", device="cuda")
    emb = Embedder(gpu_model, batch_size="auto", precision=precision)
    assert emb.batch_size >= 8
    gpu = emb.embed_frames(cartpole_frames)
    cos = (cpu * gpu).sum(1) / np.linalg.norm(cpu, axis=1) / np.linalg.norm(gpu, axis=1)
    assert cos.min() > (0.9999 if precision == "fp32" else 0.99)
