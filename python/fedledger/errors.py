"""The exception root: every error fedledger raises on purpose derives from FedledgerError."""

from __future__ import annotations


class FedledgerError(Exception):
    """Root of all fedledger errors; its message is meant to be shown to a user as one line."""


class ConfigError(FedledgerError):
    """A setting, parameter set or file given to fedledger is invalid."""


class ChainError(FedledgerError):
    """Talking to the chain failed (unreachable RPC, missing deployment, wrong chain id)."""


class ContractRevert(ChainError):
    """A contract call reverted; `name` and `args` carry the decoded custom error."""

    def __init__(
        self, name: str, args: dict[str, object] | None = None, *, contract: str = ""
    ) -> None:
        self.name = name
        self.args_ = dict(args or {})
        self.contract = contract
        shown = ", ".join(f"{k}={v}" for k, v in self.args_.items())
        where = f"{contract}." if contract else ""
        super().__init__(f"{where}{name}({shown})")


class ProtocolError(FedledgerError):
    """A secure-aggregation message broke the protocol; names the stage and the field."""

    def __init__(self, stage: str, field: str, detail: str) -> None:
        self.stage = stage
        self.field = field
        self.detail = detail
        super().__init__(f"[{stage}] {field}: {detail}")


class StoreError(FedledgerError):
    """A blob could not be stored or fetched, or its content does not match its name."""


class VerificationError(FedledgerError):
    """An audit could not be carried out at all (as opposed to a check that failed)."""


__all__ = [
    "ChainError",
    "ConfigError",
    "ContractRevert",
    "FedledgerError",
    "ProtocolError",
    "StoreError",
    "VerificationError",
]
