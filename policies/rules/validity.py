"""`cilium-policy-valid`: what Kubernetes or Cilium would refuse, or read otherwise than written.

The rule rests on the sources Kubernetes and Cilium themselves use, through the engine's
`netpol.reach.validate` (the reach engine leaves the same documents out of its verdicts):

* CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy: the real CRD schemas (jsonschema over the
  CRDs of cilium/cilium pkg/k8s/apis/cilium.io/client/crds/v2/, read from `../shared/crds` beside the
  repository or `$NETPOL_CRDS_DIR`): one of endpointSelector/nodeSelector, at least one rule section,
  ports typed as strings, the protocol enum (TCP, UDP, SCTP, VRRP, IGMP, ANY; case-sensitive), the
  selector operator enum (In, NotIn, Exists, DoesNotExist; `in` is not `In`), 40 ports per entry,
  string label values. Without jsonschema or the CRD files, the structural subset of
  `validate.cilium_api_problems` stands in.
* Then what the agent's `Rule.Sanitize` refuses (cilium pkg/policy/api/rule_validation.go): two L3
  peer kinds in one rule ("Combining X and Y is not supported yet"), `icmps` with `toPorts`, DNS rules
  on ingress, L7 rules on a port "0" or on a protocol other than TCP (DNS excepted), ports that do not
  parse (e.g. "70000"; port "0" is valid: every port, which `no-port-any` judges), unknown entities,
  CIDRs that do not parse, an `except` outside its CIDR.
* NetworkPolicy: Kubernetes' `ValidateNetworkPolicy` (pkg/apis/networking/validation/validation.go):
  ports 1-65535 or a port name, endPort only with a numeric port and not below it, protocols
  TCP/UDP/SCTP, one kind of peer (ipBlock or selectors), `except` a strict subset of `cidr`.
* Every kind: the apiVersion the kind is served under (`apiversion` is not `apiVersion`), a name.
* Read otherwise than written (accepted, but not what the author meant): In/NotIn without values
  and Exists/DoesNotExist with values (apimachinery `LabelSelectorAsSelector` refuses them; Cilium's
  CRD does not check), endPort below port (not a range).
* What Cilium's reader refuses before Sanitize (pkg/k8s/apis/cilium.io/v2/cnp_types.go `Parse`): a
  policy with neither `spec` nor `specs` (ErrEmptyCNP), a nodeSelector in a namespaced policy.
Values holding `${...}` substitution variables are not judged.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping

from netpol import apis
from netpol.reach import validate as V

from .base import MANDATORY, POLICY_KINDS, Context, Guardrail, GuardrailViolation, violation
from .cilium import as_int, as_list, is_map, iter_rules, rule_specs

NAME = "cilium-policy-valid"
SRC_SELECTOR = "apimachinery LabelSelectorAsSelector"


def _fix(p: V.Problem) -> str:
    m = p.message
    if "case-sensitive" in m and "operator" in p.path:
        return "write the operator as " + m.split("case-sensitive: ")[1].rstrip(")")
    if "apiVersion" in p.path:
        return "spell the key `apiVersion` and use the version the kind is served under"
    if "Requires" in p.path:
        return m.split("; write ", 1)[1] if "; write " in m else "remove the field and write the requirement into the peer selectors"
    if "combining" in m.lower():
        return "split it into one rule per peer kind"
    if "icmps" in m:
        return "put the ICMP types in a rule of their own"
    if "DNS rules are not allowed on ingress" in m:
        return "move the DNS rule to an egress rule towards kube-dns"
    if "not a string" in m or "is not of type 'string'" in m:
        return "quote the value: the field is a string"
    return f"make it valid as {p.source} requires"


def _violations(m: Mapping[str, Any], problems: list[V.Problem]) -> list[GuardrailViolation]:
    out, seen = [], set()
    for p in problems:
        if (p.path, p.message) in seen:
            continue
        seen.add((p.path, p.message))
        who = "the API server rejects the policy" if p.gate == "api" else "the Cilium agent does not import the policy"
        out.append(violation(m, p.path, f"{p.message} ({who}; {p.source})", _fix(p)))
    return out


def _selectors(m: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    for sp, spec in rule_specs(m):
        for k in ("endpointSelector", "nodeSelector"):
            if spec.get(k) is not None:
                yield f"{sp}.{k}", spec.get(k)
        for rp, _, r in iter_rules(sp, spec):
            for key in ("fromEndpoints", "toEndpoints", "fromNodes", "toNodes"):
                for i, s in enumerate(as_list(r.get(key))):
                    yield f"{rp}.{key}[{i}]", s


def _misread(m: Mapping[str, Any]) -> list[GuardrailViolation]:
    """Accepted by the API server and the agent, but not what it says."""
    out: list[GuardrailViolation] = []
    for path, sel in _selectors(m):
        if not is_map(sel):
            continue
        for i, e in enumerate(as_list(sel.get("matchExpressions"))):
            if not is_map(e):
                continue
            op, values, ep = e.get("operator"), as_list(e.get("values")), f"{path}.matchExpressions[{i}]"
            if op in ("In", "NotIn") and not values:
                out.append(violation(m, f"{ep}.values", f"operator {op} without values: the selector cannot be "
                                     f"converted ({SRC_SELECTOR}) and selects nothing", "list the values"))
            elif op in ("Exists", "DoesNotExist") and values:
                out.append(violation(m, f"{ep}.values", f"operator {op} takes no values ({SRC_SELECTOR})",
                                     "remove `values`"))
    for sp, spec in rule_specs(m):
        for rp, _, r in iter_rules(sp, spec):
            for j, tp in enumerate(as_list(r.get("toPorts"))):
                for k, p in enumerate(as_list(tp.get("ports")) if is_map(tp) else []):
                    if not is_map(p) or V.is_template(p.get("endPort")):
                        continue
                    start, end = as_int(p.get("port")), as_int(p.get("endPort"))
                    if start and end and end < start:
                        out.append(violation(m, f"{rp}.toPorts[{j}].ports[{k}].endPort",
                                             f"endPort {end} is below port {start}: this is not a range",
                                             "make endPort >= port"))
    return out


def check(m: Mapping[str, Any], ctx: Context) -> list[GuardrailViolation]:
    kind = m.get("kind")
    if kind not in V.POLICY_API_VERSIONS:
        return []
    doc = V.plain(m)
    problems = list(V.header_problems(doc))
    if kind == apis.NETWORK_POLICY:
        problems += V.np_api_problems(doc)
        return _violations(m, problems)
    crd = V.crd_problems(doc)
    problems += crd if crd is not None else list(V.cilium_api_problems(doc))
    problems += V.sanitize_problems(doc)
    return _violations(m, problems) + _misread(m)


RULE = Guardrail(
    name=NAME,
    description="Cilium and Kubernetes network policies are what the API server (CRD schema, NetworkPolicy "
                "validation) and the Cilium agent (Rule.Sanitize) accept, and say what they mean.",
    enforcement=MANDATORY,
    resource=check,
    kinds=POLICY_KINDS,
)
