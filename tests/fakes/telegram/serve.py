"""The fake Bot API server as a process of its own, for benches over real processes.

``python -m tests.fakes.telegram.serve --token TOKEN`` starts :class:`FakeTelegram`
(flood limits enforced) and prints one JSON line: ``{"base_url": ...}``. It then reads
commands from stdin, one a line, and answers each with one JSON line:

- ``stats``: ``{"sent", "rate_limited", "first_at", "last_at", "at", "connections"}`` —
  the accepted sendMessage calls, the 429s, and the ``time.monotonic()`` instants of
  the first, the last and each accepted message (the monotonic clock is the
  machine's, so another process can set them against its own);
- ``reset``: forgets what was sent and the 429 count (the limits' windows stay);
- end of input: stops.

``FakeTelegram`` keeps the server in daemon threads of the process that made it; a bench
that times a sender in another process wants it here, apart, so that serving Telegram
costs the sender nothing of its own interpreter.
"""

from __future__ import annotations

import argparse
import json
import sys

from tests.fakes.telegram.fake import FakeTelegram


def _stats(fake: FakeTelegram) -> dict[str, object]:
    sent = list(fake.sent)
    return {
        "sent": len(sent),
        "rate_limited": fake.rate_limited,
        "first_at": min((m.at for m in sent), default=None),
        "last_at": max((m.at for m in sent), default=None),
        "connections": fake.connections_accepted,
        "at": [m.at for m in sent],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.telegram.serve")
    parser.add_argument("--token", required=True)
    parser.add_argument("--tolerance", type=float, default=0.0)
    args = parser.parse_args(argv)
    with FakeTelegram(token=args.token, tolerance=args.tolerance) as fake:
        print(json.dumps({"base_url": fake.base_url}), flush=True)
        for line in sys.stdin:
            command = line.strip()
            if command == "stats":
                print(json.dumps(_stats(fake)), flush=True)
            elif command == "reset":
                fake.forget_sent()
                print(json.dumps({"reset": True}), flush=True)
            elif command:
                print(json.dumps({"error": f"unknown command {command!r}"}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
