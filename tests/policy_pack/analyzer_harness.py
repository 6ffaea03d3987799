"""Drive the policy pack exactly as the Pulumi engine does, without the Pulumi CLI.

What the engine does for `pulumi preview --policy-pack policies` with a Python pack (pulumi
`pkg/resource/plugin/analyzer_plugin.go` NewPolicyAnalyzer, and the `pulumi-analyzer-policy-python`
shim from `sdk/python/dist`), and what this harness reproduces:

1. Reads `policies/PulumiPolicy.yaml`; runtime `python` → the legacy shim
   `pulumi-analyzer-policy-python <engine-address> . -virtualenv=../.venv`, started with cwd = the
   pack folder and env = os.environ + PULUMI_CONFIG (the stack config as a JSON map of strings),
   PULUMI_ORGANIZATION, PULUMI_PROJECT, PULUMI_STACK, PULUMI_DRY_RUN ("true"/"false").
2. The shim resolves the virtualenv against $PWD, prepends `<venv>/bin` to PATH, unsets PYTHONHOME
   and runs `<venv>/bin/python -u -m pulumi.policy "$1" "$2"` (so the `-virtualenv=` argument is
   dropped). `pulumi.policy` runs `__main__.py`; `PolicyPack(...)` starts a gRPC server on
   127.0.0.1:0 and prints the port on stdout.
3. The engine dials it and calls Handshake (pulumi-policy answers UNIMPLEMENTED: fine), then
   ConfigureStack, GetAnalyzerInfo, GetPluginInfo, Configure with the reconciled pack config (every
   policy: its enforcement level, the schema defaults, then `--policy-pack-config` on top, validated
   against the schemas), Analyze once per resource (inputs, options, provider) and AnalyzeStack with
   every resource at the end.

The engine address: pulumi.policy requires it as an argument but (pulumi 3.272 / pulumi-policy 1.21)
never dials it; the harness still serves a minimal fake Engine service there (Log, Get/SetRootResource)
so the address is a live endpoint and any log the pack might send is captured (`engine.logs`).

Properties are marshalled as the engine does: a protobuf Struct (every number becomes a double).
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import time
from concurrent import futures
from copy import deepcopy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import grpc
import jsonschema
import yaml
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc, engine_pb2, engine_pb2_grpc

ROOT = Path(__file__).resolve().parents[2]
POLICY_DIR = ROOT / "policies"
PROJECT = "network-policy"
K8S_PROVIDER = "pulumi:providers:kubernetes"
K8S_VERSION = "4.34.2"
STACK_TYPE = "pulumi:pulumi:Stack"
GRPC_OPTIONS = [("grpc.max_receive_message_length", 400 * 1024 * 1024),
                ("grpc.max_send_message_length", 400 * 1024 * 1024)]
LEVELS = {analyzer_pb2.ADVISORY: "advisory", analyzer_pb2.MANDATORY: "mandatory",
          analyzer_pb2.DISABLED: "disabled", analyzer_pb2.REMEDIATE: "remediate"}
LEVEL_VALUES = {v: k for k, v in LEVELS.items()}


MAX_ARG_STRLEN = 131072  # Linux: the longest single argument or environment string exec accepts


class EnvironmentTooLarge(RuntimeError):
    """The engine's PULUMI_CONFIG (the whole stack config) is too large to start a process with."""


# --- resources as the engine knows them ------------------------------------------------------------

def urn(stack: str, type_: str, name: str, project: str = PROJECT) -> str:
    return f"urn:pulumi:{stack}::{project}::{type_}::{name}"


@dataclass
class Resource:
    type: str
    name: str
    urn: str
    properties: dict[str, Any]
    provider: "Resource | None" = None
    parent: str = ""

    @property
    def id(self) -> str:  # what a provider reference carries after the URN
        return f"{self.name}-id"


def stack_resource(stack: str, project: str = PROJECT) -> Resource:
    return Resource(STACK_TYPE, f"{project}-{stack}", urn(stack, STACK_TYPE, f"{project}-{stack}", project), {})


def default_provider(stack: str) -> Resource:
    """The engine's default kubernetes provider (what a resource without `provider=` gets)."""
    name = "default_" + K8S_VERSION.replace(".", "_")
    return Resource(K8S_PROVIDER, name, urn(stack, K8S_PROVIDER, name), {"version": K8S_VERSION})


