"""The Prometheus rules and the Grafana dashboard (monitoring/) cover every
health check the module can raise: a check added to the module without its
alert fails here."""
import json
import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[3]
RULES = REPO / 'monitoring' / 'prometheus' / 'mirror_snapshot_alerts.yml'
DASHBOARD = REPO / 'monitoring' / 'grafana' / 'mirror-snapshot.json'


def raised_checks():
    """Every MIRROR_SNAPSHOT_* name the module's sources assign to a constant."""
    names = set()
    for source in (REPO / 'module' / 'mirror_snapshot').glob('*.py'):
        names |= set(re.findall(r"^[A-Z_]*CHECK = '(MIRROR_SNAPSHOT_[A-Z_]+)'", source.read_text(), re.M))
    return names


def test_the_module_raises_the_checks_this_test_knows_of():
    assert {'MIRROR_SNAPSHOT_NOT_RUNNING', 'MIRROR_SNAPSHOT_REPLAY_FAILED',
            'MIRROR_SNAPSHOT_SPLIT_BRAIN'} <= raised_checks()


def test_every_health_check_has_an_alert_rule():
    rules = yaml.safe_load(RULES.read_text())['groups'][0]['rules']
    alerted = set()
    for rule in rules:
        assert set(rule) >= {'alert', 'expr', 'labels', 'annotations'}, rule
        assert rule['labels']['severity'] in ('warning', 'critical'), rule
        assert rule['annotations']['summary'] and rule['annotations']['description'], rule
        alerted |= set(re.findall(r'ceph_health_detail\{name="(MIRROR_SNAPSHOT_[A-Z_]+)"\} == 1', rule['expr']))
    assert alerted == raised_checks()
    assert len({rule['alert'] for rule in rules}) == len(rules)


def test_the_dashboard_shows_every_check_by_name():
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t['expr'] for panel in dashboard['panels'] for t in panel['targets']]
    assert exprs and all('ceph_health_detail{name=~"MIRROR_SNAPSHOT_.*"}' in e for e in exprs)
    assert dashboard['uid'] and dashboard['title']
