"""Secrets rules: credentials written into manifests, and API tokens pods get without asking.

What counts as a secret lives in :mod:`kgen.policies.secret_values` (shared with the app
spec check of ``kgen build``); these checks only decide where to look. Messages name the env var, key or option and what
was recognised, never the value.
"""

from __future__ import annotations

import base64
import binascii
import re
from functools import lru_cache, partial
from typing import Iterator, NamedTuple, Pattern

from kgen.loader import HelmTemplate, JsonPath, KubeObject
from kgen.policies.fixing import set_missing
from kgen.policies.inventory import Inventory, namespace_of
from kgen.policies.registry import RuleContext, Violation, fixer, rule
from kgen.policies.secret_patterns import LazyPattern, compile_name_patterns, find_token, is_reference, is_secret_name, secret_arguments
from kgen.policies.secret_values import content_secret, is_placeholder, setting_secret
from kgen.workloads import PodTemplate, as_list, as_map, get_path


def _name_patterns(ctx: RuleContext) -> tuple[Pattern[str], ...]:
    return compile_name_patterns(as_list(ctx.policy.secrets.get("namePatterns")))


def _text(value: object) -> str | None:
    """A scalar as the string Kubernetes would see; None for null, booleans and collections."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


@rule(
    id="secret-env-literal",
    category="secrets",
    severity="error",
    scope="workload",
    summary="An env var holds a secret as a literal value (its name says so, or the value is a known token format).",
    why="""A literal `value` puts the credential in the manifest, in git history, in every rendered copy and
    in `kubectl get -o yaml` output for anyone who can read the workload. It cannot be rotated without a
    redeploy and leaks with every copy of the file.""",
    fix="""Store the value in a Secret (or an ExternalSecret/SealedSecret) and reference it with
    `valueFrom.secretKeyRef`, or load a whole Secret with `envFrom.secretRef`. Rotate the credential if it
    was ever committed. Extra secret-name patterns go in the policy's `secrets.namePatterns`.""",
)
def env_literal(template: PodTemplate, ctx: RuleContext) -> Iterator[Violation]:
    patterns = _name_patterns(ctx)
    for c in template.containers:
        for index, item in enumerate(as_list(c.data.get("env"))):
            env = as_map(item)
            name = env.get("name")
            value = _text(env.get("value"))
            if not isinstance(name, str) or value is None:
                continue
            reason = setting_secret(name, value, patterns)
            if reason:
                yield Violation(c.at("env", index, "value"), f"container {c.name!r} env {name} {reason} (value redacted); move it to a Secret and use valueFrom.secretKeyRef")


@rule(
    id="secret-arg-literal",
    category="secrets",
    severity="error",
    scope="workload",
    summary="""A container's command or args pass a secret literally: `--password=x`, `--api-key x`,
    `mysql -pX`, `DB_PASSWORD=x` in a shell script, or a value in a known token format.""",
    why="""A literal in `command` or `args` puts the credential in the manifest, in git history, in every
    rendered copy and in `kubectl get -o yaml` output, like a literal env value; on top of that the running
    process shows it to anyone who can list processes on the node. It cannot be rotated without a redeploy.""",
    fix="""Store the value in a Secret and give it to the program without writing it: mount the Secret and use
    the program's file option (`--password-file`), or expose it as an env var with `valueFrom.secretKeyRef`
    that the program reads, or pass `$(VAR_NAME)` in args (Kubernetes expands it: out of the manifest, though
    still on the process's command line); in shell scripts use `"$VAR_NAME"`. Rotate the credential if it was
    committed. Extra secret-name patterns go in the policy's `secrets.namePatterns`.""",
)
def arg_literal(template: PodTemplate, ctx: RuleContext) -> Iterator[Violation]:
    """command and args as one command line, the way the container runs them (``mysql`` then ``-pX``)."""
    patterns = _name_patterns(ctx)
    for c in template.containers:
        fields = [(field, index, item) for field in ("command", "args") for index, item in enumerate(as_list(c.data.get(field)))]
        argv = [_text(item) or "" for _, _, item in fields]
        for position, what in secret_arguments(argv, patterns):
            field, index, _ = fields[position]
            yield Violation(c.at(field, index), f"container {c.name!r} {field}[{index}] {what} (redacted); move it to a Secret and pass it as a mounted file or as $(VAR) from valueFrom.secretKeyRef")


