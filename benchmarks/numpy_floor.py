"""The "floor": the benchmarks' workloads written by hand in NumPy, with no framework.

Forward, backward by hand, and the same optimizer updates in place. This is what tinygrad_ko's
overhead is measured against: the same math, the same BLAS calls, no graph, no Tensor objects.

Layout: the floor keeps images channels-last (NHWC) internally, because that is what a hand-written
NumPy CNN would do: the im2col matrix ``(N*Ho*Wo, kh*kw*C)`` is an ``as_strided`` view reshaped
with one copy, the convolution is one matmul whose output already is NHWC, and 2x2 max-pooling is a
reshape + max. Weights are given in PyTorch's layout and converted once at construction (the
conv weight to a ``(kh*kw*C, O)`` matrix, the first Linear after a Flatten permuted from NCHW to
NHWC flatten order), so from the same initial weights the floor computes the same function as
tinygrad_ko and PyTorch and its losses agree with theirs step by step (the benchmarks check this).

A network is a ``spec``, a list of layer tuples shared by the three implementations:
``("conv", c_in, c_out, k, pad)``, ``("relu",)``, ``("pool", k)``, ``("flatten",)``,
``("linear", n_in, n_out)``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

F32 = np.float32


# ---- initial weights (PyTorch's default scheme, PyTorch's layout) -----------------------------
def init_params(spec: list[tuple], seed: int) -> list[tuple[np.ndarray, np.ndarray] | None]:
    """Per layer ``(weight, bias)`` in PyTorch layout, or None for layers without parameters.

    PyTorch's default for Linear and Conv2d: kaiming_uniform_(a=sqrt(5)) for the weight, which is
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the same bound for the bias.
    """
    rng = np.random.default_rng(seed)
    out: list[tuple[np.ndarray, np.ndarray] | None] = []
    for layer in spec:
        if layer[0] == "linear":
            _, n_in, n_out = layer
            shape, fan_in = (n_out, n_in), n_in
        elif layer[0] == "conv":
            _, c_in, c_out, k, _pad = layer
            shape, fan_in = (c_out, c_in, k, k), c_in * k * k
        else:
            out.append(None)
            continue
        bound = 1.0 / math.sqrt(fan_in)
        w = rng.uniform(-bound, bound, size=shape).astype(F32)
        b = rng.uniform(-bound, bound, size=shape[0]).astype(F32)
        out.append((w, b))
    return out


# ---- layers (each: forward(x) saves what backward needs; backward(g) -> grad of the input) ----
class Linear:
    def __init__(self, w: np.ndarray, b: np.ndarray, need_input_grad: bool) -> None:
        self.w, self.b = w.copy(), b.copy()  # (out, in), (out,)
        self.params = [self.w, self.b]
        self.need_input_grad = need_input_grad

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        out = x @ self.w.T
        out += self.b
        return out

    def backward(self, g: np.ndarray) -> np.ndarray | None:
        self.grads = [g.T @ self.x, g.sum(axis=0)]
        gx = g @ self.w if self.need_input_grad else None
        self.x = None
        return gx


class ReLU:
    params: list[np.ndarray] = []

    def forward(self, x: np.ndarray) -> np.ndarray:
        # in place: x is a fresh output of the previous layer, which did not keep it
        self.out = np.maximum(x, 0, out=x)
        return self.out

    def backward(self, g: np.ndarray) -> np.ndarray:
        g *= self.out > 0
        self.out = None
        return g


class Flatten:
    """NHWC (N, H, W, C) -> (N, H*W*C); the next Linear's weight was permuted to match."""

    params: list[np.ndarray] = []

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, g: np.ndarray) -> np.ndarray:
        return g.reshape(self.shape)


