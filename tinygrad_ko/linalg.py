"""``torch.linalg``: norms (``import tinygrad_ko as torch; torch.linalg.norm(x)``).

Vector norms of any order; matrix norms: Frobenius, 1/-1, inf/-inf, and the norms of the singular
values (2, -2, 'nuc'; ``svdvals``). The rules live in api/norms.py, the ops in ops/norm.py and ops/svd.py.
"""

from __future__ import annotations

from .api.norms import linalg_norm as norm
from .api.norms import matrix_norm, svdvals, vector_norm

__all__ = ["matrix_norm", "norm", "svdvals", "vector_norm"]
