"""One way to make a text safe to print: URL passwords and known secrets become ***."""

from __future__ import annotations

import re
from collections.abc import Iterable

_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:@/\s]*:)[^@\s]+(?=@)")


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with the password of every URL in it, and each of `secrets`, replaced by ***."""
    text = _URL_PASSWORD.sub(r"\g<head>***", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
