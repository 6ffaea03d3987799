"""Read a live cluster into the reachability engine's inputs: `--kubeconfig PATH` / `--context NAME`.

    from netpol.live import load_live
    policies, inventory = load_live(kubeconfig="~/.kube/config", context="prod", namespaces=["shop"])

`load_live` returns the same (PolicySet, Inventory) pair `--policies DIR --inventory FILE` builds, so
every command evaluates a cluster exactly as it evaluates files:

* namespaces and their labels, pods by name and labels (a pod without labels still counts) -> the
  Inventory (netpol/reach/inventory.py), through `parse_inventory`, the inventory file's own parser;
* CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy (cilium.io/v2, CustomObjectsApi) and
  NetworkPolicy (networking.k8s.io/v1) -> `PolicySet.from_manifests`, the loader behind
  `--policies DIR` (netpol/reach/loader.py): the same kinds compiled, the same documents refused.

Reading is the official Kubernetes Python client (`kubernetes`), never kubectl. Every read is a list
call with paging (`limit` / `continue`); the five lists run concurrently; pods and namespaces are
asked for as metadata only (`PartialObjectMetadataList`, what `kubectl get -o name` uses), and the
bodies are parsed as plain JSON rather than into the client's typed models. `namespaces` (the
`--namespace` filter) limits which namespaces' pods and namespaced policies (CNP, NetworkPolicy)
are read; cluster-wide policies are always read.

Errors (`LiveError`, a ReachInputError: exit 2 with one line, never a traceback): a kubeconfig that
is missing or invalid, a context that is not in it, a cluster that cannot be reached, credentials
refused (401), a read that RBAC forbids (403: names the resource and the user), a namespace of the
filter that does not exist. A cluster without Cilium's CRDs is not an error: the cilium.io lists
answer 404, a warning says so, and the Kubernetes NetworkPolicies are still evaluated.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from netpol.reach.engine import PolicySet
from netpol.reach.errors import ReachInputError
from netpol.reach.inventory import Inventory, parse_inventory

__all__ = ["LiveError", "ClusterObjects", "load_live", "read_cluster"]

PAGE = 500  # kubectl's default chunk size
CILIUM_GROUP, CILIUM_VERSION = "cilium.io", "v2"
CNP_PLURAL, CCNP_PLURAL = "ciliumnetworkpolicies", "ciliumclusterwidenetworkpolicies"
PROMETHEUS_RULE = ("monitoring.coreos.com", "v1", "prometheusrules")
METADATA_ONLY = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
METADATA_ONLY_ONE = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json"
CONNECT_TIMEOUT, READ_TIMEOUT = 10.0, 60.0
KEEP_METADATA = ("name", "namespace", "labels", "annotations")


class LiveError(ReachInputError):
    """A cluster could not be read: bad kubeconfig/context, unreachable, 401/403, bad filter."""


@dataclass
class ClusterObjects:
    """What was read from a cluster, before it becomes engine inputs."""

    source: str  # "context NAME (SERVER)"
    namespaces: dict[str, dict[str, str]]  # name -> labels
    pods: list[tuple[str, str, dict[str, str]]]  # (namespace, name, labels)
    policies: list[dict]  # CNP, CCNP, NetworkPolicy documents, with apiVersion and kind
    warnings: list[str] = field(default_factory=list)
    namespace_objects: list[dict] = field(default_factory=list)  # kind Namespace documents
    prometheus_rules: list[dict] = field(default_factory=list)  # read only when asked (netpol check)

    def manifests(self) -> list[dict]:
        """Every object read, as documents: what `netpol check` runs the pack's rules on."""
        return self.namespace_objects + self.policies + self.prometheus_rules

    def inventory(self) -> Inventory:
        return parse_inventory({
            "namespaces": {ns: {"labels": labels} for ns, labels in self.namespaces.items()},
            "pods": [{"namespace": ns, "name": name, "labels": labels} for ns, name, labels in self.pods
                     if ns in self.namespaces],
        }, self.source)

    def policy_set(self, **kwargs: Any) -> PolicySet:
        ps = PolicySet.from_manifests(self.policies, source=self.source, **kwargs)
        ps.warnings[:0] = self.warnings
        return ps


