"""numnet's random number generator: one seeded ``Generator`` behind every random op.

``numnet.manual_seed(s)`` reseeds it; ``randn``, ``rand``, dropout, init functions and the
DataLoader's shuffling draw from it unless given their own ``generator``.
"""

from __future__ import annotations

import numpy


class Generator:
    """A seedable source of random numbers (wraps ``numpy.random.Generator`` with PCG64).

    Example:
        >>> g = Generator().manual_seed(0)
        >>> a = g.numpy_generator.random()
        >>> b = g.manual_seed(0).numpy_generator.random()
        >>> a == b
        True
    """

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed
        self.numpy_generator = numpy.random.default_rng(seed)

    def manual_seed(self, seed: int) -> "Generator":
        self.seed = int(seed)
        self.numpy_generator = numpy.random.default_rng(self.seed)
        return self

    def initial_seed(self):
        return self.seed

    def get_state(self) -> dict:
        """The generator's state as a JSON-serialisable dict."""
        return self.numpy_generator.bit_generator.state

    def set_state(self, state: dict) -> None:
        self.numpy_generator.bit_generator.state = state


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed numnet's default generator (and return it), like ``torch.manual_seed``."""
    return default_generator.manual_seed(seed)


def get_rng_state() -> dict:
    return default_generator.get_state()


def set_rng_state(state: dict) -> None:
    default_generator.set_state(state)


def numpy_generator(generator: Generator | None = None) -> numpy.random.Generator:
    """The NumPy generator behind ``generator`` (the default one when None)."""
    return (generator or default_generator).numpy_generator
