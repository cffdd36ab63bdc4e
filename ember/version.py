"""``torch.version``: which PyTorch ember stands in for, and the version string type.

Contract:
- ``__version__`` is the PyTorch release whose behaviour ember implements, with ember's own
  version as the local label (``2.13.0+ember.0.1.0``), a ``TorchVersion``. ``ember.__version__``
  is ember's own version ("0.1.0") until ``install_as_torch()`` (``ember run``) makes ember
  stand in for ``torch``: then it is this string, so scripts testing
  ``torch.__version__ >= "2.0"`` or ``packaging.version.parse(torch.__version__)`` take their
  PyTorch 2 branch. ``ember`` keeps its own version in ``ember_version``.
- ``cuda``, ``hip``, ``rocm``, ``xpu`` are None and ``debug`` False, as in a CPU build.
- ``TorchVersion`` is a ``str`` that compares (``<``, ``<=``, ``==``, ``>=``, ``>``) with
  version strings and tuples of numbers by PEP 440 ordering, as PyTorch's; a comparison with
  something that is no version falls back to ``str``'s, and ``!=`` is ``str``'s (PyTorch's
  too).
"""

from __future__ import annotations

import re

from . import _EMBER_VERSION as ember_version

__all__ = ["TorchVersion", "__version__", "cuda", "debug", "git_version", "hip", "rocm", "xpu"]

TORCH_RELEASE = "2.13.0"

cuda = None
hip = None
rocm = None
xpu = None
debug = False
git_version = "Unknown"

# PEP 440's version grammar (its appendix's regular expression, written out here)
_PEP440 = re.compile(r"""
    v?
    (?:(?P<epoch>[0-9]+)!)?
    (?P<release>[0-9]+(?:\.[0-9]+)*)
    (?:[-_.]?(?P<pre_l>a|b|c|rc|alpha|beta|pre|preview)[-_.]?(?P<pre_n>[0-9]+)?)?
    (?:-(?P<post_n1>[0-9]+)|[-_.]?(?P<post_l>post|rev|r)[-_.]?(?P<post_n2>[0-9]+)?)?
    (?:[-_.]?(?P<dev_l>dev)[-_.]?(?P<dev_n>[0-9]+)?)?
    (?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?
    """, re.VERBOSE | re.IGNORECASE)

_PRE = {"a": 0, "alpha": 0, "b": 1, "beta": 1, "c": 2, "rc": 2, "pre": 2, "preview": 2}
# sentinels inside the sort key: below every value, a value, above every value
_LOW, _HIGH = (0,), (2,)


class InvalidVersion(ValueError):
    """A string that is not a PEP 440 version."""


def _key(text: str) -> tuple:
    """The PEP 440 sort key of ``text`` (its release's trailing zeros dropped)."""
    m = _PEP440.fullmatch(text.strip())
    if m is None:
        raise InvalidVersion(f"Invalid version: {text!r}")
    release = [int(p) for p in m["release"].split(".")]
    while len(release) > 1 and release[-1] == 0:
        release.pop()
    pre = (1, _PRE[m["pre_l"].lower()], int(m["pre_n"] or 0)) if m["pre_l"] else None
    post_n = m["post_n1"] or m["post_n2"] or ("0" if m["post_l"] else None)
    post = (1, int(post_n)) if post_n is not None else _LOW
    dev = (1, int(m["dev_n"] or 0)) if m["dev_l"] else _HIGH
    if pre is None:  # a dev release sorts before the pre-releases; a final one after them
        pre = _LOW if post is _LOW and dev is not _HIGH else _HIGH
    if m["local"]:
        parts = re.split(r"[-_.]", m["local"].lower())
        local = (1, tuple((1, int(p), "") if p.isdigit() else (0, 0, p) for p in parts))
    else:
        local = _LOW
    return (int(m["epoch"] or 0), tuple(release), pre, post, dev, local)


def _other_key(other):
    if isinstance(other, tuple):
        return _key(".".join(str(item) for item in other))
    if isinstance(other, str) or type(other).__name__ == "Version":  # (packaging's Version)
        return _key(str(other))
    raise InvalidVersion(f"{type(other).__name__} is not a version")


class TorchVersion(str):
    """A version string comparing as a version with strings, tuples and ``Version``s."""

    def _compare(self, other, op, method):
        try:
            return op(_key(self), _other_key(other))
        except InvalidVersion:
            return getattr(str, method)(self, other)

    def __lt__(self, other):
        return self._compare(other, lambda a, b: a < b, "__lt__")

    def __le__(self, other):
        return self._compare(other, lambda a, b: a <= b, "__le__")

    def __gt__(self, other):
        return self._compare(other, lambda a, b: a > b, "__gt__")

    def __ge__(self, other):
        return self._compare(other, lambda a, b: a >= b, "__ge__")

    def __eq__(self, other):
        return self._compare(other, lambda a, b: a == b, "__eq__")

    __hash__ = str.__hash__


__version__ = TorchVersion(f"{TORCH_RELEASE}+ember.{ember_version}")
