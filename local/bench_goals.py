"""`make bench`'s goals and their verdicts: each figure with a goal is printed with PASS or MISSED,
then a summary, and the run exits 1 when a goal was missed (0 when all were met), so a missed
goal can neither scroll by unnoticed nor pass for a success. `make bench` is not part of CI.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TextIO


@dataclass(frozen=True)
class Goal:
    """A measured `value` against its `limit`: at most the limit, or below it when `strict`."""

    name: str
    value: float
    limit: float
    strict: bool = False
    unit: str = ""

    @property
    def met(self) -> bool:
        return self.value < self.limit if self.strict else self.value <= self.limit

    @property
    def target(self) -> str:
        return f"goal {'<' if self.strict else '<='} {self.limit:g}{self.unit}"

    @property
    def verdict(self) -> str:
        return "PASS" if self.met else "MISSED"

    def mark(self) -> str:
        """What follows the figure on its line: `(goal <= 1.2)  PASS`."""
        return f"({self.target})  {self.verdict}"


def report(goals: list[Goal], out: TextIO | None = None) -> int:
    """Print one verdict per goal and a summary; the exit status (1 when one was missed)."""
    stream = out or sys.stdout
    missed = [goal for goal in goals if not goal.met]
    print("\ngoals:", file=stream)
    for goal in goals:
        print(f"  {goal.verdict:7} {goal.name}: {goal.value:.3g}{goal.unit} ({goal.target})", file=stream)
    if missed:
        print(f"{len(missed)} of {len(goals)} goals MISSED: {', '.join(g.name for g in missed)}", file=stream)
        return 1
    print(f"all {len(goals)} goals met", file=stream)
    return 0
