"""HTTP layer of the coordinator: error mapping, body limits, routes."""

__all__: list[str] = []
