"""detect_anomaly(): remember where each op was created, and fail loudly on NaN gradients."""

from __future__ import annotations


class _AnomalyState:
    __slots__ = ("enabled",)

    def __init__(self) -> None:
        self.enabled = False


state = _AnomalyState()


class detect_anomaly:
    """Context manager: inside it, every recorded op keeps the stack of the forward code that
    created it, and a backward that produces NaN raises an error naming the op and that stack."""

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan

    def __enter__(self) -> None:
        self._prev = state.enabled
        state.enabled = self.check_nan

    def __exit__(self, *exc: object) -> None:
        state.enabled = self._prev


class set_detect_anomaly(detect_anomaly):
    """``set_detect_anomaly(True)`` switches anomaly detection on (also usable as a context)."""

    def __init__(self, mode: bool) -> None:
        super().__init__(mode)
        self._prev = state.enabled
        state.enabled = bool(mode)


def is_anomaly_enabled() -> bool:
    return state.enabled
