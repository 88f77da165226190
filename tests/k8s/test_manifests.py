"""deploy/k8s: rendered by kustomize offline, validated against the Kubernetes schemas offline
(``kubernetes-validate`` ships them), and checked for what the issue asks: probes on the ports
that serve them, grace periods above the graceful shutdown, requests from the measured RSS, a
PodDisruptionBudget for dedupe, a Job for replay, Secrets for every password and ACL user.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from functools import cache
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.conftest import ROOT
from wiredesk.settings import WiredeskSettings

K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("base", "overlays/postgres", "overlays/production")
STAGES = ("ingest", "dedupe", "store")
SERVICES = (*STAGES, "api")
KUBERNETES_VERSION = "1.30.0"
"""The oldest Kubernetes release the manifests promise to work on (policy/v1, batch/v1)."""


def _kustomize_command() -> list[str]:
    kubectl = shutil.which("kubectl")
    if kubectl is not None:
        probe = subprocess.run([kubectl, "kustomize", "--help"], capture_output=True, check=False)
        if probe.returncode == 0:
            return [kubectl, "kustomize"]
    kustomize = shutil.which("kustomize")
    if kustomize is not None:
        return [kustomize, "build"]
    pytest.skip("neither `kubectl kustomize` nor `kustomize` is installed")


@cache
def render(overlay: str) -> tuple[dict[str, Any], ...]:
    result = subprocess.run(
        [*_kustomize_command(), str(K8S / overlay)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def find(docs: tuple[dict[str, Any], ...], kind: str, name: str) -> dict[str, Any]:
    for doc in docs:
        if doc["kind"] == kind and doc["metadata"]["name"] == name:
            return doc
    raise AssertionError(f"no {kind}/{name}")


def config(docs: tuple[dict[str, Any], ...]) -> dict[str, str]:
    data: dict[str, str] = find(docs, "ConfigMap", "wiredesk-config")["data"]
    return data


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    (only,) = deployment["spec"]["template"]["spec"]["containers"]
    return dict(only)


def measured_rss_mib() -> dict[str, float]:
    """The RSS per service measured by the benchmark (docs/performance.md) and, for the api, in
    the compose stack (docs/operations.md)."""
    perf = (ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    found = re.search(r"RSS ingest (\d+) MiB, dedupe (\d+) MiB, store\s+(\d+) MiB", perf)
    assert found, "docs/performance.md no longer states the RSS per service"
    ops = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    api = re.search(r"api RSS (\d+) MiB", ops)
    assert api, "docs/operations.md no longer states the api's RSS"
    ingest, dedupe, store = (float(v) for v in found.groups())
    return {"ingest": ingest, "dedupe": dedupe, "store": store, "api": float(api.group(1))}


def mib(quantity: str) -> float:
    units = {"Ki": 1 / 1024, "Mi": 1.0, "Gi": 1024.0}
    number, unit = re.fullmatch(r"(\d+)(Ki|Mi|Gi)", quantity).groups()  # type: ignore[union-attr]
    return int(number) * units[unit]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_validates_against_the_kubernetes_schemas(overlay: str) -> None:
    docs = render(overlay)
    assert {d["kind"] for d in docs} >= {"Deployment", "StatefulSet", "Job", "Secret"}
    for doc in docs:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_the_validator_rejects_a_misspelt_field() -> None:
    """The strict schemas catch what a YAML linter would not: a probe under the wrong name."""
    broken = yaml.safe_load(yaml.safe_dump(find(render("base"), "Deployment", "dedupe")))
    spec = broken["spec"]["template"]["spec"]["containers"][0]
    spec["readinesProbe"] = spec.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_probes_hit_the_health_endpoints_on_the_port_that_serves_them(overlay: str) -> None:
    docs = render(overlay)
    settings = config(docs)
    for name in SERVICES:
        main = container(find(docs, "Deployment", name))
        ports = {p["name"]: p["containerPort"] for p in main["ports"]}
        env = {e["name"]: e.get("value") for e in main.get("env", [])}
        served = int(
            env["WIREDESK_API_PORT"] if name == "api" else settings["WIREDESK_METRICS_PORT"]
        )
        for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
            http = main[probe]["httpGet"]
            assert http["path"] == path, (name, probe)
            assert ports[http["port"]] == served, (name, probe)
        if name in STAGES:  # liveness must not kill a stage that is still loading
            assert main["startupProbe"]["httpGet"]["path"] == "/healthz"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_grace_periods_cover_the_graceful_shutdown(overlay: str) -> None:
    """A stage's shutdown waits up to the graceful timeout for the batch in hand, then as long
    again for the reclaim pass in hand (wiredesk.service): the kubelet must wait longer."""
    docs = render(overlay)
    timeout = float(
        config(docs).get("WIREDESK_GRACEFUL_TIMEOUT_S")
        or WiredeskSettings.model_fields["graceful_timeout_s"].default
    )
    for name in STAGES:
        grace = find(docs, "Deployment", name)["spec"]["template"]["spec"][
            "terminationGracePeriodSeconds"
        ]
        assert grace >= 2 * timeout + 10, (name, grace, timeout)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_memory_requests_cover_the_measured_rss(overlay: str) -> None:
    docs = render(overlay)
    for name, rss in measured_rss_mib().items():
        resources = container(find(docs, "Deployment", name))["resources"]
        request = mib(resources["requests"]["memory"])
        limit = mib(resources["limits"]["memory"])
        assert rss <= request < rss * 2, (name, rss, request)
        assert limit >= request * 1.5, (name, request, limit)
        assert resources["requests"]["cpu"]


def test_dedupe_has_a_disruption_budget_that_selects_its_pods() -> None:
    docs = render("overlays/production")
    pdb = find(docs, "PodDisruptionBudget", "dedupe")["spec"]
    labels = find(docs, "Deployment", "dedupe")["spec"]["template"]["metadata"]["labels"]
    assert pdb["selector"]["matchLabels"].items() <= labels.items()
    assert pdb["maxUnavailable"] == 1
    assert find(docs, "Deployment", "dedupe")["spec"]["replicas"] == 3


def test_replay_is_a_job_publishing_as_the_producer_user() -> None:
    job = find(render("base"), "Job", "replay")
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "OnFailure"
    (main,) = pod["containers"]
    assert main["args"][0] == "replay"
    (redis_url,) = [e for e in main["env"] if e["name"] == "REDIS_URL"]
    assert redis_url["valueFrom"]["secretKeyRef"]["key"] == "producer"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_password_comes_from_a_secret_and_matches_its_acl_user(overlay: str) -> None:
    docs = render(overlay)
    secrets = {d["metadata"]["name"]: d["stringData"] for d in docs if d["kind"] == "Secret"}
    for doc in docs:
        if doc["kind"] not in ("Deployment", "StatefulSet", "Job"):
            continue
        for main in doc["spec"]["template"]["spec"]["containers"]:
            for env in main.get("env", []):
                if "PASSWORD" in env["name"] or env["name"] in ("REDIS_URL", "DATABASE_URL"):
                    if env["name"] == "DATABASE_URL" and "value" in env:
                        continue
                    ref = env["valueFrom"]["secretKeyRef"]
                    assert ref["key"] in secrets[ref["name"]], (doc["metadata"]["name"], ref)
    acl = {
        m.group(1): m.group(2)
        for m in re.finditer(
            r"^user (\S+) .*?>(\S+)", secrets["wiredesk-redis-acl"]["users.acl"], re.M
        )
    }
    for key, url in secrets["wiredesk-redis-urls"].items():
        if key == "admin-password":
            assert acl["admin"] == url
            continue
        user, password = re.fullmatch(r"redis://([^:]+):([^@]+)@redis:6379/0", url).groups()  # type: ignore[union-attr]
        assert user == key and acl[user] == password, key
    assert "user default off" in secrets["wiredesk-redis-acl"]["users.acl"]


def test_the_postgres_overlay_takes_the_database_from_a_secret_and_drops_sqlite() -> None:
    docs = render("overlays/postgres")
    assert not [d for d in docs if d["kind"] == "PersistentVolumeClaim"]
    for name in ("store", "api"):
        pod = find(docs, "Deployment", name)["spec"]["template"]["spec"]
        assert not pod.get("volumes") and not pod.get("affinity"), name
        (main,) = pod["containers"]
        (url,) = [e for e in main["env"] if e["name"] == "DATABASE_URL"]
        assert url["valueFrom"]["secretKeyRef"] == {
            "name": "wiredesk-postgres",
            "key": "database-url",
        }
    find(docs, "StatefulSet", "postgres")
