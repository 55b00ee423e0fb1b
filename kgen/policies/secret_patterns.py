"""Detectors for names and values that hold secrets, shared by the secrets rules.

Kept apart from the rules so they can be tested exhaustively on their own. Two
kinds of evidence:

- the *name* of an env var, ConfigMap key or config-file setting says it holds a
  secret (``DB_PASSWORD``, ``apiKey``) and the value is a literal, not a
  reference, path, URL or switch;
- the *value* is a secret whatever its name: a known token format, a private key
  block, a URL with a password, or (ConfigMaps only) a long high-entropy string.

No function here returns or formats a secret value: callers only learn *what*
was found and where, so messages can never leak it.
"""

from __future__ import annotations

import bisect
import math
import os
import re
import shlex
from collections import Counter
from functools import lru_cache
from typing import Any, Iterable, Iterator, NamedTuple, Pattern, Sequence

class LazyPattern:
    """A regular expression compiled when first used, then as fast as the compiled one (its
    methods are kept on the instance). Most runs use a few of the secret detectors' patterns
    (these and the secrets rules'): compiling them all at import cost a one-file lint ~3 ms."""

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self._source = (pattern, flags)

    def __getattr__(self, name: str) -> Any:
        value = getattr(re.compile(*self._source), name)
        setattr(self, name, value)
        return value


# --- names -----------------------------------------------------------------------------------

# Words that make a name secret on their own.
SECRET_WORDS = frozenset({
    "password", "passwords", "pwd", "passphrase", "secret", "secrets", "token",
    "apikey", "apitoken", "accesstoken", "authtoken", "refreshtoken", "credential", "credentials",
    "creds", "privatekey", "secretkey", "accesskey", "signingkey", "encryptionkey", "masterkey",
    "bearer", "connectionstring", "requirepass", "masterauth", "pgpassword",
})  # fmt: skip
# Two-word spellings of the compounds above (AZURE_STORAGE_CONNECTION_STRING).
SECRET_PAIRS = frozenset({("connection", "string")})
# "key" is secret only with a qualifier before it (API_KEY, AZURE_BATCH_KEY), and not these.
KEY_WORDS = frozenset({"key", "keys"})
PUBLIC_KEY_QUALIFIERS = frozenset({
    "public", "pub", "sort", "cache", "partition", "primary", "foreign", "routing", "idempotency",
    "range", "row", "map", "lookup", "shard", "index", "unique", "composite", "object", "hash",
    "dedup", "deduplication", "group", "label", "annotation", "metadata", "redis", "s3", "gcs",
    # log encoders name their fields so (zap's timeKey, levelKey, messageKey, stacktraceKey...)
    "time", "timestamp", "level", "message", "msg", "name", "caller", "function", "stacktrace", "logger",
    "meta",  # a metadata store's key (aibrix's KV cache: CLUSTER_META_KEY=kvcache_nodes)
})  # fmt: skip
# "passwd" needs a qualifier (DB_PASSWD): alone it is the nsswitch/getent database of that name.
QUALIFIED_ONLY_WORDS = frozenset({"passwd"})
# "pass" is a password only as the last word (DB_PASS), not a verb (PASS_DEVICE_SPECS).
TRAILING_ONLY_WORDS = frozenset({"pass"})
# A word after the secret word that makes the name describe a secret rather than hold it.
METADATA_WORDS = frozenset({
    "file", "files", "path", "paths", "dir", "directory", "name", "names", "ref", "reference", "id",
    "ids", "arn", "uri", "url", "endpoint", "host", "hostname", "port", "env", "var", "location",
    "mount", "length", "len", "size", "ttl", "expiry", "expires", "expiration", "lifetime",
    "timeout", "interval", "duration", "age", "period", "seconds", "secs", "sec", "ms", "minutes",
    "hours", "days", "header", "type", "kind", "mode", "format", "algorithm", "algo", "alg",
    "version", "count", "enabled", "enable", "disabled", "required", "policy", "prefix", "suffix",
    "pattern", "regex", "separator", "delimiter", "field", "param", "parameter", "claim", "audience",
    "issuer", "scope", "scopes", "provider", "store", "backend", "engine", "manager", "namespace",
    "selector", "hint", "description", "strategy", "rotation", "source", "key", "keys", "template",
    "class", "label", "annotation", "stdin", "prompt",
    # LLM serving counts tokens: TOKEN_LIMIT, TOKEN_BUDGET, VTC_TOKEN_TRACKER_TIME_UNIT (aibrix)
    "limit", "limits", "budget", "rate", "tracker", "threshold", "window", "unit", "units", "quota", "usage", "counter",
})  # fmt: skip
# A word before the secret word that turns the name into a switch or a number (ALLOW_EMPTY_PASSWORD,
# MAX_TOKEN_LENGTH): the value is not the secret.
SWITCH_WORDS = frozenset({
    "allow", "enable", "disable", "use", "skip", "require", "random", "generate", "ignore", "max",
    "min", "num", "number", "limit", "no", "empty", "check", "verify", "validate", "is", "has",
})  # fmt: skip


