"""The embedding engine: uint8 frames in, CLIP embeddings out, in batches, with a cache.

:class:`Embedder` (:mod:`rmeval.embedding.embedder`) wraps a
:class:`~rmeval.models.LoadedModel`. Frames travel to the model's device as uint8 (a
quarter of the bytes of float32, through pinned memory on CUDA), are preprocessed there as
tensor operations (:mod:`rmeval.preprocess`) and encoded under autocast for
``fp16``/``bf16``. With an :class:`~rmeval.cache.EmbeddingCache`, frames whose content was
embedded before by the same model, preprocessing and precision are not encoded again
(:mod:`rmeval.embedding.cache_layer`); new embeddings are written chunk by chunk, so an
interrupted run keeps what it finished.

Embeddings are returned as float32 numpy arrays, *not* normalised (rewards normalise).

Work runs as a pipeline of chunks (:mod:`rmeval.embedding.pipeline`; about
:data:`~rmeval.embedding.pipeline.CHUNK_BYTES` of frames each; the first is two batches,
so the model starts early): while chunk i is encoded, chunk i+1 is read from disk (PNG
decoding and hashing on ``read_workers`` threads) and, once chunk i is queued, chunk i+1
is looked up in the cache and queued too before chunk i's results are collected and
written to the cache.

On a GPU: batches are queued without synchronising (nothing in the loop makes the host
wait for the device; normalisation constants are made once per device); a chunk's
results are copied to pinned host memory asynchronously and waited for with a CUDA
event, after the next chunk is queued. ``batch_size="auto"`` probes the largest batch
that fits; ``compile=True`` wraps the image tower in ``torch.compile`` (short batches are
padded, so there is one graph). Attention runs through PyTorch's scaled-dot-product
attention (open_clip's ``nn.MultiheadAttention`` with ``need_weights=False``).
"""

from __future__ import annotations

from rmeval.embedding.cache_layer import EmbedStats
from rmeval.embedding.embedder import AUTO_BATCH_MAX, PRECISIONS, Embedder
from rmeval.embedding.pipeline import CHUNK_BYTES

__all__ = ["AUTO_BATCH_MAX", "CHUNK_BYTES", "PRECISIONS", "EmbedStats", "Embedder"]
