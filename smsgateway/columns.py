"""Text cut to its column: the length comes from the model field, never from a literal.

A text a provider, a client or a staff member hands in (an error, a provider's id, a name) can be
longer than its column. `fit` cuts it to the field's `max_length`, read from the model, so a
migration that changes a column changes every cut with it.
"""

from functools import cache

from django.db import models


@cache
def column_length(model: type[models.Model], field: str) -> int | None:
    """The field's max_length (None when it has none, as a TextField)."""
    return getattr(model._meta.get_field(field), "max_length", None)


def fit(model: type[models.Model], field: str, value: str) -> str:
    """`value` cut to the column `model.field` can hold; unchanged when the field has no limit."""
    length = column_length(model, field)
    return value if length is None else value[:length]
