"""Chart and Kustomize fidelity on inputs written by others: what `kgen lint ROOT` keeps of a flat lint.

Usage: python benchmarks/chart_fidelity.py ROOT [ROOT ...]

For each chart folder (Chart.yaml) or Kustomize root (kustomization.yaml), one line: the findings
of `kgen lint ROOT`, those of a flat lint of what Helm (`helm template --include-crds`, through
tests/helm_template.py) or Kustomize (`kubectl kustomize`) builds, how many of the flat findings
kgen lost and how many it added (compared as rule, object and path, as DESIGN.md's identity
says), and how many of kgen's are approximate. A root that does not build shows the reason (a
chart whose dependencies are not vendored: Helm's own check, which the oracle leaves out).
The figures of RESULTS.md ("Real charts and trees") were made with it on repository snapshots,
which are never committed.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kgen.errors import InputError  # noqa: E402
from kgen.findings import Finding  # noqa: E402
from kgen.fsutil import kustomization_file  # noqa: E402
from kgen.inputs import InputOptions, load_inputs  # noqa: E402
from kgen.kustomize import kustomize_command  # noqa: E402
from kgen.loader import load_text  # noqa: E402
from kgen.policies.engine import lint  # noqa: E402
from kgen.policies.policy import load_policy  # noqa: E402


def _key(finding: Finding) -> tuple:
    ref = finding.object or {}
    return (finding.rule, ref.get("kind"), ref.get("namespace"), ref.get("name"), finding.path)


def _flat(root: Path, kube_version: str) -> str:
    """What Helm or Kustomize builds from ``root``, as one flat file (raises RuntimeError with the reason)."""
    if kustomization_file(str(root)):
        command = kustomize_command()
        if command is None:
            raise RuntimeError("no kustomize (pip install 'kgen-kubernetes[kustomize]')")
        built = subprocess.run([*command, str(root)], capture_output=True, text=True)
        if built.returncode:
            raise RuntimeError(" ".join(built.stderr.split())[:160])
        return built.stdout
    from tests.helm_template import helm_template

    try:
        return helm_template(str(root), kube_version)
    except Exception as exc:  # Helm's own refusal (a missing dependency, a `fail`): the reason is the figure
        raise RuntimeError(" ".join(str(exc).split())[:160]) from None


def main() -> None:
    roots = [Path(arg) for arg in sys.argv[1:]]
    if not roots:
        sys.exit(__doc__)
    policy = load_policy(None)
    print(f"{'root':40} {'kgen':>5} {'flat':>5} {'lost':>5} {'added':>5} {'approx':>6}")
    for root in roots:
        try:
            flat = lint(load_text(_flat(root, policy.kubernetes_version), "flat.yaml"), policy).findings
            mine = lint(load_inputs([str(root)], InputOptions(kube_version=policy.kubernetes_version)), policy).findings
        except (RuntimeError, InputError) as exc:
            print(f"{root.name[-40:]:40} does not build: {exc}")
            continue
        refused = [finding.message for finding in mine if finding.rule == "render-failed"]
        if refused and not kustomization_file(str(root)):  # `helm template` refuses too (a dependency missing from charts/)
            print(f"{root.name[-40:]:40} does not build: {' '.join(refused[0].split())[:160]}")
            continue
        kept, wanted = Counter(map(_key, mine)), Counter(map(_key, flat))
        lost, added = sum((wanted - kept).values()), sum((kept - wanted).values())
        approximate = sum(1 for finding in mine if finding.approximate)
        print(f"{root.name[-40:]:40} {len(mine):5} {len(flat):5} {lost:5} {added:5} {approximate:6}")


if __name__ == "__main__":
    main()