def _decoded(value: str) -> str | None:
    """A binaryData value as text, when it is base64 of UTF-8."""
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None


@rule(
    id="secret-in-configmap",
    category="secrets",
    severity="error",
    scope="object",
    kinds=["ConfigMap"],
    summary="""A ConfigMap holds something that looks like a secret: a secret-named key with a value, a
    password set in an embedded config file, a private key, a cloud/API token or a random-looking token.""",
    why="""ConfigMaps are not secret: they are readable by far more roles than Secrets, never encrypted at
    rest, printed by `kubectl describe` and copied into logs, Helm release records and support bundles.""",
    fix="""Move the value to a Secret (ideally managed by External Secrets or Sealed Secrets) and mount or
    reference it; in config files, point to a mounted file or an environment variable instead. Rotate the
    credential if it was committed. A false positive can be suppressed with `# kgen:ignore secret-in-configmap`
    on the key's line.""",
    silent_when="""a secret-named key holds no credential: an empty value, a reference (`${VAR}`, `{{ }}`), a
    path, a plain URL or a placeholder to fill in (`<your-key>`, `changeme`, `REPLACE_ME`).""",
)
def in_configmap(obj: KubeObject, ctx: RuleContext) -> Iterator[Violation]:
    patterns = _name_patterns(ctx)
    for key, raw in as_map(obj.data.get("data")).items():
        value = _text(raw)
        if value is None:
            continue
        reason = content_secret(str(key), value, patterns)
        if reason:
            yield Violation(("data", key), f"ConfigMap key {key!r} {reason}; move it to a Secret")
    for key, raw in as_map(obj.data.get("binaryData")).items():
        value = _text(raw)
        if value is None:
            continue
        if is_secret_name(str(key), patterns) and value.strip():
            yield Violation(("binaryData", key), f"ConfigMap binaryData key {key!r} has a secret-looking name; move it to a Secret")
            continue
        decoded = _decoded(value)
        found = find_token(decoded) if decoded else None
        if found:
            yield Violation(("binaryData", key), f"ConfigMap binaryData key {key!r} holds {found.label}; move it to a Secret")


@rule(
    id="secret-object-committed",
    category="secrets",
    severity="error",
    scope="object",
    kinds=["Secret"],
    summary="A Secret with `data`/`stringData` values is in the linted files, which the policy forbids.",
    why="""Secret data is only base64-encoded: a Secret committed to git is a plaintext credential in every
    clone, fork and CI log, forever (history keeps it after deletion).""",
    fix="""Keep only a reference in git: an ExternalSecret (External Secrets Operator), a SealedSecret, a
    SOPS-encrypted file, or create the Secret out of band. Rotate any credential that was committed. Set
    `secrets.allowSecretObjects: true` in the policy for repositories where this is intended (e.g. test
    fixtures).""",
    silent_when="""a Helm chart generates the value at render time: the template line that wrote it (from
    the chart's source map) calls randAlphaNum, genCA, genSelfSignedCert, genSignedCert, lookup...
    directly, through a variable, or through a helper it includes that may call one (Bitnami's
    `common.secrets.passwords.manage`); every value is a placeholder to fill in (`<your-token>`,
    `changeme`, `REPLACE_ME`). Values written in the template text or a values file are reported.""",
)
def object_committed(obj: KubeObject, ctx: RuleContext) -> Iterator[Violation]:
    if ctx.policy.secrets.get("allowSecretObjects") is True or obj.group != "":
        return
    for field in ("data", "stringData"):
        keys = [
            str(key)
            for key, value in as_map(obj.data.get(field)).items()
            if _has_content(value, field) and not (obj.rendered_from and _generated(obj, obj.rendered_from, field, str(key)))
        ]
        if keys:
            shown = ", ".join(keys[:5]) + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")
            yield Violation((field,), f"Secret {obj.name!r} carries {field} values ({shown}) in the files; use an ExternalSecret or SealedSecret")


