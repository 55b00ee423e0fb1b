"""Policy files: finding the one a run uses, reading it, and the command-line overrides.

A policy file is validated against ``kgen/schemas/cluster-policy.schema.json``, its rule
ids and settings against the rule catalog, its custom rules' schemas compiled, and it is
merged over the built-in default (maps merge, lists and values replace), so a user writes
only what differs from the default. The policy itself (:class:`ClusterPolicy`) lives below
the rules, in :mod:`kgen.policies.cluster_policy`; this module sits above the catalog.
"""

from __future__ import annotations

import os

from kgen.errors import InputError
from kgen.merge import deep_merge
from kgen.loader import format_path, read_source, parse_source, LoadResult
from kgen.policies.cluster_policy import BUILT_IN, RULE_SWITCHES, ClusterPolicy, default_document, default_policy_text
from kgen.policies.custom import RuleSchemaError, compile_rule_schema
from kgen.policies.schema_settings import SETTINGS_RULE

POLICY_ENV = "KGEN_POLICY"
DISCOVERED_FILE = ".kgen.yaml"
POLICY_API_VERSION, POLICY_KIND = "kgen.dev/v1alpha1", "ClusterPolicy"


def find_policy_file(explicit: str | None = None, start: str | None = None) -> str | None:
    """The policy a run uses, so that a lint by hand, the pre-commit hook and CI agree:
    ``--policy``, then ``$KGEN_POLICY``, then the first ``.kgen.yaml`` walking up from
    ``start`` (the current directory) to the repository root (the directory holding
    ``.git``); None means the built-in default."""
    if explicit:
        return explicit
    if os.environ.get(POLICY_ENV):
        return os.environ[POLICY_ENV]
    directory = os.path.abspath(start or os.getcwd())
    while True:
        candidate = os.path.join(directory, DISCOVERED_FILE)
        if os.path.isfile(candidate):
            return os.path.relpath(candidate)
        parent = os.path.dirname(directory)
        if os.path.exists(os.path.join(directory, ".git")) or parent == directory:
            return None
        directory = parent


def load_policy(path: str | None) -> ClusterPolicy:
    """The policy in ``path`` merged over the default; the default alone when ``path`` is None."""
    if path is None:
        return ClusterPolicy.default()
    loaded = parse_source(read_source(path))
    if loaded.problems:
        problem = loaded.problems[0]
        raise InputError(problem.message, problem.file, problem.line)
    if loaded.documents == 1 and not loaded.objects:
        raise InputError(f"not a kgen policy: a policy starts with apiVersion: {POLICY_API_VERSION} and kind: {POLICY_KIND}", path, 1)
    if len(loaded.objects) != 1:
        raise InputError("a policy file holds exactly one ClusterPolicy document", path)
    document = loaded.objects[0]
    if (document.api_version, document.kind) != (POLICY_API_VERSION, POLICY_KIND):
        raise InputError(
            f"not a kgen policy: found apiVersion: {document.api_version}, kind: {document.kind}; "
            f"expected apiVersion: {POLICY_API_VERSION}, kind: {POLICY_KIND}",
            path,
            document.locate(("kind",))[0],
        )
    _validate(document.data, loaded, path)
    spec = deep_merge(default_document()["spec"], document.data.get("spec") or {})
    # In ingress.requiredAnnotations `null` means "must exist", not "delete": keep the map as written.
    required = ((document.data.get("spec") or {}).get("ingress") or {}).get("requiredAnnotations")
    if isinstance(required, dict):
        spec["ingress"]["requiredAnnotations"] = dict(required)
    policy = ClusterPolicy(spec=spec, name=str(document.name or path), source=path)
    _check_rule_settings(policy, loaded, path)
    _check_custom_rule_schemas(policy, loaded, path)
    return policy


def policy_text(policy: ClusterPolicy) -> str:
    """The effective policy as YAML: the built-in default as shipped (with its comments), or
    the policy file merged over it."""
    if policy.source == BUILT_IN:
        return default_policy_text()
    import yaml

    document = {"apiVersion": POLICY_API_VERSION, "kind": POLICY_KIND, "metadata": {"name": policy.name}, "spec": policy.spec}
    head = f"# The effective policy: {policy.source} merged over the built-in default (kgen policy show).\n"
    return head + yaml.safe_dump(document, sort_keys=False, default_flow_style=False, allow_unicode=True)


