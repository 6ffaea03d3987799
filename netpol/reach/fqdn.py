"""toFQDNs / DNS-rule name matching with Cilium's wildcard semantics.

Docs "DNS based" (https://docs.cilium.io/en/stable/security/policy/language/#dns-based) and the
CRD's `matchPattern` description:

* `matchName` matches the literal name (case-insensitive; a trailing "." is implied).
* `matchPattern`: `*` within a label allows 0 or more valid DNS characters except the `.` separator:
  `*.cilium.io` matches `sub.cilium.io` but not `cilium.io` nor `sub.sub.cilium.io`;
  `*cilium.io` matches `cilium.io` and `sub-cilium.io` but not `www.cilium.io`.
* `*` alone matches every name.
* `**.` is a prefix that matches all cascaded subdomains: `**.cilium.io` matches `app.cilium.io` and
  `test.app.cilium.io` but not `cilium.io`.
"""

from __future__ import annotations

import functools
import re

DNS_CHARS = "[-a-zA-Z0-9_]"


def normalize(name: str) -> str:
    return name.strip().lower().rstrip(".")


@functools.lru_cache(maxsize=4096)
def pattern_regex(pattern: str) -> re.Pattern[str]:
    p = normalize(pattern)
    if p == "*":
        return re.compile(r".*")
    prefix = ""
    if p.startswith("**."):
        prefix = rf"(?:{DNS_CHARS}+\.)+"
        p = p[3:]
    body = "".join(f"{DNS_CHARS}*" if ch == "*" else re.escape(ch) for ch in p)
    return re.compile(prefix + body)


def match_pattern(pattern: str, name: str) -> bool:
    return pattern_regex(pattern).fullmatch(normalize(name)) is not None


def match_name(literal: str, name: str) -> bool:
    return normalize(literal) == normalize(name)


def selector_matches(sel: dict, name: str) -> bool:
    """A toFQDNs / rules.dns entry `{matchName: ...}` or `{matchPattern: ...}` against a name."""
    if not isinstance(sel, dict):
        return False
    if sel.get("matchName") is not None and match_name(str(sel["matchName"]), name):
        return True
    if sel.get("matchPattern") is not None and match_pattern(str(sel["matchPattern"]), name):
        return True
    return False
