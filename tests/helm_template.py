"""What `helm template --include-crds` prints, from Helm's own library: the oracle kgen's chart
lint is checked against (tests) and timed against (benchmarks/bench_chart.py).

The document split is written here again on purpose, from Helm's releaseutil, rather than taken
from kgen/helmchart.py: an oracle that shares kgen's code cannot catch kgen's mistakes.
"""

from __future__ import annotations

import json
import re

import helm_python

_HELM_SEPARATOR = re.compile(r"(?:^|\s*\n)---\s*")


def helm_template(chart: str, kube_version: str) -> str:
    """The chart rendered with its own values and name as release, CRDs first, one `# Source:` per document."""
    out = []
    with helm_python.Chart.load(chart) as loaded:
        for crd in loaded.crds:
            out.append(f"---\n# Source: {crd['filename']}\n{crd['data']}\n")  # Helm's "%s\n": a CRD file may not end its last line
        options = json.dumps({"name": loaded.metadata["name"], "kube_version": f"v{kube_version}.0"})
        rendered = json.loads(helm_python._native.call_string("helm_render", loaded._raw(), "{}", options))
    for key, text in sorted(rendered.items()):
        if key.endswith("NOTES.txt") or not text.strip():
            continue
        for document in _HELM_SEPARATOR.split(text.strip()):
            if document:
                out.append(f"---\n# Source: {key}\n{document.strip()}\n")
    return "".join(out)
