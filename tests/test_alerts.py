"""Issue 2: the escape-hatch alerts, proven with the real `promtool test rules`."""

from __future__ import annotations

import subprocess

import yaml

from netpol import names as N
from netpol.builders.escape_hatch import alerts

RULE = alerts("https://example.test/runbook.md")

TESTS = {
    "rule_files": ["rules.yaml"],
    "evaluation_interval": "1m",
    "tests": [
        {   # a namespace without the label never alerts
            "interval": "1m",
            "input_series": [
                {"series": 'kube_namespace_labels{namespace="calm"}', "values": "1x1600"},
                {"series": 'kube_namespace_labels{namespace="other", label_network_policy_homelab_enforcement="enabled"}',
                 "values": "1x1600"},
            ],
            "alert_rule_test": [
                {"eval_time": "10m", "alertname": N.ALERT_DISABLED, "exp_alerts": []},
                {"eval_time": "25h", "alertname": N.ALERT_DISABLED_LONG, "exp_alerts": []},
            ],
        },
        {   # disabled: nothing at 4m, warning from 5m, critical only from 24h
            "interval": "1m",
            "input_series": [
                {"series": 'kube_namespace_labels{namespace="shop", label_network_policy_homelab_enforcement="disabled"}',
                 "values": "1x1600"},
            ],
            "alert_rule_test": [
                {"eval_time": "4m", "alertname": N.ALERT_DISABLED, "exp_alerts": []},
                {"eval_time": "5m", "alertname": N.ALERT_DISABLED, "exp_alerts": [{
                    "exp_labels": {"severity": "warning", "namespace": "shop",
                                   "label_network_policy_homelab_enforcement": "disabled"},
                    "exp_annotations": {
                        "summary": "Network policy enforcement is disabled",
                        "description": "Namespace shop has network-policy enforcement disabled (escape hatch): all its traffic is allowed.",
                        "runbook_url": "https://example.test/runbook.md",
                    },
                }]},
                {"eval_time": "23h59m", "alertname": N.ALERT_DISABLED_LONG, "exp_alerts": []},
                {"eval_time": "24h", "alertname": N.ALERT_DISABLED_LONG, "exp_alerts": [{
                    "exp_labels": {"severity": "critical", "namespace": "shop",
                                   "label_network_policy_homelab_enforcement": "disabled"},
                    "exp_annotations": {
                        "summary": "Network policy enforcement has been disabled for over 24 hours",
                        "description": "Namespace shop has network-policy enforcement disabled (escape hatch): all its traffic is allowed.",
                        "runbook_url": "https://example.test/runbook.md",
                    },
                }]},
            ],
        },
    ],
}


def test_promtool_checks_and_tests_the_escape_hatch_alerts(tmp_path):
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(RULE["spec"]))
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(TESTS))
    check = subprocess.run(["promtool", "check", "rules", "rules.yaml"], cwd=tmp_path, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    res = subprocess.run(["promtool", "test", "rules", "tests.yaml"], cwd=tmp_path, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "SUCCESS" in res.stdout + res.stderr


def test_promtool_catches_a_wrong_expectation(tmp_path):
    """The harness can fail: expecting the critical alert at 5m is reported as a failure."""
    wrong = yaml.safe_load(yaml.safe_dump(TESTS))
    wrong["tests"][1]["alert_rule_test"][2]["eval_time"] = "5m"
    wrong["tests"][1]["alert_rule_test"][2]["exp_alerts"] = [{"exp_labels": {"severity": "critical"}}]
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(RULE["spec"]))
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(wrong))
    res = subprocess.run(["promtool", "test", "rules", "tests.yaml"], cwd=tmp_path, capture_output=True, text=True)
    assert res.returncode != 0


def test_alert_runbook_points_at_the_runbook_in_the_repo():
    from paths import ROOT
    from netpol.stack import load_stack

    cfg = load_stack("live")
    assert cfg.runbook_url.endswith(N.RUNBOOK_PATH)
    text = (ROOT / N.RUNBOOK_PATH).read_text()
    for step in ("Disable enforcement", "Verify", "Investigate", "Fix the policy through git", "Re-enable"):
        assert step in text
