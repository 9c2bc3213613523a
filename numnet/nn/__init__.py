"""Neural-network building blocks: ``numnet.nn.functional`` (as ``F``), modules, init."""

from numnet.nn import functional  # noqa: F401