_LOWER_UPPER = LazyPattern(r"([a-z0-9])([A-Z])")
# The last capital of an acronym before a capitalised word (HTTPServer): a lookahead, not ``([A-Z]+)([A-Z][a-z])``,
# which backtracks over the whole run of capitals at every position (quadratic in a long upper-case name).
_ACRONYM_END = LazyPattern(r"([A-Z])(?=[A-Z][a-z])")


@lru_cache(maxsize=8192)
def name_words(name: str) -> tuple[str, ...]:
    """``AWS_SECRET_ACCESS_KEY``, ``awsSecretAccessKey`` and ``aws.secret-access.key`` alike, lower-cased."""
    spaced = _LOWER_UPPER.sub(r"\1 \2", name)
    spaced = _ACRONYM_END.sub(r"\1 ", spaced)
    return tuple(word for word in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if word)


def _secret_word_at(words: tuple[str, ...], index: int) -> bool:
    word = words[index]
    if word in SECRET_WORDS or (index > 0 and (words[index - 1], word) in SECRET_PAIRS):
        return True
    if word in TRAILING_ONLY_WORDS:
        return index == len(words) - 1
    if word in KEY_WORDS:
        qualifier = words[index - 1] if index > 0 else ""
        return len(qualifier) > 1 and qualifier not in PUBLIC_KEY_QUALIFIERS  # not "a_key"
    if word in QUALIFIED_ONLY_WORDS:
        return index > 0
    return False


def compile_name_patterns(patterns: Iterable[object]) -> tuple[Pattern[str], ...]:
    """The policy's ``secrets.namePatterns`` (case-insensitive); invalid ones are the schema's job."""
    compiled = []
    for pattern in patterns:
        if isinstance(pattern, str):
            try:
                compiled.append(re.compile(pattern, re.IGNORECASE))
            except re.error:
                continue
    return tuple(compiled)


MAX_PATTERN_INPUT = 256


def is_secret_name(name: str, extra: Iterable[Pattern[str]] = ()) -> bool:
    """Whether a setting called ``name`` holds a secret (not a file, name, length or switch for one)."""
    # The policy's own patterns see a name's first 256 characters: Python's re has no time limit,
    # and no real setting name is longer.
    if any(pattern.search(name[:MAX_PATTERN_INPUT]) for pattern in extra):
        return True
    return _is_secret_word_sequence(name_words(name))


@lru_cache(maxsize=8192)
def _is_secret_word_sequence(words: tuple[str, ...]) -> bool:
    """is_secret_name's verdict on a name's words (config files repeat their keys line after line)."""
    hits = [index for index in range(len(words)) if _secret_word_at(words, index)]
    if not hits:
        return False
    last = hits[-1]
    if any(word in METADATA_WORDS for word in words[last + 1 :]):
        return False
    return not any(word in SWITCH_WORDS for word in words[: hits[0]])


