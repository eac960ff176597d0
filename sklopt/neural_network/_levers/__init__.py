"""The lever registries: one table per lever, one record per option.

Adding an option is adding one record to its table; parameter constraints, docstrings
and the documentation read the tables.
"""

from ._registry import Registry
from .activations import ACTIVATIONS
from .embeddings import EMBEDDINGS
from .hardware import COMPILE_MODES, PRECISIONS
from .init import INITIALIZERS
from .losses import OUTPUTS
from .penalties import PENALTIES
from .schedules import SCHEDULES
from .solvers import SOLVERS, STOCHASTIC_SOLVERS

REGISTRIES = (ACTIVATIONS, INITIALIZERS, SOLVERS, SCHEDULES, PENALTIES, PRECISIONS,
              COMPILE_MODES, EMBEDDINGS)

__all__ = ["ACTIVATIONS", "COMPILE_MODES", "EMBEDDINGS", "INITIALIZERS", "OUTPUTS", "PENALTIES",
           "PRECISIONS", "REGISTRIES", "Registry", "SCHEDULES", "SOLVERS",
           "STOCHASTIC_SOLVERS"]
