"""Entry point the Pulumi engine runs (`python -u -m pulumi.policy <engine> .` inside policies/).

The policies themselves are in `policies/pack.py`, the rules in `policies/rules/`. The project is
installed editable into `../.venv`; when it is not (a bare checkout), the parent folder is put on
sys.path so that `policies` and `netpol` import all the same.
"""

import sys
from pathlib import Path

try:
    import netpol.labels  # noqa: F401
    import policies.rules  # noqa: F401
except ImportError:  # pragma: no cover - only without the editable install
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import EnforcementLevel, PolicyPack

from policies.pack import PACK_NAME, build_policies, settle_runtime_environment

settle_runtime_environment()
PolicyPack(
    name=PACK_NAME,
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=build_policies(),
    description="Guardrails of the Cilium network-policy architecture, shared with `netpol check`.",
)
