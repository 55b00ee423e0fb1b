"""Command line: parse flags, call the library, set the exit code. Nothing else lives here."""

from __future__ import annotations

import os
import sys

import click

from typing import TYPE_CHECKING, Iterable

from kgen import __version__
from kgen.errors import InputError, RuleCrash

if TYPE_CHECKING:
    from kgen.findings import LintReport
    from kgen.fix import FileFix, FixPlan
    from kgen.loader import LoadResult
    from kgen.policies.cluster_policy import ClusterPolicy

EXIT_OK, EXIT_FINDINGS, EXIT_INVALID = 0, 1, 2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kgen")
def cli() -> None:
    """Generate Kubernetes configuration from one app spec, and lint manifests against a cluster policy."""


LINT_EPILOG = """\b
Exit codes:
  0  no finding at or above --fail-on (always 0 with --exit-zero)
  1  findings at or above --fail-on (a file that does not parse is an error finding)
  2  kgen could not judge: bad flags, a missing path, an invalid policy or baseline,
     a renderer that is not installed; nothing is written then
\b
Policy: --policy, else $KGEN_POLICY, else the first .kgen.yaml from here up to the
repository root, else the built-in default (kgen policy show)."""
POLICY_HELP = "Cluster policy file (default: $KGEN_POLICY, else .kgen.yaml found up to the repository root, else the built-in policy)."


