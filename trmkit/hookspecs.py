"""The hooks a task plugin implements (pluggy project "trmkit").

A plugin is any module registered under the ``trmkit`` entry-point group; it implements some of
these hooks with ``@trmkit.hookimpl``. The engine reaches every task-specific behaviour through
them and never by a task's name. Every hook takes the task's name, so one plugin may serve several
tasks and several plugins may serve one task:

- ``trmkit_tasks`` declares tasks (collected from every plugin; a name may be declared once).
- ``trmkit_tokenizer`` and ``trmkit_decoder`` have one provider per task: the first plugin that
  returns something wins, and plugins registered later are asked first, so they can override.
- ``trmkit_augmenters``, ``trmkit_jitters`` and ``trmkit_validators`` are collected from every
  plugin, so a third party can add a symmetry, a training jitter or a rule to an existing task.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from .task import Augmenter, Decoder, Jitter, TaskSpec, Tokenizer, Validator

PROJECT = "trmkit"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def trmkit_tasks() -> list[TaskSpec]:
    """Declare the tasks this plugin provides (name, vocabulary, shapes, formats, data, configs)."""


@hookspec(firstresult=True)
def trmkit_tokenizer(task: str) -> Tokenizer | None:
    """Return the tokenizer for ``task`` (grid <-> token ids), or None if this plugin has none."""


@hookspec
def trmkit_augmenters(task: str) -> list[Augmenter] | None:
    """Return this plugin's invertible symmetries of ``task``'s examples (may be empty)."""


@hookspec
def trmkit_jitters(task: str) -> list[Jitter] | None:
    """Return this plugin's training-only jitters of ``task``'s examples (may be empty): changes of
    layout that keep an example's meaning and are never undone (ARC: translation)."""


@hookspec(firstresult=True)
def trmkit_decoder(task: str) -> Decoder | None:
    """Return the decoder for ``task`` (model tokens -> answer -> text or JSON), or None."""


@hookspec
def trmkit_validators(task: str) -> list[Validator] | None:
    """Return this plugin's checks that an answer solves a puzzle of ``task`` (may be empty)."""
