"""Devices, shaped like PyTorch's: ``torch.device("cpu")``, ``x.device``, ``device=`` arguments.

tinygrad_ko computes with NumPy on the CPU only. As in PyTorch on a machine without a GPU, a
``device("cuda")`` object can be built, printed and compared; *using* it (``x.to(dev)``,
``zeros(2, device=dev)``, ``x.cuda()``, ``set_default_device("cuda")``) raises one clear error that
says how to write the device line so the same script runs here.
"""

from __future__ import annotations

import builtins
from typing import Any

# the device types PyTorch's parser knows, in its order (its error message lists them)
DEVICE_TYPES = (
    "cpu cuda ipu xpu mkldnn opengl opencl ideep hip ve fpga maia xla lazy vulkan mps meta hpu mtia privateuseone"
).split()

CPU_ONLY = (
    "tinygrad_ko runs on the CPU only (NumPy), so it cannot use device {!r}. Write the device line so "
    "that it falls back to the CPU: device = torch.device('cuda' if torch.cuda.is_available() else "
    "'cpu') (torch.cuda.is_available() is False here), then x.to(device) and model.to(device)."
)


class device:
    """A device: ``device("cpu")``, ``device("cuda", 0)``, ``device("cuda:1")``, ``device(other)``."""

    __slots__ = ("type", "index", "_previous")

    type: str
    index: int | None

    def __init__(self, type: Any, index: int | None = None) -> None:
        if isinstance(type, device):
            if index is not None:
                raise TypeError("device(): argument 'type' (position 1) must be str, not device")
            type, index = type.type, type.index
        elif builtins.type(type) is int:  # device(1) is the CUDA device 1, as in PyTorch
            type, index = "cuda", type
        elif not isinstance(type, str):
            raise TypeError(
                f"device() received an invalid argument: expected a str or int, got {builtins.type(type).__name__}"
            )
        elif ":" in type:
            if index is not None:
                raise RuntimeError(
                    f"type (string) must not include an index because index was passed explicitly: {type}"
                )
            name, _, number = type.partition(":")
            if not number.isdigit() or (len(number) > 1 and number[0] == "0"):
                raise RuntimeError(f"Invalid device string: {type!r}")
            type, index = name, int(number)
        if type not in DEVICE_TYPES:
            raise RuntimeError(
                f"Expected one of {', '.join(DEVICE_TYPES)} device type at start of device string: {type}"
            )
        if index is not None and index < 0:
            raise RuntimeError("Device index must not be negative")
        self.type = type
        self.index = index

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type={self.type!r})"
        return f"device(type={self.type!r}, index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    # Like PyTorch's, a device equals only a device (device("cpu") == "cpu" is False there too;
    # compare x.device.type == "cpu", or str(x.device) == "cpu").
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and self.index == other.index

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    # ``with torch.device("cpu"):`` makes it the default device for the factories inside
    def __enter__(self) -> device:
        self._previous = get_default_device()
        set_default_device(self)
        return self

    def __exit__(self, *exc: object) -> None:
        set_default_device(self._previous)


CPU = device("cpu")
_state = {"default": CPU}


def require_cpu(dev: Any) -> None:
    """Accept None, "cpu", "cpu:0", device("cpu"): the only device there is. Anything else raises."""
    if dev is None or dev == "cpu" or dev is CPU:
        return
    d = dev if isinstance(dev, device) else device(dev)  # a malformed name raises PyTorch's error
    if d.type != "cpu":
        raise RuntimeError(CPU_ONLY.format(str(d)))


def as_device(dev: Any) -> device | None:
    """``dev`` as a device object (checked: the CPU only), or None for None."""
    if dev is None:
        return None
    require_cpu(dev)
    return dev if isinstance(dev, device) else device(dev)


def set_default_device(dev: Any) -> None:
    """``torch.set_default_device("cpu")``; None restores the CPU; any other device raises."""
    _state["default"] = CPU if dev is None else as_device(dev)


def get_default_device() -> device:
    return _state["default"]


def is_device_like(value: Any) -> bool:
    """Whether a positional argument of ``.to(...)`` names a device (a str, an int or a device)."""
    return isinstance(value, (str, device)) or builtins.type(value) is int
