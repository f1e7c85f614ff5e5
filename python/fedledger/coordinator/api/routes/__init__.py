"""Routes of the coordinator API, one module per resource."""

__all__: list[str] = []
