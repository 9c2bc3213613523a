"""``numnet.nn.utils``, like ``torch.nn.utils``: gradient clipping (``clip_grad``) and
variable-length sequences for the recurrent layers (``rnn``)."""

from numnet.nn.utils import rnn  # noqa: F401
from numnet.nn.utils.clip_grad import (  # noqa: F401
    clip_grad_norm_,
    clip_grad_value_,
    clip_grads_with_norm_,
    get_total_norm,
)

__all__ = ["get_total_norm", "clip_grads_with_norm_", "clip_grad_norm_", "clip_grad_value_",
           "rnn"]
