"""Ingress rules: TLS, certificates, classes, hosts and annotations against the cluster policy.

Applies to ``networking.k8s.io/v1`` Ingresses and the removed ``extensions/v1beta1`` and
``networking.k8s.io/v1beta1`` shapes; the fields these rules read (``tls``, ``rules[].host``,
``ingressClassName``, annotations) are the same in all three.
"""

from __future__ import annotations

from typing import Iterator

from kgen.loader import JsonPath, KubeObject
from kgen.policies.registry import RuleContext, Violation, fixer, rule
from kgen.workloads import as_list, as_map, get_path

INGRESS_GROUPS = frozenset({"networking.k8s.io", "extensions"})
LEGACY_CLASS_ANNOTATION = "kubernetes.io/ingress.class"
FALSE_VALUES = frozenset({"false", "0", "no", "off"})

# Annotations that mean "something other than spec.tls[].secretName provides the certificate".
CERTIFICATE_ANNOTATIONS = [
    "cert-manager.io/cluster-issuer",
    "cert-manager.io/issuer",
    "certmanager.k8s.io/cluster-issuer",  # cert-manager before 0.11
    "certmanager.k8s.io/issuer",
    "kubernetes.io/tls-acme",  # kube-lego / cert-manager ingress-shim with a default issuer
    "networking.gke.io/managed-certificates",
    "ingress.gcp.kubernetes.io/pre-shared-cert",
    "alb.ingress.kubernetes.io/certificate-arn",
    "traefik.ingress.kubernetes.io/router.tls.certresolver",
    "appgw.ingress.kubernetes.io/appgw-ssl-certificate",
]
# Annotations whose false value turns the HTTP -> HTTPS redirect off, per controller.
SSL_REDIRECT_ANNOTATIONS = [
    "nginx.ingress.kubernetes.io/ssl-redirect",  # ingress-nginx
    "nginx.ingress.kubernetes.io/force-ssl-redirect",
    "nginx.org/redirect-to-https",  # NGINX Inc. controller
    "ingress.kubernetes.io/ssl-redirect",  # Traefik 1.x, NGINX Inc., older haproxy-ingress
    "ingress.kubernetes.io/force-ssl-redirect",  # Contour
    "haproxy.org/ssl-redirect",  # HAProxy Technologies controller
    "haproxy-ingress.github.io/ssl-redirect",  # haproxy-ingress
]


def _spec(obj: KubeObject) -> dict | None:
    """The spec of an Ingress of a known API group (None for look-alike CRDs)."""
    return as_map(obj.data.get("spec")) if obj.group in INGRESS_GROUPS else None


def _is_false(value: object) -> bool:
    return value is False or (isinstance(value, str) and value.strip().lower() in FALSE_VALUES)


def host_matches(pattern: str, host: str) -> bool:
    """Kubernetes host matching: ``*.example.com`` matches exactly one more label (``a.example.com``,
    not ``example.com`` nor ``a.b.example.com``); anything else matches exactly, ignoring case."""
    pattern, host = pattern.strip().lower().rstrip("."), host.strip().lower().rstrip(".")
    if pattern == "*" or pattern == host:
        return True
    if pattern.startswith("*."):
        suffix = pattern[1:]
        head = host[: -len(suffix)] if host.endswith(suffix) else ""
        return bool(head) and "." not in head
    return False


def _rule_hosts(spec: dict) -> Iterator[tuple[int, str | None]]:
    """(index, host) of every rule; host None for a rule that serves every host name."""
    for index, item in enumerate(as_list(spec.get("rules"))):
        host = as_map(item).get("host")
        yield index, host if isinstance(host, str) and host.strip() else None


def _tls_entries(spec: dict) -> list[tuple[int, dict]]:
    return [(index, item) for index, item in enumerate(as_list(spec.get("tls"))) if isinstance(item, dict)]


@rule(
    id="ingress-tls-missing",
    category="ingress",
    severity="warning",
    scope="object",
    kinds=["Ingress"],
    summary="An Ingress has no TLS section (an error when the policy requires TLS, `ingress.requireTLS`).",
    why="""Without `spec.tls` the controller serves the hosts over plain HTTP: cookies, tokens and form
    data cross the network in clear text and can be read or changed on the way.""",
    fix="""Add `spec.tls` with the Ingress' hosts and a `secretName`, and let cert-manager fill the Secret
    (annotation `cert-manager.io/cluster-issuer`). Where TLS ends before the Ingress (a load balancer
    or mesh in front), suppress the rule on it.""",
    case_severities={"the policy sets ingress.requireTLS: true": "error"},
)
def tls_missing(obj: KubeObject, ctx: RuleContext) -> Iterator[Violation]:
    spec = _spec(obj)
    if spec is None or _tls_entries(spec):
        return
    where = ("spec", "tls") if "tls" in spec else ("spec",)
    if ctx.policy.ingress.get("requireTLS") is True:
        yield Violation(where, f"Ingress {obj.name!r} has no spec.tls but the cluster requires TLS; add a TLS entry for its hosts", severity="error")
    else:
        yield Violation(where, f"Ingress {obj.name!r} has no spec.tls, so its hosts are served over plain HTTP; add a TLS entry for its hosts")