# --- values that are not secrets ----------------------------------------------------------------

SWITCH_VALUES = frozenset({
    "true", "false", "yes", "no", "on", "off", "y", "n", "0", "1", "enabled", "disabled", "enable",
    "disable", "none", "null", "nil", "~", "undefined",
})  # fmt: skip
_VARIABLE = LazyPattern(r"\$\([A-Za-z_][\w.]*+\)|^\$[A-Za-z_]\w*+$")
_PATH = LazyPattern(r"^(?:/|~/|\./|\.\./)\S*$")
_URL = LazyPattern(r"^[a-zA-Z][a-zA-Z0-9+.-]*://\S+$")
_RESOURCE_NAME = LazyPattern(r"^(?:arn:aws[\w-]*:|projects/[^/\s]+/)\S*$")


def is_reference(value: str) -> bool:
    """The value is filled in elsewhere: ``$(VAR)``, ``${VAR}``, Helm/Jinja ``{{ ... }}`` or ``{% ... %}``.

    The bracket pairs are found with string searches, in linear time:
    a lazy ``{{.*?}}`` regex rescans the rest of the line from every ``{{`` (quadratic on ``{{{{...``).
    """
    if _VARIABLE.search(value):
        return True
    opening = value.find("${")
    if opening >= 0 and value.find("}", opening + 2) >= 0:
        return True
    return any(_pair_on_a_line(value, opener, closer) for opener, closer in (("{{", "}}"), ("{%", "%}")))


def _pair_on_a_line(value: str, opener: str, closer: str) -> bool:
    """``opener`` followed by ``closer`` on the same line (as ``{{.*?}}`` without DOTALL)."""
    if opener not in value:
        return False
    return any(opener in line and closer in line[line.index(opener) + len(opener) :] for line in value.split("\n"))


def is_benign_value(value: str) -> bool:
    """Values that cannot be a secret themselves: empty, switches, references, paths, plain URLs, resource names.

    Placeholder words (``changeme``, ``xxx``, ``<password>``) are *not* benign: the container runs with
    them, and whatever replaces them would land in the same file.
    """
    text = value.strip()
    if not text or text.lower() in SWITCH_VALUES or is_reference(text):
        return True
    if _PATH.match(text) or _RESOURCE_NAME.match(text):
        return True
    return bool(_URL.match(text)) and not url_has_password(text)


# --- values that are secrets -------------------------------------------------------------------


class TokenFormat(NamedTuple):
    """A credential format recognisable from the value alone.

    ``hints`` are literal pieces every match contains: a substring test is far cheaper than a
    regex scan (patterns that start with ``\\b`` get no literal-prefix search in ``re``), and
    ConfigMaps hold megabytes of dashboards and rules. The pattern is compiled the first time a
    hint is met, then found in ``re``'s cache (most runs never meet one; compiling them all cost
    a one-file lint ~2 ms). A named tuple: a dataclass costs ~0.5 ms of start-up to define.
    """

    label: str
    source: str
    hints: tuple[str, ...]

    def search(self, text: str) -> Iterator[re.Match[str]]:
        if any(hint in text for hint in self.hints):
            yield from re.finditer(self.source, text)


