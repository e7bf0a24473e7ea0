"""The HTTP load client, run as its own process so that it never shares the server's.

``bench/harness.py``'s :func:`harness.run_client` starts ``python bench/load_client.py``,
writes a :class:`Load` as JSON on its stdin and reads a :class:`LoadResult` as JSON from
its stdout. ``--concurrency`` threads each hold their own ``http.client`` connection and
take the next request number until ``total`` are done or ``seconds`` have passed; the
requests are cycled and ``{n}`` in a path or body becomes the request's number. The first
``warmup`` requests are made the same way and not counted.

Only the standard library: the client's own cost stays small and predictable.
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Request:
    """One HTTP request; ``{n}`` in ``path`` and ``body`` is replaced by its number."""

    path: str
    method: str = "GET"
    body: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Load:
    """What to send: ``requests`` cycled until ``total`` are done or ``seconds`` pass."""

    port: int
    requests: list[Request]
    total: int
    concurrency: int = 4
    seconds: float = 60.0
    warmup: int = 0
    expect: tuple[int, ...] = (200,)
    host: str = "127.0.0.1"
    timeout: float = 120.0

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str) -> Load:
        data = json.loads(raw)
        data["requests"] = [Request(**r) for r in data["requests"]]
        data["expect"] = tuple(data["expect"])
        return cls(**data)


@dataclass
class LoadResult:
    """Latencies in seconds of the answers with an expected status, in completion order,
    the count of the others, the wall time and the first unexpected answer."""

    latencies: list[float]
    failed: int
    seconds: float
    statuses: dict[str, int]
    first_error: str = ""

    @property
    def done(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        """Expected answers per second of wall time."""
        return self.done / self.seconds if self.seconds else 0.0

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str) -> LoadResult:
        return cls(**json.loads(raw))


def _expand(request: Request, n: int) -> tuple[str, str, bytes | None, dict[str, str]]:
    body = request.body.replace("{n}", str(n)).encode("utf-8") if request.body else None
    return request.method, request.path.replace("{n}", str(n)), body, request.headers


def drive(load: Load, total: int, first: int = 0) -> LoadResult:
    """Send ``total`` requests (numbered from ``first``) with ``load.concurrency`` threads."""
    lock = threading.Lock()
    issued = [0]
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    errors: list[str] = []
    failed = [0]
    stop_at = time.monotonic() + load.seconds

    def claim() -> int | None:
        with lock:
            if issued[0] >= total or time.monotonic() >= stop_at:
                return None
            issued[0] += 1
            return first + issued[0] - 1

    def connect() -> http.client.HTTPConnection:
        return http.client.HTTPConnection(load.host, load.port, timeout=load.timeout)

    def client() -> None:
        conn = connect()
        while (n := claim()) is not None:
            method, path, body, headers = _expand(load.requests[n % len(load.requests)], n)
            started = time.perf_counter()
            status = "error"
            try:
                conn.request(method, path, body=body, headers=headers)
                reply = conn.getresponse()
                payload = reply.read()
                elapsed = time.perf_counter() - started
                status = str(reply.status)
                ok = reply.status in load.expect
                problem = "" if ok else f"{method} {path}: {reply.status} {payload[:300]!r}"
            except (OSError, http.client.HTTPException) as exc:
                elapsed = time.perf_counter() - started
                ok, problem = False, f"{method} {path}: {exc!r}"
                conn.close()
                conn = connect()
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
                if ok:
                    latencies.append(elapsed)
                else:
                    failed[0] += 1
                    if not errors:
                        errors.append(problem)
        conn.close()

    began = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(max(load.concurrency, 1))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.monotonic() - began
    return LoadResult(latencies, failed[0], seconds, statuses, errors[0] if errors else "")


def main() -> int:
    load = Load.from_json(sys.stdin.read())
    if load.warmup:
        drive(load, load.warmup)
    result = drive(load, load.total, first=load.warmup)
    sys.stdout.write(result.to_json())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
