"""Named checks: module-level functions over a shared context, run in order by one runner."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fedledger.errors import FedledgerError

__all__ = [
    "Check",
    "CheckContext",
    "CheckFailed",
    "CheckFn",
    "Outcome",
    "check_names",
    "run_check",
    "run_checks",
]

Outcome = tuple[Any, Any]
"""What a passing check returns: (expected, found)."""

# Bad input surfaces as one of these; the runner turns them into a failed check, never a crash.
_INPUT_ERRORS = (FedledgerError, ValueError, KeyError, TypeError)


@dataclass(frozen=True)
class Check:
    """One named check: pass/fail with what was expected and what was found."""

    name: str
    passed: bool
    expected: Any = None
    found: Any = None
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        """JSON object form."""
        return {
            "name": self.name,
            "passed": self.passed,
            "expected": self.expected,
            "found": self.found,
            "detail": self.detail,
        }


class CheckFailed(FedledgerError):
    """Raised by a check that does not hold: why, and what was expected and found."""

    def __init__(self, detail: str, expected: Any = None, found: Any = None) -> None:
        super().__init__(detail)
        self.detail, self.expected, self.found = detail, expected, found


@dataclass
class CheckContext:
    """What one run's checks share; subclasses add their inputs and what earlier checks parsed."""

    failed: dict[str, str] = field(default_factory=dict, kw_only=True)
    """Why each failed check failed, by name, for the checks that depend on it."""

    def need(self, *names: str) -> None:
        """Stop the calling check when a check it builds on failed."""
        missing = [n for n in names if n in self.failed]
        if missing:
            raise CheckFailed(f"cannot check: {', '.join(missing)} failed")


C = TypeVar("C", bound=CheckContext)
CheckFn = Callable[[C], Outcome]
"""A check: named by its function name; returns (expected, found) or raises CheckFailed."""


def check_names(checks: Iterable[Callable[..., Outcome]]) -> list[str]:
    """The names the checks report under, in order."""
    return [c.__name__ for c in checks]


def run_check(check: CheckFn[C], ctx: C) -> Check:
    """Run one check on `ctx`; a failure is recorded in `ctx.failed` and never raised."""
    name = check.__name__
    try:
        expected, found = check(ctx)
    except CheckFailed as f:
        ctx.failed[name] = f.detail
        return Check(name, False, f.expected, f.found, f.detail)
    except _INPUT_ERRORS as exc:
        ctx.failed[name] = str(exc)
        return Check(name, False, None, None, f"{type(exc).__name__}: {exc}")
    return Check(name, True, expected, found)


def run_checks(checks: Iterable[CheckFn[C]], ctx: C) -> list[Check]:
    """Run `checks` in order on one shared context; each runs even when earlier ones failed."""
    return [run_check(check, ctx) for check in checks]
