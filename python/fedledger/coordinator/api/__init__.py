"""The coordinator's HTTP API: app, dependencies, routes per resource, errors, body limits."""

from fedledger.coordinator.api.app import create_app

__all__ = ["create_app"]
