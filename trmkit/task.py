"""What a task is, as the engine sees it: its declaration and the four roles it plays.

A task plugin returns a :class:`TaskSpec` from ``trmkit_tasks`` and implements the role hooks
(see :mod:`trmkit.hookspecs`). The engine only ever works with token arrays; grids, text and the
rules of the puzzle stay with the plugin. Nothing here imports torch, so listing tasks is fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence, runtime_checkable

import numpy as np

from .errors import ConfigError

#: Version of the plugin API described here. A plugin declares the version it was written for in
#: its TaskSpec; the loader refuses tasks written for a newer API than this trmkit offers.
API_VERSION = 1


@dataclass(frozen=True)
class Puzzle:
    """One puzzle read from a file.

    ``question`` and ``answer`` are in the task's own representation (a numpy grid for the
    built-in grid tasks); ``answer`` is None when the file carries no solution. ``source`` says
    where the puzzle came from ("puzzles.csv:12") so that errors can point at it.
    """

    question: Any
    answer: Any = None
    source: str = ""


@dataclass(frozen=True)
class Verdict:
    """A validator's answer: ``ok``, or not with a ``reason`` that names the rule and the place.
    An accepted answer may carry a note in ``reason``: what could not be checked (ARC with no
    known output checks the answer's form only)."""

    ok: bool
    reason: str = ""


@dataclass
class Examples:
    """Token arrays of one dataset split, the unit a dataset builder returns.

    ``groups`` ties together examples of one original puzzle (augmentations of a group are drawn
    per group, and train/test never share one). ``puzzle_identifiers`` index the sparse puzzle
    embedding (all zero for tasks with one shared embedding).
    """

    inputs: np.ndarray
    labels: np.ndarray
    groups: np.ndarray
    puzzle_identifiers: np.ndarray

    def __post_init__(self) -> None:
        # One integer type everywhere: token ids become torch int64 indices and loss targets.
        for name in ("inputs", "labels", "groups", "puzzle_identifiers"):
            setattr(self, name, np.asarray(getattr(self, name), dtype=np.int64))
        n = len(self.inputs)
        if self.inputs.shape != self.labels.shape or self.inputs.ndim != 2:
            raise ValueError("inputs and labels must be [N, seq_len] arrays of the same shape")
        if len(self.groups) != n or len(self.puzzle_identifiers) != n:
            raise ValueError("groups and puzzle_identifiers need one entry per example")

    def __len__(self) -> int:
        return len(self.inputs)


class Transform(Protocol):
    """One invertible symmetry, applied to token arrays of shape [..., seq_len]."""

    def apply(self, tokens: np.ndarray) -> np.ndarray: ...

    def invert(self, tokens: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class Tokenizer(Protocol):
    """Turns the task's grids into token ids and back, exactly (a round trip is the identity).

    It may also offer ``encode_for(grid, seq_len)``: the grid laid out for a model reading
    ``seq_len`` tokens, when the task's builder can make shorter sequences than its largest.
    """

    def encode(self, grid: Any) -> np.ndarray: ...

    def decode(self, tokens: np.ndarray) -> Any: ...


@runtime_checkable
class Augmenter(Protocol):
    """Draws a random symmetry of the task; the same transform applies to inputs and labels."""

    name: str

    def sample(self, rng: np.random.Generator, seq_len: int) -> Transform: ...


@runtime_checkable
class Jitter(Protocol):
    """A training-only change of one example's layout that keeps its meaning (ARC: moving both
    grids of a pair together on the canvas).

    Unlike an augmenter's symmetry it is never undone: the engine jitters training examples
    only, never at evaluation or when solving, so the result need not be any grid's encoding.
    ``jitter`` receives one example's input and label tokens (labels still in token form, with
    the task's ignore id where unsupervised) and returns both, changed together.
    """

    name: str

    def jitter(self, rng: np.random.Generator, inputs: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


@runtime_checkable
class Decoder(Protocol):
    """Turns a model's predicted tokens into an answer and shows answers to people."""

    def decode(self, tokens: np.ndarray, puzzle: Puzzle) -> Any:
        """Read an answer from predicted tokens; never raises on tokens the model got wrong."""
        ...

    def render(self, grid: Any, *, color: bool = False) -> str:
        """Text for a terminal (``color``: ANSI escape codes) or for pipes and files (plain,
        parseable again by the task's parser)."""
        ...

    def to_json(self, grid: Any) -> Any:
        """A JSON-serialisable form of a question or answer."""
        ...


@runtime_checkable
class Validator(Protocol):
    """Decides whether an answer solves a puzzle, with a reason when it does not."""

    name: str

    def validate(self, puzzle: Puzzle, answer: Any) -> Verdict: ...


@dataclass(frozen=True)
class TaskSpec:
    """A task's declaration: everything the engine needs besides the four roles.

    ``parse`` reads every puzzle in a text (any of ``formats``) and raises
    :class:`trmkit.InputError` on anything else. ``build_dataset(options, seed)`` returns
    ``{"train": Examples, "test": Examples}``; ``options`` is an instance of the dataclass
    ``dataset_options`` (its fields are the builder's settings, settable from the CLI and from a
    config's ``data.options``). ``config_dir`` holds the named configs ``<name>.yaml`` (at least
    ``paper``, ``small`` and ``tiny``).

    ``models_dir`` (optional) holds trained models shipped with the plugin, so that the task
    works right after ``pip install``: one subfolder per model with ``model.safetensors`` (as
    :mod:`trmkit.checkpoint` writes it) and ``card.json`` (how it was trained and how accurate
    it measured; see :mod:`trmkit.models`). ``trmkit solve`` uses the default one when no
    ``--model`` is given.

    ``identifiers_per_version``: every augmented version of a puzzle learns its own puzzle
    embedding (ARC: the model meets a task only through its embedding, and a rotated, recoloured
    task is another task). Version ``v`` of an example whose base identifier is ``b > 0`` then
    uses row ``b + v * base_count`` (see :meth:`Task.version_identifiers`), and versions are
    deduplicated (:mod:`trmkit.versions`).
    ``test_shares_groups``: a test example may belong to a group that also has training
    examples (ARC's reference split trains on a task's demonstration pairs and holds out its test
    pairs); otherwise the engine refuses such a dataset as a leak.
    """

    name: str
    summary: str
    vocab_size: int
    seq_len: int
    grid_shape: tuple[int, int]
    formats: tuple[str, ...]
    parse: Callable[[str, str], list[Puzzle]]
    build_dataset: Callable[[Any, int], dict[str, Examples]]
    dataset_options: type
    config_dir: Path
    pad_id: int = 0
    ignore_label_id: int = 0
    api_version: int = API_VERSION
    models_dir: Path | None = None
    identifiers_per_version: bool = False
    test_shares_groups: bool = False


@dataclass(frozen=True)
class TokenPermutation:
    """A transform that moves positions and relabels tokens: ``out = values[tokens[..., positions]]``.

    Dihedral symmetries, row/column shuffles and symbol relabelling are all of this form, so tasks
    build them from this one class, and compositions fold into a single gather.
    """

    positions: np.ndarray
    values: np.ndarray

    def apply(self, tokens: np.ndarray) -> np.ndarray:
        return self.values[np.asarray(tokens)[..., self.positions]]

    def invert(self, tokens: np.ndarray) -> np.ndarray:
        return self.inverse().apply(tokens)

    def inverse(self) -> TokenPermutation:
        return TokenPermutation(np.argsort(self.positions), np.argsort(self.values))

    def then(self, other: TokenPermutation) -> TokenPermutation:
        """The transform that applies ``self`` first, then ``other``."""
        return TokenPermutation(self.positions[other.positions], other.values[self.values])

    @staticmethod
    def identity(seq_len: int, vocab_size: int) -> TokenPermutation:
        return TokenPermutation(np.arange(seq_len), np.arange(vocab_size))


@dataclass(frozen=True)
class Composed:
    """Transforms applied in order (and undone in reverse order)."""

    parts: tuple[Transform, ...]

    def apply(self, tokens: np.ndarray) -> np.ndarray:
        for part in self.parts:
            tokens = part.apply(tokens)
        return tokens

    def invert(self, tokens: np.ndarray) -> np.ndarray:
        for part in reversed(self.parts):
            tokens = part.invert(tokens)
        return tokens


def compose(transforms: Sequence[Transform]) -> Transform:
    """One transform doing ``transforms`` in order; token permutations fold into one gather."""
    folded: list[Transform] = []
    for transform in transforms:
        if folded and isinstance(transform, TokenPermutation) and isinstance(folded[-1], TokenPermutation):
            folded[-1] = folded[-1].then(transform)
        else:
            folded.append(transform)
    return folded[0] if len(folded) == 1 else Composed(tuple(folded))


@dataclass
class Task:
    """A task with its roles resolved from every plugin that serves it."""

    spec: TaskSpec
    tokenizer: Tokenizer
    decoder: Decoder
    augmenters: list[Augmenter] = field(default_factory=list)
    validators: list[Validator] = field(default_factory=list)
    plugin: str = ""
    jitters: list[Jitter] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.spec.name

    def validate(self, puzzle: Puzzle, answer: Any) -> Verdict:
        """Run every validator; the first failure is the verdict. An accepted answer keeps the
        notes validators gave with their acceptance (what they could not check), joined."""
        notes = []
        for validator in self.validators:
            verdict = validator.validate(puzzle, answer)
            if not verdict.ok:
                return verdict
            if verdict.reason:
                notes.append(verdict.reason)
        return Verdict(True, "; ".join(notes))

    def transform(self, seed: int, group: int, index: int, seq_len: int) -> Transform:
        """Augmentation ``index`` of ``group``: the same transform on every run (0 = identity)."""
        if index == 0 or not self.augmenters:
            return TokenPermutation.identity(seq_len, self.spec.vocab_size)
        rng = np.random.default_rng([seed, group, index])
        return compose([augmenter.sample(rng, seq_len) for augmenter in self.augmenters])

    def jitter(
        self, seed: int, group: int, version: int, member: int, members: int, inputs: np.ndarray, labels: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The training-only jitters of training example ``member`` (of ``members``) of ``group``'s
        version ``version``: the same on every run. One member of each version, drawn from the
        seed, is left as it is, so the model also trains on the layout it is tested on (the
        reference's rule for ARC translation)."""
        if not self.jitters:
            return inputs, labels
        # Child streams of the version's seed sequence (a transform draws from its root stream):
        # child 0 picks the member kept as it is, child m + 1 jitters member m.
        def stream(child: int) -> np.random.Generator:
            return np.random.default_rng(np.random.SeedSequence([seed, group, version], spawn_key=(child,)))

        if member == stream(0).integers(members):
            return inputs, labels
        rng = stream(member + 1)
        for jitter in self.jitters:
            inputs, labels = jitter.jitter(rng, inputs, labels)
        return inputs, labels

    def version_identifiers(self, base: Any, version: int, base_count: int) -> np.ndarray:
        """Puzzle-embedding rows of augmented version ``version`` of examples whose base
        identifiers are ``base`` (``base_count`` = the dataset's ``num_puzzle_identifiers``): the
        base rows themselves unless the task declares ``identifiers_per_version``. The blank
        identifier 0 stays blank in every version."""
        base = np.asarray(base, dtype=np.int64)
        if not self.spec.identifiers_per_version or version == 0:
            return base
        return np.where(base > 0, base + version * base_count, 0)

    def identifier_count(self, base_count: int, augmentations: int) -> int:
        """Rows the puzzle-embedding table needs for ``augmentations`` versions beyond the original."""
        return base_count * (max(0, augmentations) + 1) if self.spec.identifiers_per_version else base_count

    def dataset_options(self, values: dict[str, Any] | None = None) -> Any:
        """The builder's options from ``values`` (strings are converted), unknown keys rejected."""
        return build_options(self.spec.dataset_options, values or {}, what=f"{self.name} dataset option")


def build_options(cls: type, values: dict[str, Any], what: str) -> Any:
    """Instantiate dataclass ``cls`` from ``values``, converting strings from the command line."""
    import dataclasses

    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in values.items():
        if key not in fields:
            raise ConfigError(f"unknown {what} '{key}' (known: {', '.join(sorted(fields)) or 'none'})")
        kwargs[key] = coerce(value, fields[key].type, f"{what} '{key}'")
    return cls(**kwargs)


def coerce(value: Any, annotation: Any, what: str) -> Any:
    """Convert ``value`` (often a string from ``--set``) to the annotated scalar type."""
    kind = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
    kind = kind.replace(" ", "")
    try:
        if kind == "bool":
            if isinstance(value, str):
                if value.lower() in ("1", "true", "yes", "on"):
                    return True
                if value.lower() in ("0", "false", "no", "off"):
                    return False
                raise ValueError(value)
            if value in (0, 1):  # True, False, 0 and 1; "ema=2" or "ema=0.5" is a mistake
                return bool(value)
            raise ValueError(value)
        if kind in ("int", "float") and isinstance(value, bool):
            raise ValueError(value)  # bool is an int to Python, but "steps=true" is a mistake
        if kind == "int":
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            return int(value)
        if kind == "float":
            return float(value)
        if kind == "str":
            return str(value)
        optional = kind.removesuffix("|None")
        if optional != kind:  # "int | None" and friends: empty or "none" means None
            if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none", "null")):
                return None
            return coerce(value, optional, what)
    except (TypeError, ValueError):
        raise ConfigError(f"{what} must be {kind}, got {value!r}") from None
    return value