class Conv2d:
    """Stride-1 convolution on NHWC by im2col: as_strided windows, one copy, one matmul."""

    def __init__(self, w: np.ndarray, b: np.ndarray, pad: int, need_input_grad: bool) -> None:
        o, c, k, _ = w.shape
        # (O, C, kh, kw) -> (kh*kw*C, O), matching the (kh, kw, C) order of the window columns
        self.wm = np.ascontiguousarray(w.transpose(2, 3, 1, 0).reshape(k * k * c, o))
        self.b = b.copy()
        self.params = [self.wm, self.b]
        self.k, self.pad, self.need_input_grad = k, pad, need_input_grad

    def forward(self, x: np.ndarray) -> np.ndarray:
        n, h, w, c = x.shape
        k, p = self.k, self.pad
        if p:
            xp = np.zeros((n, h + 2 * p, w + 2 * p, c), dtype=x.dtype)
            xp[:, p : p + h, p : p + w, :] = x
        else:
            xp = x
        ho, wo = xp.shape[1] - k + 1, xp.shape[2] - k + 1
        sn, sh, sw, sc = xp.strides
        win = as_strided(xp, (n, ho, wo, k, k, c), (sn, sh, sw, sh, sw, sc))
        cols = win.reshape(n * ho * wo, k * k * c)  # the one im2col copy
        out = cols @ self.wm
        out += self.b
        self.cols, self.geom = cols, (x.shape, xp.shape, ho, wo)
        return out.reshape(n, ho, wo, -1)

    def backward(self, g: np.ndarray) -> np.ndarray | None:
        (n, h, w, c), pshape, ho, wo = self.geom
        k, p = self.k, self.pad
        g2 = g.reshape(-1, g.shape[-1])
        self.grads = [self.cols.T @ g2, g2.sum(axis=0)]
        self.cols = None
        if not self.need_input_grad:
            return None
        gcols = (g2 @ self.wm.T).reshape(n, ho, wo, k, k, c)
        gxp = np.zeros(pshape, dtype=g.dtype)
        for i in range(k):  # col2im: one strided add per kernel offset
            for j in range(k):
                gxp[:, i : i + ho, j : j + wo, :] += gcols[:, :, :, i, j, :]
        return gxp[:, p : p + h, p : p + w, :] if p else gxp


class MaxPool2d:
    """k x k max-pooling with stride k on NHWC: a reshape and a max."""

    params: list[np.ndarray] = []

    def __init__(self, k: int) -> None:
        self.k = k

    def forward(self, x: np.ndarray) -> np.ndarray:
        n, h, w, c = x.shape
        k = self.k
        ho, wo = h // k, w // k
        xr = x[:, : ho * k, : wo * k, :].reshape(n, ho, k, wo, k, c)
        out = xr.max(axis=(2, 4))
        self.xr, self.out, self.shape = xr, out, x.shape
        return out

    def backward(self, g: np.ndarray) -> np.ndarray:
        n, h, w, c = self.shape
        k = self.k
        ho, wo = g.shape[1], g.shape[2]
        # the gradient goes to the window's first maximum in row-major order, as in PyTorch (ties are
        # common: on MNIST's blank background a conv's output is its bias, the same in every window)
        xr, out = self.xr, self.out
        gxr = np.zeros(xr.shape, dtype=g.dtype)
        taken = np.zeros(out.shape, dtype=bool)
        for i in range(k):  # one vectorised pass per window tap
            for j in range(k):
                hit = xr[:, :, i, :, j, :] == out
                hit &= ~taken
                taken |= hit
                np.multiply(g, hit, out=gxr[:, :, i, :, j, :])
        gx = gxr.reshape(n, ho * k, wo * k, c)
        self.xr = self.out = None
        if ho * k != h or wo * k != w:
            full = np.zeros(self.shape, dtype=g.dtype)
            full[:, : ho * k, : wo * k, :] = gx
            gx = full
        return gx


