"""Text meant for people, in English, that keeps its template so a UI can show it in the reader's language.

ae_core knows nothing of languages. It marks fixed user-facing text with N_() for Babel's extraction, and builds
messages with values (errors, job notes, run labels) as Message objects. A Message *is* its English text (a str, so
logs, the CLI and str(e) are unchanged) and also carries its template and values: ui/i18n.tr looks the template up in
the reader's catalog and fills in the same values (a value that is itself a Message is translated too).
"""

from __future__ import annotations


def N_(text: str) -> str:
    """Mark text for the message catalog; it is translated where it is shown."""
    return text


def of(e: BaseException) -> str:
    """The message an exception carries: its Message (template kept) when it holds one, else its text."""
    return e.args[0] if e.args and isinstance(e.args[0], Message) else str(e)


class Message(str):
    """English text made from `template.format(**values)`, with the template and values kept."""

    template: str
    values: dict

    def __new__(cls, template: str, **values: object) -> Message:
        obj = super().__new__(cls, template.format(**values) if values else template)
        obj.template, obj.values = template, values
        return obj

    def __reduce__(self):  # copies and pickles keep the template
        return _rebuild, (self.template, self.values)


def _rebuild(template: str, values: dict) -> Message:
    return Message(template, **values)
