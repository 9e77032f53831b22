"""``torch.backends``: the flags scripts read or set about GPU backends, none of which exist here.

``torch.backends.mps.is_available()`` is False; ``torch.backends.cudnn.deterministic = True`` and
``torch.backends.cudnn.benchmark = False`` (common lines in seeding helpers) are accepted and
change nothing: tinygrad_ko's CPU ops are deterministic already.
"""

from . import cudnn, mps

__all__ = ["cudnn", "mps"]
