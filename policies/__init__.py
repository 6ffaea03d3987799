"""netpol's CrossGuard policy pack (`PulumiPolicy.yaml`, `__main__.py`) and its rules (`policies.rules`),
shared with `netpol check`."""
