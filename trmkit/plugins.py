"""Finding, loading and isolating task plugins.

Plugins come from the ``trmkit`` entry-point group, the built-in tasks included. Each one is
loaded and asked for its tasks inside its own ``try``: a plugin that fails to import, registers
bad hooks, raises in a hook or returns the wrong kind of object is recorded as failed (``trmkit
plugins`` shows why) and everything else keeps working. ``TRMKIT_DISABLE_PLUGINS=a,b`` blocks
plugins by entry-point or distribution name.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import os
import re
import sys
import traceback
from types import ModuleType
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Callable, Iterable

import pluggy

from . import hookspecs
from .errors import PluginError, UnknownTaskError
from .task import API_VERSION, Augmenter, Decoder, Jitter, Task, TaskSpec, Tokenizer, Validator

ENTRY_POINT_GROUP = "trmkit"
DISABLE_ENV = "TRMKIT_DISABLE_PLUGINS"
#: What a plugin may raise while loading or in a hook without taking trmkit down with it:
#: any error, and also ``sys.exit()`` (a module written as a script). Ctrl-C still stops trmkit.
PLUGIN_FAILURES = (Exception, SystemExit)


@dataclass
class PluginInfo:
    """What ``trmkit plugins`` reports about one plugin."""

    name: str
    distribution: str
    version: str
    status: str = "ok"  # ok | failed | disabled
    error: str = ""
    hooks: list[str] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)

    def fail(self, error: str) -> None:
        self.status = "failed"
        self.error = self.error or error


@dataclass
class TaskEntry:
    spec: TaskSpec
    plugin: PluginInfo
    conflict: str = ""


class Registry:
    """The loaded plugins and the tasks they declare."""

    def __init__(self) -> None:
        self.manager = pluggy.PluginManager(hookspecs.PROJECT)
        self.manager.add_hookspecs(hookspecs)
        self.plugins: list[PluginInfo] = []
        self.tasks: dict[str, TaskEntry] = {}
        self._info_by_object: dict[int, PluginInfo] = {}
        self._info_by_package: dict[str, PluginInfo | None] = {}  # the package a plugin's code lives in

    # -- loading -----------------------------------------------------------------------------
    def add(self, name: str, distribution: str, version: str, load: Callable[[], Any]) -> PluginInfo:
        """Load one plugin: ``load()`` imports and returns the plugin (a module or an object)."""
        info = PluginInfo(name=name, distribution=distribution, version=version)
        self.plugins.append(info)
        blocked = blocked_names()
        if canonical(name) in blocked or canonical(distribution) in blocked:
            info.status = "disabled"
            info.error = f"blocked by {DISABLE_ENV}"
            return info
        try:
            plugin = load()
            # Named by distribution too: two distributions may both call their entry point
            # "sudoku", and that must surface as a task conflict, not a pluggy name clash.
            self.manager.register(plugin, name=f"{distribution}:{name}")
        except PLUGIN_FAILURES as exc:  # noqa: BLE001 - a broken plugin must never break trmkit
            info.fail(f"failed to load: {describe(exc)}")
            return info
        self._info_by_object[id(plugin)] = info
        callers = self.manager.get_hookcallers(plugin) or []
        info.hooks = sorted(caller.name for caller in callers)
        unknown = [caller.name for caller in callers if not caller.has_spec()]
        if unknown:  # a misspelt hook would otherwise be a role silently missing
            known = [name for name in dir(hookspecs) if name.startswith("trmkit_")]
            guess = difflib.get_close_matches(unknown[0], known, n=1)
            info.fail(f"implements {unknown[0]}, which is not a trmkit hook" + (f" (did you mean {guess[0]}?)" if guess else ""))
            return info
        package = _package_of(plugin)
        if package:  # two plugins of one package: neither can be told from the other's frames
            self._info_by_package[package] = None if package in self._info_by_package else info
        self._declare_tasks(plugin, info)
        return info

    def _declare_tasks(self, plugin: Any, info: PluginInfo) -> None:
        declare = getattr(plugin, "trmkit_tasks", None)
        if declare is None:
            return
        try:
            specs = declare()
        except PLUGIN_FAILURES as exc:
            info.fail(f"trmkit_tasks raised {describe(exc)}")
            return
        if not isinstance(specs, (list, tuple)):
            info.fail(f"trmkit_tasks returned {type(specs).__name__}, not a list of TaskSpec")
            return
        for spec in specs:
            if not isinstance(spec, TaskSpec):
                info.fail(f"trmkit_tasks returned {type(spec).__name__}, not a TaskSpec")
                continue
            problem = _spec_problem(spec)
            if problem:
                info.fail(f"trmkit_tasks returned a TaskSpec whose {problem}")
                continue
            if spec.api_version > API_VERSION:
                info.fail(
                    f"task '{spec.name}' needs plugin API {spec.api_version}; "
                    f"this trmkit offers {API_VERSION} (upgrade trmkit)"
                )
                continue
            if spec.name in self.tasks:
                first = self.tasks[spec.name]
                first.conflict = (
                    f"task '{spec.name}' is declared by two distributions: "
                    f"{first.plugin.distribution} and {info.distribution}; "
                    f"uninstall one or block it with {DISABLE_ENV}"
                )
                info.fail(first.conflict)
                continue
            self.tasks[spec.name] = TaskEntry(spec, info)
            info.tasks.append(spec.name)

    def load_entry_points(self) -> Registry:
        # trmkit's own plugins first: plugins registered later are asked first, so a third
        # party's tokenizer or decoder overrides a built-in one.
        ordered = sorted(entry_points(), key=lambda ep: (ep.dist is None or ep.dist.name != "trmkit", ep.name))
        for entry_point in ordered:
            dist = entry_point.dist
            self.add(
                entry_point.name,
                dist.name if dist else "?",
                dist.version if dist else "?",
                entry_point.load,
            )
        return self

    def plugin_at_fault(self, error: BaseException) -> PluginInfo | None:
        """The plugin whose code raised ``error``, if a plugin's: going out from where it was
        raised, past library code (numpy, say), the first frame that is a plugin's or trmkit's
        own decides. So a validator or builder that raises is named as its plugin's bug, while
        an error trmkit's code raises is not blamed on the plugin that called it."""
        frames = list(traceback.walk_tb(error.__traceback__))
        for frame, _ in reversed(frames):
            module = str(frame.f_globals.get("__name__", ""))
            if module.partition(".")[0] == "trmkit":
                return None
            owners = [package for package in self._info_by_package if module == package or module.startswith(package + ".")]
            if owners:
                return self._info_by_package[max(owners, key=len)]  # the innermost package
        return None

    # -- using -------------------------------------------------------------------------------
    def task_names(self) -> list[str]:
        return sorted(self.tasks)

    def task(self, name: str) -> Task:
        """The task ``name`` with every role resolved; a clear error if it cannot be used."""
        entry = self.tasks.get(name)
        if entry is None:
            known = ", ".join(self.task_names()) or "none installed"
            raise UnknownTaskError(f"unknown task '{name}' (available: {known})")
        if entry.conflict:
            raise PluginError(entry.conflict)
        tokenizer = self._first(name, "trmkit_tokenizer", Tokenizer)
        decoder = self._first(name, "trmkit_decoder", Decoder)
        augmenters = self._collect(name, "trmkit_augmenters", Augmenter)
        validators = self._collect(name, "trmkit_validators", Validator)
        jitters = self._collect(name, "trmkit_jitters", Jitter)
        # Checked after the hooks ran, since running them may fail the plugin: a task whose own
        # plugin is broken is refused rather than used with some of its roles missing.
        if entry.plugin.status != "ok":
            raise PluginError(
                f"task '{name}' is unavailable: its plugin '{entry.plugin.name}' "
                f"({entry.plugin.distribution}) failed: {entry.plugin.error}"
            )
        missing = [role for role, found in (("tokenizer", tokenizer), ("decoder", decoder)) if found is None]
        if missing:
            raise PluginError(
                f"task '{name}' has no {' or '.join(missing)}: no loaded plugin provides one "
                f"(see 'trmkit plugins')"
            )
        return Task(
            spec=entry.spec,
            tokenizer=tokenizer,
            decoder=decoder,
            augmenters=augmenters,
            validators=validators,
            plugin=entry.plugin.distribution,
            jitters=jitters,
        )

    def _implementations(self, hook_name: str) -> list[tuple[Any, PluginInfo]]:
        """Hook implementations of healthy plugins, in pluggy's call order (latest first)."""
        hook = getattr(self.manager.hook, hook_name)
        found = []
        for impl in reversed(hook.get_hookimpls()):
            info = self._info_by_object.get(id(impl.plugin))
            if info is not None and info.status == "ok":
                found.append((impl.function, info))
        return found

    def _call(self, function: Any, info: PluginInfo, hook_name: str, task: str) -> Any:
        try:
            return function(task=task)
        except PLUGIN_FAILURES as exc:
            info.fail(f"{hook_name} raised {describe(exc)}")
            return None

    def _first(self, task: str, hook_name: str, role: type) -> Any:
        for function, info in self._implementations(hook_name):
            result = self._call(function, info, hook_name, task)
            if result is None:
                continue
            if not isinstance(result, role):
                info.fail(f"{hook_name} returned {type(result).__name__}, not a {role.__name__}")
                continue
            return result
        return None

    def _collect(self, task: str, hook_name: str, role: type) -> list[Any]:
        collected = []
        for function, info in reversed(self._implementations(hook_name)):
            result = self._call(function, info, hook_name, task)
            if result is None:
                continue
            items = list(result) if isinstance(result, (list, tuple)) else [result]
            bad = [item for item in items if not isinstance(item, role)]
            if bad:
                info.fail(f"{hook_name} returned {type(bad[0]).__name__}, not a {role.__name__}")
                continue
            collected.extend(items)
        return collected


