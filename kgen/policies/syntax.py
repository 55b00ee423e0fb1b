"""Input that is not YAML or not a Kubernetes object; found by the loader."""

from kgen.policies.registry import declare

declare(
    id="yaml-invalid",
    category="schema",
    severity="error",
    summary="A file that is not valid YAML, has duplicate keys, or a document that is not a Kubernetes object.",
    why="""kubectl and the API server reject such input, or silently keep only the last of two duplicate
    keys, so what gets applied is not what the file seems to say.""",
    fix="""Fix the YAML at the reported line: remove the duplicate key, quote the value, or make the document a
    mapping with apiVersion, kind and metadata.""",
)

declare(
    id="render-failed",
    category="schema",
    severity="error",
    summary="A Helm chart that does not render or a Kustomize directory that does not build (with the tool's full message).",
    why="""What cannot be rendered cannot be applied, and nothing in it was checked: the rest of the input
    is still linted, but this part of it is not.""",
    fix="""Read the renderer's message: vendor the missing dependency (helm dependency build), pass the
    values the chart requires (-f, --set), or fix the template or kustomization at the reported line.""",
)

declare(
    id="suppression-unknown-rule",
    category="schema",
    severity="warning",
    summary="A `# kgen:ignore` comment or `kgen.dev/ignore` annotation names a rule that does not exist.",
    why="""A misspelt rule id silences nothing: the finding it was meant for is still reported, or, worse,
    the suppression looks reviewed while it does nothing.""",
    fix="""Use the rule id exactly as `kgen rules` lists it (the message suggests the closest one), or
    remove the suppression.""",
)