def load_live(kubeconfig: str | os.PathLike | None = None, context: str | None = None,
              namespaces: Sequence[str] = (), **policy_kwargs: Any) -> tuple[PolicySet, Inventory]:
    """The cluster's policies and endpoints, as `--policies DIR --inventory FILE` would give them.
    Raises LiveError (exit 2) when the cluster cannot be read."""
    objs = read_cluster(kubeconfig, context, namespaces)
    return objs.policy_set(**policy_kwargs), objs.inventory()


# --- the client ----------------------------------------------------------------------------------

@dataclass
class _Target:
    api: Any  # kubernetes.client.ApiClient
    context: str
    user: str
    server: str
    kubeconfig: str

    @property
    def source(self) -> str:
        return f"context {self.context} ({self.server})"


def _kubeconfig_label(kubeconfig: str | os.PathLike | None) -> str:
    if kubeconfig is not None:
        return str(kubeconfig)
    return os.environ.get("KUBECONFIG") or "~/.kube/config"


def connect(kubeconfig: str | os.PathLike | None = None, context: str | None = None) -> _Target:
    """An ApiClient for the kubeconfig's context; LiveError for a bad file or an unknown context."""
    from kubernetes import config as kconfig
    from kubernetes.config.config_exception import ConfigException

    label = _kubeconfig_label(kubeconfig)
    path = os.path.expanduser(str(kubeconfig)) if kubeconfig is not None else None
    if path is not None and not os.path.isfile(path):
        raise LiveError(f"kubeconfig {label}: file not found")
    try:
        contexts, current = kconfig.list_kube_config_contexts(path)
    except ConfigException as e:
        raise LiveError(f"kubeconfig {label}: {_config_reason(e)}") from None
    except Exception as e:  # noqa: BLE001 - unreadable, not YAML, not a mapping: the client raises anything
        raise LiveError(f"kubeconfig {label}: cannot be read as a kubeconfig ({type(e).__name__}: "
                        f"{_first_line(e)})") from None
    names = [c.get("name") for c in contexts or [] if isinstance(c, dict)]
    chosen = next((c for c in contexts or [] if isinstance(c, dict) and c.get("name") == context), None) \
        if context is not None else current
    if context is not None and chosen is None:
        raise LiveError(f"kubeconfig {label}: context {context!r} not found; valid: {', '.join(map(str, names)) or '(none)'}")
    if not chosen:
        raise LiveError(f"kubeconfig {label}: no current-context; give --context NAME "
                        f"(valid: {', '.join(map(str, names)) or '(none)'})")
    ctx_name = str(chosen.get("name"))
    user = str((chosen.get("context") or {}).get("user") or "?")
    from kubernetes.client import Configuration

    conf = type.__call__(Configuration)  # a fresh one, not a copy of the process-wide default
    conf.retries = 0  # a refused connection is an answer, not something to retry
    try:
        api = kconfig.new_client_from_config(config_file=path, context=ctx_name, persist_config=False,
                                             client_configuration=conf)
    except ConfigException as e:
        raise LiveError(f"kubeconfig {label}, context {ctx_name}: {_config_reason(e)}") from None
    except Exception as e:  # noqa: BLE001 - e.g. a certificate file the kubeconfig names is missing
        raise LiveError(f"kubeconfig {label}, context {ctx_name}: {_first_line(e)}") from None
    return _Target(api, ctx_name, user, str(api.configuration.host), label)


def _first_line(e: BaseException) -> str:
    s = str(e).strip()
    return s.splitlines()[0] if s else type(e).__name__


def _config_reason(e: BaseException) -> str:
    s = _first_line(e)
    return s.replace("Invalid kube-config file. ", "invalid kubeconfig: ")


# --- reading --------------------------------------------------------------------------------------

class _Missing(Exception):
    """A 404 on a list: the resource type is not served (a CRD that is not installed)."""


