"""Summary statistics of timed samples."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["CaseResult", "median", "p90"]


def median(samples: Sequence[float]) -> float:
    """Return the median of ``samples``."""
    return statistics.median(samples)


def p90(samples: Sequence[float]) -> float:
    """Return the 90th percentile of ``samples`` (inclusive method; the only value for a single sample)."""
    if len(samples) < 2:
        return samples[0]
    return statistics.quantiles(samples, n=10, method="inclusive")[8]


@dataclass
class CaseResult:
    """The timed calls of one call kind through one path.

    Attributes:
        path: Key of the path, such as ``http`` or ``mcp-held``.
        call: Key of the call kind, ``metadata`` or ``sql``.
        samples: Seconds per call, warm-up calls excluded.
        content_chars: Characters of tool content returned to the model by the last call.
        error: Why the case could not be measured, if it could not.
    """

    path: str
    call: str
    samples: list[float] = field(default_factory=list)
    content_chars: int | None = None
    error: str | None = None

    @property
    def median(self) -> float:
        return median(self.samples)

    @property
    def p90(self) -> float:
        return p90(self.samples)
