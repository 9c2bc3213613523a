"""``numnet.utils``: helpers outside the ops, as in ``torch.utils``; ``numnet.utils.data``
holds ``Dataset``, ``DataLoader``, the samplers and ``default_collate``."""

from numnet.utils import data

__all__ = ["data"]
