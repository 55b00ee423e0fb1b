"""Ingress rules: TLS, certificates, classes, hosts, redirects and required annotations."""

from __future__ import annotations

from pathlib import Path

import pytest

from kgen.policies.ingress import host_matches
from tests.conftest import lint_yaml


def _policy(tmp_path: Path, ingress: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(f"apiVersion: kgen.dev/v1alpha1\nkind: ClusterPolicy\nmetadata: {{name: t}}\nspec:\n  ingress:\n{ingress}\n")
    return path


def _ingress(spec: str, annotations: str = "", api: str = "networking.k8s.io/v1") -> str:
    meta = f"  annotations:\n{annotations}\n" if annotations else ""
    return f"apiVersion: {api}\nkind: Ingress\nmetadata:\n  name: web\n{meta}spec:\n{spec}\n"


def _hits(text: str, rule: str, policy: Path | None = None) -> list:
    return [f for f in lint_yaml(text, policy).findings if f.rule == rule]


RULES = "  rules:\n    - host: shop.example.com\n    - host: api.example.com\n"


@pytest.mark.parametrize("pattern,host,expected", [
    ("*.example.com", "shop.example.com", True),
    ("*.example.com", "SHOP.Example.COM", True),
    ("*.example.com", "*.example.com", True),
    ("*.example.com", "example.com", False),
    ("*.example.com", "a.b.example.com", False),
    ("*.example.com", "shopexample.com", False),
    ("example.com", "example.com.", True),
    ("example.com", "www.example.com", False),
    ("*", "anything.io", True),
])  # fmt: skip
def test_host_matches(pattern: str, host: str, expected: bool) -> None:
    assert host_matches(pattern, host) is expected


def test_tls_missing_is_a_warning_by_default_and_an_error_when_required(tmp_path: Path) -> None:
    text = _ingress(RULES)
    [default] = _hits(text, "ingress-tls-missing")
    assert default.severity == "warning" and "plain HTTP" in default.message
    policy = _policy(tmp_path, "    requireTLS: true")
    [hit] = _hits(text, "ingress-tls-missing", policy)
    assert hit.severity == "error" and hit.path == "spec"
    assert _hits(_ingress("  tls: []\n" + RULES), "ingress-tls-missing", policy)[0].path == "spec.tls"
    assert not _hits(_ingress("  tls:\n    - hosts: [shop.example.com]\n      secretName: s\n" + RULES), "ingress-tls-missing", policy)


@pytest.mark.parametrize("api", ["extensions/v1beta1", "networking.k8s.io/v1beta1"])
def test_legacy_api_versions_are_checked(tmp_path: Path, api: str) -> None:
    policy = _policy(tmp_path, "    requireTLS: true")
    assert _hits(_ingress(RULES, api=api), "ingress-tls-missing", policy)


def test_lookalike_crd_is_ignored(tmp_path: Path) -> None:
    policy = _policy(tmp_path, "    requireTLS: true")
    assert not _hits(_ingress(RULES, api="example.io/v1"), "ingress-tls-missing", policy)


def test_host_not_covered() -> None:
    tls = "  tls:\n    - hosts: [shop.example.com]\n      secretName: s\n"
    [hit] = _hits(_ingress(tls + RULES), "ingress-host-not-covered")
    assert hit.path == "spec.rules[1].host" and "api.example.com" in hit.message
    assert not _hits(_ingress("  tls:\n    - hosts: ['*.example.com']\n      secretName: s\n" + RULES), "ingress-host-not-covered")
    # no TLS at all is ingress-tls-missing's business; a TLS entry without hosts is the catch-all certificate
    assert not _hits(_ingress(RULES), "ingress-host-not-covered")
    assert not _hits(_ingress("  tls:\n    - secretName: s\n" + RULES), "ingress-host-not-covered")


@pytest.mark.parametrize("annotation,flagged", [
    ("", True),
    ("    cert-manager.io/cluster-issuer: letsencrypt", False),
    ("    cert-manager.io/issuer: local", False),
    ('    kubernetes.io/tls-acme: "true"', False),
    ('    kubernetes.io/tls-acme: "false"', True),
    ("    alb.ingress.kubernetes.io/certificate-arn: arn:aws:acm:eu-west-1:1:certificate/x", False),
])  # fmt: skip
def test_tls_secret_missing(annotation: str, flagged: bool) -> None:
    text = _ingress("  tls:\n    - hosts: [shop.example.com]\n" + RULES, annotation)
    assert bool(_hits(text, "ingress-tls-secret-missing")) is flagged


def test_class_not_allowed(tmp_path: Path) -> None:
    assert not _hits(_ingress("  ingressClassName: traefik\n" + RULES), "ingress-class-not-allowed")
    policy = _policy(tmp_path, "    classes: [nginx, nginx-internal]")
    assert not _hits(_ingress("  ingressClassName: nginx-internal\n" + RULES), "ingress-class-not-allowed", policy)
    assert not _hits(_ingress(RULES, "    kubernetes.io/ingress.class: nginx"), "ingress-class-not-allowed", policy)
    [missing] = _hits(_ingress(RULES), "ingress-class-not-allowed", policy)
    assert "nginx, nginx-internal" in missing.message
    both = _ingress("  ingressClassName: nginx\n" + RULES, "    kubernetes.io/ingress.class: gce")
    [legacy] = _hits(both, "ingress-class-not-allowed", policy)
    assert legacy.path == "metadata.annotations['kubernetes.io/ingress.class']"


def test_host_not_allowed(tmp_path: Path) -> None:
    policy = _policy(tmp_path, "    hosts: ['*.example.com']")
    assert not _hits(_ingress(RULES), "ingress-host-not-allowed", policy)
    text = _ingress("  rules:\n    - host: a.b.example.com\n    - host: example.com\n    - http: {}\n")
    assert [h.path for h in _hits(text, "ingress-host-not-allowed", policy)] == ["spec.rules[0].host", "spec.rules[1].host", "spec.rules[2]"]
    assert not _hits(text, "ingress-host-not-allowed")  # no patterns: any host


@pytest.mark.parametrize("annotation,flagged", [
    ('    nginx.ingress.kubernetes.io/ssl-redirect: "false"', True),
    ('    nginx.ingress.kubernetes.io/force-ssl-redirect: "False"', True),
    ('    ingress.kubernetes.io/ssl-redirect: "false"', True),
    ('    haproxy.org/ssl-redirect: "off"', True),
    ('    nginx.org/redirect-to-https: "false"', True),
    ('    nginx.ingress.kubernetes.io/ssl-redirect: "true"', False),
    ('    nginx.ingress.kubernetes.io/rewrite-target: "false"', False),
])  # fmt: skip
def test_ssl_redirect_disabled(annotation: str, flagged: bool) -> None:
    assert bool(_hits(_ingress(RULES, annotation), "ingress-ssl-redirect-disabled")) is flagged


def test_required_annotations_null_means_must_exist(tmp_path: Path) -> None:
    policy = _policy(tmp_path, "    requiredAnnotations:\n      cert-manager.io/cluster-issuer: null\n      example.com/waf: 'on'")
    missing = _hits(_ingress(RULES), "ingress-annotation-missing", policy)
    assert len(missing) == 2 and all(h.path == "metadata" for h in missing)
    wrong = _ingress(RULES, "    cert-manager.io/cluster-issuer: anything\n    example.com/waf: 'off'")
    [hit] = _hits(wrong, "ingress-annotation-missing", policy)
    assert hit.path == "metadata.annotations['example.com/waf']"
    right = _ingress(RULES, "    cert-manager.io/cluster-issuer: le\n    example.com/waf: 'on'")
    assert not _hits(right, "ingress-annotation-missing", policy)


@pytest.mark.parametrize("spec", [
    "  tls: null\n  rules: null",
    "  tls: [null, 3, {hosts: null, secretName: 5}]\n  rules: [null, {host: 7}, {host: null}]",
    "  tls: {hosts: x}\n  rules: text",
    "  ingressClassName: [nginx]",
])  # fmt: skip
def test_malformed_ingresses_do_not_crash(tmp_path: Path, spec: str) -> None:
    policy = _policy(tmp_path, "    requireTLS: true\n    classes: [nginx]\n    hosts: ['*.example.com']\n    requiredAnnotations: {a: null}")
    lint_yaml(_ingress(spec, "    nginx.ingress.kubernetes.io/ssl-redirect: null"), policy)
    lint_yaml("apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: x, annotations: [a]}\nspec: 3\n", policy)
