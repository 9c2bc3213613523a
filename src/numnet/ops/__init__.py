"""Differentiable operations, grouped by family: one ``Function`` per op, forward and
backward side by side, the formula in the docstring, its snake_case wrapper beside it
(``Mul`` / ``mul``). ``numnet.nn.functional`` re-exports the wrappers, and
``numnet.ops.tensor_methods`` attaches them to ``Tensor`` as operators and methods."""
