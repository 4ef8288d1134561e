"""trmkit's own exceptions: the CLI prints these as one line, never as a traceback."""


class TrmkitError(Exception):
    """Base class for every error trmkit reports to a user (exit status 1)."""

    exit_code = 1


class InputError(TrmkitError):
    """A puzzle, solution, dataset or checkpoint given to trmkit cannot be used as it is."""


class ConfigError(TrmkitError):
    """A configuration names an unknown key, a wrong type, or an impossible value."""

    exit_code = 2


class PluginError(TrmkitError):
    """A plugin failed to load, or two plugins claim the same task."""


class UnknownTaskError(TrmkitError):
    """No installed plugin provides the requested task."""

    exit_code = 2
