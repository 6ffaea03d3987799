"""netpol: the cluster's Cilium network policy, declared (README.md).

A regular package (not a namespace package): `pip install .` ships it whole, and `netpol diff` can
run an older revision's own copy (`python -m netpol.diff.revision` with that revision first on
PYTHONPATH) without the installed one filling in for a module the revision lacks.
"""
