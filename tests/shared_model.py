"""Where the real all-MiniLM-L6-v2 files are: `../shared/models` beside the checkout."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_MODEL = REPO_ROOT.parent / "shared" / "models" / "all-MiniLM-L6-v2"

needs_model = pytest.mark.skipif(
    not (SHARED_MODEL / "model.onnx").is_file(),
    reason=f"the ONNX export of all-MiniLM-L6-v2 is not at {SHARED_MODEL}",
)
