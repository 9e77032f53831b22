"""The messages of autograd's errors, in PyTorch's wording where PyTorch has one (learners search
for them), with the op, the shapes and the dtypes filled in."""

from __future__ import annotations

import os
import traceback
from typing import Any

SECOND_BACKWARD = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you call "
    ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
    "graph a second time or if you need to access saved tensors after calling backward."
)


def modified_in_place(node: Any) -> str:
    """A value ``node`` saved for backward has been changed in place since."""
    for counter, expected, tensor in node._versions:
        if counter.value != expected:
            return (
                "one of the variables needed for gradient computation has been modified by "
                f"an inplace operation: {_describe(tensor, node)}, is at version {counter.value}; expected "
                f"version {expected} instead. Hint: the value was saved by {node.name()}; "
                "make the in-place change (x += ..., x.add_(...), x[...] = ...) out-of-place, "
                "or enable anomaly detection with tinygrad_ko.autograd.detect_anomaly() to "
                "see where that op was created."
            )
    return "a saved value was modified in place"


def _describe(tensor: Any, node: Any) -> str:
    """PyTorch's '[torch.FloatTensor [3]], which is output 0 of ExpBackward' for a saved value."""
    if tensor is None:  # the op's own output
        shape, dtype, producer = node._out_shape, _saved_output_dtype(node), node
    else:
        shape, dtype, producer = tensor._data.shape, tensor._data.dtype, tensor.grad_fn
    desc = f"[tinygrad_ko.{dtype} [{', '.join(str(s) for s in shape)}]]"
    if producer is not None:
        desc += f", which is output 0 of {producer.name()}"
    return desc


def _saved_output_dtype(node: Any) -> Any:
    for item in node._saved or ():
        if type(item).__name__ == "SavedOutput":
            return item.array.dtype
    return "float32"


def shape_error(cls: type, arrays: list, err: Exception) -> str:
    """NumPy's broadcasting error, reworded like PyTorch's, naming the op and both shapes."""
    shapes = [list(a.shape) for a in arrays]
    op = cls.__name__
    if len(arrays) == 2:
        sa, sb = arrays[0].shape, arrays[1].shape
        for i in range(1, max(len(sa), len(sb)) + 1):
            da = sa[-i] if i <= len(sa) else 1
            db = sb[-i] if i <= len(sb) else 1
            if da != db and da != 1 and db != 1:
                dim = max(len(sa), len(sb)) - i
                return (
                    f"{op}: the size of tensor a ({da}) must match the size of tensor b ({db}) at "
                    f"non-singleton dimension {dim} (shapes {shapes[0]} and {shapes[1]})"
                )
    return f"{op}: invalid input shapes {shapes}: {err}"


def user_stack() -> str:
    """The forward's call stack without the library's own frames and the interpreter's/Jupyter's
    machinery, so detect_anomaly points at the user's line."""
    pkg = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    frames = [
        f
        for f in traceback.extract_stack()[:-2]
        if not f.filename.startswith(pkg) and "site-packages" not in f.filename and "/lib/python" not in f.filename
    ]
    return "".join(traceback.format_list(frames[-8:] if frames else traceback.extract_stack()[-4:-2]))