def cross_entropy_forward(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Mean cross-entropy of (N, C) logits (log-sum-exp shifted), the loss alone."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    lse = np.log(np.exp(shifted).sum(axis=1))
    return (lse - shifted[np.arange(logits.shape[0]), y]).mean()


def cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean cross-entropy of (N, C) logits and its gradient w.r.t. the logits, fused."""
    n = logits.shape[0]
    rows = np.arange(n)
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    s = e.sum(axis=1, keepdims=True)
    loss = (np.log(s[:, 0]) - shifted[rows, y]).mean()
    e /= s  # softmax
    e[rows, y] -= 1
    e *= F32(1.0 / n)
    return loss, e


# ---- optimizers (PyTorch's update rules, in place) -----------------------------------------
class SGD:
    def __init__(self, params: list[np.ndarray], lr: float) -> None:
        self.params, self.lr = params, F32(lr)

    def step(self, grads: list[np.ndarray]) -> None:
        for p, g in zip(self.params, grads):
            g *= self.lr
            p -= g


class RMSprop:
    """PyTorch's RMSprop (no momentum, not centered): v = a v + (1-a) g^2; p -= lr g / (sqrt(v)+eps)."""

    def __init__(self, params: list[np.ndarray], lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8) -> None:
        self.params, self.lr, self.alpha, self.eps = params, F32(lr), F32(alpha), F32(eps)
        self.sq = [np.zeros_like(p) for p in params]

    def step(self, grads: list[np.ndarray]) -> None:
        for p, g, v in zip(self.params, grads, self.sq):
            v *= self.alpha
            t = g * g
            t *= F32(1) - self.alpha
            v += t
            np.sqrt(v, out=t)
            t += self.eps
            np.divide(g, t, out=t)
            t *= self.lr
            p -= t


class Adam:
    """PyTorch's Adam (no weight decay, no amsgrad), bias corrections as torch.optim.Adam."""

    def __init__(
        self, params: list[np.ndarray], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8
    ) -> None:
        self.params, self.lr, self.eps = params, lr, F32(eps)
        self.b1, self.b2 = betas
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.t = 0

    def step(self, grads: list[np.ndarray]) -> None:
        self.t += 1
        b1, b2 = self.b1, self.b2
        bc1, bc2 = 1 - b1**self.t, 1 - b2**self.t
        step_size = F32(self.lr / bc1)
        inv_sqrt_bc2 = F32(1 / math.sqrt(bc2))
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m *= F32(b1)
            m += F32(1 - b1) * g
            v *= F32(b2)
            t = g * g
            t *= F32(1 - b2)
            v += t
            np.sqrt(v, out=t)
            t *= inv_sqrt_bc2
            t += self.eps
            np.divide(m, t, out=t)
            t *= step_size
            p -= t


OPTIMIZERS = {"sgd": SGD, "rmsprop": RMSprop, "adam": Adam}


# ---- a network from a spec -------------------------------------------------------------------
class Net:
    """A sequential network from ``spec`` with the given PyTorch-layout ``params``.

    ``input_shape`` is one sample's shape as the other implementations see it: ``(D,)`` or
    ``(C, H, W)``; images are fed to :meth:`train_step` as NHWC.
    """

    def __init__(
        self, spec: list[tuple], params: list[Any], input_shape: tuple[int, ...], opt: str, **opt_kwargs: Any
    ) -> None:
        self.layers: list[Any] = []
        first = True
        chw = input_shape if len(input_shape) == 3 else None
        pending_nhwc: tuple[int, int, int] | None = None
        for layer, p in zip(spec, params):
            kind = layer[0]
            if kind == "linear":
                w, b = p
                if pending_nhwc is not None:  # permute NCHW flatten order to NHWC flatten order
                    c, h, wd = pending_nhwc
                    w = w.reshape(w.shape[0], c, h, wd).transpose(0, 2, 3, 1).reshape(w.shape[0], -1)
                    pending_nhwc = None
                self.layers.append(Linear(w, b, need_input_grad=not first))
                first = False
            elif kind == "conv":
                _, c_in, c_out, k, pad = layer
                self.layers.append(Conv2d(p[0], p[1], pad, need_input_grad=not first))
                first = False
                assert chw is not None
                chw = (c_out, chw[1] + 2 * pad - k + 1, chw[2] + 2 * pad - k + 1)
            elif kind == "relu":
                self.layers.append(ReLU())
            elif kind == "pool":
                self.layers.append(MaxPool2d(layer[1]))
                assert chw is not None
                chw = (chw[0], chw[1] // layer[1], chw[2] // layer[1])
            elif kind == "flatten":
                self.layers.append(Flatten())
                if chw is not None:
                    pending_nhwc = chw
                    chw = None
            else:
                raise ValueError(f"numpy floor: unsupported layer {layer}")
        self.params = [q for lay in self.layers for q in lay.params]
        self.opt = OPTIMIZERS[opt](self.params, **opt_kwargs)

    def train_step(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        for lay in self.layers:
            x = lay.forward(x)
        loss, g = cross_entropy(x, y)
        grads: list[np.ndarray] = []
        for lay in reversed(self.layers):
            g = lay.backward(g)
            if lay.params:
                grads[:0] = lay.grads
                lay.grads = None
        self.opt.step(grads)
        return loss


# ---- single ops, for bench_ops.py -------------------------------------------------------------
def chain_forward(x: np.ndarray, steps: int) -> np.ndarray:
    for _ in range(steps):
        x = x * 1.0001 + 0.0001
    return x


def chain_forward_backward(x: np.ndarray, steps: int) -> np.ndarray:
    """The same chain, then its gradient by hand: d/dx of each step is 1.0001 (the add passes through)."""
    for _ in range(steps):
        x = x * 1.0001 + 0.0001
    g = np.ones_like(x)
    for _ in range(steps):
        g = g * 1.0001
    return g


def matmul_forward_backward(a: np.ndarray, b: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    _ = a @ b
    return g @ b.T, a.T @ g


def conv_forward(conv: Conv2d, x_nhwc: np.ndarray) -> np.ndarray:
    return conv.forward(x_nhwc)


def conv_forward_backward(conv: Conv2d, x_nhwc: np.ndarray, g_nhwc: np.ndarray) -> Any:
    conv.forward(x_nhwc)
    return conv.backward(g_nhwc)