def provider(stack: str, name: str = "k8s", *, render_dir: str | None = None, context: str | None = None) -> Resource:
    props: dict[str, Any] = {"version": K8S_VERSION}
    if render_dir:
        props["renderYamlToDirectory"] = render_dir
    if context:
        props["context"] = context
    return Resource(K8S_PROVIDER, name, urn(stack, K8S_PROVIDER, name), props)


def type_token(manifest: Mapping[str, Any]) -> str:
    api, kind = str(manifest["apiVersion"]), str(manifest["kind"])
    group, _, version = api.rpartition("/")
    return f"kubernetes:{group or 'core'}/{version}:{kind}"


def manifest_resource(stack: str, manifest: Mapping[str, Any], prov: Resource | None, name: str | None = None
                      ) -> Resource:
    """A manifest as pulumi-kubernetes registers it (CustomResource / Namespace: inputs = the object)."""
    md = manifest.get("metadata") or {}
    n = name or "-".join(x for x in (md.get("namespace"), md.get("name")) if x) or "unnamed"
    t = type_token(manifest)
    return Resource(t, n, urn(stack, t, n), deepcopy(dict(manifest)), prov)


def from_mock_resources(stack: str, records: Iterable[Any]) -> list[Resource]:
    """`tests.program_mocks.MockResource`s (what the program registered under the SDK mocks) as the
    engine would hand them to analyzers: providers resolved by reference, "" → the default provider,
    the root Stack resource first."""
    records = list(records)
    by_urn: dict[str, Resource] = {}
    out: list[Resource] = [stack_resource(stack)]
    default: Resource | None = None
    for r in records:
        res = Resource(r.type_, r.name, r.urn, dict(r.inputs), None, getattr(r, "parent", "") or "")
        by_urn[r.urn] = res
    for r in records:
        res = by_urn[r.urn]
        if r.type_.startswith("pulumi:providers:") or not r.type_.startswith("kubernetes:") or \
                not getattr(r, "custom", True):
            out.append(res)
            continue
        ref = r.provider or ""
        prov_urn = ref.rsplit("::", 1)[0] if ref and ref not in by_urn else ref
        if prov_urn in by_urn:
            res.provider = by_urn[prov_urn]
        else:
            if default is None:
                default = default_provider(stack)
                out.insert(1, default)
            res.provider = default
        out.append(res)
    return out


# --- marshalling -----------------------------------------------------------------------------------

def to_struct(props: Mapping[str, Any]) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    json_format.ParseDict(json.loads(json.dumps(props)), s)
    return s


def _options(r: Resource) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(
        parent=r.parent, customTimeouts=analyzer_pb2.AnalyzerResourceOptions.CustomTimeouts())


def _provider(r: Resource) -> analyzer_pb2.AnalyzerProviderResource | None:
    if r.provider is None:
        return None
    p = r.provider
    return analyzer_pb2.AnalyzerProviderResource(type=p.type, properties=to_struct(p.properties), urn=p.urn, name=p.name)


def analyze_request(r: Resource) -> analyzer_pb2.AnalyzeRequest:
    req = analyzer_pb2.AnalyzeRequest(type=r.type, properties=to_struct(r.properties), urn=r.urn, name=r.name,
                                      options=_options(r))
    prov = _provider(r)
    if prov is not None:
        req.provider.CopyFrom(prov)
    return req


def stack_request(resources: Sequence[Resource]) -> analyzer_pb2.AnalyzeStackRequest:
    out = []
    for r in resources:
        ar = analyzer_pb2.AnalyzerResource(type=r.type, properties=to_struct(r.properties), urn=r.urn, name=r.name,
                                           options=_options(r), parent=r.parent)
        prov = _provider(r)
        if prov is not None:
            ar.provider.CopyFrom(prov)
        out.append(ar)
    return analyzer_pb2.AnalyzeStackRequest(resources=out)


@dataclass(frozen=True)
class Diagnostic:
    policy: str
    enforcement: str
    urn: str
    message: str
    pack: str
    description: str

    @staticmethod
    def of(d: analyzer_pb2.AnalyzeDiagnostic) -> "Diagnostic":
        return Diagnostic(d.policyName, LEVELS[d.enforcementLevel], d.urn, d.message, d.policyPackName, d.description)


# --- the fake engine -------------------------------------------------------------------------------

