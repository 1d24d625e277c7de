"""The one error family. Every error carries what happened and what to do next."""

from __future__ import annotations


class MinerwatchError(Exception):
    """Base error: `message` says what happened, `hint` what the user can do about it."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\nhint: {self.hint}"


class ParseError(MinerwatchError):
    """Bytes that are not a valid block/transaction; names the source and byte offset."""

    def __init__(self, message: str, source: str = "<bytes>", offset: int = 0, hint: str = "") -> None:
        self.source = source
        self.offset = offset
        self.detail = message
        super().__init__(
            f"{source}: byte {offset}: {message}",
            hint or "the file is truncated or corrupt; re-copy it from the node or re-download the block",
        )

    def __reduce__(self) -> tuple:
        # Parser worker processes send errors back pickled; rebuild from the parts, not the message.
        return (ParseError, (self.detail, self.source, self.offset, self.hint))


class NetworkMismatchError(MinerwatchError):
    """Data from one Bitcoin network offered to a database or command of another."""


class NodeError(MinerwatchError):
    """The node could not be reached, refused us, or answered nonsense."""


class StoreError(MinerwatchError):
    """The database is missing, locked, from a newer version, or inconsistent."""


class UsageError(MinerwatchError):
    """A command-line or API argument that cannot be used."""


class NotFoundError(UsageError):
    """A name (an entity, a block) that nothing stored answers to: the API says 404."""
