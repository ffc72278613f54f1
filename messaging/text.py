"""GSM 03.38 or UCS-2, and how many parts a text takes (CONTRACT section 4)."""

from dataclasses import dataclass
from functools import lru_cache

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = set("^{}\\[~]|€\f")


@dataclass(frozen=True)
class TextLayout:
    encoding: str  # "gsm7" or "ucs2"
    units: int  # septets for GSM 7-bit, UTF-16 code units for UCS-2
    parts: int


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENDED for ch in text)


@lru_cache(maxsize=1024)  # a request asks it of its text several times; many requests send one text
def text_layout(text: str) -> TextLayout:
    if is_gsm7(text):
        units = sum(2 if ch in GSM7_EXTENDED else 1 for ch in text)
        single, multi = 160, 153
        encoding = "gsm7"
    else:
        units = len(text.encode("utf-16-be")) // 2
        single, multi = 70, 67
        encoding = "ucs2"
    if units <= single:
        parts = 1
    else:
        parts = -(-units // multi)
    return TextLayout(encoding=encoding, units=units, parts=parts)
