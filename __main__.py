"""The Pulumi program: read config, build the model, instantiate components. Nothing else."""

import pulumi

from components import COMPONENT_CLASSES, kubernetes_provider, publish_tree, sdk_runtime
from netpol.builders import COMPONENTS, build_manifests
from netpol.config import build_config
from netpol.pulumi_config import read_pulumi_config

sdk_runtime.install()  # a linear drain of the SDK's outstanding outputs (components/sdk_runtime.py)
stack = pulumi.get_stack()
# Config through pulumi.Config("netpol") (netpol/pulumi_config.py): what the engine passed, project
# defaults included; the offline commands read the same files themselves (netpol.config.load_config).
loaded = build_config(stack, f"Pulumi.{stack}.yaml", read_pulumi_config())  # raises before any resource
for warning in loaded.warnings:
    pulumi.log.warn(warning)
manifests = build_manifests(loaded.config)
sdk_runtime.freeze_built_objects()  # what is built lives to the end: keep it out of the GC's walks
provider = kubernetes_provider(loaded.config)
direct = loaded.config.applyMode == "direct"
objects = []
for component in COMPONENTS:
    mine = [m for m in manifests if m.component == component]
    objects += COMPONENT_CLASSES[component](component, mine, provider, direct=direct).objects
publish_tree(loaded.config, manifests, objects)  # GitOps stacks: the published tree, on `pulumi up` only
pulumi.export("objects", len(manifests))
