"""Differentiable operations, grouped by family: one ``Function`` per op, forward and
backward side by side, the formula in the docstring. Users call them through
``numnet.nn.functional`` (and Tensor methods), not directly."""
