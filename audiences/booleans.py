"""Booleans from text: the one rule, for every flag the gateway reads.

Two vocabularies, chosen by the reader with `lenient`:

- **Strict** (the default): `true` or `false`, any case, spaces around. The send API's flags
  (CONTRACT section 2: `priorityService` is true/false or "true"/"false", any case), a segment
  condition's boolean value, a provider's flag saved through the API, a query's `count=true`.
- **Lenient**: also `1`/`0`, `yes`/`no`, `y`/`n` and `on`/`off`. What people write: a member's
  flags in the audience API and in a CSV import, and a provider property the admin stored as any
  text. These two readers once had their own words (the members' `y`, the providers' `on`); both
  now read the same list.
"""

TRUE_WORDS = frozenset({"true", "1", "yes", "y", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "n", "off"})


def boolean_from_text(value, *, lenient: bool = False) -> bool | None:
    """True or False for a bool, or a text that spells one; None for anything else (nothing
    given included: what that means is the caller's). Strict reads only text; lenient also
    reads a number written as one (a CSV cell, a JSON 1)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value
    elif lenient and value is not None:
        text = str(value)
    else:
        return None
    text = text.strip().lower()
    if text in (TRUE_WORDS if lenient else ("true",)):
        return True
    if text in (FALSE_WORDS if lenient else ("false",)):
        return False
    return None
