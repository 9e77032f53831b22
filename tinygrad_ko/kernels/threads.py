"""Split an elementwise NumPy kernel across threads: the optimizers' updates of large parameters.

NumPy's ufuncs run on one core, but release the GIL while they loop over an array, so two Python
threads can each run a ufunc on their own half of an array at the same time. That pays off only for
compute-heavy kernels on large arrays: handing a task to a sleeping thread and waiting for it costs
tens of microseconds (about 75 us on a 2-core VM), and memory-bound kernels (a ReLU, a copy) are no
faster on two cores, because one core already saturates the memory bus. Adam's and RMSprop's
updates (square roots, divisions) of a layer with hundreds of thousands of weights are the case
this is for: about twice as fast on two cores, which is what PyTorch gets from its thread pool.

``set_num_threads`` / ``get_num_threads`` mirror ``torch.set_num_threads``; the default is the
number of cores this process may run on, or ``TINYGRAD_KO_NUM_THREADS`` / ``OMP_NUM_THREADS`` when
set. One thread means everything runs inline, as if this module did not exist. BLAS (matrix
products) keeps its own threads: this module does not change them.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["get_num_threads", "set_num_threads", "run_chunks"]


def _default_threads() -> int:
    for var in ("TINYGRAD_KO_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(var, "").strip()
        if value:
            try:
                n = int(value)
            except ValueError:
                continue
            if n >= 1:
                return n
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


_num_threads = _default_threads()
_local = threading.local()  # .in_worker: True on the pool's threads (nested calls run inline)


def get_num_threads() -> int:
    """The number of threads elementwise kernels are split across (1: no splitting)."""
    return _num_threads


def set_num_threads(n: int) -> None:
    """Use ``n`` threads (including the caller's) for the kernels this module splits."""
    global _num_threads
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive int, got {n!r}")
    _num_threads = n


class _Pool:
    """Worker threads that each wait on their own queue for ``(fn, start, stop)`` tasks."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.tasks: list[queue.SimpleQueue] = []
        self.done: queue.SimpleQueue = queue.SimpleQueue()
        self.lock = threading.Lock()  # one split at a time (callers on several threads queue up)

    def ensure(self, workers: int) -> None:
        while len(self.tasks) < workers:
            q: queue.SimpleQueue = queue.SimpleQueue()
            threading.Thread(target=self._loop, args=(q,), daemon=True, name="tinygrad_ko-worker").start()
            self.tasks.append(q)

    def _loop(self, q: queue.SimpleQueue) -> None:
        _local.in_worker = True
        while True:
            fn, start, stop = q.get()
            try:
                fn(start, stop)
            except BaseException as exc:  # handed to the caller, which re-raises it
                self.done.put(exc)
            else:
                self.done.put(None)


_pool: _Pool | None = None


def _get_pool() -> _Pool:
    global _pool
    if _pool is None or _pool.pid != os.getpid():  # threads do not survive a fork
        _pool = _Pool()
    return _pool


def run_chunks(fn: Callable[[int, int], Any], n: int, min_chunk: int = 1 << 16) -> None:
    """Call ``fn(start, stop)`` over ``range(n)`` cut into contiguous chunks, one per thread.

    The caller's thread takes the first chunk; each chunk has at least ``min_chunk`` elements, so
    small ``n`` runs inline in one call. ``fn`` must only touch its own ``[start, stop)`` part of
    any array it writes. An exception in any chunk is raised here after all chunks have finished.
    """
    parts = min(_num_threads, n // max(1, min_chunk))
    if parts <= 1 or getattr(_local, "in_worker", False):
        fn(0, n)
        return
    pool = _get_pool()
    with pool.lock:
        pool.ensure(parts - 1)
        bounds = [n * i // parts for i in range(parts + 1)]
        for i in range(1, parts):
            pool.tasks[i - 1].put((fn, bounds[i], bounds[i + 1]))
        error: BaseException | None = None
        try:
            fn(bounds[0], bounds[1])
        except BaseException as exc:
            error = exc
        for _ in range(parts - 1):  # wait for every worker, even after an error
            result = pool.done.get()
            if result is not None and error is None:
                error = result
    if error is not None:
        raise error