def _call_json(target: _Target, what: str, fn: Callable[..., Any], *args: Any, accept: str | None = None,
               **kwargs: Any) -> dict:
    """One API call returning its JSON body; every failure becomes a LiveError (404: _Missing)."""
    import orjson
    import urllib3
    from kubernetes.client.exceptions import ApiException

    headers = {"Accept": accept} if accept else None
    try:
        resp = fn(*args, _preload_content=False, _request_timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
                  _headers=headers, **kwargs)
        body = resp.data
    except ApiException as e:
        status = getattr(e, "status", None)
        if status == 404:
            raise _Missing(what) from None
        if not status:  # the REST layer's own failures (TLS): no HTTP answer at all
            raise LiveError(f"cannot reach the cluster of {target.source}: {_net_reason(Exception(e.reason))}") from None
        raise LiveError(_api_error(target, what, e)) from None
    except urllib3.exceptions.HTTPError as e:
        raise LiveError(f"cannot reach the cluster of {target.source}: {_net_reason(e)}") from None
    except OSError as e:
        raise LiveError(f"cannot reach the cluster of {target.source}: {_first_line(e)}") from None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise LiveError(f"{target.source}: {what}: the server's answer is not JSON "
                        f"({body[:80]!r}); is {target.server} a Kubernetes API server?") from None


def _net_reason(e: BaseException) -> str:
    reason = getattr(e, "reason", None) or e
    s = _first_line(reason)
    low = s.lower()
    if "connection refused" in low:
        return "connection refused (is the API server running, and is the kubeconfig's server right?)"
    if "name or service not known" in low or "nodename nor servname" in low or "failed to resolve" in low \
            or "temporary failure in name resolution" in low:
        return f"the server's host name does not resolve ({s})"
    if "timed out" in low or "timeout" in low:
        return f"no answer within {CONNECT_TIMEOUT:.0f} s ({s})"
    if "certificate" in low or "ssl" in low:
        return f"TLS failed ({s})"
    return s


def _api_error(target: _Target, what: str, e: Any) -> str:
    import orjson

    message = ""
    try:
        message = str(orjson.loads(e.body or b"{}").get("message") or "")
    except (orjson.JSONDecodeError, AttributeError, TypeError):
        message = (str(e.body or "")[:200]).strip()
    status = e.status
    if status == 401:
        return (f"{target.source}: the API server refused the credentials of kubeconfig user {target.user!r} "
                f"(401 Unauthorized) while listing {what}")
    if status == 403:
        return (f"{target.source}: forbidden to read {what} as kubeconfig user {target.user!r} (403): "
                f"{message or e.reason}; netpol needs get/list on namespaces, pods, networkpolicies, "
                "ciliumnetworkpolicies and ciliumclusterwidenetworkpolicies")
    return f"{target.source}: listing {what} failed: {status} {e.reason}" + (f": {message}" if message else "")


def _list_all(target: _Target, what: str, fn: Callable[..., Any], *args: Any, accept: str | None = None,
              **kwargs: Any) -> list[dict]:
    """Every item of a list call, page by page (`limit` / `continue`)."""
    items: list[dict] = []
    token: str | None = None
    while True:
        page = _call_json(target, what, fn, *args, accept=accept, limit=PAGE,
                          **({"_continue": token} if token else {}), **kwargs)
        items.extend(page.get("items") or [])
        token = (page.get("metadata") or {}).get("continue")
        if not token:
            return items


class _RawGet:
    """GET on a core path through the client's own ApiClient (auth, TLS, proxy from the kubeconfig),
    with the generated APIs' calling convention. CoreV1Api / NetworkingV1Api are not used: importing
    them builds ~300 pydantic models (2-4 s here), more than the whole read of a 1,000-namespace cluster."""

    def __init__(self, api: Any):
        self.api = api

    def __call__(self, path: str, *, _preload_content: bool = False, _request_timeout: Any = None,
                 _headers: dict | None = None, limit: int | None = None, _continue: str | None = None) -> Any:
        from kubernetes.client.exceptions import ApiException

        query: list[tuple[str, Any]] = []
        if limit is not None:
            query.append(("limit", limit))
        if _continue:
            query.append(("continue", _continue))
        headers = dict(_headers or {})
        headers.setdefault("Accept", "application/json")
        params = self.api.param_serialize("GET", path, query_params=query, header_params=headers,
                                          auth_settings=["BearerToken"])
        resp = self.api.call_api(*params, _request_timeout=_request_timeout)
        if not 200 <= resp.status <= 299:
            resp.read()
            raise ApiException.from_response(http_resp=resp, body=None, data=None)
        return resp.response


def _policy(doc: dict, api_version: str, kind: str) -> dict:
    meta = doc.get("metadata") or {}
    out = {"apiVersion": api_version, "kind": kind,
           "metadata": {k: meta[k] for k in KEEP_METADATA if meta.get(k) is not None}}
    for k, v in doc.items():
        if k not in ("apiVersion", "kind", "metadata", "status"):
            out[k] = v
    return out


