"""Namespace rules: `no-profile-on-platform-namespace` and `app-namespace-requires-profile`.

* A platform namespace (the pack's `platformNamespaces`) never carries the profile label, whether a
  Namespace or a NamespacePatch sets it: platform namespaces get a hand-written `<ns>-default` CNP.
* A Namespace the program manages (`app.kubernetes.io/managed-by: netpol`) that is not a platform
  namespace must carry a profile label naming one of `netpol.profiles.PROFILE_NAMES`.
"""

from __future__ import annotations

from typing import Any, Mapping

from netpol import labels as L
from netpol import names as N
from netpol.profiles import PROFILE_NAMES

from .base import MANDATORY, NAMESPACE_KINDS, Context, Guardrail, GuardrailViolation, key_path, labels_of, name_of, violation
from .cilium import is_namespace

PLATFORM_RULE = "no-profile-on-platform-namespace"
APP_RULE = "app-namespace-requires-profile"
LABEL_PATH = key_path("metadata", "labels", L.PROFILE_LABEL)


def no_profile_on_platform(m: Mapping[str, Any], ctx: Context) -> list[GuardrailViolation]:
    if not is_namespace(m) or name_of(m) not in ctx.platform_namespaces:
        return []
    labels = labels_of(m)
    if L.PROFILE_LABEL not in labels:
        return []
    return [violation(
        m, LABEL_PATH,
        f"platform namespace `{name_of(m)}` carries the profile label `{L.PROFILE_LABEL}={labels[L.PROFILE_LABEL]}`; "
        "profiles are for app namespaces and would stack a profile's gateway/internet rules on top of the "
        "platform policy",
        f"remove the label; declare the namespace's traffic in its `{N.platform_policy_name(name_of(m))}` "
        "CiliumNetworkPolicy (netpol:platformNamespaces)")]


def app_requires_profile(m: Mapping[str, Any], ctx: Context) -> list[GuardrailViolation]:
    if not is_namespace(m) or m.get("kind") != "Namespace":
        return []
    labels = labels_of(m)
    if labels.get(L.MANAGED_BY_LABEL) != L.MANAGED_BY_VALUE or name_of(m) in ctx.platform_namespaces:
        return []
    valid = ", ".join(PROFILE_NAMES)
    profile = labels.get(L.PROFILE_LABEL)
    if profile is None or profile == "":
        return [violation(
            m, LABEL_PATH, f"app namespace `{name_of(m)}` has no `{L.PROFILE_LABEL}` label, so no profile "
            "selects it and only the baselines apply",
            f"set `profile:` on it under netpol:namespaces (one of: {valid})")]
    if profile not in PROFILE_NAMES:
        return [violation(
            m, LABEL_PATH, f"app namespace `{name_of(m)}` has profile `{profile}`, which no profile policy selects",
            f"use one of: {valid}")]
    return []


PLATFORM = Guardrail(
    name=PLATFORM_RULE,
    description="Platform namespaces never carry a profile label: they get a custom <ns>-default CiliumNetworkPolicy.",
    enforcement=MANDATORY,
    resource=no_profile_on_platform,
    kinds=NAMESPACE_KINDS,
    config_keys=("platformNamespaces",),
)

APP = Guardrail(
    name=APP_RULE,
    description="Every app namespace netpol manages carries a valid network-policy.homelab/profile label.",
    enforcement=MANDATORY,
    resource=app_requires_profile,
    kinds=NAMESPACE_KINDS,
    config_keys=("platformNamespaces",),
)
