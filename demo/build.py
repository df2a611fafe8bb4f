"""What one demo generation run shares (demo/generate.py and its area modules all write into it)."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table

from demo import rows
from demo.story import Story


@dataclass
class Build:
    """Everything one generation run shares: the story, the random source, the id counter, the rows."""

    story: Story
    rng: random.Random
    scale: int
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    leads: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)  # ws -> "ai"/"setter"
    thresholds: dict[str, float] = field(default_factory=dict)
    budgets: dict[str, dict[str, Any]] = field(default_factory=dict)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids):07d}"

    def add(self, table: Table, row: dict[str, Any]) -> dict[str, Any]:
        self.rows.setdefault(table.name, []).append(rows.complete(table, row))
        return row

    def at(self, day: int, seconds: float) -> datetime:
        """A moment `seconds` into 24-hour slice `day` of the period (aware UTC)."""
        return self.story.start + timedelta(days=day, seconds=seconds)

    def day_count(self, base: float) -> int:
        """A daily volume that stays level: `base` with a few percent of noise."""
        return max(1, round(base * self.rng.uniform(0.95, 1.05)))
