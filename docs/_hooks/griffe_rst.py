"""Griffe extension: render the reST roles and literal-block markers our docstrings use.

``:func:`x``` (and ``:class:``, ``:mod:``, ``:data:``, ``:attr:``, ``:meth:``, ``:exc:``)
become inline code; a paragraph ending in ``::`` ends in ``:`` (the indented block after it is
a code block in Markdown as in reST).
"""

from __future__ import annotations

import re

import griffe

_ROLE = re.compile(r":(?:func|class|mod|data|attr|meth|exc|obj|const):`~?([^`]+)`")
_LITERAL = re.compile(r"(\S)::(\s*\n)")
_BARE_LITERAL = re.compile(r"(^|\n)(\s*)::(\s*\n)")


class RstRoles(griffe.Extension):
    def on_instance(self, *, obj, **kwargs) -> None:  # noqa: ARG002
        doc = obj.docstring
        if doc is None:
            return
        text = _ROLE.sub(r"`\1`", doc.value)
        text = _BARE_LITERAL.sub(r"\1\3", text)
        doc.value = _LITERAL.sub(r"\1:\2", text)
