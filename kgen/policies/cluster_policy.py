"""The cluster policy: what the manifests are checked against, and the built-in default.

Rules, the cluster fit arithmetic and the engine read a :class:`ClusterPolicy`; reading and
validating a policy file (which needs the rule catalog) is :mod:`kgen.policies.policy`, above
the rules.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from functools import lru_cache

from kgen.loader import load_text
from kgen.packagedata import read_package_text

DEFAULT_POLICY_FILE = "default-policy.yaml"
RULE_SWITCHES = ("enabled", "severity")
BUILT_IN = "<built-in policy>"


def default_policy_text() -> str:
    """The built-in policy as shipped, comments included."""
    return read_package_text(__file__, DEFAULT_POLICY_FILE)


@lru_cache(maxsize=1)
def default_document() -> dict:
    """The built-in policy, parsed once: what every policy file is merged over."""
    loaded = load_text(default_policy_text(), "<built-in policy>")
    return loaded.objects[0].data


@dataclass
class ClusterPolicy:
    spec: dict
    name: str = "kgen-default"
    source: str = BUILT_IN

    @classmethod
    def default(cls) -> "ClusterPolicy":
        return cls(spec=copy.deepcopy(default_document()["spec"]))

    def section(self, name: str) -> dict:
        value = self.spec.get(name)
        return value if isinstance(value, dict) else {}

    @property
    def kubernetes_version(self) -> str:
        return str(self.spec.get("kubernetesVersion") or default_document()["spec"]["kubernetesVersion"])

    @property
    def gpu(self) -> dict:
        return self.section("gpu")

    @property
    def ingress(self) -> dict:
        return self.section("ingress")

    @property
    def secrets(self) -> dict:
        return self.section("secrets")

    @property
    def namespaces(self) -> dict:
        return self.section("namespaces")

    @property
    def node_pools(self) -> list[dict]:
        return list(self.spec.get("nodePools") or [])

    @property
    def custom_rules(self) -> list[dict]:
        return list(self.spec.get("customRules") or [])

    @property
    def lint_excludes(self) -> list[tuple[str, str]]:
        """``spec.lint.exclude`` globs with the directory they are relative to (the policy file's)."""
        base = os.path.dirname(os.path.abspath(self.source)) if self.source != BUILT_IN else os.getcwd()
        return [(str(glob), base) for glob in self.section("lint").get("exclude") or []]

    def rule_setting(self, rule_id: str) -> dict:
        setting = self.section("rules").get(rule_id)
        return setting if isinstance(setting, dict) else {}

    def enabled(self, rule_id: str) -> bool:
        return self.rule_setting(rule_id).get("enabled", True) is not False

    def params(self, rule_id: str, defaults: dict) -> dict:
        merged = dict(defaults)
        merged.update({k: v for k, v in self.rule_setting(rule_id).items() if k not in RULE_SWITCHES})
        return merged
