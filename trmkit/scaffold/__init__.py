"""``trmkit plugin new``: write a working task plugin that an author then makes their own.

The skeleton lives beside this module as package data (``template/``): every file is a
:class:`string.Template` ending in ``.tmpl``, and ``{module}`` / ``{task}`` in a path become
the plugin's names. It has the shape of ``examples/trmkit-nonogram`` (src layout, one module
per role, configs as package data, tests using :mod:`trmkit.testing`), and a small puzzle that
works, so the new plugin's tests pass before its author changes a line.
"""

from __future__ import annotations

import os
import re
import shutil
import string
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from .. import __version__
from ..errors import ConfigError, InputError
from ..task import API_VERSION

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

NAME_PATTERN = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*\Z")
SUFFIX = ".tmpl"


@dataclass(frozen=True)
class Names:
    """How one task name is spelled in each place of a plugin."""

    task: str  # "light_up": what users type after ``trmkit train``
    module: str  # "trmkit_light_up": the import name
    distribution: str  # "trmkit-light-up": the pip name and the folder
    title: str  # "Light up"
    api_version: int
    trmkit_version: str  # the plugin depends on trmkit >= this, < the next minor version
    trmkit_next: str

    @classmethod
    def of(cls, task: str) -> Names:
        if not NAME_PATTERN.match(task):
            raise ConfigError(
                f"'{task}' cannot name a task: use lowercase letters and digits, words joined by '_' (e.g. light_up)"
            )
        major, minor = (int(part) for part in __version__.split(".")[:2])
        return cls(
            task=task,
            module=f"trmkit_{task}",
            distribution=f"trmkit-{task.replace('_', '-')}",
            title=task.replace("_", " ").capitalize(),
            api_version=API_VERSION,
            trmkit_version=f"{major}.{minor}",
            trmkit_next=f"{major}.{minor + 1}",
        )


def template_files(root: Traversable | None = None, prefix: PurePosixPath | None = None) -> Iterator[tuple[PurePosixPath, Traversable]]:
    """Every template file with its path relative to the template folder."""
    root = root if root is not None else resources.files(__name__) / "template"
    prefix = prefix or PurePosixPath()
    for entry in sorted(root.iterdir(), key=lambda entry: entry.name):
        if entry.is_dir():
            if entry.name != "__pycache__":
                yield from template_files(entry, prefix / entry.name)
        elif entry.name.endswith(SUFFIX):
            yield prefix / entry.name, entry


def render(names: Names) -> dict[PurePosixPath, str]:
    """The new plugin's files: relative path -> text."""
    values = {key: str(value) for key, value in asdict(names).items()}
    files = {}
    for path, entry in template_files():
        target = PurePosixPath(str(path).removesuffix(SUFFIX).format(module=names.module, task=names.task))
        files[target] = string.Template(entry.read_text(encoding="utf-8")).substitute(values)
    return files


def check_name_free(names: Names) -> None:
    """Refuse a name that an installed task or an importable module already has: once
    installed, the new plugin would clash with it (the same task declared twice, or one
    import name shadowing the other, so that one of the two silently stops working)."""
    from importlib.util import find_spec

    from ..plugins import registry

    entry = registry().tasks.get(names.task)
    if entry is not None:
        raise ConfigError(f"task '{names.task}' is already provided by {entry.plugin.distribution}; choose another name")
    try:
        found = find_spec(names.module)
    except (ImportError, ValueError):
        found = None
    if found is not None:
        raise ConfigError(f"a module named {names.module} is already installed ({found.origin or 'a namespace package'}); choose another name")


def create(task: str, parent: Path) -> Path:
    """Write the plugin for ``task`` into ``parent/<distribution>`` and return that folder.

    The files are written into a hidden folder first and renamed into place, so the plugin
    appears whole or not at all; an existing folder is never touched.
    """
    names = Names.of(task)
    check_name_free(names)
    target = parent / names.distribution
    if target.exists():
        raise InputError(f"{target} already exists; remove it or choose another --dir")
    files = render(names)
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{names.distribution}.", dir=parent))
    try:
        for path, text in files.items():
            destination = staging.joinpath(*path.parts)
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_text(text, encoding="utf-8")
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target
