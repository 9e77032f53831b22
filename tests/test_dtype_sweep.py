"""Integer and bool tensors, op by op: a sweep over dtypes x shapes x ops of the paths that are
not differentiable (issue 15 began with ``tensor([3, 1, 2]).min()`` raising a NumPy casting error).

The expectations are written here, not taken from the code under test: PyTorch's result dtype for
each family of ops (its type promotion, its integer results, the ops it refuses for a dtype) and
NumPy for the values. Hypothesis draws the dtypes, the shapes (0-d and empty included) and the
values; a deterministic pass walks every pair of dtypes once. torch is not needed: only the last
test compares with it, when it is installed.
"""

from __future__ import annotations

import operator

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_ko as tg
import tinygrad_ko.nn.functional as F

INTS = ["uint8", "int8", "int16", "int32", "int64"]
FLOATS = ["float32", "float64"]
DTYPES = ["bool", *INTS, *FLOATS]

# PyTorch's type promotion (torch.promote_types) within a category; across categories the higher
# category wins: bool < integer < floating point
SAME_CATEGORY = {
    ("uint8", "int8"): "int16",
    ("uint8", "int16"): "int16",
    ("uint8", "int32"): "int32",
    ("uint8", "int64"): "int64",
    ("int8", "int16"): "int16",
    ("int8", "int32"): "int32",
    ("int8", "int64"): "int64",
    ("int16", "int32"): "int32",
    ("int16", "int64"): "int64",
    ("int32", "int64"): "int64",
    ("float32", "float64"): "float64",
}


def category(d: str) -> int:
    return 0 if d == "bool" else 2 if d in FLOATS else 1


def promoted(a: np.ndarray, b: np.ndarray) -> str:
    """torch.result_type(a, b) for two tensors: a zero-dim tensor gives way to a dimensioned one
    of the same category (``int64 0-d + uint8`` is uint8), never to a lower category."""
    da, db = a.dtype.name, b.dtype.name
    if category(da) != category(db):
        return da if category(da) > category(db) else db
    if (a.ndim == 0) != (b.ndim == 0):
        return db if a.ndim == 0 else da
    return da if da == db else SAME_CATEGORY.get((da, db)) or SAME_CATEGORY[(db, da)]


def with_scalar(d: str, c: object) -> str:
    """The result dtype of ``tensor (op) python_scalar``: the tensor's, unless the scalar is of a
    higher category (then the default: int64 for an int, float32 for a float)."""
    kind = 0 if type(c) is bool else 1 if type(c) is int else 2
    if kind <= category(d):
        return d
    return "int64" if kind == 1 else "float32"


def as_float(d: str) -> str:
    """Ops that compute in floating point (true division, exp, sqrt, ...) give integers float32."""
    return d if d in FLOATS else "float32"


def np_scalar(c: object, d: str) -> np.ndarray:
    """A Python scalar in dtype ``d``; an int outside an int dtype's range wraps, as in PyTorch."""
    return np.array(c).astype(d) if type(c) is int and d in INTS else np.array(c, dtype=d)


# ---- strategies ----------------------------------------------------------------------------------
def values(d: str, shape: tuple[int, ...], nonzero: bool = False, lo: int = -4, hi: int = 6):
    if d == "bool":
        elements = st.just(True) if nonzero else st.booleans()
    elif d in FLOATS:
        elements = st.floats(lo, hi, width=32).filter(lambda v: not nonzero or v != 0)
    else:
        elements = st.integers(0 if d == "uint8" else lo, hi).filter(lambda v: not nonzero or v != 0)
    return hnp.arrays(np.dtype(d), shape, elements=elements)


SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3)
PAIRS = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3)


def check(t: tg.Tensor, dtype: str, expected: np.ndarray) -> None:
    assert t.dtype == getattr(tg, dtype if dtype != "bool" else "bool_"), (t.dtype, dtype)
    got = t.numpy()
    assert got.shape == np.shape(expected), (got.shape, np.shape(expected))
    if dtype in FLOATS:
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6, equal_nan=True)
    else:
        np.testing.assert_array_equal(got, expected)