# Helm functions whose result is made at render time (or read from the cluster), not written in the repo.
_GENERATORS = LazyPattern(
    r"\b(?:randAlphaNum|randAlpha|randNumeric|randAscii|randBytes|uuidv4|genCA|genCAWithKey|genSelfSignedCert"
    r"|genSelfSignedCertWithKey|genSignedCert|genSignedCertWithKey|genPrivateKey|derivePassword|lookup)\b"
)
_ASSIGNMENT = LazyPattern(r"\$(\w+)\s*:?=([^}]*)")
# A `key: value` line of a template; group 1 is None where the key is an action (`{{ $key }}: ...`).
_DATA_KEY = LazyPattern(r"^\s*(?:['\"]?([-._a-zA-Z0-9]+)['\"]?|\{\{[^}]*\}\})\s*:(.*)$")


class _Generation(NamedTuple):
    """What a template may generate: its variables assigned from a generator, and the chart's helpers
    whose body (or a helper it includes) calls one."""

    variables: frozenset[str]
    helpers: frozenset[str]

    def makes(self, text: str) -> bool:
        """Whether template ``text`` (an expression, a line) calls a generator, directly or not."""
        return bool(
            _GENERATORS.search(text)
            or any(re.search(rf"\${re.escape(var)}\b", text) for var in self.variables)
            or any(name in self.helpers for name in _included(text))
        )


def _generated(obj: KubeObject, template: HelmTemplate, field: str, key: str) -> bool:
    """Whether the chart makes the value of ``field.key`` at render time. The chart's source map names
    the template line that wrote it (a value placed in a values file was written there); where it
    proves no line, the template's lines that write ``key:`` are read instead."""
    generation = _generation(template)
    point = obj.origin((field, key)) if obj.origin is not None else None
    if point is not None and not point.approximate:
        lines = template.text.splitlines()
        return point.file == template.name and 0 < point.line <= len(lines) and generation.makes(lines[point.line - 1])
    written = [(match.group(1), match.group(2)) for match in map(_DATA_KEY.match, template.text.splitlines()) if match]
    if any(name == key for name, _ in written):
        return any(name == key and "{{" in value and generation.makes(value) for name, value in written)
    # No line writes the key as text: a key the template computes (`{{ $key }}: ...`) that generates.
    return any(name is None and generation.makes(value) for name, value in written)


@lru_cache(maxsize=64)
def _generation(template: HelmTemplate) -> _Generation:
    helpers = _generating_helpers(template.helpers)
    assigned = _ASSIGNMENT.findall(template.text)
    variables: set[str] = set()
    changed = True
    while changed:  # $cert := genSignedCert ... $ca makes $cert generated once $ca is
        changed = False
        for name, expression in assigned:
            if name not in variables and _Generation(frozenset(variables), helpers).makes(expression):
                variables.add(name)
                changed = True
    return _Generation(frozenset(variables), helpers)


@lru_cache(maxsize=16)
def _generating_helpers(files: tuple[str, ...]) -> frozenset[str]:
    """The named templates of ``files`` that call a generator, or include one that does."""
    from kgen.helmtrace import named_templates  # chart objects only, as _included

    bodies = {name: body for text in files for name, body in named_templates(text)}
    generating = {name for name, body in bodies.items() if _GENERATORS.search(body)}
    changed = True
    while changed:
        changed = False
        for name, body in bodies.items():
            if name not in generating and any(included in generating for included in _included(body)):
                generating.add(name)
                changed = True
    return frozenset(generating)


