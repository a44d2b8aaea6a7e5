"""methodzoo.shared — the small core every methodzoo method package stands on.

Submodules: :mod:`~methodzoo.shared.config`, :mod:`~methodzoo.shared.registry`,
:mod:`~methodzoo.shared.seed`, :mod:`~methodzoo.shared.device`, :mod:`~methodzoo.shared.data`,
:mod:`~methodzoo.shared.metrics`, :mod:`~methodzoo.shared.kernels`, :mod:`~methodzoo.shared.train`,
:mod:`~methodzoo.shared.bench`, :mod:`~methodzoo.shared.cli`, :mod:`~methodzoo.shared.testing`,
:mod:`~methodzoo.shared.timing` (median and interleaved timing), :mod:`~methodzoo.shared.memory`
(peak RSS and tensor memory), :mod:`~methodzoo.shared.modules` (parameter counts, eval mode),
:mod:`~methodzoo.shared.digit_classifier` (the cached digit classifier of the Fréchet distance).
Layers, lowest first: primitives → metrics → data → train → the modules that use them all.
Importing this package downloads nothing and never initialises CUDA.
"""

from methodzoo.shared.config import Config, check
from methodzoo.shared.device import resolve_device
from methodzoo.shared.errors import ConfigError, DataNotFoundError, MissingExtraError, UserError
from methodzoo.shared.registry import Registry, RegistryError
from methodzoo.shared.seed import make_generator, numpy_rng, seed_everything, seeded

__all__ = [
    # configuration
    "Config",
    "ConfigError",
    "DataNotFoundError",
    "MissingExtraError",
    "Registry",
    "RegistryError",
    "UserError",
    "check",
    # determinism and devices
    "make_generator",
    "numpy_rng",
    "resolve_device",
    "seed_everything",
    "seeded",
]