def numpy_op(fn, *arrays: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.asarray(fn(*arrays))


# ---- binary ops between tensors --------------------------------------------------------------------
# family -> ops: what PyTorch gives back, what NumPy computes (on the operands cast to the result)
ARITHMETIC = {"+": operator.add, "-": operator.sub, "*": operator.mul}
FLOOR = {"//": (operator.floordiv, np.floor_divide), "%": (operator.mod, np.mod)}
COMPARE = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt}
BITWISE = {"&": operator.and_, "|": operator.or_, "^": operator.xor}
ELEMENTWISE = {"maximum": (tg.maximum, np.maximum), "minimum": (tg.minimum, np.minimum)}


def binary_expectation(op: str, a: np.ndarray, b: np.ndarray):
    """(result dtype, NumPy values) or (exception type, message fragment) for ``a op b``."""
    res = promoted(a, b)
    if op in ARITHMETIC:
        if op == "-" and "bool" in (a.dtype.name, b.dtype.name):
            return NotImplementedError, "Subtraction, the `-` operator, with"
        return res, numpy_op(ARITHMETIC[op], a.astype(res), b.astype(res))
    if op == "/":  # each operand straight to the float result (no wrap through a common int type)
        res = as_float(res)
        return res, numpy_op(np.true_divide, a.astype(res), b.astype(res))
    if op in FLOOR:
        if res == "bool":
            return NotImplementedError, "not implemented for 'Bool'"
        if res not in FLOATS and b.size and a.size and not b.all():
            return RuntimeError, "ZeroDivisionError"
        return res, numpy_op(FLOOR[op][1], a.astype(res), b.astype(res))
    if op in COMPARE:
        return "bool", numpy_op(COMPARE[op], a, b)
    if op in BITWISE:
        if res in FLOATS:
            return NotImplementedError, "not implemented for"
        return res, numpy_op(BITWISE[op], a.astype(res), b.astype(res))
    if op == "**":
        if res == "bool":
            return NotImplementedError, "\"pow\" not implemented for 'Bool'"
        return res, numpy_op(np.power, a.astype(res), b.astype(res))
    return res, numpy_op(ELEMENTWISE[op][1], a.astype(res), b.astype(res))


def apply_binary(op: str, x: tg.Tensor, y: tg.Tensor) -> tg.Tensor:
    if op in ELEMENTWISE:
        return ELEMENTWISE[op][0](x, y)
    fns = {**ARITHMETIC, **COMPARE, **BITWISE, "/": operator.truediv, "**": operator.pow}
    return fns[op](x, y) if op in fns else FLOOR[op][0](x, y)


BINARY_OPS = [*ARITHMETIC, "/", *FLOOR, *COMPARE, *BITWISE, "**", *ELEMENTWISE]


def run_binary(op: str, a: np.ndarray, b: np.ndarray) -> None:
    expected = binary_expectation(op, a, b)
    x, y = tg.tensor(a), tg.tensor(b)
    if isinstance(expected[0], type):
        with pytest.raises(expected[0], match=expected[1].replace("(", r"\(").replace(")", r"\)")):
            apply_binary(op, x, y)
    else:
        check(apply_binary(op, x, y), *expected)


@pytest.mark.parametrize("op", BINARY_OPS)
@given(data=st.data())
def test_binary_ops_between_tensors(op, data):
    shapes = data.draw(PAIRS).input_shapes
    da, db = data.draw(st.sampled_from(DTYPES)), data.draw(st.sampled_from(DTYPES))
    lo, hi = (0, 3) if op == "**" else (-4, 6)  # integer powers: small, non-negative exponents
    a = data.draw(values(da, shapes[0], lo=lo, hi=hi))
    b = data.draw(values(db, shapes[1], nonzero=data.draw(st.booleans()), lo=lo, hi=hi))
    run_binary(op, a, b)


@pytest.mark.parametrize("op", BINARY_OPS)
def test_binary_ops_over_every_pair_of_dtypes(op):
    """The whole promotion table once, with a 0-d operand on either side and on both."""
    rng = np.random.default_rng(0)
    for da in DTYPES:
        for db in DTYPES:
            for sa, sb in [((3,), (3,)), ((2, 3), ()), ((), (3,)), ((), ())]:
                a = rng.integers(0 if da == "uint8" else -3, 4, size=sa).astype(da)
                b = rng.integers(1, 4, size=sb).astype(db)  # no zeros: ZeroDivisionError is the hypothesis test's
                run_binary(op, a, b)


# ---- tensor (op) Python scalar ---------------------------------------------------------------------
SCALARS = [2, -3, 300, 2.5, True, False]


