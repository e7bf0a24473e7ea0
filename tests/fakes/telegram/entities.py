"""Message text as Telegram checks it: Telegram-HTML parsed into text and entities.

Only ``parse_mode=HTML`` is parsed (tags, entities, "can't parse entities" errors);
Markdown text is stored as sent. Entity offsets and lengths are in UTF-16 code units,
as Telegram counts them.
"""

from __future__ import annotations

import html
import re

from tests.fakes.telegram.wire import JSON, ApiError

MAX_TEXT_LENGTH = 4096  # telegram.constants.MessageLimit.MAX_TEXT_LENGTH

_HTML_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)([^<>]*)>")
_CHAR_REF = re.compile(r"&(?:#[0-9]+|#[xX][0-9a-fA-F]+|lt|gt|amp|quot);")
_HREF = re.compile(r"""href\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def utf16_len(text: str) -> int:
    # Telegram measures entity offsets and lengths in UTF-16 code units.
    return len(text.encode("utf-16-le")) // 2


def _entity_error(text: str, index: int, what: str) -> ApiError:
    offset = len(text[:index].encode())
    return ApiError(400, f"Bad Request: can't parse entities: {what} at byte offset {offset}")


def parse_html(text: str) -> tuple[str, list[JSON]]:
    """Split Telegram-HTML into visible text and entities, or raise the 400 Telegram gives.

    Every ``<`` must open or close a supported tag and tags must nest; ``&lt; &gt; &amp;
    &quot;`` and numeric references are decoded.
    """
    out: list[str] = []
    position = 0  # in UTF-16 units of the visible text
    open_tags: list[tuple[str, int, JSON]] = []
    entities: list[JSON] = []
    i = 0
    while i < len(text):
        if text[i] == "<":
            tag = _TAG.match(text, i)
            if tag is None:
                raise _entity_error(text, i, "Unexpected end of name token")
            closing, name, attrs = tag.group(1), tag.group(2).lower(), tag.group(3)
            if name not in _HTML_ENTITY_TYPES:
                raise _entity_error(text, i, f'Unsupported start tag "{name}"')
            if closing:
                if not open_tags or open_tags[-1][0] != name:
                    expected = open_tags[-1][0] if open_tags else ""
                    raise _entity_error(
                        text, i, f'Unmatched end tag, expected "</{expected}>", found "</{name}>"'
                    )
                _, start, extra = open_tags.pop()
                if position > start:  # Telegram drops empty entities
                    entity = {"type": _HTML_ENTITY_TYPES[name], "offset": start}
                    entities.append({**entity, "length": position - start, **extra})
            else:
                link: JSON = {}
                if name == "a":
                    href = _HREF.search(attrs)
                    link["url"] = html.unescape(href.group(1) or href.group(2)) if href else ""
                open_tags.append((name, position, link))
            i = tag.end()
            continue
        ref = _CHAR_REF.match(text, i) if text[i] == "&" else None
        piece = html.unescape(ref.group(0)) if ref else text[i]
        i = ref.end() if ref else i + 1
        out.append(piece)
        position += utf16_len(piece)
    if open_tags:
        raise ApiError(
            400,
            "Bad Request: can't parse entities: Can't find end tag corresponding to start "
            f'tag "{open_tags[-1][0]}"',
        )
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def message_text(params: JSON) -> tuple[str, str, list[JSON] | None]:
    """(as sent, visible text, entities) after Telegram's checks on message text."""
    raw = params.get("text")
    text = "" if raw is None else str(raw)
    parse_mode = params.get("parse_mode")
    entities = params.get("entities")
    if isinstance(parse_mode, str) and parse_mode.upper() == "HTML":
        visible, entities = parse_html(text)
    else:
        visible = text
    if not visible.strip():
        raise ApiError(400, "Bad Request: message text is empty")
    if len(visible) > MAX_TEXT_LENGTH:
        raise ApiError(400, "Bad Request: message is too long")
    return text, visible, entities if isinstance(entities, list) and entities else None
