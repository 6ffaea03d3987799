"""One side of `netpol diff --base REV`, built by the code of the revision it belongs to.

    python -m netpol.diff.revision STACK ROOT

`netpol.diff.snapshot` unpacks a git revision into a temporary folder ROOT and runs this module there
with `PYTHONPATH=ROOT`: `netpol` is a regular package (netpol/__init__.py), so the revision's own
package is the one imported, whole, never merged with the installed one. Prints
`{"config", "manifests", "inventory"}` as JSON on stdout (the inventory in its file format,
`Inventory.to_document`); a config error prints its problems on stderr and exits 2.
"""

from __future__ import annotations

import sys
from pathlib import Path

import orjson


def snapshot_document(stack: str, root: Path) -> dict:
    from netpol.builders import build_manifests
    from netpol.stack import inventory_for, load_stack

    cfg = load_stack(stack, root)
    return {"config": cfg.model_dump(mode="json"), "manifests": [m.body for m in build_manifests(cfg)],
            "inventory": inventory_for(cfg).to_document()}


def main(argv: list[str]) -> int:
    from netpol.config import ConfigError

    stack, root = argv
    try:
        doc = snapshot_document(stack, Path(root))
    except ConfigError as e:
        for p in e.problems:
            print(p, file=sys.stderr)
        return 2
    sys.stdout.buffer.write(orjson.dumps(doc, default=str, option=orjson.OPT_NON_STR_KEYS))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
