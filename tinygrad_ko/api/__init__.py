"""The PyTorch API surface: argument rules, dtype promotion, indexing, printing, tensor factories.

Importing it installs the Tensor methods (see methods.py); tinygrad_ko/__init__.py does that first
and re-exports the factories of creation.py as ``tinygrad_ko.zeros`` and so on.
"""

from . import methods
from .more_methods import MoreMethods

methods.install(MoreMethods)
