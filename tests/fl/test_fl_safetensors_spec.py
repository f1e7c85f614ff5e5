"""docs/formats.md describes canonical safetensors bytes in words; an encoder written from
those words alone gives exactly model_to_bytes's bytes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from fedledger.fl.serialization import model_to_bytes

FORMATS = Path(__file__).resolve().parents[2] / "docs" / "formats.md"


def encode_as_documented(tensors: dict[str, np.ndarray]) -> bytes:
    """formats.md, "Models: safetensors", steps 1-3."""
    header, data, offset = [], b"", 0
    for name in sorted(tensors, key=lambda n: n.encode("utf-8")):
        raw = np.ascontiguousarray(tensors[name], dtype="<f4").tobytes()
        shape = ",".join(str(d) for d in tensors[name].shape)
        entry = f'"dtype":"F32","shape":[{shape}],"data_offsets":[{offset},{offset + len(raw)}]'
        header.append(f"{json.dumps(name)}:{{{entry}}}")
        data, offset = data + raw, offset + len(raw)
    text = ("{" + ",".join(header) + "}").encode("utf-8")
    text += b" " * (-(8 + len(text)) % 8)
    return len(text).to_bytes(8, "little") + text + data


@pytest.mark.parametrize(
    "tensors",
    [
        {"w": np.array([1.0, 2.0, 3.0, 4.0], dtype=np.float32)},
        {
            "w": np.arange(6, dtype=np.float32).reshape(2, 3),
            "B": np.array([-1.5], dtype=np.float32),
            "a.z": np.array(7.0, dtype=np.float32),
            "fc1.weight": np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4),
        },
    ],
    ids=["one-tensor", "mixed-names-and-shapes"],
)
def test_the_documented_encoding_is_the_codes_encoding(tensors: dict[str, np.ndarray]) -> None:
    assert encode_as_documented(tensors) == model_to_bytes(tensors)


def test_the_worked_bytes_in_formats_md_are_the_codes() -> None:
    doc = FORMATS.read_text()
    model = model_to_bytes({"w": np.array([1.0, 2.0, 3.0, 4.0], dtype=np.float32)})
    prefix = re.search(r"the 8 bytes\s+`([0-9a-f ]+)`", doc)
    header = re.search(r"the 55 bytes\s+`(\{.*?\})`", doc)
    data = re.search(r"then 16 bytes\s+`([0-9a-f ]+)`", doc)
    assert prefix and header and data
    expected = (
        bytes.fromhex(prefix.group(1))
        + header.group(1).encode()
        + b" "
        + bytes.fromhex(data.group(1).replace(" ", ""))
    )
    assert expected == model and len(model) == 80
