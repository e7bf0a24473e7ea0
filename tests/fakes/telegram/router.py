"""From request to method: the token check, the method table, the request log, and the
failures tests order in advance.

Method names are case-insensitive, as in the Bot API; anything the fake does not
implement answers 404, and a token other than the bot's answers 401 (well-formed) or
404 (malformed), as Telegram does. Every request is logged with its parameters, and
its status once answered; a request cut off by the server going down is left
unanswered (``DroppedError``).
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

from tests.fakes.telegram.failures import ForcedFailures
from tests.fakes.telegram.wire import JSON, ApiError, ApiRequest, DroppedError, decode_params

Method = Callable[[JSON], Any]


class Router:
    """Answers requests with ``methods`` (Bot API name -> handler of its parameters)."""

    def __init__(
        self,
        *,
        token: str,
        methods: Mapping[str, Method],
        cond: threading.Condition,
        clock: Callable[[], float],
        generation: Callable[[], int],
    ) -> None:
        self.token = token
        self.requests: list[ApiRequest] = []
        self.failures = ForcedFailures()
        self._methods = {name.lower(): (name, handler) for name, handler in methods.items()}
        self._cond = cond
        self._clock = clock
        self._generation = generation
        self._local = threading.local()  # the connection a handler thread is serving

    @property
    def connection(self) -> socket.socket | None:
        """The connection the calling handler thread is serving, if any."""
        return getattr(self._local, "connection", None)

    def canonical(self, method: str) -> str:
        """The Bot API's spelling of ``method``; ValueError if the fake lacks it."""
        entry = self._methods.get(method.lower())
        if entry is None:
            raise ValueError(f"the fake does not implement {method!r}")
        return entry[0]

    def dispatch(
        self,
        path: str,
        query: str,
        content_type: str,
        body: bytes,
        connection: socket.socket | None = None,
    ) -> tuple[int, JSON]:
        """Answer one request: (HTTP status, JSON body); DroppedError means no answer."""
        self._local.connection = connection
        match = re.fullmatch(r"/bot([^/]*)/([^/]+)", path)
        if match is None:
            return 404, ApiError(404, "Not Found").payload()
        token, name = match.groups()
        if token != self.token:
            # Telegram: 401 for a well-formed but unknown token, 404 for a malformed one.
            status = 401 if re.fullmatch(r"\d+:[\w-]+", token) else 404
            return status, ApiError(status, HTTPStatus(status).phrase).payload()
        entry = self._methods.get(name.lower())
        with self._cond:
            generation = self._generation()
            record = ApiRequest(entry[0] if entry else name, {}, self._clock())
            self.requests.append(record)
            try:
                record.params = decode_params(content_type, body, query)
                if entry is None:
                    raise ApiError(404, "Not Found")
                self.failures.raise_next(entry[0])
                status, payload = 200, {"ok": True, "result": entry[1](record.params)}
            except ApiError as error:
                status, payload = error.status, error.payload()
            if generation != self._generation():
                raise DroppedError
            record.status = status
            self._cond.notify_all()
            return status, payload
