"""The code's shape: ruff, mypy, sizes, import layers, the tests' layout."""
