"""Run the real Pulumi program (`__main__.py`) under the Pulumi SDK's own mocks and record
every resource it registers, as the engine would receive it (type, name, URN, inputs, provider,
parent and the retainOnDelete option from the RegisterResource request itself)."""

from __future__ import annotations

import json
import runpy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.config import set_all_config

ROOT = Path(__file__).resolve().parents[1]
PROJECT = "netpol"


@dataclass
class MockResource:
    type_: str
    name: str
    urn: str
    inputs: dict[str, Any]
    provider: str  # provider reference "urn::id", "" when on the default provider
    parent: str
    custom: bool
    retain_on_delete: bool

    @property
    def provider_urn(self) -> str:
        return self.provider.split("::" + self.provider.rsplit("::", 1)[-1])[0] if self.provider else ""


class _Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        return f"{args.name}-id", args.inputs

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


class RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks):
        super().__init__(mocks)
        self.records: list[MockResource] = []

    def RegisterResource(self, request):
        resp = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.records.append(MockResource(
                type_=request.type, name=request.name, urn=resp.urn,
                inputs=self.resources[resp.urn].state if resp.urn in self.resources else {},
                provider=request.provider, parent=request.parent, custom=request.custom,
                retain_on_delete=bool(request.retainOnDelete),
            ))
        return resp


def stack_config(stack: str, root: Path = ROOT) -> dict[str, Any]:
    return (yaml.safe_load((root / f"Pulumi.{stack}.yaml").read_text()) or {}).get("config") or {}


def register_stack(stack: str, config_overrides: dict | None = None, *, config: dict | None = None,
                   root: Path = ROOT) -> list[MockResource]:
    """Run the program for `stack` under mocks; return every registered resource in order.

    Config comes from `Pulumi.<stack>.yaml` as the CLI would pass it (structured values as JSON),
    with `config_overrides` (`{"netpol:applyMode": "direct", ...}`) applied on top, or `config` instead.
    """
    values = dict(config if config is not None else stack_config(stack, root))
    values.update(config_overrides or {})
    monitor = RecordingMonitor(_Mocks())
    pulumi.runtime.set_mocks(_Mocks(), project=PROJECT, stack=stack, preview=True, monitor=monitor)
    set_all_config({k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()})

    @pulumi.runtime.test
    def run():
        runpy.run_path(str(root / "__main__.py"), run_name="__main__")

    run()
    return monitor.records
