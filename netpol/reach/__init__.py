"""Offline Cilium policy evaluation: `netpol reach` / `netpol explain`.

    from netpol.reach import PolicySet, load_inventory, resolve_endpoint, explain_text
    ps = PolicySet.from_dir("policies/")
    inv = load_inventory("inventory.yaml")
    v = ps.evaluate(resolve_endpoint("tenant-a/frontend", inv), resolve_endpoint("tenant-b/api", inv), 8080)
"""

from netpol.reach.endpoints import Endpoint, resolve_endpoint
from netpol.reach.engine import PolicySet, SideResult, Verdict, explain_text
from netpol.reach.errors import InventoryError, ReachInputError
from netpol.reach.inventory import Inventory, Pod, load_inventory, parse_inventory

__all__ = [
    "Endpoint", "Inventory", "InventoryError", "PolicySet", "Pod", "ReachInputError", "SideResult",
    "Verdict", "explain_text", "load_inventory", "parse_inventory", "resolve_endpoint",
]