@rule(
    id="ingress-host-not-covered",
    category="ingress",
    severity="warning",
    scope="object",
    kinds=["Ingress"],
    summary="An Ingress with TLS has a rule host that no `spec.tls[].hosts` entry covers.",
    why="""The certificate is chosen by SNI from the TLS hosts: a rule host missing there gets the
    controller's default (usually self-signed) certificate, so clients see a certificate error or, with
    the redirect off, plain HTTP. Wildcard TLS hosts cover exactly one label.""",
    fix="""Add the host to the `hosts` of the TLS entry whose certificate covers it (or a new entry with its
    own secretName). `*.example.com` covers `api.example.com` but neither `example.com` nor
    `a.b.example.com`.""",
)
def host_not_covered(obj: KubeObject, ctx: RuleContext) -> Iterator[Violation]:
    spec = _spec(obj)
    entries = _tls_entries(spec) if spec is not None else []
    if not entries:
        return  # no TLS at all is ingress-tls-missing's business
    tls_hosts: list[str] = []
    for _, entry in entries:
        hosts = [h for h in as_list(entry.get("hosts")) if isinstance(h, str) and h.strip()]
        if not hosts:
            return  # an entry without hosts is the controller's catch-all certificate (Ingress API default)
        tls_hosts.extend(hosts)
    for index, host in _rule_hosts(spec):
        if host is not None and not any(host_matches(tls_host, host) for tls_host in tls_hosts):
            yield Violation(("spec", "rules", index, "host"), f"host {host} is not in any spec.tls[].hosts; add it to the TLS entry whose certificate covers it")


@fixer("ingress-host-not-covered")
def fix_host_not_covered(data: dict, path: JsonPath, ctx: RuleContext) -> bool:
    """Adds the host to the only TLS entry with a secretName; with several, which certificate covers
    it is a choice left to the user."""
    host = get_path(data, path)
    with_secret = [entry for _, entry in _tls_entries(as_map(data.get("spec"))) if entry.get("secretName")]
    if not isinstance(host, str) or len(with_secret) != 1:
        return False
    hosts = with_secret[0].get("hosts")
    if not isinstance(hosts, list) or any(isinstance(h, str) and host_matches(h, host) for h in hosts):
        return False
    hosts.append(host)
    return True


@rule(
    id="ingress-tls-secret-missing",
    category="ingress",
    severity="warning",
    scope="object",
    kinds=["Ingress"],
    summary="A TLS entry has no `secretName` and no annotation says who provides the certificate (cert-manager, ...).",
    why="""With neither a Secret nor a certificate manager, the controller falls back to its default
    certificate: browsers reject it, and the Ingress looks configured for TLS when it is not.""",
    fix="""Set `secretName` on the TLS entry (cert-manager writes the certificate into it when the Ingress
    has `cert-manager.io/cluster-issuer` or `cert-manager.io/issuer`), or use your controller's managed
    certificate annotation (listed in the rule's `certificateAnnotations` parameter).""",
    params={"certificateAnnotations": CERTIFICATE_ANNOTATIONS},
    silent_when="""a certificate annotation (cert-manager, GKE managed certificates, ALB, Traefik...) says who provides the certificate.""",
)
def tls_secret_missing(obj: KubeObject, ctx: RuleContext) -> Iterator[Violation]:
    spec = _spec(obj)
    if spec is None:
        return
    annotations = obj.annotations
    for name in as_list(ctx.params["certificateAnnotations"]):
        value = annotations.get(name)
        if value is not None and value != "" and not _is_false(value):
            return
    for index, entry in _tls_entries(spec):
        secret = entry.get("secretName")
        if not (isinstance(secret, str) and secret.strip()):
            yield Violation(("spec", "tls", index), f"spec.tls[{index}] has no secretName and no certificate manager annotation; set secretName or add cert-manager.io/cluster-issuer")


