"""The Pulumi program: read config, build the model, instantiate components. Nothing else."""

import pulumi

from components import COMPONENT_CLASSES, kubernetes_provider
from netpol.builders import COMPONENTS, build_manifests
from netpol.config import build_config
from netpol.pulumi_config import read_pulumi_config

stack = pulumi.get_stack()
loaded = build_config(stack, f"Pulumi.{stack}.yaml", read_pulumi_config())  # raises before any resource
for warning in loaded.warnings:
    pulumi.log.warn(warning)
manifests = build_manifests(loaded.config)
provider = kubernetes_provider(loaded.config)
for component in COMPONENTS:
    COMPONENT_CLASSES[component](component, [m for m in manifests if m.component == component], provider)
pulumi.export("objects", len(manifests))