class PrivateJwkFormat:
    """A private JSON Web Key: ``"kty"`` and a ``"d"`` member in one JSON object (no brace between).

    Searched one brace-free span at a time, and only in spans that hold a ``"d"`` member: the
    pattern alone retries ``[^{}]*`` from every ``"kty"`` of a span (quadratic on JWK-like text).
    """

    label = "a private JSON Web Key"
    hints = ('"kty"',)
    _KTY = LazyPattern(r'"kty"')
    _D = LazyPattern(r'"d"\s*+:\s*+"[A-Za-z0-9_-]{16,}+"')
    _BRACE = LazyPattern(r"[{}]")
    pattern = LazyPattern(r'"kty"\s*:\s*"[^"]+"[^{}]*"d"\s*:\s*"[A-Za-z0-9_-]{16,}"|"d"\s*:\s*"[A-Za-z0-9_-]{16,}"[^{}]*"kty"\s*:')

    def search(self, text: str) -> Iterator[re.Match[str]]:
        if '"kty"' not in text:
            return
        searched_to = 0
        for kty in self._KTY.finditer(text):
            if kty.start() < searched_to:
                continue  # in a span already searched
            start = max(text.rfind("{", searched_to, kty.start()), text.rfind("}", searched_to, kty.start())) + 1
            brace = self._BRACE.search(text, kty.end())
            end = brace.start() if brace else len(text)
            searched_to = end
            if self._D.search(text, start, end):
                yield from self.pattern.finditer(text, start, end)


# Quantifiers are bounded or possessive, and every pattern is linear in the text it scans: values are
# whatever a pull request puts in a ConfigMap (tests/test_hostile.py holds the adversarial strings).
TOKEN_FORMATS: tuple[TokenFormat | PrivateJwkFormat, ...] = (
    TokenFormat("a private key block", r"(?<!-)-{3,}+\s*+BEGIN[A-Z0-9 ]{0,64}PRIVATE KEY(?: BLOCK)?\s*+-{3,}", ("PRIVATE KEY",)),
    TokenFormat("an AWS access key ID", r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}(?![A-Z0-9])", ("AKIA", "ASIA", "ABIA", "ACCA", "A3T")),
    TokenFormat("a GitHub token", r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{40,255})\b", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_")),
    TokenFormat("a GitLab token", r"\bglpat-[A-Za-z0-9_-]{20,255}\b", ("glpat-",)),
    TokenFormat("a Slack token", r"\bxox[baprse]-[A-Za-z0-9-]{10,}", ("xox",)),
    TokenFormat("a Slack webhook URL", r"https://hooks\.slack\.com/services/T[A-Za-z0-9_]++/B[A-Za-z0-9_]++/[A-Za-z0-9_]+", ("hooks.slack.com",)),
    TokenFormat("a JSON Web Token", r"\beyJ[A-Za-z0-9_-]{8,}+\.eyJ[A-Za-z0-9_-]{8,}+\.[A-Za-z0-9_-]*", ("eyJ",)),
    TokenFormat("a Google API key", r"\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])", ("AIza",)),
    TokenFormat("a Stripe secret key", r"\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{20,}+\b", ("_live_", "_test_")),
    TokenFormat("an OpenAI API key", r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,200}T3BlbkFJ[A-Za-z0-9_-]{20,}", ("T3BlbkFJ",)),
    TokenFormat("an Anthropic API key", r"\bsk-ant-(?:api|admin)\d\d-[A-Za-z0-9_-]{80,}", ("sk-ant-",)),
    TokenFormat("a Hugging Face token", r"\bhf_[A-Za-z]{34}\b", ("hf_",)),
    TokenFormat("an npm token", r"\bnpm_[A-Za-z0-9]{36}\b", ("npm_",)),
    TokenFormat("a SendGrid API key", r"\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}\b", ("SG.",)),
    TokenFormat("an Azure storage account key", r"(?:AccountKey|SharedAccessKey)=[A-Za-z0-9+/]{40,}={0,2}", ("AccountKey=", "SharedAccessKey=")),
    PrivateJwkFormat(),
)
_TOKEN_HINTS = tuple(hint for token in TOKEN_FORMATS for hint in token.hints)
# Documented examples that every scanner ignores (AWS' own docs key).
_EXAMPLE_MARKER = LazyPattern(r"EXAMPLE", re.IGNORECASE)