@rule(
    id="ingress-class-not-allowed",
    category="ingress",
    severity="warning",
    scope="object",
    kinds=["Ingress"],
    summary="An Ingress names no class, or a class outside the policy's `ingress.classes`.",
    why="""Controllers only serve Ingresses of their own class: one with a class the cluster does not run
    is never served, and one without a class depends on which controller happens to be the default.""",
    fix="""Set `spec.ingressClassName` to one of the allowed classes (and drop the deprecated
    `kubernetes.io/ingress.class` annotation). The rule only runs when the policy lists `ingress.classes`.""",
    silent_when="""the policy lists no ingress.classes.""",
)
def class_not_allowed(obj: KubeObject, ctx: RuleContext) -> Iterator[Violation]:
    spec = _spec(obj)
    allowed = [c for c in as_list(ctx.policy.ingress.get("classes")) if isinstance(c, str)]
    if spec is None or not allowed:
        return
    named = [
        (("spec", "ingressClassName"), "spec.ingressClassName", spec.get("ingressClassName")),
        (("metadata", "annotations", LEGACY_CLASS_ANNOTATION), LEGACY_CLASS_ANNOTATION, obj.annotations.get(LEGACY_CLASS_ANNOTATION)),
    ]
    given = [(path, label, value) for path, label, value in named if value not in (None, "")]
    if not given:
        yield Violation(("spec",), f"Ingress {obj.name!r} sets no ingress class; set spec.ingressClassName to one of: {', '.join(allowed)}")
    for path, label, value in given:
        if value not in allowed:
            yield Violation(path, f"{label} {value!r} is not an allowed ingress class ({', '.join(allowed)})")


@rule(
    id="ingress-host-not-allowed",
    category="ingress",
    severity="error",
    scope="object",
    kinds=["Ingress"],
    summary="An Ingress rule serves a host outside the policy's `ingress.hosts` patterns, or every host (no host).",
    why="""Host names are shared between teams and tenants: a rule for someone else's host (or a
    catch-all rule without a host) can take over their traffic or expose a service under the wrong name.""",
    fix="""Use a host that matches one of the allowed patterns (`*.example.com` matches one label, e.g.
    `shop.example.com`), and give every rule a host. The rule only runs when the policy lists `ingress.hosts`.""",
    silent_when="""the policy lists no ingress.hosts.""",
)
def host_not_allowed(obj: KubeObject, ctx: RuleContext) -> Iterator[Violation]:
    spec = _spec(obj)
    patterns = [p for p in as_list(ctx.policy.ingress.get("hosts")) if isinstance(p, str)]
    if spec is None or not patterns:
        return
    shown = ", ".join(patterns)
    for index, host in _rule_hosts(spec):
        if host is None:
            yield Violation(("spec", "rules", index), f"spec.rules[{index}] has no host and so serves every host name; set a host matching {shown}")
        elif not any(host_matches(pattern, host) for pattern in patterns):
            yield Violation(("spec", "rules", index, "host"), f"host {host} matches none of the allowed host patterns ({shown})")


@rule(
    id="ingress-ssl-redirect-disabled",
    category="ingress",
    severity="warning",
    scope="object",
    kinds=["Ingress"],
    summary="An annotation turns the HTTP to HTTPS redirect off (e.g. `nginx.ingress.kubernetes.io/ssl-redirect: \"false\"`).",
    why="""With the redirect off, clients that type or follow an http:// link stay on plain HTTP and send
    cookies and credentials in clear text, even though the Ingress has a certificate.""",
    fix="""Remove the annotation (the controllers redirect by default when TLS is configured). For ACME
    HTTP-01 challenges cert-manager handles the exception itself. The annotations checked are the rule's
    `annotations` parameter.""",
    params={"annotations": SSL_REDIRECT_ANNOTATIONS},
)
def ssl_redirect_disabled(obj: KubeObject, ctx: RuleContext) -> Iterator[Violation]:
    if _spec(obj) is None:
        return
    annotations = obj.annotations
    for name in as_list(ctx.params["annotations"]):
        if name in annotations and _is_false(annotations[name]):
            yield Violation(("metadata", "annotations", name), f"annotation {name}: {annotations[name]!r} turns off the HTTPS redirect; remove it")


@rule(
    id="ingress-annotation-missing",
    category="ingress",
    severity="warning",
    scope="object",
    kinds=["Ingress"],
    summary="An Ingress lacks an annotation the policy requires (`ingress.requiredAnnotations`), or has another value.",
    why="""Clusters rely on Ingress annotations for certificates, WAF, rate limits or external DNS; an
    Ingress without them silently misses that protection or wiring.""",
    fix="""Add the annotation with the required value (`requiredAnnotations: {name: null}` in the policy
    only requires that it exists).""",
)
def annotation_missing(obj: KubeObject, ctx: RuleContext) -> Iterator[Violation]:
    required = as_map(ctx.policy.ingress.get("requiredAnnotations"))
    if _spec(obj) is None or not required:
        return
    annotations = obj.annotations
    for name, expected in required.items():
        if name not in annotations:
            where = ("metadata", "annotations") if annotations else ("metadata",)
            wanted = f" with value {expected!r}" if expected is not None else ""
            yield Violation(where, f"Ingress {obj.name!r} lacks the required annotation {name}{wanted}")
        elif expected is not None and str(annotations[name]) != str(expected):
            yield Violation(("metadata", "annotations", name), f"annotation {name} is {annotations[name]!r}; the policy requires {expected!r}")
