"""The auditor's read-only FastAPI app (API under /api, dashboard at /)."""

from fedledger.audit.api.app import create_app

__all__ = ["create_app"]
