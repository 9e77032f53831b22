"""Global random state: one NumPy Generator shared by rand/randn/randint, init and shuffling."""

from __future__ import annotations

import numpy as np

# PyTorch's default generator starts from a fixed seed, so an unseeded script gives the same
# numbers on every run; so does ours (the same number, though not the same stream as PyTorch's)
DEFAULT_SEED = 67280421310721
_state = {"generator": np.random.default_rng(DEFAULT_SEED), "seed": DEFAULT_SEED}


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the global generator (like ``torch.manual_seed``) and return it."""
    seed = int(seed)
    _state["generator"] = np.random.default_rng(seed)
    _state["seed"] = seed
    return _state["generator"]


def default_generator() -> np.random.Generator:
    """The generator every random function uses unless given its own."""
    return _state["generator"]


def initial_seed() -> int:
    return _state["seed"]
