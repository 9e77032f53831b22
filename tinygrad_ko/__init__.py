"""tinygrad_ko: a small reverse-mode autograd engine on NumPy with a PyTorch-shaped API.

``import tinygrad_ko as torch`` lets book code written for PyTorch run on it.
"""

from __future__ import annotations

import importlib
from typing import Any

from . import api, autograd
from .api import outputs
from .api.creation import (
    arange,
    as_tensor,
    cat,
    concat,
    concatenate,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    pad,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    stack,
    tensor,
    where,
    zeros,
    zeros_like,
)
from .api.device import device, get_default_device, set_default_device
from .api.dtypes import (
    bool_,
    double,
    dtype,
    float16,
    float32,
    float64,
    half,
    int8,
    int16,
    int32,
    int64,
    long,
    short,
    uint8,
)
from .api.dtypes import float as float
from .api.dtypes import int as int
from .api.einsum import einsum
from .api.methods import Size
from .api.printing import get_printoptions, printoptions, set_printoptions
from .autograd import enable_grad, inference_mode, is_grad_enabled, is_inference_mode_enabled, no_grad, set_grad_enabled
from .kernels import alloc
from .kernels.threads import get_num_threads, set_num_threads
from .random import initial_seed, manual_seed
from .serialization import load, save
from .tensor import Tensor

# glibc keeps freed large buffers for reuse instead of unmapping them (see kernels/alloc.py; a no-op elsewhere)
alloc.tune_malloc()

bool = bool_
__version__ = "0.1.0"


def _method(name: str) -> Any:
    method = getattr(Tensor, name)

    def fn(input: Tensor, *args: Any, out: Any = None, **kwargs: Any) -> Any:
        if not isinstance(input, Tensor):
            input = tensor(input)
        if out is None:
            return method(input, *args, **kwargs)
        # torch.matmul(a, b, out=y): computed as usual, then written into y (api/outputs.py)
        return outputs.write(name, out, (input, *args, *kwargs.values()), lambda: method(input, *args, **kwargs))

    fn.__name__ = name
    fn.__doc__ = f"Function form of ``Tensor.{name}``; ``out=`` writes the result into a given tensor."
    return fn


# torch.exp(x), torch.sum(x, dim=1), ... : the function forms of Tensor methods
_FUNCTION_FORMS = (
    "abs exp log sqrt rsqrt sin cos tanh sigmoid relu clamp clip maximum minimum neg square "
    "reciprocal log1p sum mean var std prod max min amax amin argmax argmin logsumexp softmax "
    "log_softmax matmul mm bmm dot outer reshape flatten unflatten squeeze unsqueeze permute "
    "transpose t expand broadcast_to split chunk unbind narrow select gather sort topk any all "
    "isnan isfinite isinf sign clone detach numel masked_fill allclose equal eq ne lt le gt ge "
    "add sub mul div divide true_divide pow lerp remainder sgn subtract multiply "
    # the ops of api/more_methods.py
    "floor ceil trunc fix round frac log2 exp2 expm1 tan cumsum cumprod tril triu flip roll diag norm movedim moveaxis "
    "scatter scatter_add multinomial"
).split()
for _name in _FUNCTION_FORMS:
    globals()[_name] = _method(_name)
del _name

_LAZY_SUBMODULES = ("nn", "optim", "data", "utils", "viz", "models", "learner", "linalg", "cuda", "backends")


def __getattr__(name: str) -> Any:
    # Layers above the core are imported on first use: `import tinygrad_ko` stays light, and the
    # core never imports them.
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name == "draw_graph":
        return importlib.import_module(".viz", __name__).draw_graph
    raise AttributeError(f"module 'tinygrad_ko' has no attribute {name!r}")
