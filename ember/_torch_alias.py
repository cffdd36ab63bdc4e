"""``import torch`` resolves to ember: the import hook behind ``ember run`` and
``ember.install_as_torch()``.

Contract:

- Once installed, ``import torch`` gives the ``ember`` module itself and ``import torch.X.Y``
  gives the module ``ember.X.Y`` itself: the same objects, not copies, so ``torch.nn is
  ember.nn``, ``sys.modules['torch.nn'] is ember.nn``, ``isinstance`` checks agree whichever
  name the code used, and a pickle naming ``torch.nn.modules.linear.Linear`` finds ember's class.
- A ``torch.*`` module ember lacks raises ``ModuleNotFoundError`` (``name`` set to the torch name)
  whose message says that ember does not provide it, instead of falling through to a real torch
  installed beside ember.
- ``torch.__version__`` (``ember.__version__`` once installed) is ``TorchVersion``
  ``"2.13.0+ember.<ember's version>"`` (ember/version.py).
- Installing refuses with a ``RuntimeError`` when real torch is already imported: its modules
  and ember's would then mix in one program. Installing twice is a no-op.
- Child processes started with ``spawn`` or ``forkserver`` (DataLoader workers, multiprocessing
  pools) install the hook before they re-import the main script; forked children inherit it.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types

__all__ = ["install_as_torch", "is_installed"]


def _ember_name(fullname: str) -> str:
    return "ember" + fullname[len("torch"):]


class _AliasLoader(importlib.abc.Loader):
    """Hands the import system an already-imported ember module."""

    def __init__(self, module: types.ModuleType):
        self._module = module
        self._spec = getattr(module, "__spec__", None)

    def create_module(self, spec):
        return self._module

    def exec_module(self, module):
        # NOTE: the import system sets ``module.__spec__`` to the torch-named spec after
        # create_module; put ember's back so the module keeps describing itself (relative
        # imports, importlib.reload and tools reading __spec__ see ember's own names).
        if self._spec is not None:
            module.__spec__ = self._spec


class _TorchAliasFinder(importlib.abc.MetaPathFinder):
    """On ``sys.meta_path[0]``: ``torch`` and ``torch.*`` resolve to ``ember`` and ``ember.*``.

    It must come before the path finder, or a real torch installed in the same environment
    would win (and, worse, ``torch.nn`` would load ember's files a second time as new modules).
    """

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "torch" and not fullname.startswith("torch."):
            return None
        module = _resolve(fullname)
        is_package = hasattr(module, "__path__")
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(module),
                                              origin=getattr(module, "__file__", None),
                                              is_package=is_package)


def _resolve(fullname: str) -> types.ModuleType:
    name = _ember_name(fullname)
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name != name:  # a missing dependency inside an ember module: not ours to rename
            raise
    # A few torch submodules are plain attributes in ember (``torch.return_types``).
    parent, _, leaf = name.rpartition(".")
    found = getattr(sys.modules.get(parent), leaf, None)
    if isinstance(found, types.ModuleType):
        return found
    raise ModuleNotFoundError(
        f"No module named '{fullname}': ember, which stands in for torch here, does not "
        "provide it",
        name=fullname)


_FINDER = _TorchAliasFinder()


def is_installed() -> bool:
    return any(isinstance(f, _TorchAliasFinder) for f in sys.meta_path)


def install_as_torch() -> None:
    """Make ``import torch`` (and every ``import torch.X``) give ember, in this process and in
    the processes it spawns. Idempotent; raises ``RuntimeError`` if real torch is already
    imported."""
    import ember

    loaded = sys.modules.get("torch")
    if loaded is not None and loaded is not ember:
        where = getattr(loaded, "__file__", None) or repr(loaded)
        raise RuntimeError(
            "ember.install_as_torch(): the real torch is already imported (from "
            f"{where}), so its modules and ember's would mix; install the alias before "
            "anything imports torch, or run the script with `ember run script.py`")
    if not is_installed():
        sys.meta_path.insert(0, _FINDER)
    # ``torch.__version__`` is the PyTorch release ember implements (ember/version.py), so
    # version checks in scripts take their PyTorch 2 branches
    from .version import __version__ as torch_version

    ember.__version__ = torch_version
    _carry_into_spawned_children()


class _InstallInChild:
    """Unpickled in a spawned child before it re-imports the parent's main script (the
    preparation data is read whole first), so that script's ``import torch`` gives ember."""

    def __reduce__(self):
        return install_as_torch, ()


def _carry_into_spawned_children() -> None:
    # NOTE: spawn and forkserver children start a fresh interpreter and re-import the main
    # script before anything of ours runs; the only hook is the preparation data multiprocessing
    # pickles for them. ``prepare()`` reads the keys it knows and ignores ours.
    import multiprocessing.spawn as spawn

    original = spawn.get_preparation_data
    if getattr(original, "_ember_torch_alias", False):
        return

    def get_preparation_data(name):
        data = original(name)
        data["ember_torch_alias"] = _InstallInChild()
        return data

    get_preparation_data._ember_torch_alias = True
    spawn.get_preparation_data = get_preparation_data
