"""The types of what callers send the API, checked before anything reaches the database.

Every query, path and body parameter is one of these, so a value the database cannot hold is a
422 naming the parameter, never a 500 from deep inside a query:

- integers: PostgreSQL's bigint and SQLite's INTEGER end at 2**63 - 1; psycopg and sqlite3 raise
  on anything larger (`Id`, and the bounds of `Page`);
- text: PostgreSQL cannot store NUL in text or jsonb ("A string literal cannot contain NUL"),
  and a lone surrogate cannot be encoded to UTF-8 at all; other control characters are never part
  of a name, a tag or a status, so they are refused too (`Filter`, `Segment`, `Key`);
- moments: Python allows offsets below ±24:00 but PostgreSQL only to ±15:59:59 ("time zone
  displacement out of range"), and a moment near the ends of year 1 or 9999 has no UTC equivalent
  (`Moment` refuses both and hands on UTC).

The JSON Schema of each type says the same (bounds, `pattern`), so the OpenAPI document and
tests/api/test_api_fuzz.py know what is valid.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from django.utils import timezone
from ninja import Field, Schema
from ninja.pagination import LimitOffsetPagination
from pydantic import AfterValidator, BeforeValidator

MAX_ID = 2**63 - 1  # PostgreSQL bigint, SQLite INTEGER
MAX_LIMIT = 500
MAX_OFFSET = 10**9  # more rows than any table here will hold; offset + limit stays a bigint
# PostgreSQL's limit for a time-zone displacement (real ones end at +14:00).
MAX_UTC_OFFSET = timedelta(hours=15, minutes=59, seconds=59)

# C0 and C1 control characters (NUL included) and lone surrogates.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
PRINTABLE = r"^[^\u0000-\u001f\u007f-\u009f]*$"  # the same, as JSON Schema (ECMA 262) says it


def refuse_control_characters(value: str) -> str:
    found = CONTROL.search(value)
    if found:
        raise ValueError(
            f"contains the control character U+{ord(found.group()):04X} at position {found.start()}"
        )
    return value


def _text(max_length: int):
    return Field(max_length=max_length, json_schema_extra={"pattern": PRINTABLE})


# A query filter: a name, a status, a repository, an image.
Filter = Annotated[str, AfterValidator(refuse_control_characters), _text(300)]
# A path segment: a namespace, an application, an owner, a repository.
Segment = Annotated[str, AfterValidator(refuse_control_characters), _text(253)]
# An Argo CD Application as NAMESPACE/NAME (two Kubernetes names).
K8S_NAME = r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?"
AppKey = Annotated[
    str,
    AfterValidator(refuse_control_characters),
    Field(
        max_length=507,
        pattern=rf"^{K8S_NAME}/{K8S_NAME}$",
        description="NAMESPACE/NAME of an Argo CD Application",
    ),
]
# A short string in a body (idempotency keys, revisions, versions).
Key = Annotated[str, AfterValidator(refuse_control_characters), _text(200)]


LINE_BREAKS = str.maketrans("\t\n\r", "   ")


def _prose(value: str) -> str:
    refuse_control_characters(value.translate(LINE_BREAKS))
    return value


# A longer text in a body, lines and tabs allowed (a tag message).
Prose = Annotated[
    str,
    AfterValidator(_prose),
    Field(
        max_length=500,
        json_schema_extra={"pattern": r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"},
    ),
]

Id = Annotated[int, Field(ge=1, le=MAX_ID)]


ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_8601(value: Any) -> Any:
    """pydantic also reads a number as seconds since 1970 ("0.5"); the document says ISO 8601."""
    if isinstance(value, str) and not ISO_DATE.match(value):
        raise ValueError("expected an ISO 8601 date (YYYY-MM-DD) or date-time")
    return value


def _moment(value: datetime) -> datetime:
    if value.tzinfo is None:  # as Django reads a naive datetime: in the configured time zone
        value = timezone.make_aware(value)
    offset = value.utcoffset()
    if offset is not None and abs(offset) > MAX_UTC_OFFSET:
        raise ValueError("the time-zone offset must be within ±15:59")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the moment is out of range once converted to UTC") from None


Moment = Annotated[datetime, BeforeValidator(_iso_8601), AfterValidator(_moment)]
Day = Annotated[date, BeforeValidator(_iso_8601)]


class Page(LimitOffsetPagination):
    """limit/offset with bounds every database holds (ninja's own take any integer)."""

    class Input(Schema):
        limit: int = Field(50, ge=1, le=MAX_LIMIT)
        offset: int = Field(0, ge=0, le=MAX_OFFSET)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_limit=MAX_LIMIT, **kwargs)
