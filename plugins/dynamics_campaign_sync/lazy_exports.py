"""Lazy re-exports for package ``__init__`` files, so importing a package does not import all of it.

A DAG file that needs one light name (an exception class, a spec model) must not pay for pandas, SQLAlchemy
or MSAL that sibling modules load: each name is imported from its module on first access (PEP 562).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` serving ``name`` from ``package.<exports[name]>`` when first asked for."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    return __getattr__


class _LazyModule:
    """A module imported when one of its attributes is first read (through ``importlib``, so under Python's
    import lock: two threads reading at once get the same fully imported module)."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(importlib.import_module(self._name), attribute)


def lazy_module(name: str) -> Any:
    """``name`` imported on first use: for pandas in modules the compiled qualification path imports but does
    not call into (it answers with numpy arrays; pandas adds up to 35 MiB and about 0.2 s to a process)."""
    return _LazyModule(name)