@pytest.mark.parametrize("op", ["+", "-", "*", "/", "//", "%", "**", "==", "<", "&", "|", "^"])
@given(data=st.data())
def test_ops_with_python_scalars(op, data):
    d = data.draw(st.sampled_from(DTYPES))
    c = data.draw(st.sampled_from(SCALARS))
    reflected = data.draw(st.booleans())
    a = data.draw(values(d, data.draw(SHAPES), lo=0 if op == "**" else -4))
    res = with_scalar(d, c)
    x = tg.tensor(a)
    fn = {**ARITHMETIC, **COMPARE, **BITWISE, "/": operator.truediv, "**": operator.pow}.get(op) or FLOOR[op][0]
    call = (lambda: fn(c, x)) if reflected else (lambda: fn(x, c))
    lhs, rhs = (np_scalar(c, res), a.astype(res)) if reflected else (a.astype(res), np_scalar(c, res))
    if op == "-" and (d == "bool" or type(c) is bool):
        with pytest.raises(NotImplementedError, match="Subtraction, the `-` operator, with"):
            call()
        return
    if op in BITWISE and res in FLOATS:
        with pytest.raises(NotImplementedError, match="bitwise_.* not implemented for '(Float|Double)'"):
            call()
        return
    if op in FLOOR and res == "bool":
        with pytest.raises(NotImplementedError, match="not implemented for 'Bool'"):
            call()
        return
    if op in FLOOR and res not in FLOATS and a.size and not np.all(rhs):
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            call()
        return
    if op == "**":
        if reflected and d == "bool" and type(c) is bool:
            with pytest.raises(NotImplementedError, match="pow"):
                call()
            return
        if c == -3 and res not in FLOATS and not reflected:
            with pytest.raises(RuntimeError, match="Integers to negative integer powers"):
                call()
            return
        if not reflected and d in INTS and type(c) is int and not np.iinfo(d).min <= c <= np.iinfo(d).max:
            with pytest.raises(RuntimeError, match="cannot be converted to type .* without overflow"):
                call()  # an exponent outside the dtype: PyTorch refuses it (as a base it wraps)
            return
        if d == "bool" and type(c) is bool and not reflected:  # x ** True is x, x ** False is all True
            check(call(), "bool", a | (not c))
            return
    if op == "/":  # both operands straight to the float result
        res = as_float(res)
        lhs, rhs = (np.array(c, dtype=res), a.astype(res)) if reflected else (a.astype(res), np.array(c, dtype=res))
    if op in COMPARE:  # compared as numbers (PyTorch would wrap -3 into a uint8 first, see README)
        check(call(), "bool", numpy_op(fn, *((c, a) if reflected else (a, c))))
        return
    np_fn = {"/": np.true_divide, "**": np.power}.get(op) or (FLOOR[op][1] if op in FLOOR else fn)
    check(call(), res, numpy_op(np_fn, lhs, rhs))


# ---- one tensor: unary ops, reductions, shape ops ----------------------------------------------------
FLOAT_UNARY = {
    "exp": np.exp,
    "log": np.log,
    "sqrt": np.sqrt,
    "rsqrt": lambda v: 1 / np.sqrt(v),
    "sin": np.sin,
    "cos": np.cos,
    "tanh": np.tanh,
    "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
    "reciprocal": lambda v: 1 / v,
    "log1p": np.log1p,
}


@pytest.mark.parametrize("name", sorted(FLOAT_UNARY))
@given(data=st.data())
def test_floating_point_functions_give_integers_float32(name, data):
    d = data.draw(st.sampled_from(DTYPES))
    a = data.draw(values(d, data.draw(SHAPES)))
    res = as_float(d)
    check(getattr(tg.tensor(a), name)(), res, numpy_op(FLOAT_UNARY[name], a.astype(res)))