# Bounded scheme, user and password: an unbounded scheme rescans a long ``a.a.a.a`` run from every word start; an empty user
# (redis://:pw@host) counts too.
_URL_USERINFO = LazyPattern(r"\b[a-zA-Z][a-zA-Z0-9+.-]{0,31}://([^\s:/@'\"]{0,256}):([^\s@/'\"]{1,256})@[^\s/@]")


def url_has_password(text: str) -> bool:
    """A URL carries ``user:password@`` with a literal password (not ``$(VAR)``, ``${VAR}`` or ``{{ }}``)."""
    for match in _URL_USERINFO.finditer(text):
        password = match.group(2)
        if not is_reference(password) and not re.fullmatch(r"\$\w+|%s|\*+|<[^>]*>", password):
            return True
    return False


class Found(NamedTuple):
    """What was found (``label``, e.g. "a GitHub token") and where in the text (never the text itself)."""

    label: str
    offset: int

    def line_in(self, text: str) -> int:
        """1-based line of the finding within ``text``."""
        return text.count("\n", 0, self.offset) + 1


def find_token(text: str) -> Found | None:
    """The first known credential ``text`` contains, or None."""
    if any(map(text.__contains__, _TOKEN_HINTS)):  # one pass for most values: no format's hint
        for token in TOKEN_FORMATS:
            for match in token.search(text):
                if not _EXAMPLE_MARKER.search(match.group(0)):
                    return Found(token.label, match.start())
    if "://" not in text or "@" not in text:
        return None
    for match in _URL_USERINFO.finditer(text):
        if url_has_password(match.group(0)):
            return Found("a URL with an embedded password", match.start())
    return None


def shannon_entropy(text: str) -> float:
    """Bits per character of ``text``'s own character distribution."""
    if not text:
        return 0.0
    counts = Counter(text)
    total = len(text)
    return -sum(n / total * math.log2(n / total) for n in counts.values())


MIN_ENTROPY_LENGTH = 32
MAX_ENTROPY_LENGTH = 256  # longer runs are payloads (images, model inputs), not credentials
ENTROPY_THRESHOLD = 4.3
MAX_SEPARATOR_SHARE = 0.1  # random base64url has about 5% of / - _; names and paths far more
_SEPARATORS = LazyPattern(r"[/_-]")
# A digest as one segment of a path (`Llama-3.1-8B-Instruct/commit/0e9e39f2...`, kaito's model list).
_DIGEST_SEGMENT = LazyPattern(r"(?:^|[/_-])[0-9a-f]{32,}(?:[/_-]|=*$)")
MAX_WORD_SHARE = 0.6  # share of the run in word-like letter runs; random base64 exceeds it 1 time in 1000
_WORD = LazyPattern(r"[A-Z]?[a-z]{3,}")
_CANDIDATE = LazyPattern(r"[A-Za-z0-9+/_-]{%d,}={0,2}" % MIN_ENTROPY_LENGTH)
_PEM_BEGIN = LazyPattern(r"-----BEGIN ([A-Z0-9 ]{1,64})-----")
_PEM_END = LazyPattern(r"-----END ([A-Z0-9 ]{1,64})-----")
# Context right before a run that says it is a digest, public key material or inline data.
_PUBLIC_CONTEXT = LazyPattern(
    r"(?:sha\d*[:-]|md5[:-]|integrity\W*|checksum\W*|base64,|ssh-(?:rsa|ed25519|dss)\s|ecdsa-sha2-\S+\s"
    r"|[\"'](?:n|e|x|y|x5c|x5t|x5t#S256|kid)[\"']\s*:\s*\[?\s*[\"'])$",
    re.IGNORECASE,
)