def _labels(item: dict) -> dict[str, str]:
    labels = (item.get("metadata") or {}).get("labels") or {}
    return {str(k): str(v) for k, v in labels.items()}


def read_cluster(kubeconfig: str | os.PathLike | None = None, context: str | None = None,
                 namespaces: Sequence[str] = (), prometheus_rules: bool = False) -> ClusterObjects:
    """List namespaces, pods, NetworkPolicies, CNPs and CCNPs (concurrently, paged); with
    `prometheus_rules`, the PrometheusRules too (monitoring.coreos.com/v1; 404: a warning)."""
    target = connect(kubeconfig, context)
    from kubernetes.client import CustomObjectsApi

    custom = CustomObjectsApi(target.api)
    core_get = _RawGet(target.api)
    only = list(dict.fromkeys(n for n in namespaces if n))

    def cilium(plural: str, namespace: str | None = None) -> Callable[[], list[dict]]:
        what = f"{plural}.{CILIUM_GROUP}"
        if namespace is None:
            return lambda: _list_all(target, what, custom.list_cluster_custom_object, CILIUM_GROUP,
                                     CILIUM_VERSION, plural)
        return lambda: _list_all(target, f"{what} in namespace {namespace}", custom.list_namespaced_custom_object,
                                 CILIUM_GROUP, CILIUM_VERSION, namespace, plural)

    jobs: dict[str, Callable[[], list[dict]]] = {}
    if only:
        for ns in only:
            jobs[f"ns:{ns}"] = (lambda ns=ns: [_call_json(target, f"namespace {ns}", core_get,
                                                          f"/api/v1/namespaces/{ns}", accept=METADATA_ONLY_ONE)])
            jobs[f"pods:{ns}"] = (lambda ns=ns: _list_all(target, f"pods in namespace {ns}", core_get,
                                                          f"/api/v1/namespaces/{ns}/pods", accept=METADATA_ONLY))
            jobs[f"netpol:{ns}"] = (lambda ns=ns: _list_all(
                target, f"networkpolicies.networking.k8s.io in namespace {ns}", core_get,
                f"/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies"))
            jobs[f"cnp:{ns}"] = cilium(CNP_PLURAL, ns)
    else:
        jobs["ns:"] = lambda: _list_all(target, "namespaces", core_get, "/api/v1/namespaces", accept=METADATA_ONLY)
        jobs["pods:"] = lambda: _list_all(target, "pods (all namespaces)", core_get, "/api/v1/pods",
                                          accept=METADATA_ONLY)
        jobs["netpol:"] = lambda: _list_all(target, "networkpolicies.networking.k8s.io (all namespaces)", core_get,
                                            "/apis/networking.k8s.io/v1/networkpolicies")
        jobs["cnp:"] = cilium(CNP_PLURAL)
    jobs["ccnp:"] = cilium(CCNP_PLURAL)
    if prometheus_rules:
        group, version, plural = PROMETHEUS_RULE
        for ns in only or [None]:
            what = f"{plural}.{group}" + (f" in namespace {ns}" if ns else "")
            jobs[f"prom:{ns or ''}"] = (
                (lambda what=what: _list_all(target, what, custom.list_cluster_custom_object, group, version, plural))
                if ns is None else
                (lambda what=what, ns=ns: _list_all(target, what, custom.list_namespaced_custom_object, group,
                                                    version, ns, plural)))

    results: dict[str, list[dict] | BaseException] = {}
    with ThreadPoolExecutor(max_workers=min(8, len(jobs))) as pool:
        futures = {key: pool.submit(fn) for key, fn in jobs.items()}
        for key, fut in futures.items():
            try:
                results[key] = fut.result()
            except (LiveError, _Missing) as e:
                results[key] = e
            except Exception as e:  # noqa: BLE001 - whatever the client raises: one line, never a traceback
                results[key] = LiveError(f"{target.source}: reading {key.split(':')[0]} failed: "
                                         f"{type(e).__name__}: {_first_line(e)}")
    try:
        target.api.close()
    except Exception:  # noqa: BLE001 - closing a pool must not hide the answer
        pass

    # The first hard error wins, in a stable order (namespaces first: the clearest message).
    for key in jobs:
        r = results[key]
        if isinstance(r, LiveError):
            raise r
    for key in jobs:
        r = results[key]
        if isinstance(r, _Missing) and key.startswith(("ns:", "pods:", "netpol:")):
            if key.startswith("ns:") and only:
                raise LiveError(f"{target.source}: namespace {key[3:]!r} (--namespace) does not exist in this cluster")
            raise LiveError(f"{target.source}: the API server does not serve {r} (404)")

    warnings: list[str] = []
    missing_crds = []
    for plural, kind in ((CNP_PLURAL, "CiliumNetworkPolicy"), (CCNP_PLURAL, "CiliumClusterwideNetworkPolicy")):
        if any(isinstance(results[k], _Missing) for k in jobs if k.split(":")[0] == ("cnp" if plural == CNP_PLURAL else "ccnp")):
            missing_crds.append(kind)
    if missing_crds:
        warnings.append(
            f"{target.source}: the {' and '.join(missing_crds)} CRD{'s are' if len(missing_crds) > 1 else ' is'} "
            "not installed in this cluster (cilium.io/v2 answers 404): no Cilium policy was read; "
            "only Kubernetes NetworkPolicy is evaluated")

    if any(isinstance(results[k], _Missing) for k in jobs if k.startswith("prom:")):
        warnings.append(f"{target.source}: the PrometheusRule CRD (monitoring.coreos.com/v1) is not installed in "
                        "this cluster: no alert rule was read")

    def items(prefix: str) -> Iterable[dict]:
        for k in jobs:
            if k.split(":")[0] == prefix and isinstance(results[k], list):
                yield from results[k]  # type: ignore[misc]

    ns_labels: dict[str, dict[str, str]] = {}
    ns_objects: list[dict] = []
    for item in items("ns"):
        name = (item.get("metadata") or {}).get("name")
        if name:
            ns_labels[name] = _labels(item)
            ns_objects.append(_policy(item, "v1", "Namespace"))
    pods = []
    for item in items("pods"):
        meta = item.get("metadata") or {}
        if meta.get("name") and meta.get("namespace"):
            pods.append((meta["namespace"], meta["name"], _labels(item)))
    policies = [_policy(d, "networking.k8s.io/v1", "NetworkPolicy") for d in items("netpol")]
    policies += [_policy(d, f"{CILIUM_GROUP}/{CILIUM_VERSION}", "CiliumNetworkPolicy") for d in items("cnp")]
    policies += [_policy(d, f"{CILIUM_GROUP}/{CILIUM_VERSION}", "CiliumClusterwideNetworkPolicy") for d in items("ccnp")]
    policies.sort(key=lambda d: (d["kind"], d["metadata"].get("namespace") or "", d["metadata"].get("name") or ""))
    ns_order = sorted(ns_labels)
    pods.sort()
    rules = sorted((_policy(d, "/".join(PROMETHEUS_RULE[:2]), "PrometheusRule") for d in items("prom")),
                   key=lambda d: (d["metadata"].get("namespace") or "", d["metadata"].get("name") or ""))
    return ClusterObjects(target.source, {n: ns_labels[n] for n in ns_order}, pods, policies, warnings,
                          sorted(ns_objects, key=lambda d: d["metadata"].get("name") or ""), rules)


# --- the commands' options ------------------------------------------------------------------------

@dataclass(frozen=True)
class LiveSource:
    """`--kubeconfig PATH` / `--context NAME` / `--namespace NS`... as the commands pass them on."""

    kubeconfig: str | None = None
    context: str | None = None
    namespaces: tuple[str, ...] = ()

    def load(self, **policy_kwargs: Any) -> tuple[PolicySet, Inventory]:
        return load_live(self.kubeconfig, self.context, self.namespaces, **policy_kwargs)

    def read(self, prometheus_rules: bool = False) -> ClusterObjects:
        return read_cluster(self.kubeconfig, self.context, self.namespaces, prometheus_rules)


def live_source(kubeconfig: Any = None, context: str | None = None,
                namespaces: Iterable[str] | None = None) -> LiveSource | None:
    """None when the command reads no cluster (neither --kubeconfig nor --context given)."""
    ns = tuple(namespaces or ())
    if kubeconfig is None and context is None:
        if ns:
            raise LiveError("--namespace filters what is read from a cluster: give --kubeconfig PATH and/or "
                            "--context NAME too")
        return None
    return LiveSource(str(kubeconfig) if kubeconfig is not None else None, context, ns)
