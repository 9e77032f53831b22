"""The PyTorch API surface: argument rules, dtype promotion, indexing, printing, tensor factories.

Importing it installs the Tensor methods (see methods.py); tinygrad_ko/__init__.py does that first.
"""

from . import methods
from .creation import (
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
from .methods import Size

methods.install()