def high_entropy_runs(text: str) -> Iterator[tuple[int, float]]:
    """(offset, entropy) of long random-looking base64/base64url runs, skipping digests, certificates and public keys.

    A run qualifies when it is 32-256 characters, mixes upper case, lower case and digits (identifiers
    and hex digests do not), is not words joined by ``/ - _`` (paths, model and metric names) nor
    mostly camel-case words, and its entropy reaches 4.3 bits/char: random base64 of 32 chars averages 4.55 (40 chars: 4.8), while the
    camel-case names, paths and model ids of the corpus stay below 4.0 once separators are accounted for.
    """
    if len(text) < MIN_ENTROPY_LENGTH:
        return
    text = _without_public_pem_blocks(text)
    for match in _CANDIDATE.finditer(text):
        run = match.group(0).rstrip("=")
        if len(run) > MAX_ENTROPY_LENGTH:
            continue
        if not (re.search(r"[A-Z]", run) and re.search(r"[a-z]", run) and re.search(r"[0-9]", run)):
            continue
        if len(_SEPARATORS.findall(run)) > MAX_SEPARATOR_SHARE * len(run):
            continue  # words joined by / - _: a path, model or metric name
        if _DIGEST_SEGMENT.search(run):
            continue  # a path to a digest: a model revision URL (.../commit/<40 hex>), an image digest
        if sum(len(word) for word in _WORD.findall(run)) > MAX_WORD_SHARE * len(run):
            continue  # mostly camel-case words: an identifier
        if _PUBLIC_CONTEXT.search(text[max(0, match.start() - 24) : match.start()]):
            continue
        entropy = shannon_entropy(run)
        if entropy >= ENTROPY_THRESHOLD:
            yield match.start(), entropy


def _without_public_pem_blocks(text: str) -> str:
    """Certificates, public keys and DH parameters blanked out (offsets kept): they are public.

    A block runs from ``-----BEGIN L-----`` to the next ``-----END L-----``; the ends are indexed
    once, as ``BEGIN (L)-----.*?END \\1`` rescans the rest of the text from every BEGIN line.
    """
    if "-----BEGIN " not in text:
        return text
    ends: dict[str, list[int]] = {}
    for end in _PEM_END.finditer(text):
        ends.setdefault(end.group(1), []).append(end.start())
    pieces: list[str] = []
    done = 0
    for begin in _PEM_BEGIN.finditer(text):
        label = begin.group(1)
        starts = ends.get(label, [])
        index = bisect.bisect_left(starts, begin.end())
        if begin.start() < done or index == len(starts):
            continue
        block_end = starts[index] + len(f"-----END {label}-----")
        if "PRIVATE" not in label:
            pieces += [text[done : begin.start()], " " * (block_end - begin.start())]
            done = block_end
    return "".join(pieces) + text[done:] if pieces else text


# --- settings inside config files --------------------------------------------------------------

