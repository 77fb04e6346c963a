"""The status vocabularies of files and batches, spelled once.

They are `StrEnum`s, so they compare equal to the plain strings the database
and the OpenAI wire objects hold, and can be adopted one module at a time.
"""

from __future__ import annotations

from enum import StrEnum


class FileStatus(StrEnum):
    """A file's state in a vector store (`vector_store_files.status`)."""

    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class BatchStatus(StrEnum):
    """A file batch's state, derived from its files' counts when it is read."""

    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class LastErrorCode(StrEnum):
    """The `last_error.code` values OpenAI documents for a vector store file."""

    SERVER_ERROR = "server_error"
    UNSUPPORTED_FILE = "unsupported_file"
    INVALID_FILE = "invalid_file"
    RATE_LIMIT_EXCEEDED = "rate_limit_exceeded"
