"""CSV cells that a spreadsheet will not run as formulas (OWASP's "CSV injection" rule).

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is written with a single
quote in front, which spreadsheets show as text and do not evaluate. Mobiles in E.164 start with
`+`, so they are written `'+14155550100` (a spreadsheet then keeps the plus instead of reading a
number). The import reads the quote back off: a cell of one or more quotes followed by one of
those characters loses exactly one quote, so that every value reads back as it was exported, a
value that itself begins with quotes included.
"""

import re

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_ESCAPED = re.compile(r"'+[=+\-@\t\r]")


def csv_cell_escape(value) -> str:
    """The value as a CSV cell that no spreadsheet evaluates."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS) or _ESCAPED.match(text):
        return "'" + text
    return text


def csv_cell_unescape(text: str) -> str:
    """A cell as written by csv_cell_escape (or typed with a quote in a spreadsheet), read back."""
    return text[1:] if _ESCAPED.match(text) else text