class FakeEngine(engine_pb2_grpc.EngineServicer):
    def __init__(self) -> None:
        self.logs: list[engine_pb2.LogRequest] = []
        self.root = ""

    def Log(self, request, context):
        self.logs.append(request)
        return empty_pb2.Empty()

    def GetRootResource(self, request, context):
        return engine_pb2.GetRootResourceResponse(urn=self.root)

    def SetRootResource(self, request, context):
        self.root = request.urn
        return engine_pb2.SetRootResourceResponse()


# --- config reconciliation (pulumi pkg/resource/analyzer/config.go) --------------------------------

def reconcile_config(info: analyzer_pb2.AnalyzerInfo, given: Mapping[str, Any] | None) -> dict[str, tuple[str, dict]]:
    """{policy: (enforcement level, properties)} as the engine computes it before Configure: each
    policy's own level and its schema defaults, then `all`, then the given per-policy config;
    validated against each policy's schema (+ the injected enforcementLevel property)."""
    result: dict[str, tuple[str, dict]] = {}
    schemas: dict[str, dict] = {}
    for p in info.policies:
        props_schema = json_format.MessageToDict(p.configSchema.properties) if p.HasField("configSchema") else {}
        required = list(p.configSchema.required) if p.HasField("configSchema") else []
        defaults = {k: v["default"] for k, v in props_schema.items() if isinstance(v, dict) and "default" in v}
        result[p.name] = (LEVELS[p.enforcementLevel], defaults)
        schema = {"type": "object", "properties": {**props_schema, "enforcementLevel": {
            "type": "string", "enum": ["advisory", "mandatory", "remediate", "disabled"]}}}
        if required:
            schema["required"] = required
        schemas[p.name] = schema
    given = dict(given or {})
    if isinstance(given.get("all"), str):
        result = {k: (given["all"], v) for k, (_, v) in result.items()}
    for name, cfg in given.items():
        if name == "all":
            continue
        level, props = result.get(name, ("advisory", {}))
        if isinstance(cfg, str):
            level = cfg
        elif isinstance(cfg, Mapping):
            cfg = dict(cfg)
            level = cfg.pop("enforcementLevel", level)
            props = {**props, **cfg}
        else:
            raise ValueError(f"parsing {name!r}: {cfg!r} is not a valid value; must be a string or object")
        result[name] = (level, props)
    errors = []
    for name, (_, props) in result.items():
        if name in schemas:
            for e in jsonschema.Draft7Validator(schemas[name]).iter_errors(props):
                errors.append(f"{name}: {e.message}")
    if errors:
        raise ValueError("policy pack config is invalid: " + "; ".join(errors))
    return result


# --- the pack process ------------------------------------------------------------------------------