def _included(text: str) -> list[str]:
    """The named templates a template line or helper body includes (kgen.helmtrace reads them)."""
    from kgen.helmtrace import included_templates  # chart objects only: a one-file lint does without it

    return included_templates(text)


def _has_content(value: object, field: str) -> bool:
    """A Secret entry with an actual value: not empty, not a pure ``${VAR}`` template, not a
    placeholder left to fill in (``<your-hf-access-token-value>``; in ``data``, as written
    (kaito's ``<your_base64_encoded_huggingface_token>``) or once decoded)."""
    if isinstance(value, str):
        decoded = _decoded(value) if field == "data" else None
        placeholder = is_placeholder(value) or (decoded is not None and is_placeholder(decoded))
        return bool(value.strip()) and not is_reference(value) and not placeholder
    return value is not None


@rule(
    id="serviceaccount-token-automount",
    category="secrets",
    severity="warning",
    scope="workload",
    summary="The pod gets a Kubernetes API token mounted (automountServiceAccountToken is not false).",
    why="""Unless turned off, every container gets a token for its ServiceAccount at
    /var/run/secrets/kubernetes.io/serviceaccount. Most applications never call the API server, but anyone
    who gets code execution in the pod can, with whatever RBAC the account has.""",
    fix="""Set `automountServiceAccountToken: false` in the pod spec, or on its ServiceAccount (the pod's
    own setting wins over the ServiceAccount's). Pods that do call the API keep it on and get a dedicated
    ServiceAccount with minimal RBAC (then suppress this rule on them).""",
    silent_when="""a RoleBinding or ClusterRoleBinding of the input grants the pod's ServiceAccount a role
    (operators, controllers, admission jobs: they call the API and need the token), or the
    ServiceAccount in the input sets automountServiceAccountToken: false.""",
)
def token_automount(template: PodTemplate, ctx: RuleContext) -> Iterator[Violation]:
    setting = template.spec.get("automountServiceAccountToken")
    if setting is False:
        return
    account, namespace = template.service_account, namespace_of(template.obj)
    if setting is True:
        path = template.at("automountServiceAccountToken")
        yield Violation(path, "", settle=partial(_set_true_verdict, path, namespace, account))
    else:
        yield Violation(template.path, "", settle=partial(_unset_verdict, template.path, namespace, account))


def _set_true_verdict(path: JsonPath, namespace: str, account: str, inventory: Inventory) -> Violation | None:
    """A pod that asks for the token: fine when the input binds its ServiceAccount to a role."""
    if inventory.bindings_of_account(namespace, account):
        return None
    return Violation(path, "the pod sets automountServiceAccountToken: true; set it to false unless the pod calls the Kubernetes API")


def _unset_verdict(path: JsonPath, namespace: str, account: str, inventory: Inventory) -> Violation | None:
    """A pod that leaves the token to its ServiceAccount: fine when the account (in the input) turns it
    off, or when the input binds the account to a role."""
    turned_off = inventory.account_turns_token_off(namespace, account)
    if turned_off or inventory.bindings_of_account(namespace, account):
        return None
    where = "in the input does not set it to false either" if turned_off is not None else "is not in the input"
    return Violation(
        path,
        f"the pod does not set automountServiceAccountToken: false and its ServiceAccount {account!r} {where}; "
        "set automountServiceAccountToken: false on the pod or the ServiceAccount",
    )


@fixer("serviceaccount-token-automount")
def fix_token_automount(data: dict, path: JsonPath, ctx: RuleContext) -> bool:
    """automountServiceAccountToken: false on the pod where it is unset (an explicit true is a decision
    the user made). The check is silent for pods whose ServiceAccount the input binds to a role."""
    spec = get_path(data, path)
    return isinstance(spec, dict) and set_missing(spec, ("automountServiceAccountToken",), False)
