"""HL7 v2 escape sequences (chapter 2.7 / 2.10 of the standard).

Our own implementation rather than ``hl7.util.unescape``: that one logs the
whole field value on a bad sequence, and field values are PHI.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Delimiters:
    """The message's delimiters, from MSH-1 and MSH-2."""

    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"

    @property
    def encoding_characters(self) -> str:
        """MSH-2 as it must be written back (e.g. in an ACK)."""
        return self.component + self.repetition + self.escape + self.subcomponent


DEFAULT_DELIMITERS = Delimiters()

# Formatting commands (2.7.6): line breaks become newlines, the rest is dropped
# or approximated; highlighting (\H\, \N\) carries no text.
_FORMATTING = {
    ".br": "\n",
    ".sp": "\n",
    ".ce": "\n",
    ".fi": "",
    ".nf": "",
    ".in": "",
    ".ti": "",
    ".sk": " ",
    "H": "",
    "N": "",
}


def _hex(body: str) -> str:
    try:
        data = bytes.fromhex(body)
    except ValueError:
        return ""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def unescape(value: str, d: Delimiters = DEFAULT_DELIMITERS) -> str:
    """Replace escape sequences in ``value``; unknown or unterminated ones are dropped."""
    esc = d.escape
    if esc not in value:
        return value
    mapping = {
        "F": d.field,
        "S": d.component,
        "R": d.repetition,
        "E": esc,
        "T": d.subcomponent,
    }
    out: list[str] = []
    i, n = 0, len(value)
    while i < n:
        j = value.find(esc, i)
        if j < 0:
            out.append(value[i:])
            break
        out.append(value[i:j])
        k = value.find(esc, j + 1)
        if k < 0:
            # Unterminated: keep the escape character literally (senders that forgot to escape).
            out.append(value[j:])
            break
        body = value[j + 1 : k]
        if body in mapping:
            out.append(mapping[body])
        elif body in _FORMATTING:
            out.append(_FORMATTING[body])
        elif body[:1] == "X":
            out.append(_hex(body[1:]))
        elif body[:3] in (".sp", ".in", ".ti", ".sk"):
            out.append(_FORMATTING[body[:3]])
        # Anything else (\Zxx\ local, \Cxxyy\ / \Mxxyyzz\ charset switches) is dropped.
        i = k + 1
    return "".join(out)


def escape(value: str, d: Delimiters = DEFAULT_DELIMITERS) -> str:
    """Escape delimiters in ``value`` so it can be written into one HL7 field component."""
    esc = d.escape
    table = {
        esc: f"{esc}E{esc}",
        d.field: f"{esc}F{esc}",
        d.component: f"{esc}S{esc}",
        d.repetition: f"{esc}R{esc}",
        d.subcomponent: f"{esc}T{esc}",
        "\r": f"{esc}.br{esc}",
        "\n": f"{esc}.br{esc}",
    }
    if not any(ch in value for ch in table):
        return value
    return "".join(table.get(ch, ch) for ch in value)
