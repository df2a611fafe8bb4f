"""Per-day summaries of the summarised read queries (issues 6, 9, 11).

- `summaries.declarations`: the tables (one per summarised query, plus `summary_day`) built from the
  queries' `Summary` declarations, and the list of summarised queries.
- `summaries.reading`: the explicit summary reader (stored days plus raw edges) and the freshness.
- `summaries.refresh`: the refresh cycle, each query isolated, failures recorded in `summary_failure`.
"""
