"""Make the `sgd_dyson` package importable from the repository's `workflow` folder."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))
