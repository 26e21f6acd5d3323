"""Exceptions that the CLI turns into one clear line and exit code 1 (no traceback)."""


class UserError(Exception):
    """A problem the user can fix: bad input, a missing file, a missing package."""


class MissingDependencyError(UserError, ImportError):
    """An optional package is not installed; the message names the pip extra that provides it."""


class UnknownNameError(UserError, KeyError):
    """An unknown preset / encoder / option name; the message lists the valid ones."""

    def __str__(self) -> str:  # KeyError would wrap the message in quotes
        return str(self.args[0]) if self.args else ""


class InputShapeError(UserError, ValueError):
    """A tensor or image has a shape the model cannot take."""


class UnreadableInputError(UserError):
    """One input file cannot be read (not an image OpenCV decodes, truncated, no permission): commands over many
    files skip it with a line naming it, finish the others, and exit with INPUT_SKIPPED (3)."""


class WeightsError(UserError):
    """A weights or config file cannot be read, or does not fit the model."""