@given(data=st.data())
def test_unary_ops_that_keep_the_dtype(data):
    d = data.draw(st.sampled_from(DTYPES))
    a = data.draw(values(d, data.draw(SHAPES)))
    x = tg.tensor(a)
    check(x.sign(), d, a.copy() if d == "bool" else np.sign(a))
    check(x.clone(), d, a)
    check(x.flatten(), d, a.reshape(-1))
    check(x.unsqueeze(0), d, a[None])
    check(x.reshape(-1), d, a.reshape(-1))
    if a.ndim <= 2:
        check(x.t(), d, a.T)
    if a.ndim:
        if a.shape[0]:
            check(x[0], d, a[0])
        check(x[..., ::-1].contiguous(), d, a[..., ::-1])
        check(x.narrow(0, 0, a.shape[0]), d, a)
        assert [p.dtype for p in x.split(1)] == [x.dtype] * max(a.shape[0], 1)
    mask = a > 1
    check(x[tg.tensor(mask)], d, a[mask])
    if d == "bool":
        for fn, msg in [(tg.Tensor.abs, "abs_cpu"), (tg.Tensor.neg, "Negation"), (tg.Tensor.relu, "relu")]:
            with pytest.raises(NotImplementedError, match=msg):
                fn(x)
        check(x.square(), "int64", a.astype(np.int64) ** 2)  # PyTorch squares bools as int64
        check(~x, d, ~a)
        return
    check(x.abs(), d, np.abs(a))
    check(-x, d, -a)
    check(x.relu(), d, np.maximum(a, 0))
    check(x.square(), d, a * a)
    if d in INTS:
        check(~x, d, ~a)
    else:
        with pytest.raises(TypeError, match="only implemented on integer and Boolean"):
            _ = ~x


@given(data=st.data())
def test_reductions(data):
    d = data.draw(st.sampled_from(DTYPES))
    a = data.draw(values(d, data.draw(SHAPES), lo=-2, hi=3))
    x = tg.tensor(a)
    dim = data.draw(st.integers(-a.ndim, a.ndim - 1)) if a.ndim else None
    acc = "int64" if d not in FLOATS else d  # PyTorch sums and multiplies integers in int64
    check(x.sum(), acc, a.sum(dtype=acc))
    check(x.prod(), acc, a.prod(dtype=acc))
    any_dtype = "uint8" if d == "uint8" else "bool"  # PyTorch: uint8 in, uint8 out
    check(x.any(), any_dtype, np.any(a).astype(any_dtype))
    check(x.all(), any_dtype, np.all(a).astype(any_dtype))
    if dim is not None:
        check(x.sum(dim), acc, a.sum(axis=dim, dtype=acc))
        check(x.sum(dim, dtype=tg.int32), "int32", a.sum(axis=dim, dtype=np.int32))
        check(x.prod(dim, keepdim=True), acc, a.prod(axis=dim, dtype=acc, keepdims=True))
        check(x.any(dim), any_dtype, np.any(a, axis=dim).astype(any_dtype))
    if d not in FLOATS:
        for fn in (tg.Tensor.mean, tg.Tensor.var, tg.Tensor.std):
            with pytest.raises(RuntimeError, match="floating point"):
                fn(x)
        check(x.float().mean(), "float32", a.astype(np.float32).mean() if a.size else np.float32("nan"))
    if a.size == 0:
        with pytest.raises(RuntimeError, match="Expected reduction dim to be specified for input.numel"):
            x.max()
        if dim is not None and a.shape[dim] == 0:
            with pytest.raises(IndexError, match="to have non-zero size"):
                x.amin(dim)
        return
    check(x.max(), d, a.max())
    check(x.min(), d, a.min())
    check(x.amax(), d, a.max())
    if dim is not None:
        values_, indices = x.max(dim)
        check(values_, d, a.max(axis=dim))
        check(indices, "int64", np.argmax(a, axis=dim))
        check(x.amin(dim, keepdim=True), d, a.min(axis=dim, keepdims=True))
    if d == "bool":
        with pytest.raises(RuntimeError, match=r"argmax\(\): does not support bool input"):
            x.argmax()
    else:
        check(x.argmax(), "int64", np.argmax(a))
        if dim is not None:
            check(x.argmin(dim), "int64", np.argmin(a, axis=dim))


@given(data=st.data())
def test_sort_and_topk(data):
    d = data.draw(st.sampled_from(DTYPES))
    a = data.draw(values(d, data.draw(SHAPES), lo=-3, hi=250 if d in ("uint8", "int16", "int32", "int64") else 6))
    x = tg.tensor(a)
    descending = data.draw(st.booleans())
    v, i = x.sort(descending=descending)
    if a.ndim == 0:
        check(v, d, a)
        check(i, "int64", np.zeros((), np.int64))
        return
    key = -a.astype(np.float64) if descending else a  # float64 holds every value here
    order = np.argsort(key, axis=-1, kind="stable")
    check(v, d, np.take_along_axis(a, order, -1))
    check(i, "int64", order)
    if d == "bool":
        with pytest.raises(RuntimeError, match="topk does not support bool"):
            x.topk(1)
    elif a.shape[-1]:
        v, i = x.topk(1)
        check(v, d, np.take_along_axis(a, np.argsort(-a.astype(np.float64), -1, kind="stable")[..., :1], -1))


