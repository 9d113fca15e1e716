"""``make quickstart``: the main job on the bundled samples in ``data/``.

For now (before the training issue lands) it reads the bundled ROOT samples and prints a physics summary
table; it will grow into "train a small tagger and print its metrics".
"""

from __future__ import annotations

import sys
from pathlib import Path

from jetgnn.summary import summarize_files

DATA = Path(__file__).resolve().parent.parent / "data"


def main() -> int:
    files = sorted(DATA.glob("*.root"))
    if not files:
        print(f"no bundled samples in {DATA}: run `make data`", file=sys.stderr)
        return 2
    print(f"jetgnn quickstart: summary of the bundled samples in {DATA}\n")
    print(summarize_files([str(f) for f in files]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