_ASSIGNMENT = LazyPattern(
    r"""^[\s\-]*["']?(?P<key>[A-Za-z_][\w.\-]*)["']?(?:\s*[:=]|(?<=requirepass)|(?<=masterauth))\s*(?P<value>"[^"]*"|'[^']*'|[^\s#;,]+)\s*[,;]?\s*(?:#.*)?$"""
)
_UNQUOTED_LITERAL = LazyPattern(r"^[^\s()\[\]{}<>$`'\"]+$")
_DOTTED_NAME = LazyPattern(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+$")
# A YAML block scalar's header (`credentials: |-`): the value is on the lines below.
_BLOCK_HEADER = LazyPattern(r"^[|>][-+0-9]*$")


def secret_assignments(text: str, extra: Iterable[Pattern[str]] = ()) -> Iterator[tuple[int, str]]:
    """(1-based line, setting name) of ``password = "hunter2"``-style lines in a config file or script.

    Recognises ``key: value``, ``key = value`` and ``key value`` lines (YAML, INI, properties, HCL,
    redis/nginx style). Values that are code (``os.environ["X"]``, ``args.token``), references,
    paths, switches or empty are not literals.
    """
    patterns = tuple(extra)
    for number, line in _lines_naming_secrets(text, patterns):
        match = _ASSIGNMENT.match(line)
        if not match or not is_secret_name(match.group("key"), patterns):
            continue
        raw = match.group("value")
        if _BLOCK_HEADER.match(raw):  # `password: |-`: the value is the block's first line
            lines = text.splitlines()
            raw = lines[number].strip() if number < len(lines) else ""
        quoted = raw[:1] in "\"'" and len(raw) >= 2
        value = raw[1:-1] if quoted else raw
        if not quoted and (not _UNQUOTED_LITERAL.match(value) or _DOTTED_NAME.match(value)):
            continue
        if is_benign_value(value) or name_words(value) == name_words(match.group("key")):
            continue
        yield number, match.group("key")


# A secret name's words hold one of these (SECRET_WORDS, SECRET_PAIRS, KEY_WORDS, the qualified and
# trailing words): a line without any cannot set a secret by name (dashboards are ~1,000 lines of JSON).
_NAME_HINTS = ("pass", "pwd", "secret", "token", "key", "cred", "bearer", "connection", "masterauth")
_OTHER_LINE_BREAKS = LazyPattern("[\r\x0b\x0c\x1c\x1d\x1e]")  # for str.splitlines, in ASCII


def _lines_naming_secrets(text: str, patterns: tuple[Pattern[str], ...]) -> Iterator[tuple[int, str]]:
    """(1-based number, line) of ``text.splitlines()`` that may name a secret setting: in ASCII text
    broken at \\n only, those that hold a secret word in any case; else (or when the policy adds name
    patterns) every line."""
    if patterns or not text.isascii() or _OTHER_LINE_BREAKS.search(text):
        yield from enumerate(text.splitlines(), start=1)
        return
    lowered = text.lower()
    hits = []
    for word in _NAME_HINTS:
        at = lowered.find(word)
        while at >= 0:
            hits.append(at)
            at = lowered.find(word, at + 1)
    number, counted_to, end = 1, 0, -1
    for at in sorted(hits):
        if at < end:
            continue  # on the line just given
        start = text.rfind("\n", 0, at) + 1
        end = text.find("\n", at)
        end = len(text) if end < 0 else end
        number += text.count("\n", counted_to, start)
        counted_to = start
        yield number, text[start:end]


# --- command lines ----------------------------------------------------------------------------

# ``--password=x``, ``-Djavax.net.ssl.keyStorePassword=x``, ``DB_PASSWORD=x`` (a shell prefix or export).
_SETTING = LazyPattern(r"^(?:-D|-{0,2})(?P<name>[A-Za-z_][\w.\-]*)=(?P<value>.*)$", re.DOTALL)
# ``--api-key x``: double dash only, since ``-pSecret`` is an option with its value attached.
_LONG_FLAG = LazyPattern(r"^--(?P<name>[A-Za-z][\w.\-]+)$")
# Short options that take a password in well-known clients, and whether the value may be the next
# word: ``mysql -p x`` names a database (a bare -p prompts), ``redis-cli -a x`` is a password.
PASSWORD_OPTIONS = {
    "mysql": ("-p", False), "mysqladmin": ("-p", False), "mysqldump": ("-p", False),
    "mysqlcheck": ("-p", False), "mariadb": ("-p", False), "mariadb-dump": ("-p", False),
    "redis-cli": ("-a", True),
}  # fmt: skip
_SHELL_SEPARATORS = frozenset({";", "&&", "||", "|", "&", "(", ")"})


def _literal(value: str, name: str) -> bool:
    """A value written out, not a reference, shell expansion, path, switch or the setting's own name."""
    value = value.strip("\"'")
    return not (is_benign_value(value) or "$" in value or "`" in value or name_words(value) == name_words(name))


# What makes shlex split otherwise than at spaces, tabs and line breaks: quotes, escapes,
# comments, operators, and the other characters str.isspace() takes for whitespace.
_SHELL_SYNTAX = LazyPattern(r"""['"\\#();<>|&\x0b\x0c\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]""")


def _words(script: str) -> list[str]:
    """A shell command line as the shell splits it (quotes removed, ``;``/``&&``/``|`` apart)."""
    if not _SHELL_SYNTAX.search(script):
        return script.split()  # what shlex, a pure-Python scanner, would say at a tenth of the cost
    lexer = shlex.shlex(script, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        return list(lexer)
    except ValueError:  # unbalanced quotes: not shell, or not all of it
        return script.split()


def _literal_settings(words: Sequence[str], extra: tuple[Pattern[str], ...]) -> Iterator[tuple[int, str]]:
    """(index of the word holding it, option or variable name) for each secret passed literally in ``words``."""
    option: tuple[str, bool] | None = None
    program = True  # the next word that is not an assignment names the program
    for index, word in enumerate(words):
        if word in _SHELL_SEPARATORS:
            program = True
            continue
        following = words[index + 1] if index + 1 < len(words) else ""
        setting = _SETTING.match(word)
        flag = _LONG_FLAG.match(word)
        if program and not setting:
            option, program = PASSWORD_OPTIONS.get(os.path.basename(word)), False
        if setting and is_secret_name(setting.group("name"), extra) and _literal(setting.group("value"), setting.group("name")):
            yield index, word[: setting.start("value") - 1]
        elif flag and is_secret_name(flag.group("name"), extra) and not following.startswith("-") and following not in _SHELL_SEPARATORS and _literal(following, flag.group("name")):
            yield index + 1, word
        elif option and word.startswith(option[0]) and len(word) > 2 and _literal(word[2:], "password"):
            yield index, option[0]
        elif option and option[1] and word == option[0] and _literal(following, "password"):
            yield index + 1, word


def _may_pass_a_secret(script: str, patterns: tuple[Pattern[str], ...]) -> bool:
    """Whether a shell script can pass a secret by name (a setting or option naming a secret word,
    or a client of PASSWORD_OPTIONS): quotes and escapes join what the shell reads as one word, so
    an ASCII script without one of those words, in any case, once they are taken out, cannot.
    Splitting every script of a corpus into words was most of secret-arg-literal's time."""
    if patterns or not script.isascii():
        return True
    letters = script.lower().replace('"', "").replace("'", "").replace("\\", "")
    return any(word in letters for word in (*_NAME_HINTS, *PASSWORD_OPTIONS))


def _passes(setting: str) -> str:
    return f"passes {setting} a literal value" if setting.startswith("-") else f"sets {setting} to a literal value"


def secret_arguments(argv: Sequence[str], extra: Iterable[Pattern[str]] = ()) -> Iterator[tuple[int, str]]:
    """(index, what) for each argument of a command line that passes a secret; ``what`` never holds the value.

    Catches known token formats anywhere, ``--password=x`` and ``--api-key x``, ``NAME=x`` for
    secret names, ``mysql -pX`` and ``redis-cli -a X``, and the same inside shell scripts
    (``sh -c "..."``). References (``$(VAR)``, ``$VAR``), paths, switches and names of secrets
    (``--password-file``, ``--secret-name``) are not literals. One finding per argument.
    """
    patterns = tuple(extra)
    reported: set[int] = set()
    for index, arg in enumerate(argv):
        found = find_token(arg)
        if found:
            reported.add(index)
            yield index, f"holds {found.label}"
        elif any(space in arg for space in " \n\t") and _may_pass_a_secret(arg, patterns):
            for _, setting in _literal_settings(_words(arg), patterns):
                reported.add(index)
                yield index, f"runs a shell command that {_passes(setting)}"
                break
    for index, setting in _literal_settings(argv, patterns):
        if index not in reported:
            reported.add(index)
            yield index, _passes(setting)
