"""``torch.linalg``: norms (``import tinygrad_ko as torch; torch.linalg.norm(x)``).

Vector norms of any order, the Frobenius norm and the matrix 1-/inf-norms; the norms of singular
values (ord 2, -2, 'nuc') need an SVD, which tinygrad_ko does not have. The rules live in
api/norms.py, the op in ops/norm.py.
"""

from __future__ import annotations

from .api.norms import linalg_norm as norm
from .api.norms import matrix_norm, vector_norm

__all__ = ["matrix_norm", "norm", "vector_norm"]