@dataclass
class PolicyPackProcess:
    stack: str = "dev"
    project: str = PROJECT
    pack_dir: Path = POLICY_DIR
    dry_run: bool = True
    stack_config: Mapping[str, Any] | None = None
    pack_config: Mapping[str, Any] | None = None
    organization: str = "organization"
    startup_timeout: float = 60.0
    proc: subprocess.Popen | None = field(default=None, init=False)
    port: int = field(default=0, init=False)
    info: analyzer_pb2.AnalyzerInfo | None = field(default=None, init=False)
    engine: FakeEngine = field(default_factory=FakeEngine, init=False)
    argv: list[str] = field(default_factory=list, init=False)

    def _virtualenv(self) -> Path:
        meta = yaml.safe_load((self.pack_dir / "PulumiPolicy.yaml").read_text())
        runtime = meta["runtime"]
        assert (runtime if isinstance(runtime, str) else runtime["name"]) == "python"
        venv = str((runtime.get("options") or {}).get("virtualenv", "")) if isinstance(runtime, dict) else ""
        assert venv, "PulumiPolicy.yaml must name the virtualenv (runtime.options.virtualenv)"
        p = Path(venv.rstrip("/"))
        return p if p.is_absolute() else (self.pack_dir / p)

    def start(self) -> "PolicyPackProcess":
        self._engine_server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        engine_pb2_grpc.add_EngineServicer_to_server(self.engine, self._engine_server)
        engine_port = self._engine_server.add_insecure_port("127.0.0.1:0")
        self._engine_server.start()
        self.engine_address = f"127.0.0.1:{engine_port}"

        venv = self._virtualenv()
        python = venv / "bin" / "python"
        if not python.exists():
            raise RuntimeError(f'"{venv}" doesn\'t appear to be a virtual environment')
        env = dict(os.environ)
        env.pop("PYTHONHOME", None)
        env["PATH"] = f"{venv}/bin:{env.get('PATH', '')}"
        if self.stack_config:
            env["PULUMI_CONFIG"] = json.dumps(
                {k: v if isinstance(v, str) else json.dumps(v) for k, v in self.stack_config.items()})
        env["PULUMI_ORGANIZATION"] = self.organization
        env["PULUMI_PROJECT"] = self.project
        env["PULUMI_STACK"] = self.stack
        env["PULUMI_DRY_RUN"] = "true" if self.dry_run else "false"
        # the shim passes on "$1" "$2" only: the engine address and the program (".")
        self.argv = [str(python), "-u", "-m", "pulumi.policy", self.engine_address, "."]
        try:
            self.proc = subprocess.Popen(self.argv, cwd=self.pack_dir, env=env, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE)
        except OSError as e:
            if e.errno != 7:  # E2BIG
                raise
            big = max(env, key=lambda k: len(env[k]))
            raise EnvironmentTooLarge(
                f"{big} is {len(env[big]):,} bytes: Linux refuses any environment string over "
                f"{MAX_ARG_STRLEN:,} bytes (E2BIG), so the Pulumi engine could not start the policy pack "
                "with this stack config either") from e
        self.port = self._read_port()
        self.channel = grpc.insecure_channel(f"127.0.0.1:{self.port}", options=GRPC_OPTIONS)
        grpc.channel_ready_future(self.channel).result(timeout=self.startup_timeout)
        self.stub = analyzer_pb2_grpc.AnalyzerStub(self.channel)
        self._engine_sequence()
        return self

    def _read_port(self) -> int:
        assert self.proc is not None and self.proc.stdout is not None
        deadline = time.monotonic() + self.startup_timeout
        line = b""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                line = self.proc.stdout.readline()
                break
            if self.proc.poll() is not None:
                break
        if not line.strip().isdigit():
            self.close()
            err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
            raise RuntimeError(f"policy pack did not print its port (got {line!r}); stderr:\n{err}")
        return int(line)

    def _engine_sequence(self) -> None:
        try:
            self.stub.Handshake(analyzer_pb2.AnalyzerHandshakeRequest(
                engine_address=self.engine_address, root_directory=str(self.pack_dir),
                program_directory=str(self.pack_dir)))
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.UNIMPLEMENTED:
                raise
        self.stub.ConfigureStack(analyzer_pb2.AnalyzerStackConfigureRequest(
            stack=self.stack, project=self.project, organization=self.organization, dry_run=self.dry_run,
            config={k: v if isinstance(v, str) else json.dumps(v) for k, v in (self.stack_config or {}).items()}))
        self.info = self.stub.GetAnalyzerInfo(empty_pb2.Empty())
        self.plugin_info = self.stub.GetPluginInfo(empty_pb2.Empty())
        self.configure(self.pack_config)

    def configure(self, pack_config: Mapping[str, Any] | None) -> None:
        assert self.info is not None
        reconciled = reconcile_config(self.info, pack_config)
        req = analyzer_pb2.ConfigureAnalyzerRequest()
        for name, (level, props) in reconciled.items():
            req.policyConfig[name].CopyFrom(analyzer_pb2.PolicyConfig(
                enforcementLevel=LEVEL_VALUES[level], properties=to_struct(props)))
        self.stub.Configure(req)
        self.pack_config = pack_config

    def analyze(self, r: Resource) -> list[Diagnostic]:
        resp = self.stub.Analyze(analyze_request(r))
        return [Diagnostic.of(d) for d in resp.diagnostics]

    def analyze_stack(self, resources: Sequence[Resource]) -> list[Diagnostic]:
        resp = self.stub.AnalyzeStack(stack_request(resources))
        return [Diagnostic.of(d) for d in resp.diagnostics]

    def preview(self, resources: Sequence[Resource]) -> list[Diagnostic]:
        """What `pulumi preview --policy-pack` reports: Analyze for each custom resource (the engine
        analyzes resources as their steps are generated, providers included), then AnalyzeStack."""
        out: list[Diagnostic] = []
        for r in resources:
            if r.type != STACK_TYPE:
                out += self.analyze(r)
        return out + self.analyze_stack(resources)

    def close(self) -> None:
        ch = getattr(self, "channel", None)
        if ch is not None:
            ch.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr) if self.proc else ():
            if stream:
                stream.close()
        srv = getattr(self, "_engine_server", None)
        if srv is not None:
            srv.stop(0)

    def __enter__(self) -> "PolicyPackProcess":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
