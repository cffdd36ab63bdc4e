"""``torch.distributions`` for ember: probability distributions with PyTorch's API, values,
random streams and error messages.

Contract: each class matches PyTorch 2.x's of the same name: shapes, parameter validation
(on by default; ``Distribution.set_default_validate_args``), ``sample``/``rsample`` drawing from
ember's generator exactly as PyTorch draws from its own (so a seeded ember program gets
PyTorch's samples), ``log_prob``/``entropy``/``cdf``/``icdf``/moments computed with PyTorch's
formulas in ember ops (so they are differentiable), and ``kl_divergence`` over PyTorch's
registered pairs. Submodules carry PyTorch's names (``ember.distributions.normal.Normal``,
``.constraints``, ``.kl``, ``.transforms``, ``.utils``).

Implemented: Bernoulli, Categorical, Cauchy, Exponential, ExponentialFamily, Geometric, Gumbel,
HalfNormal, Independent, Laplace, LogNormal, LogitRelaxedBernoulli, MixtureSameFamily,
MultivariateNormal, Normal, OneHotCategorical, OneHotCategoricalStraightThrough,
RelaxedBernoulli, TransformedDistribution, Uniform, and the transforms in ``transforms.py``.
Not yet: the distributions PyTorch samples with kernels ember lacks
(``_standard_gamma``, ``poisson``, ``binomial``, ``_sample_dirichlet``): Gamma, Beta,
Dirichlet, Chi2, StudentT, Poisson, Binomial, and the rest of PyTorch's list.
"""

from . import constraints, transforms
from .bernoulli import Bernoulli
from .categorical import Categorical
from .cauchy import Cauchy
from .distribution import Distribution
from .exp_family import ExponentialFamily
from .exponential import Exponential
from .geometric import Geometric
from .gumbel import Gumbel
from .half_normal import HalfNormal
from .independent import Independent
from .kl import kl_divergence, register_kl
from .laplace import Laplace
from .log_normal import LogNormal
from .mixture_same_family import MixtureSameFamily
from .multivariate_normal import MultivariateNormal
from .normal import Normal
from .one_hot_categorical import OneHotCategorical, OneHotCategoricalStraightThrough
from .relaxed_bernoulli import LogitRelaxedBernoulli, RelaxedBernoulli
from .transformed_distribution import TransformedDistribution
from .transforms import (
    AbsTransform,
    AffineTransform,
    ComposeTransform,
    ExpTransform,
    PowerTransform,
    SigmoidTransform,
    SoftplusTransform,
    TanhTransform,
    Transform,
    identity_transform,
)
from .uniform import Uniform

__all__ = [
    "AbsTransform", "AffineTransform", "Bernoulli", "Categorical", "Cauchy", "ComposeTransform",
    "Distribution", "ExpTransform", "Exponential", "ExponentialFamily", "Geometric", "Gumbel",
    "HalfNormal",
    "Independent", "Laplace", "LogNormal", "LogitRelaxedBernoulli", "MixtureSameFamily",
    "MultivariateNormal", "Normal", "OneHotCategorical",
    "OneHotCategoricalStraightThrough", "PowerTransform", "RelaxedBernoulli", "SigmoidTransform",
    "SoftplusTransform", "TanhTransform", "Transform", "TransformedDistribution", "Uniform",
    "constraints", "identity_transform", "kl_divergence", "register_kl", "transforms",
]
