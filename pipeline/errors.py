"""The one error hierarchy of newsum, and the exit codes the CLI maps it to."""

from __future__ import annotations

# Exit codes, documented in the README and in `newsum --help`.
EXIT_OK = 0
EXIT_USAGE = 1  # usage or configuration error
EXIT_FAILED = 2  # some documents failed
EXIT_DEGRADED = 3  # some stages degraded (and none failed)
EXIT_LOCKED = 4  # another run holds the lock on OUT
EXIT_INTERRUPTED = 130  # stopped by SIGINT/SIGTERM after finishing the document in hand


class NewsumError(Exception):
    """An expected failure: the CLI prints it as one line, without a traceback."""

    exit_code = EXIT_USAGE
    code = "error"


class ConfigError(NewsumError):
    """models.yaml (or a command-line option) is invalid."""

    code = "config_error"


class UsageError(NewsumError):
    code = "usage_error"


class InputError(NewsumError):
    """A document cannot be read or has nothing to work on; it fails alone."""

    exit_code = EXIT_FAILED

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class ModelUnavailable(NewsumError):
    """A configured model cannot be loaded; the stage degrades instead of crashing."""

    exit_code = EXIT_DEGRADED
    code = "model_unavailable"


class LockHeld(NewsumError):
    exit_code = EXIT_LOCKED
    code = "locked"


class OutputError(NewsumError):
    """OUT cannot be written (permissions, disk full): nothing more can be done in this run."""

    exit_code = EXIT_USAGE
    code = "output_error"
