"""Script output with the values of its environment variables taken out, for logs."""

from __future__ import annotations

import json
from collections.abc import Mapping


class Redactor:
    """Replaces each variable's value (as is, and as it appears inside a JSON string) with `[NAME]`.

    Longer values go first, so a value that contains another is replaced whole.
    """

    def __init__(self, env: Mapping[str, str]) -> None:
        forms: dict[str, str] = {}
        for name, value in env.items():
            if not value:
                continue
            for form in (value, json.dumps(value, ensure_ascii=False)[1:-1], json.dumps(value)[1:-1]):
                forms.setdefault(form, f"[{name}]")
        self._forms = sorted(forms.items(), key=lambda item: len(item[0]), reverse=True)

    def __call__(self, text: str) -> str:
        for value, label in self._forms:
            if value in text:
                text = text.replace(value, label)
        return text
