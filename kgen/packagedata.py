"""Data files shipped inside the kgen package, read from beside the module that owns them.

importlib.resources would do the same through pathlib, zipfile and tempfile: about 5 ms of
imports on every start, a twentieth of the budget of a one-file lint. kgen is installed as
plain files (never zipped), so a path next to ``__file__`` is all it takes.
"""

from __future__ import annotations

import os


def read_package_text(module_file: str, name: str) -> str:
    """The text of ``name`` in the directory of ``module_file`` (pass the module's ``__file__``)."""
    with open(os.path.join(os.path.dirname(module_file), name), encoding="utf-8") as handle:
        return handle.read()