@cli.command(epilog=LINT_EPILOG)
@click.argument("paths", nargs=-1, required=True)
@click.option("--policy", "policy_file", type=click.Path(dir_okay=False), help=POLICY_HELP)
@click.option("--format", "formats", multiple=True, metavar="FMT[=FILE]", help="text, json, sarif, junit or github; FMT=FILE writes that format to FILE (repeatable; at most one format goes to stdout). Default: text.")
@click.option("--fail-on", type=click.Choice(["error", "warning", "info"]), default="error", show_default=True, help="Exit 1 when a finding is at or above this severity.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when findings are at or above --fail-on (2 still means kgen could not judge).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write the report to this file instead of stdout (one format; for several use --format FMT=FILE).")
@click.option("--baseline", "baseline_file", type=click.Path(dir_okay=False), help="Report only findings not recorded in this baseline.")
@click.option("--write-baseline", "write_baseline_file", type=click.Path(dir_okay=False), help="Record today's findings in this baseline file and exit 0.")
@click.option("--exclude", "excludes", multiple=True, metavar="GLOB", help="Skip matching files and directories (a name at any depth, or a path relative to here; repeatable). The policy's spec.lint.exclude adds more.")
@click.option("-q", "--quiet", is_flag=True, help="Print findings only: no summary line, no notes.")
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True, help="Colour the text report; auto: on a terminal, unless NO_COLOR is set (FORCE_COLOR forces it).")
@click.option("-f", "--values", "values_files", multiple=True, type=click.Path(dir_okay=False), help="Helm charts: a values file (repeatable, merged in order).")
@click.option("--set", "set_values", multiple=True, help="Helm charts: set a value, key=value (repeatable).")
@click.option("--values-matrix", multiple=True, type=click.Path(dir_okay=False), help="Helm charts: render once per values file and lint each (repeatable).")
@click.option("--kube-version", metavar="X.Y", help="Kubernetes version to validate against, and Helm's .Capabilities.KubeVersion (default: the policy's kubernetesVersion).")
@click.option("--namespace", "-n", metavar="NS", help="Helm charts: the release namespace (default: default), as helm template -n.")
@click.option("--release-name", metavar="NAME", help="Helm charts: the release name (default: the chart's name).")
@click.option("--skip-schema-validation", is_flag=True, help="Helm charts: do not validate values against values.schema.json (e.g. a schema with a remote $ref).")
@click.option("--no-strict", is_flag=True, help="Accept fields the Kubernetes schemas do not define (default: unknown fields are errors).")
@click.option("--schema-dir", "schema_dirs", multiple=True, metavar="DIR", help="JSON schemas for custom resources, kubeconform naming (repeatable).")
@click.option("--skip-kind", "skip_kinds", multiple=True, metavar="KIND", help="Do not schema-validate this kind, nor report it as unknown (repeatable).")
@click.option("--fix", "apply_fixes", is_flag=True, help="First apply the safe automatic fixes to the files (as kgen fix), then report what remains.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), metavar="N", help="Read and check the input's files in N processes (default: the CPUs available; small inputs always use one).")
def lint(
    paths: tuple[str, ...],
    policy_file: str | None,
    formats: tuple[str, ...],
    fail_on: str,
    exit_zero: bool,
    output: str | None,
    baseline_file: str | None,
    write_baseline_file: str | None,
    excludes: tuple[str, ...],
    quiet: bool,
    color: str,
    values_files: tuple[str, ...],
    set_values: tuple[str, ...],
    values_matrix: tuple[str, ...],
    kube_version: str | None,
    namespace: str | None,
    release_name: str | None,
    skip_schema_validation: bool,
    no_strict: bool,
    schema_dirs: tuple[str, ...],
    skip_kinds: tuple[str, ...],
    apply_fixes: bool,
    jobs: int | None,
) -> None:
    """Lint Kubernetes manifests: files, directories (*.yaml, *.yml), - for stdin,
    Helm charts and Kustomize directories (rendered with the real tools), and kgen app specs."""
    import gc

    gc.disable()  # Node trees have no reference cycles; collection passes only cost time here.
    from kgen.excludes import Excludes
    from kgen.inputs import InputOptions, available_cpus, load_inputs, stream_inputs
    from kgen.policies.engine import fails
    from kgen.policies.policy import apply_lint_options, find_policy_file, load_policy, schema_version_warning
    from kgen.report import render_pieces

    destinations = _report_destinations(formats, output)
    policy = apply_lint_options(
        load_policy(find_policy_file(policy_file)),
        kube_version=kube_version,
        strict=False if no_strict else None,
        schema_dirs=schema_dirs,
        skip_kinds=skip_kinds,
    )
    warning = schema_version_warning(policy)
    if warning:
        click.echo(f"kgen: warning: {warning}", err=True)
    if apply_fixes and "-" in paths:
        raise click.UsageError("--fix cannot rewrite stdin; `kgen fix -` prints the fixed text")
    baseline = None
    if baseline_file:
        from kgen.baseline import read_baseline

        baseline = read_baseline(baseline_file)
    excluded = Excludes([*((glob, os.getcwd()) for glob in excludes), *policy.lint_excludes])
    options = InputOptions(
        values=list(values_files),
        set_values=list(set_values),
        values_matrix=list(values_matrix),
        release_name=release_name,
        namespace=namespace,
        kube_version=policy.kubernetes_version,
        skip_schema_validation=skip_schema_validation,
        exclude=excluded,
        resources_as_built=not apply_fixes,
    )
    say = (lambda note: None) if quiet else _note
    if apply_fixes:
        report = _fix_files(load_inputs(list(paths), options, notes=say), policy, paths, quiet)
    else:
        from kgen.parallel import lint_in_processes

        units = stream_inputs(list(paths), options, notes=say)
        quote = any(fmt == "text" for fmt, _ in destinations)
        report = lint_in_processes(units, policy, jobs or available_cpus(), quote)
    for note in report.notes:
        say(note)
    if write_baseline_file:
        from kgen.baseline import baseline_text
        from kgen.fsutil import write_output

        write_output(write_baseline_file, baseline_text(report.findings))
        click.echo(f"kgen: wrote {len(report.findings)} findings to {write_baseline_file}", err=True)
        sys.exit(EXIT_OK)
    if baseline is not None:
        from kgen.baseline import apply_baseline

        report = apply_baseline(report, baseline)
    for fmt, target in destinations:
        _emit(render_pieces(report, fmt, color=target is None and _use_color(color), quiet=quiet, fail_on=fail_on), target)
    if any(fmt == "github" for fmt, _ in destinations):
        _append_step_summary(report)
    sys.exit(EXIT_FINDINGS if fails(report, fail_on) and not exit_zero else EXIT_OK)


def _report_destinations(formats: tuple[str, ...], output: str | None) -> list[tuple[str, str | None]]:
    """Each --format FMT[=FILE] as (format, file or None for stdout), checked before any work."""
    from kgen.report import FORMATS

    destinations: list[tuple[str, str | None]] = []
    for value in formats or ("text",):
        fmt, equals, target = value.partition("=")
        if fmt not in FORMATS:
            raise click.BadParameter(f"{fmt!r} is not one of {', '.join(FORMATS)}", param_hint="--format")
        if equals and not target:
            raise click.BadParameter(f"{value!r}: give a file after '=' ({fmt}=FILE)", param_hint="--format")
        destinations.append((fmt, target or None))
    to_stdout = [fmt for fmt, target in destinations if target is None]
    if output is not None:
        if len(destinations) != 1 or not to_stdout:
            raise click.UsageError("-o writes a single format; for several use --format FMT=FILE")
        return [(destinations[0][0], output)]
    if len(to_stdout) > 1:
        raise click.UsageError(f"at most one format goes to stdout (got {', '.join(to_stdout)}); write the others to files: --format {to_stdout[-1]}=FILE")
    return destinations


def _append_step_summary(report: "LintReport") -> None:
    """GitHub Actions: the Markdown summary of the run, appended to $GITHUB_STEP_SUMMARY when set."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    from kgen.report.github import step_summary

    with open(path, "a", encoding="utf-8") as handle:
        handle.write(step_summary(report))


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def rules(fmt: str) -> None:
    """List the rule catalog."""
    from kgen.policies.catalog import catalog_json, catalog_table

    click.echo(catalog_json() if fmt == "json" else catalog_table(), nl=False)


@cli.command()
@click.argument("rule_id")
def explain(rule_id: str) -> None:
    """Explain one rule: what it checks, why it matters and how to fix it."""
    from kgen.policies.catalog import explain as explain_rule

    click.echo(explain_rule(rule_id), nl=False)


@cli.group()
def policy() -> None:
    """Cluster policy commands."""


@policy.command("show")
@click.option("--policy", "policy_file", type=click.Path(dir_okay=False), help=POLICY_HELP)
def policy_show(policy_file: str | None) -> None:
    """Print the effective policy: the built-in default, or the given or discovered file merged over it."""
    from kgen.policies.policy import find_policy_file, load_policy, policy_text

    click.echo(policy_text(load_policy(find_policy_file(policy_file))), nl=False)


@policy.command("validate")
@click.argument("policy_file", type=click.Path(dir_okay=False))
def policy_validate(policy_file: str) -> None:
    """Check a cluster policy file; errors name the file, line and field. Exit 0 valid, 2 invalid."""
    from kgen.policies.policy import load_policy, schema_version_warning

    policy = load_policy(policy_file)
    warning = schema_version_warning(policy)
    if warning:
        click.echo(f"kgen: warning: {policy_file}: {warning}", err=True)
    click.echo(f"{policy_file}: valid ClusterPolicy {policy.name!r}")


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--policy", "policy_file", type=click.Path(dir_okay=False), help="Cluster policy with namespaces and nodePools. " + POLICY_HELP)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def capacity(paths: tuple[str, ...], policy_file: str | None, fmt: str) -> None:
    """Quota usage at peak per namespace, and CPU/memory/GPU demand vs supply per node pool."""
    from kgen.capacity import capacity_report
    from kgen.loader import load_paths
    from kgen.policies.fit import cluster_fit
    from kgen.policies.inventory import Inventory
    from kgen.policies.policy import find_policy_file, load_policy
    from kgen.report.capacity import render_json, render_text

    policy = load_policy(find_policy_file(policy_file))
    loaded = load_paths(paths)
    if loaded.problems:
        problem = loaded.problems[0]
        raise InputError(problem.message, problem.file, problem.line)
    report = capacity_report(cluster_fit(Inventory(loaded.objects), policy))
    click.echo(render_json(report) if fmt == "json" else render_text(report, color=_use_color("auto")), nl=False)


@cli.command()
@click.argument("specs", nargs=-1, metavar="[SPEC[=DIR]]...")
@click.option("-o", "--output", "out_dir", default="deploy", show_default=True, type=click.Path(file_okay=False), help="Output directory of a SPEC given without =DIR (kustomize/, helm/, manifests/ go below it).")
@click.option("--env", "envs", multiple=True, metavar="ENV", help="Only this environment (repeatable; default: all).")
@click.option("--target", "targets", multiple=True, metavar="LIST", help="kustomize, helm, manifests (comma-separated or repeated; default: all).")
@click.option("--check", is_flag=True, help="Write nothing; print a diff and exit 1 if the files on disk are stale.")
@click.option("--force", is_flag=True, help="Overwrite generated files that were edited by hand (only this spec's).")
def build(specs: tuple[str, ...], out_dir: str, envs: tuple[str, ...], targets: tuple[str, ...], check: bool, force: bool) -> None:
    """Generate Kustomize base + overlays, a Helm chart + values per environment, and manifests.

    Each SPEC (default: kgen.yaml) is built into DIR when written SPEC=DIR, else into -o.
    With --check and several specs, every stale one is reported before exiting 1."""
    from kgen.generator.build import TARGETS, build as run_build

    chosen = [t.strip() for group in targets for t in group.split(",") if t.strip()] or list(TARGETS)
    unknown = sorted(set(chosen) - set(TARGETS))
    if unknown:
        raise click.BadParameter(f"unknown target {unknown[0]!r} (choose from {', '.join(TARGETS)})", param_hint="--target")
    jobs = [_spec_and_output(value, out_dir) for value in specs or ("kgen.yaml",)]
    stale = False
    for spec, directory in jobs:

        def waiting(directory: str = directory) -> None:
            click.echo(f"kgen: waiting for another kgen build to finish in {directory}", err=True)

        result = run_build(spec, directory, envs or None, chosen, check=check, force=force, on_wait=waiting)
        if not check:
            click.echo(f"kgen: {directory}: {len(result.written)} written, {len(result.removed)} removed, {result.unchanged} unchanged", err=True)
        elif result.stale:
            stale = True
            click.echo(result.diff, nl=False)
            if result.edited:
                click.echo(f"kgen: changed by hand: {', '.join(result.edited)} (kgen build refuses to overwrite them without --force)", err=True)
            click.echo(f"kgen: {directory} is stale: {len(result.written)} file(s) to write, {len(result.removed)} to remove; run kgen build {spec} -o {directory}", err=True)
        else:
            click.echo(f"kgen: {directory} is up to date with {spec} ({result.unchanged} files)", err=True)
    if stale:
        sys.exit(EXIT_FINDINGS)


def _spec_and_output(value: str, default_dir: str) -> tuple[str, str]:
    """``SPEC=DIR`` (a file named with '=' stays a file)."""
    spec, equals, directory = value.partition("=")
    if not equals or os.path.exists(value):
        return value, default_dir
    if not spec or not directory:
        raise click.BadParameter(f"{value!r}: expected SPEC=DIR", param_hint="SPEC")
    return spec, directory


@cli.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("--env", help="The environment to render (required when the spec has several).")
def render(spec: str, env: str | None) -> None:
    """Print the final manifests of one environment (multi-document YAML)."""
    from kgen.generator.build import render_environment

    click.echo(render_environment(spec, env), nl=False)


@cli.command()
@click.argument("spec", type=click.Path(dir_okay=False))
def validate(spec: str) -> None:
    """Check an app spec: schema and semantic rules, errors addressed by line and spec path."""
    from kgen.generator.spec import SpecError
    from kgen.generator.validation import validated_spec

    try:
        app = validated_spec(spec)
    except SpecError as exc:
        from kgen.report.escape import text_line

        click.echo("\n".join(text_line(line) for line in str(exc).splitlines()), err=True)  # one `file:line: spec.path: message` per problem
        sys.exit(EXIT_INVALID)
    components, envs = len(app.data["components"]), app.environment_names()
    click.echo(f"{spec}: valid ({components} component{'s' * (components != 1)}; environments: {', '.join(envs)})")


@cli.command()
@click.argument("path", default="kgen.yaml", type=click.Path(dir_okay=False))
@click.option("--example", metavar="NAME", help="Write a complete example instead: statefulset, training, serving or platform.")
def init(path: str, example: str | None) -> None:
    """Write a commented starter spec (a web service and a GPU inference service, two environments)."""
    from kgen.generator.build import write_starter

    write_starter(path, example)
    click.echo(f"kgen: wrote {path}; next: kgen validate {path} && kgen build {path} -o deploy", err=True)


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--policy", "policy_file", type=click.Path(dir_okay=False), help=POLICY_HELP)
@click.option("--rule", "rule_ids", multiple=True, metavar="RULE", help="Apply only this rule's fix (repeatable; default: every fixable rule, see kgen rules).")
@click.option("--diff", "show_diff", is_flag=True, help="Print the fixes as a unified diff and write nothing.")
@click.option("--dry-run", is_flag=True, help="Say what would be fixed in each file and write nothing.")
@click.option("--kube-version", metavar="X.Y", help="Kubernetes version whose APIs to move to (default: the policy's kubernetesVersion).")
def fix(paths: tuple[str, ...], policy_file: str | None, rule_ids: tuple[str, ...], show_diff: bool, dry_run: bool, kube_version: str | None) -> None:
    """Apply the safe automatic fixes to manifests in place, changing only the edited lines.

    Files and directories as for lint; - reads stdin and prints the fixed text. Helm charts and
    Kustomize directories are rendered, not written, and are refused. Exit 0 when nothing is left
    to fix, 1 when findings of the fixable rules remain (with --diff or --dry-run: when there is
    anything to fix), 2 on bad input."""
    from kgen.excludes import Excludes
    from kgen.fix import STDIN, fixable_rules, plan_fixes, refuse_rendered, summary, unified_diff, write_fixes
    from kgen.inputs import InputOptions, load_inputs
    from kgen.policies.policy import apply_lint_options, find_policy_file, load_policy

    policy = apply_lint_options(load_policy(find_policy_file(policy_file)), kube_version=kube_version)
    rules = fixable_rules(rule_ids)
    refuse_rendered(paths)
    loaded = load_inputs(list(paths), InputOptions(render_roots=False, exclude=Excludes(policy.lint_excludes)), notes=_note)
    plan = plan_fixes(loaded, policy, rules)
    preview = show_diff or dry_run
    skipped = [] if preview else write_fixes(plan, paths)
    for file in plan.files:
        if show_diff and file.changed:
            click.echo(unified_diff(file), nl=False)
        elif dry_run and file.changed:
            click.echo(f"{file.source.name}: would fix {summary(file.fixed)}")
        elif file.changed and not preview and file not in skipped and file.source.name != STDIN:
            click.echo(f"kgen: fixed {file.source.name}: {summary(file.fixed)}", err=True)
    if not preview:
        for source in loaded.files:
            if source.name == STDIN:
                click.echo(plan.text_of(source), nl=False)
    _tell(plan, skipped, applied=not preview)
    if loaded.problems:
        sys.exit(EXIT_INVALID)
    left = plan.remaining or skipped or (preview and plan.fixed)
    sys.exit(EXIT_FINDINGS if left else EXIT_OK)


def _fix_files(loaded: "LoadResult", policy: "ClusterPolicy", paths: tuple[str, ...], quiet: bool = False) -> "LintReport":
    """lint --fix: write the fixes, say what changed (unless --quiet), and return the report of what remains."""
    from kgen.fix import fixable_rules, plan_fixes, write_fixes

    plan = plan_fixes(loaded, policy, fixable_rules())
    skipped = write_fixes(plan, paths)
    if not quiet:
        _tell(plan, skipped, applied=True)
    return plan.after


def _tell(plan: "FixPlan", skipped: "list[FileFix]", applied: bool) -> None:
    """The notes on files left untouched, and the one-line outcome, on stderr."""
    from kgen.fix import outcome

    for note in [*plan.notes, *(f"{file.source.name}: {file.problem}" for file in skipped)]:
        _note(note)
    click.echo(f"kgen: {outcome(plan, applied, skipped)}", err=True)


def _note(note: str) -> None:
    from kgen.report.escape import visible

    click.echo(f"kgen: note: {visible(note)}", err=True)


def _use_color(mode: str) -> bool:
    """--color: always, never, or auto (a terminal; NO_COLOR turns it off, FORCE_COLOR on)."""
    if mode != "auto":
        return mode == "always"
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return sys.stdout.isatty()


def _emit(text: str | Iterable[str], output: str | None) -> None:
    if output is None:
        for piece in [text] if isinstance(text, str) else text:
            click.echo(piece, nl=False, color=True)  # colour codes are there only when --color chose them
        return
    from kgen.fsutil import write_output

    write_output(output, text)


def main() -> None:
    """Entry point: every failure becomes one line on stderr and exit 2, never a traceback."""
    try:
        code = _invoke()
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BrokenPipeError:
            code = code or EXIT_INVALID
        except OSError as exc:  # e.g. stdout on a full disk: the report is incomplete
            _say_os_error(exc, "standard output")
            code = EXIT_INVALID
    except KeyboardInterrupt:  # Ctrl-C once the command has returned (click turns one before into Abort)
        _say_aborted()
        code = EXIT_INVALID
    # Skip interpreter teardown: everything is written, and finalising millions of YAML nodes
    # (a full garbage collection, even with gc disabled) can take longer than the lint itself.
    os._exit(code)


def _invoke() -> int:
    try:
        cli.main(standalone_mode=False, prog_name="kgen")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (EXIT_OK if exc.code is None else EXIT_INVALID)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return EXIT_INVALID
    except click.exceptions.Abort:
        _say_aborted()
        return EXIT_INVALID
    except InputError as exc:
        from kgen.report.escape import text_line

        # One line per problem (a spec error lists several); file names and values made visible.
        click.echo("\n".join(text_line(line) for line in f"kgen: error: {exc}".splitlines()), err=True)
        return EXIT_INVALID
    except RuleCrash as exc:
        if os.environ.get("KGEN_DEBUG"):
            raise
        click.echo(f"kgen: {exc}: {exc.__cause__!r}", err=True)
        return EXIT_INVALID
    except BrokenPipeError:
        return EXIT_INVALID
    except OSError as exc:  # an unwritable -o, baseline or init target, a full disk
        _say_os_error(exc, "standard output")
        return EXIT_INVALID
    except KeyboardInterrupt:
        return 130
    return EXIT_OK


def _say_aborted() -> None:
    click.echo("kgen: aborted", err=True)


def _say_os_error(exc: OSError, default: str) -> None:
    """One line naming the file the system refused (``default`` when it names none)."""
    try:
        from kgen.report.escape import visible

        click.echo(f"kgen: error: {visible(str(exc.filename or default))}: {exc.strerror or exc}", err=True)
    except OSError:
        pass  # stderr is gone too: the exit code is all that is left
