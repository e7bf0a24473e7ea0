"""setMyCommands and getMyCommands: the bot's command lists, per scope and language."""

from __future__ import annotations

import json
import re

from tests.fakes.telegram.wire import JSON, ApiError

# (scope as canonical JSON, language code) -> the commands set for it
CommandLists = dict[tuple[str, str], list[JSON]]


def set_my_commands(lists: CommandLists, params: JSON) -> bool:
    commands = params.get("commands")
    if not isinstance(commands, list):
        raise ApiError(400, "Bad Request: can't parse commands JSON object")
    for command in commands:
        name = command.get("command") if isinstance(command, dict) else None
        description = command.get("description") if isinstance(command, dict) else None
        if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]{1,32}", name):
            raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        if not isinstance(description, str) or not 1 <= len(description) <= 256:
            raise ApiError(400, "Bad Request: command description is empty")
    lists[_key(params)] = commands
    return True


def get_my_commands(lists: CommandLists, params: JSON) -> list[JSON]:
    return list(lists.get(_key(params), []))


def _key(params: JSON) -> tuple[str, str]:
    scope = params.get("scope") or {"type": "default"}
    return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")
