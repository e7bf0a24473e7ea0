"""Errors a test orders in advance: the next calls of a method fail as told."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from http import HTTPStatus

from tests.fakes.telegram.wire import (
    BLOCKED,
    CHAT_NOT_FOUND,
    CONFLICT_POLL,
    JSON,
    MIGRATED,
    ApiError,
)


def forced_error(
    status: int,
    retry_after: int,
    *,
    description: str | None = None,
    migrate_to_chat_id: int | None = None,
) -> ApiError:
    """The error Telegram gives for ``status``: 429 carries ``parameters.retry_after``;
    403 is "bot was blocked by the user"; 400 is "chat not found", or "group chat was
    upgraded" with ``migrate_to_chat_id``; ``description`` overrides the text."""
    parameters: JSON | None = None
    if migrate_to_chat_id is not None:
        status, default = 400, MIGRATED
        parameters = {"migrate_to_chat_id": migrate_to_chat_id}
    elif status == 429:
        default = f"Too Many Requests: retry after {retry_after}"
        parameters = {"retry_after": retry_after}
    elif status == 403:
        default = BLOCKED
    elif status == 400:
        default = CHAT_NOT_FOUND
    elif status == 409:
        default = CONFLICT_POLL
    else:
        default = HTTPStatus(status).phrase
    return ApiError(status, description or default, parameters)


@dataclass
class _Failure:
    error: ApiError
    remaining: int


class ForcedFailures:
    """Per method, a queue of errors each answering the next ``times`` calls."""

    def __init__(self) -> None:
        self._queues: dict[str, deque[_Failure]] = {}

    def add(self, method: str, error: ApiError, times: int) -> None:
        self._queues.setdefault(method, deque()).append(_Failure(error, times))

    def raise_next(self, method: str) -> None:
        """Raise the error ordered for this call of ``method``, if any."""
        queue = self._queues.get(method)
        if not queue:
            return
        failure = queue[0]
        failure.remaining -= 1
        if failure.remaining <= 0:
            queue.popleft()
        raise failure.error
