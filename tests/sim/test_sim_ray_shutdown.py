"""A Ray started by the engine is shut down by it (no Ray left behind)."""

from __future__ import annotations

from fedledger.secagg.engine import RayEngine, import_ray


def test_engine_that_started_ray_shuts_it_down():
    ray = import_ray()
    assert not ray.is_initialized()
    engine = RayEngine(workers=1)
    assert ray.is_initialized()
    assert sorted(engine.map_unordered(lambda x: x * x, [3, 1, 2])) == [1, 4, 9]

    engine.close()

    assert not ray.is_initialized()
