"""Strict parsing of numbers from users and from metadata anyone may write.

str.isdigit() accepts Unicode digits ('²', Arabic-Indic digits) and any
length, and int() then fails or returns a value no native call takes (an
'internal error' EIO). A number here is 1-20 ASCII digits below 2^64.
"""
import re
from typing import Optional

from .errors import invalid

_UINT64_TEXT = re.compile(r'[0-9]{1,20}')
UINT64_LIMIT = 1 << 64


def parse_uint64(text: object) -> Optional[int]:
    """The value of `text` if it is a decimal number below 2^64, else None."""
    if not isinstance(text, str) or not _UINT64_TEXT.fullmatch(text):
        return None
    value = int(text)
    return value if value < UINT64_LIMIT else None


def uint64_argument(name: str, text: str) -> int:
    """A command argument that must be such a number; EINVAL naming it if not."""
    value = parse_uint64(text)
    if value is None:
        raise invalid(f'invalid {name} {text!r}: expected a decimal number below 2^64')
    return value