def _spec_problem(spec: TaskSpec) -> str:
    """What is wrong with a declaration's field types ("" if nothing): checked when the plugin
    loads, so that a vocabulary given as "11" fails the plugin, not a command deep inside."""
    whole = lambda value: isinstance(value, int) and not isinstance(value, bool)  # noqa: E731
    checks = [
        ("name", isinstance(spec.name, str) and spec.name != "", "a non-empty str"),
        ("vocab_size", whole(spec.vocab_size) and spec.vocab_size >= 1, "an int of at least 1"),
        ("seq_len", whole(spec.seq_len) and spec.seq_len >= 1, "an int of at least 1"),
        ("grid_shape", isinstance(spec.grid_shape, (tuple, list)) and len(spec.grid_shape) == 2 and all(map(whole, spec.grid_shape)), "two ints"),
        ("formats", isinstance(spec.formats, (tuple, list)) and all(isinstance(f, str) for f in spec.formats), "a tuple of str"),
        ("parse", callable(spec.parse), "callable"),
        ("build_dataset", callable(spec.build_dataset), "callable"),
        ("dataset_options", isinstance(spec.dataset_options, type) and dataclasses.is_dataclass(spec.dataset_options), "a dataclass"),
        ("pad_id", whole(spec.pad_id), "an int"),
        ("ignore_label_id", whole(spec.ignore_label_id), "an int"),
        ("api_version", whole(spec.api_version), "an int"),
    ]
    for field_name, ok, expected in checks:
        if not ok:
            return f"{field_name} is {getattr(spec, field_name)!r}, not {expected}"
    return ""


def _package_of(plugin: Any) -> str:
    """The package holding a plugin's code: the plugin module's own package (itself, if it is
    one), or that of the module defining a plugin object's class."""
    name = plugin.__name__ if isinstance(plugin, ModuleType) else type(plugin).__module__
    module = sys.modules.get(name)
    return name if module is None or hasattr(module, "__path__") else name.rpartition(".")[0] or name


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def blocked_names() -> set[str]:
    return {canonical(name) for name in os.environ.get(DISABLE_ENV, "").split(",") if name.strip()}


def canonical(name: str) -> str:
    """Compare names as packaging does: "Trmkit_Foo" blocks the distribution "trmkit-foo"."""
    return re.sub(r"[-_.]+", "-", name.strip()).lower()


def entry_points() -> Iterable[metadata.EntryPoint]:
    return metadata.entry_points(group=ENTRY_POINT_GROUP)


@functools.lru_cache(maxsize=1)
def registry() -> Registry:
    """The registry of every installed plugin, loaded once per process."""
    return Registry().load_entry_points()


def get_task(name: str) -> Task:
    """The installed task ``name`` with its roles resolved (the engine's one way to a task)."""
    return registry().task(name)
