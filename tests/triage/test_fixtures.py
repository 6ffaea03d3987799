"""The committed fixtures are what make_fixtures.py writes, and look like Hubble output."""

from __future__ import annotations

import orjson
from make_fixtures import FILES, render
from triage_helpers import FIXTURES


def test_fixtures_are_current():
    for name, data in render().items():
        assert (FIXTURES / name).read_bytes() == data, f"{name} is stale: run tests/triage/make_fixtures.py"


def test_fixture_records_have_the_hubble_fields():
    envelope = bare = 0
    for name in FILES:
        for line in (FIXTURES / name).read_bytes().splitlines():
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if not isinstance(obj, dict) or not ("flow" in obj or "verdict" in obj):
                continue
            if "flow" in obj:
                envelope += 1
                assert obj["node_name"] == obj["flow"]["node_name"] and obj["time"] == obj["flow"]["time"]
                f = obj["flow"]
            else:
                bare += 1
                f = obj
            assert f["verdict"] in ("FORWARDED", "DROPPED", "AUDIT")
            assert f["traffic_direction"] in ("EGRESS", "INGRESS")
            assert f["IP"]["ipVersion"] == "IPv4"
            for side in ("source", "destination"):
                ep = f[side]
                assert isinstance(ep["identity"], int)
                if "namespace" in ep:
                    assert f"k8s:io.kubernetes.pod.namespace={ep['namespace']}" in ep["labels"]
                    assert ep["pod_name"]
                else:
                    assert ep["labels"][0].startswith("reserved:")
                    assert ep["identity"] in (1, 2, 4, 6, 7)
            if f["verdict"] == "DROPPED":
                assert f["drop_reason_desc"] in ("POLICY_DENIED", "STALE_OR_UNROUTABLE_IP")
    assert envelope > 50 and bare > 20
