"""The example stacks as the program registers them (under the SDK mocks, `tests/program_mocks.py`),
analyzed by the real pack over gRPC as `pulumi preview --policy-pack policies` would.

* every example stack passes with zero mandatory violations (and no advisory one either);
* with a direct provider — the program itself configured `applyMode: direct` (and allowed to by its
  own `directApplyStacks`), or the provider's inputs swapped, or the resources left on the default
  provider — `direct-apply-only-on-dev` fails integration and live, not dev.
"""

from __future__ import annotations

import functools

import pytest

from analyzer_harness import Resource, from_mock_resources
from pack_fixtures import packs  # noqa: F401 - fixture
from program_mocks import register_stack, stack_config

STACKS = ("dev", "integration", "live")
DIRECT = "direct-apply-only-on-dev"


@functools.lru_cache(maxsize=None)
def _records(stack: str, direct: bool = False):
    overrides = None
    if direct:
        overrides = {"netpol:applyMode": "direct", "netpol:kubeContext": f"admin@{stack}",
                     "netpol:directApplyStacks": list(STACKS)}
    return tuple(register_stack(stack, overrides))


def pack_for(packs, stack: str):
    """The pack as the engine starts it for this stack: PULUMI_CONFIG holds the stack's config."""
    return packs(stack, None, stack_config(stack))


def resources(stack: str, direct: bool = False) -> list[Resource]:
    return from_mock_resources(stack, _records(stack, direct))


def providers(res: list[Resource]) -> list[Resource]:
    return [r for r in res if r.type == "pulumi:providers:kubernetes"]


@pytest.mark.parametrize("stack", STACKS)
def test_example_stack_passes(packs, stack):
    res = resources(stack)
    assert sum(r.type.startswith("kubernetes:") for r in res) >= 20
    assert all(r.provider is not None and r.provider.name != "default_4_34_2" for r in res
               if r.type.startswith("kubernetes:"))
    diags = pack_for(packs, stack).preview(res)
    mandatory = [d for d in diags if d.enforcement == "mandatory"]
    assert mandatory == [], "\n".join(f"{d.policy} {d.urn}: {d.message}" for d in mandatory)
    assert diags == [], "\n".join(f"{d.policy} {d.urn}: {d.message}" for d in diags)


def _direct_findings(packs, stack: str, res: list[Resource]):
    return [d for d in pack_for(packs, stack).preview(res) if d.policy == DIRECT]


@pytest.mark.parametrize("stack", STACKS)
def test_program_configured_direct(packs, stack):
    """The program with applyMode direct (its own directApplyStacks widened): the pack still blocks it."""
    res = resources(stack, direct=True)
    (prov,) = providers(res)
    assert "renderYamlToDirectory" not in prov.properties and prov.properties.get("context") == f"admin@{stack}"
    found = _direct_findings(packs, stack, res)
    if stack == "dev":
        assert found == []
    else:
        assert found and {(d.enforcement, d.urn) for d in found} == {("mandatory", prov.urn)}
        assert f"stack `{stack}`" in found[0].message and "render_yaml_to_directory" in found[0].message


@pytest.mark.parametrize("stack", STACKS)
def test_provider_swapped_to_direct(packs, stack):
    res = resources(stack)
    (prov,) = providers(res)
    prov.properties = {k: v for k, v in prov.properties.items() if k != "renderYamlToDirectory"}
    prov.properties["context"] = "admin@somewhere"
    found = _direct_findings(packs, stack, res)
    assert (found == []) == (stack == "dev")
    assert all(d.urn == prov.urn and d.enforcement == "mandatory" for d in found)


@pytest.mark.parametrize("stack", STACKS)
def test_resources_on_default_provider(packs, stack):
    records = [r for r in _records(stack)]
    import dataclasses

    records = [dataclasses.replace(r, provider="") if r.type_.startswith("kubernetes:") else r for r in records]
    res = from_mock_resources(stack, records)
    k8s = [r for r in res if r.type.startswith("kubernetes:")]
    assert all(r.provider.name == "default_4_34_2" for r in k8s)
    found = _direct_findings(packs, stack, res)
    if stack == "dev":
        assert found == []
    else:
        # one violation per resource on the default provider, each against that resource's URN
        assert {d.urn for d in found} == {r.urn for r in k8s}
        assert all(d.enforcement == "mandatory" for d in found)
