"""all-MiniLM-L6-v2 itself: WordPiece tokens in, mean-pooled unit vectors out.

Kept apart from `local.py` so numpy, onnxruntime and tokenizers load only when a
process first embeds with the local model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime
from tokenizers import Tokenizer

# sentence-transformers' max_seq_length for this model, special tokens included.
MAX_TOKENS = 256
PAD_ID = 0

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class LoadedModel:
    session: onnxruntime.InferenceSession
    tokenizer: Tokenizer
    hidden_output: str
    """The per-token output ([batch, tokens, width]); exports name it differently."""

    @classmethod
    def load(cls, directory: Path, *, threads: int) -> LoadedModel:
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(
            str(directory / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        # As shipped it pads and truncates to 128; sentence-transformers uses 256, no padding.
        tokenizer.enable_truncation(MAX_TOKENS)
        tokenizer.no_padding()
        hidden = next(str(o.name) for o in session.get_outputs() if len(o.shape) == 3)
        return cls(session, tokenizer, hidden)

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        return [encoding.ids for encoding in self.tokenizer.encode_batch(list(texts))]

    def embed_ids(self, batch: Sequence[Sequence[int]]) -> FloatArray:
        """Pad to the batch's longest input, run, mean-pool over the mask, normalise."""
        width = max(len(ids) for ids in batch)
        input_ids = np.full((len(batch), width), PAD_ID, dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, ids in enumerate(batch):
            input_ids[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1
        feeds = {
            "input_ids": input_ids,
            "attention_mask": mask,
            "token_type_ids": np.zeros_like(input_ids),
        }
        hidden = np.asarray(self.session.run([self.hidden_output], feeds)[0], dtype=np.float32)
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        normalised: FloatArray = (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
        return normalised
