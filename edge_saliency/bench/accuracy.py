"""The accuracy column: every cell's maps of the same video frames against a reference cell at the same size and
batch — for fp16 / int8 the fp32 cell of the same backend (else the first fp32 cell that ran), for fp32 the first
fp32 cell in the order torch, onnxruntime, tensorrt (the PyTorch model when it ran)."""
from typing import Mapping, Optional, Sequence

import numpy as np

from .schema import Cell

REFERENCE_ORDER = ("torch", "onnxruntime", "tensorrt")


def reference_for(cell: Cell, cells: Sequence[Cell]) -> Optional[Cell]:
    """The cell whose maps ``cell`` is compared with (module docstring); ``cell`` itself when it is the
    reference; None when no fp32 cell ran at its size and batch."""
    ran = [c for c in cells if c.ok and c.precision == "fp32" and c.size == cell.size and c.batch == cell.batch]
    if not ran:
        return None
    ordered = sorted(ran, key=lambda c: REFERENCE_ORDER.index(c.backend))
    if cell.precision != "fp32":
        same = [c for c in ordered if c.backend == cell.backend]
        return same[0] if same else ordered[0]
    return ordered[0]


def add_accuracy(cells: Sequence[Cell], maps: Mapping[str, np.ndarray]) -> None:
    """Fill ``cell.accuracy`` of every cell that ran: CC / KLD / SIM / NSS agreement vs its reference."""
    from ..export.evaluate import EvalInput, accuracy

    for cell in cells:
        if not cell.ok or cell.id not in maps:
            continue
        reference = reference_for(cell, cells)
        if reference is None or reference.id not in maps:
            cell.accuracy = {"reference": None, "note": "no fp32 cell ran at this size and batch"}
            continue
        if reference is cell:
            cell.accuracy = {"reference": "self", "frames": int(maps[cell.id].shape[0])}
            continue
        ref, out = maps[reference.id], maps[cell.id]
        inputs = [EvalInput("frame{}".format(i), np.empty(0), True) for i in range(ref.shape[0])]
        result = accuracy(inputs, [r[None] for r in ref], [o[None] for o in out])
        result.pop("per_frame", None)
        cell.accuracy = dict(result, reference=reference.id)
