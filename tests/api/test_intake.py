"""The Alertmanager webhook (version 4): one incident per group, strict body."""

from __future__ import annotations

from tests.api.conftest import Api


def test_alertmanager_endpoint(api: Api) -> None:
    payload = {
        "receiver": "fenghuo",
        "status": "firing",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "FenghuoDown", "instance": "a"},
                "annotations": {"summary": "烽火 down"},
                "startsAt": "2026-11-01T21:42:32Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "",
                "fingerprint": "2fa196e92ee067c6",
            }
        ],
        "groupLabels": {"alertname": "FenghuoDown"},
        "commonLabels": {"alertname": "FenghuoDown"},
        "commonAnnotations": {"summary": "烽火 down"},
        "externalURL": "http://vm:19093",
        "version": "4",
        "groupKey": '{}:{alertname="FenghuoDown"}',
        "truncatedAlerts": 0,
    }
    first = api.post("/intake/alertmanager", json=payload)
    assert first.status_code == 200, first.get_json()
    again = api.post("/intake/alertmanager", json=payload)
    assert again.get_json() == {"incident_id": first.get_json()["incident_id"], "created": False}
    bad = api.post("/intake/alertmanager", json={**payload, "extra": 1})
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "extra"
    bad = api.post("/intake/alertmanager", json={**payload, "version": 4})
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "version"