def schema_version_warning(policy: ClusterPolicy) -> str | None:
    """A target Kubernetes version the shipped schemas do not cover, and the version used instead."""
    from kgen.kubeschemas import format_version, parse_version, schema_version, shipped_versions

    target = parse_version(policy.kubernetes_version)
    shipped = shipped_versions()
    if shipped[0] <= target <= shipped[-1]:
        return None
    used = format_version(schema_version(target))
    return (
        f"Kubernetes {format_version(target)} is outside the schemas kgen ships "
        f"({format_version(shipped[0])}-{format_version(shipped[-1])}): validating against {used}"
    )


def apply_lint_options(
    policy: ClusterPolicy,
    *,
    kube_version: str | None = None,
    strict: bool | None = None,
    schema_dirs: tuple[str, ...] = (),
    skip_kinds: tuple[str, ...] = (),
) -> ClusterPolicy:
    """Command-line flags win over the policy file: they set the fields a policy would set
    (``kubernetesVersion`` and the schema settings kept with ``schema-invalid``)."""
    import os

    from kgen.kubeschemas import format_version, parse_version

    if kube_version is not None:
        try:
            policy.spec["kubernetesVersion"] = format_version(parse_version(kube_version))
        except ValueError as exc:
            raise InputError(f"--kube-version: {exc}") from None
    for directory in schema_dirs:
        if not os.path.isdir(directory):
            raise InputError("--schema-dir: not a directory", directory)
    if strict is None and not schema_dirs and not skip_kinds:
        return policy
    rules = policy.spec.get("rules")
    if not isinstance(rules, dict):
        rules = policy.spec["rules"] = {}
    settings = rules.setdefault(SETTINGS_RULE, {})
    if strict is not None:
        settings["strict"] = strict
    if schema_dirs:
        settings["schemaDirs"] = [*(settings.get("schemaDirs") or []), *schema_dirs]
    kinds = [kind.strip() for value in skip_kinds for kind in value.split(",") if kind.strip()]
    if kinds:
        settings["skipKinds"] = [*(settings.get("skipKinds") or []), *kinds]
    return policy


def _validate(data: dict, loaded: LoadResult, path: str) -> None:
    import jsonschema

    from kgen.schemas import load_schema

    validator = jsonschema.Draft202012Validator(
        load_schema("cluster-policy.schema.json"), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        error = errors[0]
        where = tuple(error.absolute_path)
        line, _ = loaded.objects[0].locate(where)
        raise InputError(f"{format_path(where) or '(top)'}: {error.message}", path, line)


def _check_custom_rule_schemas(policy: ClusterPolicy, loaded: LoadResult, path: str) -> None:
    """Each custom rule's schema compiles, offline: a located policy error otherwise."""
    for index, rule in enumerate(policy.custom_rules):
        try:
            compile_rule_schema(rule.get("schema"), policy.kubernetes_version)
        except RuleSchemaError as exc:
            where = ("spec", "customRules", index, "schema", *exc.path)
            raise InputError(f"{format_path(where)}: {exc}", path, loaded.objects[0].locate(where)[0]) from None


def _check_rule_settings(policy: ClusterPolicy, loaded: LoadResult, path: str) -> None:
    """Unknown rule ids and parameters are typos; say so instead of ignoring them."""
    from kgen.policies.catalog import all_rules  # every rule module: only a policy file needs them

    catalog = all_rules()
    custom_ids = {str(rule.get("id")) for rule in policy.custom_rules}
    document = loaded.objects[0]
    for rule_id, setting in (document.data.get("spec") or {}).get("rules", {}).items():
        where = ("spec", "rules", rule_id)
        if rule_id in custom_ids:
            continue
        if rule_id not in catalog:
            import difflib

            close = difflib.get_close_matches(rule_id, list(catalog) + sorted(custom_ids), n=1)
            hint = f" (did you mean {close[0]}?)" if close else " (see `kgen rules`)"
            raise InputError(f"spec.rules: unknown rule {rule_id!r}{hint}", path, document.locate(where)[0])
        allowed = set(catalog[rule_id].params) | set(RULE_SWITCHES)
        for key in setting:
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                raise InputError(
                    f"spec.rules.{rule_id}: unknown setting {key!r} (known: {known})",
                    path,
                    document.locate((*where, key))[0],
                )
