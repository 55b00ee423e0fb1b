"""The schema pass' settings, kept with the ``schema-invalid`` rule in the policy.

Below the policy (which writes the command-line flags into them), the schema rules and the
deprecation rules (which read them): none of those imports another to reach them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from kgen.kubeschemas import Version, parse_version
from kgen.loader import KubeObject

if TYPE_CHECKING:
    from kgen.policies.cluster_policy import ClusterPolicy

SETTINGS_RULE = "schema-invalid"
SETTINGS_DEFAULTS: dict[str, Any] = {"strict": True, "schemaDirs": [], "skipKinds": []}


class SchemaSettings(NamedTuple):
    """What the schema pass depends on; part of the memo key. (A named tuple: defining a
    dataclass costs a one-file lint ~0.5 ms.)"""

    target: Version
    strict: bool
    schema_dirs: tuple[str, ...]
    skip_kinds: frozenset[str]

    @classmethod
    def from_policy(cls, policy: "ClusterPolicy") -> "SchemaSettings":
        params = policy.params(SETTINGS_RULE, dict(SETTINGS_DEFAULTS))
        return cls(
            target=parse_version(policy.kubernetes_version),
            strict=params.get("strict") is not False,
            schema_dirs=tuple(str(d) for d in params.get("schemaDirs") or ()),
            skip_kinds=frozenset(str(k) for k in params.get("skipKinds") or ()),
        )

    def skips(self, obj: KubeObject) -> bool:
        """``--skip-kind`` takes a kind (``Prometheus``) or apiVersion/kind (``monitoring.coreos.com/v1/Prometheus``)."""
        return obj.kind in self.skip_kinds or f"{obj.api_version}/{obj.kind}" in self.skip_kinds
