"""Counting a generated run's outcomes instead of stopping at the first bad one, so the figures
cover every request and a failure still says how many went wrong, with the first few."""

from __future__ import annotations

from dataclasses import dataclass, field

KEPT_PROBLEMS = 12


@dataclass
class Tally:
    kinds: tuple[str, ...]  # the kinds of problem counted (each must stay 0)
    requests: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.counts = {kind: 0 for kind in self.kinds} | self.counts

    def sent(self) -> None:
        self.requests += 1

    def count(self, name: str) -> None:
        """A figure that is not a problem (e.g. answers accepted)."""
        self.counts[name] = self.counts.get(name, 0) + 1

    def problem(self, kind: str, what: str) -> None:
        assert kind in self.kinds, kind
        self.counts[kind] += 1
        if len(self.problems) < KEPT_PROBLEMS:
            self.problems.append(f"{kind}: {what}"[:600])

    @property
    def passed(self) -> bool:
        return self.requests > 0 and all(self.counts[kind] == 0 for kind in self.kinds)

    def figures(self) -> dict[str, int]:
        return {"requests": self.requests, **self.counts}
