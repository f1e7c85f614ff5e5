"""CSV tables: numeric features, a label column, a stratified split scaled on training rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fedledger.errors import ConfigError
from fedledger.fl.tabular import read_csv_table, split_table


def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "table.csv"
    path.write_text(text)
    return path


def _rows(n: int, classes: tuple[str, ...] = ("no", "yes")) -> str:
    lines = ["age,dose,outcome"]
    lines += [f"{20 + i},{(i * 7) % 13 / 2},{classes[i % len(classes)]}" for i in range(n)]
    return "\n".join(lines) + "\n"


def test_a_table_reads_features_in_column_order_and_labels_as_sorted_classes(
    tmp_path: Path,
) -> None:
    table = read_csv_table(_csv(tmp_path, "a,label,b\n1,yes,2\n3,no,4.5\n"), label="label")

    assert table.features == ("a", "b") and table.classes == ("no", "yes")
    np.testing.assert_array_equal(table.X, [[1, 2], [3, 4.5]])
    np.testing.assert_array_equal(table.y, [1, 0])


def test_numeric_labels_sort_as_numbers(tmp_path: Path) -> None:
    table = read_csv_table(_csv(tmp_path, "x,y\n1,10\n2,9\n3,10\n"), label="y")

    assert table.classes == ("9", "10")


def test_a_missing_label_column_names_it_and_the_columns_there_are(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"no label column 'target' \(columns: age, dose, outcome\)"
    ):
        read_csv_table(_csv(tmp_path, _rows(10)), label="target")


def test_a_non_numeric_feature_names_the_column_and_line(tmp_path: Path) -> None:
    path = _csv(tmp_path, "age,sex,outcome\n40,1,yes\n41,F,no\n")

    with pytest.raises(ConfigError, match=r"column 'sex' is not numeric \(line 3: 'F'\)"):
        read_csv_table(path, label="outcome")


def test_an_empty_feature_cell_is_not_numeric(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"column 'b' is not numeric \(line 2: ''\)"):
        read_csv_table(_csv(tmp_path, "a,b,y\n1,,0\n"), label="y")


def test_a_ragged_row_is_refused_with_its_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="line 3 has 2 fields, the header has 3"):
        read_csv_table(_csv(tmp_path, "a,b,y\n1,2,0\n1,2\n"), label="y")


def test_a_class_with_a_single_example_is_refused_by_name(tmp_path: Path) -> None:
    text = _rows(20) + "99,1.0,maybe\n"
    table = read_csv_table(_csv(tmp_path, text), label="outcome")

    with pytest.raises(ConfigError, match="class 'maybe' of column 'outcome' has 1 example"):
        split_table(table)


def test_a_single_class_is_refused(tmp_path: Path) -> None:
    table = read_csv_table(_csv(tmp_path, _rows(10, ("yes",))), label="outcome")

    with pytest.raises(ConfigError, match="single class 'yes'"):
        split_table(table)


def test_standardisation_uses_the_training_rows_only(tmp_path: Path) -> None:
    table = read_csv_table(_csv(tmp_path, _rows(50)), label="outcome")

    data, scaler = split_table(table, test_fraction=0.2, seed=3)

    assert len(data.train) == 40 and len(data.test) == 10
    np.testing.assert_allclose(data.train.X.mean(axis=0), 0.0, atol=1e-6)
    np.testing.assert_allclose(data.train.X.std(axis=0), 1.0, atol=1e-5)
    # Undo the scaling: the training rows' raw mean is the scaler's mean, not the whole table's.
    raw_train = data.train.X.astype(np.float64) * scaler["std"] + scaler["mean"]
    np.testing.assert_allclose(raw_train.mean(axis=0), scaler["mean"], atol=1e-4)
    assert not np.allclose(scaler["mean"], table.X.mean(axis=0))
    assert abs(float(data.test.X.mean())) > 1e-4
    assert scaler["features"] == ["age", "dose"] and scaler["classes"] == ["no", "yes"]