@given(data=st.data())
def test_clamp_where_and_masked_fill(data):
    d = data.draw(st.sampled_from(DTYPES))
    a = data.draw(values(d, data.draw(SHAPES)))
    x = tg.tensor(a)
    mask = a > 1
    if d != "bool":
        check(x.clamp(0, 3), d, np.clip(a, 0, 3))
        check(x.clamp(min=1), d, np.maximum(a, 1))
        res = as_float(d)  # float bounds make an integer tensor float32, as in PyTorch
        check(x.clamp(0.5, 2.5), res, np.clip(a.astype(res), 0.5, 2.5))
    # masked_fill keeps the tensor's dtype: the value is cast to it
    for value in (7, 2.5, True):
        check(x.masked_fill(tg.tensor(mask), value), d, np.where(mask, np_scalar(value, d), a))
    for other in (0, 0.5):
        res = with_scalar(d, other)
        check(tg.where(tg.tensor(mask), x, other), res, np.where(mask, a.astype(res), np_scalar(other, res)))
    with pytest.raises(RuntimeError, match="masked_fill_ only supports boolean masks"):
        x.masked_fill(tg.tensor(mask.astype(np.int64)), 0)
    check(tg.where(tg.tensor(mask.astype(np.uint8)), x, x), d, a)  # a uint8 condition still works


@given(data=st.data())
def test_inplace_ops_keep_the_dtype(data):
    d, do = data.draw(st.sampled_from(DTYPES)), data.draw(st.sampled_from(DTYPES))
    shape = data.draw(SHAPES)
    a = data.draw(values(d, shape))
    b = data.draw(values(do, data.draw(st.sampled_from([shape, shape[1:], ()]))))
    for name, fn in (("add_", np.add), ("mul_", np.multiply), ("sub_", np.subtract)):
        x = tg.tensor(a)
        res = promoted(a, b) if b.ndim <= a.ndim else d
        if name == "sub_" and "bool" in (d, do):
            with pytest.raises(NotImplementedError, match="Subtraction"):
                getattr(x, name)(tg.tensor(b))
        elif category(res) > category(d):
            with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
                getattr(x, name)(tg.tensor(b))
        else:  # computed in the promoted type, written back in the tensor's (PyTorch wraps too)
            out = getattr(x, name)(tg.tensor(b))
            assert out is x
            check(x, d, numpy_op(fn, a.astype(res), b.astype(res)).astype(d))
    x = tg.tensor(a)
    if d in FLOATS:
        x /= 2
        check(x, d, a / np.array(2, dtype=d))
    else:
        with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type"):
            x /= 2
    if d in INTS:
        y = tg.tensor(a)
        y -= 1  # uint8 wraps around below 0, as in PyTorch
        check(y, d, a - np.array(1, dtype=d))
        y.fill_(-1)
        check(y, d, np.full(a.shape, -1).astype(d))


@given(data=st.data())
def test_cat_stack_and_matmul(data):
    da, db = data.draw(st.sampled_from(DTYPES)), data.draw(st.sampled_from(DTYPES))
    n = data.draw(st.integers(0, 3))
    a, b = data.draw(values(da, (2, n))), data.draw(values(db, (2, n)))
    res = promoted(a, b)
    check(tg.cat([tg.tensor(a), tg.tensor(b)]), res, np.concatenate([a.astype(res), b.astype(res)]))
    check(tg.stack([tg.tensor(a), tg.tensor(b)], 1), res, np.stack([a.astype(res), b.astype(res)], 1))
    x, y = tg.tensor(a), tg.tensor(b.T.copy())
    if da != db:
        with pytest.raises(RuntimeError, match="expected m1 and m2 to have the same dtype"):
            x @ y
    elif da == "bool":
        with pytest.raises(NotImplementedError, match="not implemented for 'Bool'"):
            x @ y
    else:
        check(x @ y, da, a @ b.T)
        if n:
            check(x[0] @ y[:, 0], da, a[0] @ b[0])


