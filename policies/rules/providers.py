"""`direct-apply-only-on-dev` (stack): only the allowed stacks apply straight to a cluster.

On a stack outside `ctx.direct_apply_stacks` (pack config `directApplyStacks`, default `[dev]`):
* every kubernetes provider must render to a directory (`renderYamlToDirectory`), so `pulumi up`
  only writes manifests for the GitOps controller;
* no resource may sit on the default provider (it applies to whatever the ambient kubeconfig
  points at).
The allowed list comes from the pack config only, never from the stack's own config: a stack cannot
widen its own guardrail. With no provider information (plain YAML files) the rule has nothing to
check and passes.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from .base import MANDATORY, Context, Guardrail, GuardrailViolation, describe

NAME = "direct-apply-only-on-dev"


def check(manifests: Sequence[Mapping[str, Any]], ctx: Context) -> list[GuardrailViolation]:
    if ctx.stack is None or ctx.providers is None or ctx.stack in ctx.direct_apply_stacks:
        return []
    allowed = ", ".join(sorted(ctx.direct_apply_stacks)) or "none"
    fix_provider = ("give the provider `render_yaml_to_directory` (netpol:applyMode: gitops) so that `pulumi up` only "
                    "writes manifests for the GitOps controller")
    out: list[GuardrailViolation] = []
    for p in ctx.providers:
        if p.default:
            for i in p.users:
                where = describe(manifests[i]) if 0 <= i < len(manifests) else "resource"
                out.append(GuardrailViolation(
                    message=f"{where}: is registered on the default kubernetes provider, which applies directly to "
                    f"the cluster of the ambient kubeconfig, on stack `{ctx.stack}` (direct apply is allowed only "
                    f"on: {allowed}). Fix: pass an explicit provider that renders to a directory "
                    f"(opts=pulumi.ResourceOptions(provider=...)); {fix_provider}",
                    index=i))
        elif p.direct:
            target = f"context `{p.context}`" if p.context else "the ambient kubeconfig"
            name = p.name or (p.urn.rsplit("::", 1)[-1] if p.urn else "kubernetes")
            out.append(GuardrailViolation(
                message=f"kubernetes provider {name}: applies directly to a cluster ({target}) on stack "
                f"`{ctx.stack}`; direct apply is allowed only on: {allowed}. Fix: {fix_provider}; "
                "changes reach integration and live through git",
                urn=p.urn or None, resource=f"provider {name}"))
    return out


RULE = Guardrail(
    name=NAME,
    description="Only the allowed stacks (default: dev) apply directly to a cluster; every other stack renders "
                "YAML for GitOps.",
    enforcement=MANDATORY,
    stack=check,
    config_keys=("directApplyStacks",),
)
