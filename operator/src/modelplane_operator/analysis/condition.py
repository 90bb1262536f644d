"""The `successCondition` of a custom Prometheus check, evaluated without `eval()`.

The CRD admits only `result <op> <number>` (`result < 0.05`, `result >= -1.5`); this module
parses exactly that grammar and compares with `operator`'s functions, so a condition can never
run code, and anything else is a clear error rather than a silent pass.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

_PATTERN = re.compile(r"^\s*result\s*(<=|>=|==|!=|<|>)\s*(-?[0-9]+(?:\.[0-9]+)?)\s*$")
_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


class InvalidCondition(ValueError):  # noqa: N818 - <Noun><Problem>, as STYLE.md names errors
    """The condition is not of the form `result <op> <number>`."""


@dataclass(frozen=True)
class SuccessCondition:
    """A parsed `result <op> <number>`."""

    op: str
    bound: float

    @classmethod
    def parse(cls, text: str) -> SuccessCondition:
        """Parse `result < 0.05` and friends; anything else raises InvalidCondition."""
        match = _PATTERN.match(text)
        if match is None:
            raise InvalidCondition(
                f"successCondition {text!r} must look like `result < 0.05`"
                " (operators <, <=, >, >=, ==, !=)"
            )
        return cls(match.group(1), float(match.group(2)))

    def holds(self, result: float) -> bool:
        """Whether `result` meets the condition (NaN never does)."""
        if math.isnan(result):
            return False
        return _OPERATORS[self.op](result, self.bound)

    def limit(self) -> float:
        """The number the result is compared with (reported as the measurement's threshold)."""
        return self.bound
