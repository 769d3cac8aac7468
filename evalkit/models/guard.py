"""The runtime guard of the packed forward: the CUDA varlen path never runs in CI, so on CUDA the first batch a
model scores packed is also scored by the padded path. A disagreement beyond TOLERANCE, or an exception from the
packed path, is said in one log line and the padded path scores the rest of the run; the decision is recorded in
the scorer's info, which the manifest writes under environment.reranker.packed_guard.

TOLERANCE bounds max |packed - padded| over the batch, relative to max(1, max |padded|): the two paths run the
same weights in the same dtype and differ by rounding only, so each lies within the dtype's own error of fp32 and
they lie within twice that of each other. The dtype's error, max |dtype - fp32| / max(1, max |fp32|), random-weight
real-size GTE reranker: on an H200 (results/bench/gpu-check-h200-2026-11-26.json) 0.125 / ~24 = 0.0052 (fp16) and
1.12 / ~24 = 0.047 (bf16) on the sample's pairs (~24: the scores' scale on CPU for the same model, the GPU run did
not record it); on this project's 2-core CPU (results/bench/guard-tolerance-cpu-2026-12-07.json, 48 MIRACL-like
pairs) 0.0033 and 0.027, with packed vs padded itself at 0.0013 and 0.0077. fp16: 2 x 0.0052 -> 0.015; bf16:
2 x 0.047 -> 0.12; fp32 (the CPU path the tests force): < 1e-5 measured -> 1e-4. No GPU has run the guard yet.
"""
from __future__ import annotations

import logging
import os
from typing import Any, Callable

import numpy as np
import torch

log = logging.getLogger(__name__)

ENV = "EVALKIT_PACKED_GUARD"    # "1": guard on every device (tests force it on CPU), "0": off; unset: on CUDA
TOLERANCE = {"fp16": 0.015, "bf16": 0.12, "fp32": 1e-4}

RowsForward = Callable[[Any, np.ndarray], torch.Tensor]   # (TokenArrays, rows) -> outputs


def guard_enabled(device: str) -> bool:
    choice = os.environ.get(ENV, "").strip()
    return choice == "1" if choice in ("0", "1") else device.startswith("cuda")


class PackedGuard:
    """A packed forward `(tokens, rows) -> outputs` that checks its first batch against `padded` and falls back
    to it for good on a disagreement or an exception (out of memory excepted: the batch runner halves its budget
    and the next batch is checked instead). `record` is what the manifest gets."""

    def __init__(self, packed: RowsForward, padded: RowsForward, dtype: str, info: dict, model_name: str = ""):
        self.packed, self.padded, self.dtype, self.info, self.model_name = packed, padded, dtype, info, model_name
        self.checked = self.fallen = False

    def __call__(self, tokens, rows: np.ndarray) -> torch.Tensor:
        if self.fallen:
            return self.padded(tokens, rows)
        if self.checked:
            return self.packed(tokens, rows)
        tolerance = TOLERANCE.get(self.dtype, TOLERANCE["fp16"])
        try:
            got = self.packed(tokens, rows)
        except torch.OutOfMemoryError:
            raise
        except Exception as exc:   # noqa: BLE001 - any failure of the unverified kernel means: use the padded path
            message = str(exc).splitlines()[0][:200] if str(exc) else ""
            return self._decide(f"raised {type(exc).__name__}: {message}", self.padded(tokens, rows), len(rows),
                                tolerance=tolerance)
        want = self.padded(tokens, rows)
        diff = float((got.float() - want.float()).abs().max()) if len(rows) else 0.0
        bound = tolerance * max(1.0, float(want.float().abs().max())) if len(rows) else tolerance
        if not diff <= bound:      # NaN disagrees too
            return self._decide(f"disagrees with the padded one (max |diff| {diff:.3g} > {bound:.3g}, {self.dtype})",
                                want, len(rows), diff, bound, tolerance)
        self.checked = True
        self._record(len(rows), diff, bound, tolerance, None)
        log.info("reranker.packed: %s's packed forward agrees with the padded one on its first batch "
                 "(max |diff| %.3g <= %.3g, %s)", self.model_name, diff, bound, self.dtype)
        return got

    def _decide(self, reason: str, padded: torch.Tensor, pairs: int, diff: float | None = None,
                bound: float | None = None, tolerance: float | None = None) -> torch.Tensor:
        self.fallen = True
        self._record(pairs, diff, bound, tolerance, reason)
        log.warning("reranker.packed: %s's packed forward %s on its first batch; the padded path scores the rest "
                    "of the run", self.model_name, reason)
        return padded

    def _record(self, pairs: int, diff: float | None, bound: float | None, tolerance: float | None,
                fallback: str | None) -> None:
        self.info["packed_guard"] = {"path": "padded" if fallback else "packed", "fallback": fallback,
                                     "checked_pairs": pairs, "max_abs_diff": diff, "bound": bound,
                                     "tolerance": tolerance, "dtype": self.dtype}