# ---- creation, nn.functional, the function forms ---------------------------------------------------
def test_random_factories_draw_floats_only():
    for d in (tg.int64, tg.uint8, tg.bool):
        with pytest.raises(NotImplementedError, match="check_uniform_bounds"):
            tg.rand(2, dtype=d)
        with pytest.raises(NotImplementedError, match="normal_kernel_cpu"):
            tg.randn_like(tg.zeros(2, dtype=d))
        with pytest.raises(NotImplementedError, match="not implemented for"):
            tg.zeros(2, dtype=d).uniform_()
    assert tg.randint(5, (3,)).dtype == tg.int64  # randint(high, size), as in PyTorch
    assert tg.randint(5, (3,)).shape == (3,)
    assert tg.rand_like(tg.zeros(2, dtype=tg.float64)).dtype == tg.float64


def test_functional_ops_on_integers():
    x = tg.tensor([[-2, 0, 3]])
    check(F.relu(x), "int64", np.array([[0, 0, 3]]))
    check(F.one_hot(tg.tensor([0, 2]), 3), "int64", np.eye(3, dtype=np.int64)[[0, 2]])
    with pytest.raises(RuntimeError, match="one_hot is only applicable to index tensor of type LongTensor"):
        F.one_hot(tg.tensor([0, 2], dtype=tg.int32), 3)
    for fn, kernel in ((F.softmax, "softmax_lastdim_kernel_impl"), (F.log_softmax, "log_softmax_lastdim")):
        with pytest.raises(NotImplementedError, match=f"{kernel}.* not implemented for 'Long'"):
            fn(x, 1)
        assert fn(x, 1, dtype=tg.float32).dtype == tg.float32  # the PyTorch way: cast first
        assert fn(tg.zeros(2, 0), 1).shape == (2, 0)  # an empty input is its own softmax
    for fn, kernel in ((F.leaky_relu, "leaky_relu_cpu"), (F.softplus, "softplus_cpu")):
        with pytest.raises(NotImplementedError, match=kernel):
            fn(x)
    check(F.pad(x, (1, 1), value=7), "int64", np.array([[7, -2, 0, 3, 7]]))
    check(tg.tensor([1, 4]).logsumexp(0), "float32", np.log(np.exp(1.0) + np.exp(4.0)))
    check(tg.zeros(0, dtype=tg.int64).logsumexp(0), "float32", np.float32(-np.inf))  # log of an empty sum


def test_function_forms_follow_the_methods():
    x = tg.tensor([3, 1, 2], dtype=tg.uint8)
    check(tg.min(x), "uint8", np.uint8(1))
    check(tg.sum(x), "int64", np.int64(6))
    check(tg.prod(x), "int64", np.int64(6))
    check(tg.sub(x, 2), "uint8", np.array([1, 255, 0], np.uint8))
    check(tg.div(x, 2), "float32", np.array([1.5, 0.5, 1.0], np.float32))
    check(tg.argmax(x), "int64", np.int64(0))
    (nonzero,) = tg.where(tg.tensor(5))  # a 0-d condition counts as one element
    check(nonzero, "int64", np.array([0]))
    with pytest.raises(RuntimeError, match="outer: Expected 1-D argument self"):
        tg.outer(tg.ones(2, 2), tg.ones(2))
    with pytest.raises(RuntimeError, match="start \\(2\\) \\+ length \\(2\\) exceeds dimension size \\(3\\)"):
        tg.narrow(x, 0, 2, 2)


# ---- against PyTorch, when it is installed ---------------------------------------------------------
def test_the_tables_above_are_pytorchs():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    for op in BINARY_OPS:
        for da in DTYPES:
            for db in DTYPES:
                for sa, sb in [((3,), (3,)), ((2, 3), ())]:
                    a = rng.integers(0 if da == "uint8" else -3, 4, size=sa).astype(da)
                    b = rng.integers(1, 4, size=sb).astype(db)
                    expected = binary_expectation(op, a, b)
                    ta, tb = torch.from_numpy(a), torch.from_numpy(np.array(b))
                    fn = ELEMENTWISE[op][0].__name__ if op in ELEMENTWISE else None
                    try:
                        got = getattr(torch, fn)(ta, tb) if fn else apply_binary(op, ta, tb)
                    except (RuntimeError, NotImplementedError) as e:
                        assert isinstance(expected[0], type), (op, da, db, e)
                        continue
                    assert not isinstance(expected[0], type), (op, da, db)
                    assert str(got.dtype) == f"torch.{expected[0]}", (op, da, db, got.dtype)
                    np.testing.assert_allclose(got.numpy(), expected[1], rtol=1e-5, equal_nan=True)
