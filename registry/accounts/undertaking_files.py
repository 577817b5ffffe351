"""The first undertaking, read from files: ``default.md`` (English) and ``default.<language>.md`` beside it.

The first line of each file is its title (``# ...``); the rest is the text staff read and sign.
"""

from __future__ import annotations

from pathlib import Path

from registry.i18n import LOCALES


def _title_and_text(content: str) -> tuple[str, str]:
    lines = content.strip().splitlines()
    title = lines[0].lstrip("# ").strip() if lines else "Non-disclosure undertaking"
    return title, "\n".join(lines[1:]).strip()


def read_undertaking(english: Path) -> tuple[str, str, dict[str, tuple[str, str]]]:
    """(title, text, translations) from the English file and the translations found beside it."""
    title, text = _title_and_text(english.read_text("utf-8"))
    translations = {}
    for language in LOCALES:
        other = english.with_name(f"{english.stem}.{language}{english.suffix}")
        if language != "en" and other.is_file():
            translations[language] = _title_and_text(other.read_text("utf-8"))
    return title, text, translations
