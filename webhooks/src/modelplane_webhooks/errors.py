"""What a rejected admission request says.

Validation returns `Violation`s rather than raising on the first problem, so a user who applies a
manifest with three mistakes reads about all three at once. The operator's admission binding
joins them into one denial message; the facade can map them onto its 422 error details.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Violation:
    """One reason an object is refused: where in the object, and why, in words."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class AdmissionDenied(Exception):  # noqa: N818 - the name reads as what happened to the request
    """The object is refused; `violations` say why."""

    def __init__(self, violations: Sequence[Violation]) -> None:
        self.violations = tuple(violations)
        super().__init__(denial_message(self.violations))


def denial_message(violations: Sequence[Violation]) -> str:
    """All violations as one readable sentence list."""
    return "; ".join(str(v) for v in violations)
