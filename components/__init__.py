"""Pulumi ComponentResources. They only wrap the pure builders in `netpol.builders`: no policy logic here."""

from components.manifests import (
    AppExtras, AppNamespaces, Baselines, EscapeHatch, PlatformPolicies, Profiles, SharedAccess,
    ManifestComponent, COMPONENT_CLASSES, kubernetes_provider,
)
from components.publish import publish_tree

__all__ = [
    "AppExtras", "AppNamespaces", "Baselines", "EscapeHatch", "PlatformPolicies", "Profiles", "SharedAccess",
    "ManifestComponent", "COMPONENT_CLASSES", "kubernetes_provider", "publish_tree",
]
