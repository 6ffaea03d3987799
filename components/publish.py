"""The one published layout of a GitOps stack: netpol's kustomize tree at `netpol:renderDir`.

`pulumi up` on a GitOps stack and `netpol render --stack S --out DIR` write the same bytes
(`netpol.render.write_tree`). The kubernetes provider of a GitOps stack still renders YAML
(`renderYamlToDirectory`), because the engine and the policy pack need real resources to preview
and check; its `0-crd/`/`1-manifest/` output goes to a scratch folder (`.pulumi-render/<stack>`,
ignored by git) and is never published.

The tree is written only by `pulumi up` (never by a preview), once every object has been
registered and created: a policy-pack violation or a failed resource stops the up before anything
is published. It is rewritten whole and atomically on every up, so it is complete after any
sequence of ups (a namespace dropped from config leaves no file behind).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pulumi

from netpol.builders import Manifest
from netpol.model import StackConfig
from netpol.render import write_tree

SCRATCH = ".pulumi-render"


def scratch_dir(cfg: StackConfig) -> str:
    return f"{SCRATCH}/{cfg.stack}"


def publish_tree(cfg: StackConfig, manifests: Sequence[Manifest], resources: Sequence[pulumi.CustomResource]) -> None:
    if cfg.applyMode != "gitops" or pulumi.runtime.is_dry_run():
        return
    out = Path(cfg.render_dir)

    def write(_ids: list) -> int:
        return write_tree(list(manifests), out)

    pulumi.Output.all(*[r.id for r in resources]).apply(write)
