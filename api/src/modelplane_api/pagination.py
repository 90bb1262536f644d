"""List parameters shared by every collection: `?page=&limit=`, `?sort=`, `?filter[field]=`.

Only whitelisted fields can be sorted or filtered: sort values are `Literal`s per resource (so
OpenAPI lists them and anything else is a 422), and `reject_unknown_filters` answers 400 for a
`filter[...]` key the route does not declare. Sorting always ends with the primary key, so pages
are stable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query, Request

from modelplane_api.errors import BadRequest

MAX_LIMIT = 100


@dataclass(frozen=True)
class PageParams:
    page: int
    limit: int

    @property
    def offset(self) -> int:
        """Rows to skip."""
        return (self.page - 1) * self.limit


async def page_params(
    page: Annotated[int, Query(ge=1, le=100_000, description="1-based page")] = 1,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
) -> PageParams:
    """Parse `?page=&limit=`."""
    return PageParams(page, limit)


Paging = Annotated[PageParams, Depends(page_params)]


def order_by(sort: str, columns: Mapping[str, Any], tiebreak: Any) -> list[Any]:
    """ORDER BY clauses for `sort` (`name` or `-name`) over whitelisted columns."""
    descending = sort.startswith("-")
    column = columns[sort.lstrip("-")]
    return [
        column.desc() if descending else column.asc(),
        tiebreak.desc() if descending else tiebreak.asc(),
    ]


def reject_unknown_filters(request: Request, allowed: set[str]) -> None:
    """400 for any `filter[x]` whose field is not whitelisted, and for unbracketed `filter`."""
    for key in request.query_params:
        if key == "filter" or (key.startswith("filter[") and key[7:-1] not in allowed):
            raise BadRequest(
                f"unknown filter {key!r}",
                {"allowed": sorted(f"filter[{name}]" for name in allowed)},
            )
