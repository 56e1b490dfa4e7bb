"""The one conversion of our values to plain JSON values: dataclasses to objects (field order),
enums to their values, dates and times to ISO 8601, paths to strings, tuples to lists.

Top level, beside ``errors``, because the consent records (their signed canonical form), the
export manifest, the review staging and the CLI's ``--json`` all need it and none of them may
import the others. The signed form depends on it: a change here changes what the clinic key
signs, so it is covered by the registry's verification tests.
"""

from __future__ import annotations

from datetime import date, time
from enum import Enum
from pathlib import PurePath
from typing import Any


def jsonable(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__") and not isinstance(value, type):
        return {name: jsonable(getattr(value, name)) for name in value.__dataclass_fields__}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (date, time)):  # datetime is a date
        return value.isoformat()
    if isinstance(value, (tuple, list)):
        return [jsonable(v) for v in value]
    if isinstance(value, PurePath):
        return str(value)
    return value
