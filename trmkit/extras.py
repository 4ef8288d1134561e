"""Optional dependencies (``pip install 'trmkit[plot]'`` and friends), imported when first used.

Drawing and experiment-tracking libraries are heavy and most runs never need them, so they are
extras; a command that needs a missing one says which extra to install instead of failing with
an ImportError traceback.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import TrmkitError


class MissingExtraError(TrmkitError):
    """An optional dependency a command needs is not installed (exit 1)."""


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module``, or explain which extra provides it (``purpose``: what needs it)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        top = module.split(".")[0]
        raise MissingExtraError(
            f"{purpose} needs {top}, which is not installed; install it with: pip install 'trmkit[{extra}]'"
        ) from None
