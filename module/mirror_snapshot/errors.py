"""Errors that map to a command's (-errno, '', message) reply."""
import errno


class CommandError(Exception):
    """A command failed with a positive errno code and a one-line message."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def invalid(message: str) -> CommandError:
    return CommandError(errno.EINVAL, message)


def not_found(message: str) -> CommandError:
    return CommandError(errno.ENOENT, message)
