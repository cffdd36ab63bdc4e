"""``ember.nn.utils``: gradient clipping and parameter/vector conversion.

Contract: PyTorch's ``torch.nn.utils`` functions of the same names (``clip_grad_norm_``,
``clip_grad_value_``, ``parameters_to_vector``, ``vector_to_parameters``).
"""

from .clip_grad import clip_grad_norm_, clip_grad_value_, get_total_norm
from .convert_parameters import parameters_to_vector, vector_to_parameters

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm", "parameters_to_vector",
           "vector_to_parameters"]
