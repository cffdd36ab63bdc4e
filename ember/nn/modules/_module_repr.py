"""Module's repr: the module tree, one ``(name): child`` line per child, indented, after the
module's own ``extra_repr``.

Contract: PyTorch's ``torch.nn.Module.__repr__``: ``Name(extra)`` on one line when there is one
extra line and no child, else one line per extra line and per child, indented by two spaces
(``_addindent``, which ``container.py`` also uses). The functions here are ``Module``'s methods:
module.py binds them in the class body and gives them the names they had there
(``Module.<name>``, module ``ember.nn.modules.module``).
"""

from __future__ import annotations


def _addindent(text, spaces):
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    first = lines.pop(0)
    return first + "\n" + "\n".join(" " * spaces + line for line in lines)


def _get_name(self):
    return type(self).__name__


def extra_repr(self):
    """The layer's own settings, shown inside its repr (override in subclasses)."""
    return ""


def __repr__(self):
    extra = self.extra_repr()
    extra_lines = extra.split("\n") if extra else []
    child_lines = [f"({key}): " + _addindent(repr(module), 2)
                   for key, module in self._modules.items()]
    lines = extra_lines + child_lines
    main = self._get_name() + "("
    if lines:
        if len(extra_lines) == 1 and not child_lines:
            main += extra_lines[0]
        else:
            main += "\n  " + "\n  ".join(lines) + "\n"
    return main + ")"
