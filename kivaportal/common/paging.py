"""Counting the rows of a long list without reading them all.

A page of 50 or 100 rows read through an index costs the same at any table size; counting the
rows it belongs to does not (PostgreSQL visits every matching index entry). Lists that may
grow to hundreds of thousands of rows (the admin's lists, the review queues) page with
`LargeTablePaginator`: the count is exact up to `EXACT_UP_TO` rows, and beyond that it is
PostgreSQL's planner estimate, shown as "about N" (templates/admin/pagination.html,
templates/review/_pager.html).
"""

import json

from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property

EXACT_UP_TO = 10_000


def estimated_count(queryset) -> int | None:
    """PostgreSQL's estimate of the number of rows `queryset` returns (None elsewhere)."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    sql, params = queryset.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def capped_count(queryset, exact_up_to=None) -> tuple[int, bool]:
    """(count, estimated): exact up to EXACT_UP_TO rows (reading at most that many index
    entries), the planner's estimate above it (on PostgreSQL; elsewhere exact)."""
    cap = EXACT_UP_TO if exact_up_to is None else exact_up_to
    # Only the ids, no joins: the count walks an index and stops after cap + 1.
    counted = queryset.order_by().values("pk")[: cap + 1].count()
    if counted <= cap:
        return counted, False
    estimate = estimated_count(queryset)
    if estimate is None:
        return queryset.count(), False
    return max(estimate, counted), True


def capped_counts(queryset, field, values) -> tuple[dict, set]:
    """`capped_count` of `queryset` for each of `field`'s `values`, in one query: a UNION ALL of
    one capped read per value (each stops after EXACT_UP_TO + 1 index entries), then one
    estimate per value past the cap. Returns ({value: count}, {values estimated})."""
    if not values:
        return {}, set()
    connection = connections[queryset.db]
    parts, params = [], []
    for n, value in enumerate(values):
        sql, part_params = (
            queryset.filter(**{field: value}).order_by().values(field)[: EXACT_UP_TO + 1]
        ).query.sql_with_params()
        # A subquery per value (with an alias: PostgreSQL before 16 requires one), since
        # SQLite does not take a LIMIT on a bare member of a UNION.
        # The SQL is the ORM's, the values its parameters.
        parts.append(f"SELECT * FROM ({sql}) AS capped_{n}")  # noqa: S608
        params.extend(part_params)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {connection.ops.quote_name(field)}, COUNT(*) FROM "  # noqa: S608
            f"({' UNION ALL '.join(parts)}) AS capped GROUP BY 1",
            params,
        )
        counts = dict.fromkeys(values, 0)
        counts.update(dict(cursor.fetchall()))
    estimated = set()
    for value, counted in counts.items():
        if counted > EXACT_UP_TO:
            estimate = estimated_count(queryset.filter(**{field: value}))
            if estimate is None:
                counts[value] = queryset.filter(**{field: value}).count()
            else:
                counts[value] = max(estimate, counted)
                estimated.add(value)
    return counts, estimated


class LargeTablePaginator(Paginator):
    """A paginator whose count is `capped_count`'s; `estimated` says which it is.

    With `at_most`, the count stops there instead: past it `more_than` is set and the count
    is `at_most` (no estimate). For a search, whose matches PostgreSQL cannot estimate and
    whose every counted row is tested: people refine a search rather than page through it."""

    estimated = False
    more_than = False

    def __init__(self, *args, at_most=None, **kwargs):
        self.at_most = at_most
        super().__init__(*args, **kwargs)

    @cached_property
    def count(self):
        queryset = self.object_list
        if not hasattr(queryset, "query"):
            return super().count
        if self.at_most is not None:
            counted = queryset.order_by().values("pk")[: self.at_most + 1].count()
            self.more_than = counted > self.at_most
            return min(counted, self.at_most)
        count, self.estimated = capped_count(queryset)
        return count
