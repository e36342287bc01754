"""Security (SEC): authentication, authorization, rate limits, HTTP edge, secrets, queries."""

from __future__ import annotations

import ast
import fnmatch
import re
from pathlib import PurePosixPath
from typing import Any

from svcforge.check.engine import rule
from svcforge.check.model import Evidence, Status, Verdict
from svcforge.check.repository import Repository
from svcforge.check.rules.python_code import (
    CodeIndex,
    Module,
    automation_runs,
    ci_files,
    code_index,
    judged,
    keyword,
    looks_like_sql,
    no_fastapi,
    no_python,
    parameters,
    source_of,
    status_code,
    unknown,
    where,
)

# -- SEC-1 --------------------------------------------------------------------------------

_AUTH_SCHEMES = frozenset(
    {
        "OAuth2PasswordBearer",
        "OAuth2AuthorizationCodeBearer",
        "OAuth2PasswordRequestForm",
        "HTTPBearer",
        "HTTPBasic",
        "APIKeyHeader",
        "APIKeyQuery",
        "APIKeyCookie",
        "OpenIdConnect",
    }
)
_JWT_LIBRARIES = ("jwt", "jose", "authlib", "joserfc")
_KDF_LIBRARIES = ("pwdlib", "passlib", "argon2", "bcrypt")
_WEAK_HASHES = frozenset({"md5", "sha1", "sha224", "sha256", "sha384", "sha512", "new"})
_PASSWORD_WORDS = re.compile(r"passw(or)?d|pwd", re.IGNORECASE)


def _auth_mechanisms(index: CodeIndex) -> dict[str, tuple[Module, ast.AST]]:
    """Return the authentication building blocks the application uses, by name."""
    found: dict[str, tuple[Module, ast.AST]] = {}
    for module in index.app_modules:
        for local, qualified in module.imports.items():
            simple = qualified.rsplit(".", 1)[-1]
            if qualified.startswith(("fastapi.security", "fastapi.")) and simple in _AUTH_SCHEMES:
                found.setdefault(simple, (module, module.tree))
            elif qualified.split(".")[0] in _JWT_LIBRARIES:
                found.setdefault("JWT", (module, module.tree))
            elif qualified.split(".")[0] in _KDF_LIBRARIES or qualified == "hashlib.scrypt":
                found.setdefault("password KDF", (module, module.tree))
            del local
    return found


@rule("SEC-1")
def authentication(repo: Repository) -> Verdict:  # noqa: PLR0912 - one branch per finding the standard names
    """Parses the Python code: the app authenticates (FastAPI security schemes, JWT or API
    keys); every `jwt.decode` pins `algorithms=` (never "none", signature checked); issued
    tokens carry `exp`; passwords are hashed with argon2/bcrypt/scrypt (pwdlib, passlib,
    argon2-cffi, bcrypt), never a plain hash; API keys are compared in constant time.
    """
    missing = no_python("SEC-1", repo, "authentication")
    if missing:
        return missing
    index = code_index(repo)
    missing = no_fastapi("SEC-1", index, "callers are authenticated")
    if missing:
        return missing
    mechanisms = _auth_mechanisms(index)
    schemes = [name for name in mechanisms if name in _AUTH_SCHEMES or name == "JWT"]
    if not schemes:
        return judged(
            "SEC-1",
            [
                Evidence(
                    "no FastAPI security scheme, JWT library or API key header is used",
                    path=index.web_modules[0].path,
                )
            ],
            passed="",
            failed="No authentication was found: every route is open to anyone.",
            remediation=(
                "Authenticate callers: OAuth2 password flow with JWT bearer tokens, or API "
                "keys checked in a dependency every route uses."
            ),
        )
    failures: list[Evidence] = []
    handles_passwords = (
        "OAuth2PasswordRequestForm" in mechanisms or "OAuth2PasswordBearer" in mechanisms
    )
    compares_in_constant_time = False
    for module in index.app_modules:
        for call in module.calls:
            qualified = module.qualified(call.func) or ""
            root = qualified.split(".")[0]
            method = qualified.rsplit(".", 1)[-1]
            if root in {"jwt", "jose"} and method == "decode":
                algorithms = keyword(call, "algorithms")
                options = keyword(call, "options")
                if algorithms is None:
                    failures.append(
                        where(
                            module,
                            call,
                            "jwt.decode without algorithms=: the token picks its own algorithm "
                            f"({source_of(call)})",
                        )
                    )
                elif "'none'" in ast.unparse(algorithms).lower():
                    failures.append(where(module, call, "jwt.decode accepts the 'none' algorithm"))
                if options is not None and re.search(
                    r"verify_signature['\"]?\s*:\s*False", ast.unparse(options)
                ):
                    failures.append(where(module, call, "jwt.decode skips the signature check"))
            elif root in {"jwt", "jose"} and method == "encode":
                texts = {text for _, text in module.strings()}
                if "exp" not in texts and not any(
                    isinstance(n, ast.keyword) and n.arg == "exp" for n in module.nodes
                ):
                    failures.append(
                        where(module, call, "tokens are issued without an expiry (no 'exp' claim)")
                    )
            elif (
                root == "hashlib"
                and method in _WEAK_HASHES
                and _PASSWORD_WORDS.search(ast.unparse(call))
            ):
                failures.append(
                    where(module, call, f"password hashed with a fast hash: {source_of(call)}")
                )
            elif qualified in {"hmac.compare_digest", "secrets.compare_digest"}:
                compares_in_constant_time = True
            elif root == "passlib" and method == "CryptContext":
                schemes_arg = keyword(call, "schemes")
                if isinstance(schemes_arg, ast.List | ast.Tuple) and not re.search(
                    r"argon2|bcrypt|scrypt", ast.unparse(schemes_arg)
                ):
                    failures.append(
                        where(
                            module,
                            call,
                            f"passwords hashed with weak schemes: {source_of(schemes_arg)}",
                        )
                    )
        if not handles_passwords:
            handles_passwords = any(
                isinstance(node, ast.Name | ast.arg | ast.Attribute)
                and re.search(
                    r"(hashed_password|password_hash|passwords?_?hasher)",
                    str(
                        getattr(node, "id", None)
                        or getattr(node, "arg", None)
                        or getattr(node, "attr", "")
                    ),
                    re.IGNORECASE,
                )
                for node in module.nodes
            )
    if handles_passwords and "password KDF" not in mechanisms:
        module, _ = (
            mechanisms.get("OAuth2PasswordRequestForm")
            or mechanisms.get("OAuth2PasswordBearer")
            or next(iter(mechanisms.values()))
        )
        failures.append(
            Evidence(
                "passwords are handled, but no argon2/bcrypt library (pwdlib, passlib, "
                "argon2-cffi, bcrypt) hashes them",
                path=module.path,
            )
        )
    api_keys = [name for name in mechanisms if name.startswith("APIKey")]
    if api_keys and not compares_in_constant_time:
        module, _ = mechanisms[api_keys[0]]
        failures.append(
            Evidence(
                "API keys are checked without hmac.compare_digest: comparison time leaks the key",
                path=module.path,
            )
        )
    return judged(
        "SEC-1",
        failures,
        broken=index.broken_in_app,
        passed=f"Callers authenticate with {', '.join(sorted(schemes))}; algorithms pinned, "
        "secrets hashed or compared safely.",
        failed="Authentication is weak ({count} finding{s}).",
        remediation=(
            "Pin `algorithms=[...]` in every jwt.decode, give tokens an `exp`, hash passwords "
            "with argon2 (pwdlib) or bcrypt, and compare API keys with hmac.compare_digest."
        ),
        evidence=[
            Evidence(f"uses {name}", path=module.path)
            for name, (module, _) in sorted(mechanisms.items())
        ],
    )


# -- SEC-2 --------------------------------------------------------------------------------

_AUTHZ_NAME = re.compile(
    r"^_?(authori[sz]e\w*|require_\w*(role|permission|scope)s?|check_\w*(role|permission|access)s?"
    r"|ensure_\w*(role|permission|allowed)\w*|assert_\w*(can|allowed|permission)\w*|has_(role|permission|scope)s?|can|permits?)$"
)
_DENIAL = re.compile(
    r"(Permission|Forbidden|AccessDenied|NotAuthori[sz]ed|Unauthori[sz]ed)", re.IGNORECASE
)
_ACTOR_NAMES = frozenset(
    {"actor", "principal", "current_user", "caller", "identity", "subject", "requester", "user"}
)
_ACTOR_TYPES = re.compile(r"\b(Principal|CurrentUser|Identity|Actor|AuthenticatedUser)\b")


@rule("SEC-2")
def authorization(repo: Repository) -> Verdict:
    """Parses the service modules: every use case that receives the acting principal
    (actor/principal/current_user) calls an authorization check
    (authorize/require_role/has_permission..., or a function raising a permission error)
    before it acts, so access is denied unless a role allows it.
    """
    missing = no_python("SEC-2", repo, "authorization")
    if missing:
        return missing
    index = code_index(repo)
    missing = no_fastapi("SEC-2", index, "roles are checked")
    if missing:
        return missing
    checks: dict[str, Evidence] = {}
    for module in index.app_modules:
        for function in module.functions:
            raises = [
                n for n in ast.walk(function) if isinstance(n, ast.Raise) and n.exc is not None
            ]
            if _AUTHZ_NAME.match(function.name) or any(
                _DENIAL.search(ast.unparse(n.exc)) for n in raises if n.exc
            ):
                checks.setdefault(
                    function.name, where(module, function, f"authorization check {function.name}")
                )
    failures: list[Evidence] = []
    guarded = 0
    for module in index.service_modules:
        for function in module.functions:
            if function.name.startswith("_"):
                continue
            actor = next(
                (
                    arg
                    for arg, _ in parameters(function)
                    if arg.arg in _ACTOR_NAMES
                    or (
                        arg.annotation is not None
                        and _ACTOR_TYPES.search(ast.unparse(arg.annotation))
                    )
                ),
                None,
            )
            if actor is None:
                continue
            called = {
                n.func.id if isinstance(n.func, ast.Name) else n.func.attr
                for n in ast.walk(function)
                if isinstance(n, ast.Call) and isinstance(n.func, ast.Name | ast.Attribute)
            }
            if called & set(checks) or any(_AUTHZ_NAME.match(name) for name in called):
                guarded += 1
            else:
                failures.append(
                    where(
                        module,
                        function,
                        f"use case {function.name} receives {actor.arg} but checks no role or "
                        "permission",
                    )
                )
    if guarded == 0 and not failures:
        place = (
            index.service_modules[0].path if index.service_modules else index.web_modules[0].path
        )
        failures.append(
            Evidence(
                "no service function receives the acting principal or checks its roles", path=place
            )
        )
    return judged(
        "SEC-2",
        failures,
        broken=index.broken_in_app,
        passed=f"{guarded} use case(s) check the actor's permissions in the service layer.",
        failed="Authorization is missing in the service layer ({count} finding{s}).",
        remediation=(
            "Pass the authenticated principal to each use case and call one check "
            "(e.g. `authorize(actor, Permission.WRITE)`) that raises unless a role grants it."
        ),
        evidence=[checks[name] for name in sorted(checks)[:3]],
    )


# -- SEC-3 --------------------------------------------------------------------------------

_LIMITER_LIBRARIES = ("slowapi", "limits", "fastapi_limiter", "ratelimit", "pyrate_limiter")
_REDIS = re.compile(r"redis", re.IGNORECASE)


@rule("SEC-3")
def shared_rate_limits(repo: Repository) -> Verdict:  # noqa: PLR0912 - one branch per finding the standard names
    """Parses the Python code: a rate limiter is used (slowapi, limits, fastapi-limiter, or a
    RateLimit middleware) and its counters live in Redis (a Redis storage or client, a
    redis:// storage URI), not in process memory (`MemoryStorage`, `memory://`, slowapi
    without `storage_uri`).
    """
    missing = no_python("SEC-3", repo, "rate limiting")
    if missing:
        return missing
    index = code_index(repo)
    missing = no_fastapi("SEC-3", index, "requests are rate limited")
    if missing:
        return missing
    limiters = [
        module
        for module in index.app_modules
        if module.imports_any(*_LIMITER_LIBRARIES)
        or any(re.search(r"rate_?limit", node.name, re.IGNORECASE) for node in module.classes)
    ]
    if not limiters:
        if index.broken_in_app:
            return unknown("SEC-3", index.broken_in_app, "no rate limiter was found")
        return Verdict(
            "SEC-3",
            Status.FAIL,
            "No rate limiting was found: one client can exhaust the service.",
            (
                Evidence(
                    "no rate-limit library or middleware in the code",
                    path=index.web_modules[0].path,
                ),
            ),
            "Add rate limits (e.g. `limits` or slowapi) counted in Redis, applied to every route.",
        )
    failures: list[Evidence] = []
    shared: list[Evidence] = []
    for module in limiters:
        if module.imports_any("redis", "aioredis", "coredis"):
            shared.append(Evidence("the rate limiter uses a Redis client", path=module.path))
        for call in module.calls:
            name = (module.qualified(call.func) or "").rsplit(".", 1)[-1]
            storage = keyword(call, "storage_uri")
            if name == "MemoryStorage":
                failures.append(
                    where(
                        module, call, "rate-limit counters kept in process memory (MemoryStorage)"
                    )
                )
            elif "Redis" in name and "Storage" in name:
                shared.append(where(module, call, f"rate-limit counters in Redis ({name})"))
            elif name == "Limiter" and module.imports_any("slowapi") and storage is None:
                failures.append(
                    where(
                        module, call, "slowapi Limiter without storage_uri counts in process memory"
                    )
                )
            elif storage is not None and _REDIS.search(ast.unparse(storage)):
                shared.append(where(module, call, f"rate-limit storage: {source_of(storage)}"))
        for node, text in module.strings():
            if text.startswith("memory://"):
                failures.append(where(module, node, "rate-limit storage memory:// is per process"))
            elif re.match(r"^(async\+)?rediss?(\+\w+)?://", text):
                shared.append(where(module, node, f"rate-limit storage {text}"))
    if not shared and not failures:
        failures.append(
            Evidence(
                "the rate limiter does not say where it counts: no Redis storage found",
                path=limiters[0].path,
            )
        )
    return judged(
        "SEC-3",
        failures,
        broken=index.broken_in_app,
        passed="Rate limits are counted in Redis, so they hold across replicas.",
        failed="Rate limits are not shared across replicas ({count} finding{s}).",
        remediation="Count rate limits in Redis (e.g. limits' RedisStorage, slowapi "
        '`storage_uri="redis://..."` from settings).',
        evidence=shared[:3],
    )


# -- SEC-4 --------------------------------------------------------------------------------

_BODY_SETTING = re.compile(
    r"(max|limit).*(body|request|content|upload|payload)|(body|request|upload|payload).*(limit|max|size)",
    re.IGNORECASE,
)


def _security_headers(index: CodeIndex) -> list[Evidence]:
    """Where the headers are set, when nosniff and framing protection both are (else empty)."""
    headers: dict[str, Evidence] = {}
    for module in index.app_modules:
        if module.imports_any("secure"):
            return [Evidence("headers set by the `secure` library", path=module.path)]
        for node, text in module.strings():
            lowered = text.lower()
            if lowered in {"x-content-type-options", "x-frame-options", "content-security-policy"}:
                headers.setdefault(lowered, where(module, node, f"sets {lowered}"))
    framing = "x-frame-options" in headers or "content-security-policy" in headers
    return list(headers.values())[:2] if "x-content-type-options" in headers and framing else []


def _body_size_limit(index: CodeIndex) -> Evidence | None:
    """Where request bodies are limited: a 413 answer, or a max-body setting."""
    for module in index.app_modules:
        for node in module.nodes:
            if not isinstance(node, ast.Attribute | ast.Name | ast.Constant):
                continue
            number = not isinstance(node, ast.Constant) or isinstance(node.value, int)
            if number and status_code(node) == 413:
                return where(module, node, "answers 413 for bodies over the limit")
    for module, node in index.settings_classes():
        for statement in node.body:
            if (
                isinstance(statement, ast.AnnAssign)
                and isinstance(statement.target, ast.Name)
                and _BODY_SETTING.search(statement.target.id)
            ):
                return where(module, statement, f"setting {statement.target.id}")
    return None


def _cors_findings(module: Module, call: ast.Call) -> tuple[list[Evidence], list[Evidence]]:
    """(failures, evidence) of one CORSMiddleware: origins must come from settings."""
    failures: list[Evidence] = []
    origins = keyword(call, "allow_origins")
    regex = keyword(call, "allow_origin_regex")
    value = module.constants.get(origins.id) if isinstance(origins, ast.Name) else origins
    literal: list[object] = []
    if isinstance(value, ast.List | ast.Tuple | ast.Set):
        literal = [e.value for e in value.elts if isinstance(e, ast.Constant)]
    elif isinstance(value, ast.Constant):
        literal = [value.value]
    if "*" in literal:
        failures.append(where(module, origins or call, 'CORS allows every origin ("*")'))
    elif value is not None and literal:
        note = f"CORS origins hard-coded, not from settings: {source_of(value)}"
        failures.append(where(module, origins or call, note))
    if isinstance(regex, ast.Constant) and isinstance(regex.value, str) and ".*" in regex.value:
        failures.append(where(module, call, f"CORS origin regex matches anything: {regex.value!r}"))
    where_from = source_of(origins) if origins is not None else "nowhere (none allowed)"
    fine = [] if failures else [where(module, call, f"CORS origins from {where_from}")]
    return failures, fine


@rule("SEC-4")
def http_edge(repo: Repository) -> Verdict:
    """Parses the Python code: responses get security headers (X-Content-Type-Options and
    X-Frame-Options or a Content-Security-Policy), a CORSMiddleware takes its origins from
    settings (no "*" or literal list), and request bodies are size-limited (a 413 answer or a
    max-body setting).
    """
    missing = no_python("SEC-4", repo, "the HTTP edge")
    if missing:
        return missing
    index = code_index(repo)
    missing = no_fastapi("SEC-4", index, "the HTTP edge is hardened")
    if missing:
        return missing
    failures: list[Evidence] = []
    evidence: list[Evidence] = []
    headers = _security_headers(index)
    if headers:
        evidence += headers
    else:
        failures.append(
            Evidence(
                "responses get no X-Content-Type-Options / X-Frame-Options (or CSP) headers",
                path=index.web_modules[0].path,
            )
        )
    size_limit = _body_size_limit(index)
    if size_limit is None:
        failures.append(
            Evidence(
                "no request body size limit (no 413 answer, no max body setting)",
                path=index.web_modules[0].path,
            )
        )
    else:
        evidence.append(size_limit)
    for module in index.web_modules:
        for call in module.calls:
            is_cors = any(
                (module.qualified(arg) or "").endswith("CORSMiddleware") for arg in call.args[:1]
            ) or ((module.qualified(call.func) or "").endswith("CORSMiddleware"))
            if is_cors:
                found, fine = _cors_findings(module, call)
                failures += found
                evidence += fine
    return judged(
        "SEC-4",
        failures,
        broken=index.broken_in_app,
        passed="Security headers are set, CORS origins come from settings and request bodies "
        "are size-limited.",
        failed="The HTTP edge is open ({count} finding{s}).",
        remediation=(
            "Add a middleware setting X-Content-Type-Options: nosniff and X-Frame-Options: DENY, "
            "refuse bodies over a configured size with 413, and read CORS origins from settings."
        ),
        evidence=evidence,
    )


# -- SEC-5 --------------------------------------------------------------------------------

_SECRET_NAME = re.compile(
    r"(passw(or)?d|passwd|pwd|secret|token|api_?key|apikey|private_?key|access_?key|auth_?key"
    r"|signing_?key|encryption_?key|credentials?|dsn)",
    re.IGNORECASE,
)
_NOT_SECRET_NAME = re.compile(
    r"(header|name|field|type|prefix|suffix|url|uri|path|file|env|var|variable|claim|scheme|kind"
    r"|length|len|bytes|size|min|max|ttl|seconds|minutes|hours|days|pattern|regex|format|algorithm"
    r"|alg|endpoint|label|id|param|column|table|attr|attribute|message|msg|error|detail|cookie"
    r"|location|policy|description|title|help|doc|hint|key_id|error_code|reason)s?$",
    re.IGNORECASE,
)
_PLACEHOLDERS = (
    "example",
    "changeme",
    "change-me",
    "change_me",
    "changethis",
    "placeholder",
    "dummy",
    "fake",
    "sample",
    "your-",
    "your_",
    "<",
    "${",
    "{{",
    "%(",
    "xxx",
    "***",
    "...",
    "todo",
    "replace",
    "development",
    "dev-only",
    "devonly",
    "insecure",
    "not-a-secret",
    "notasecret",
    "not_a_secret",
    "test",
    "redacted",
)
_KEY_FORMATS = re.compile(
    r"AKIA[0-9A-Z]{16}|ASIA[0-9A-Z]{16}|-----BEGIN ((RSA|EC|DSA|OPENSSH|ENCRYPTED) )?PRIVATE "
    r"KEY-----"
    r"|ghp_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{40,}|glpat-[A-Za-z0-9_-]{20}"
    r"|xox[abprs]-[A-Za-z0-9-]{10,}|sk_live_[0-9A-Za-z]{20,}|AIza[0-9A-Za-z_-]{35}"
)
_URL_PASSWORD = re.compile(r"^[a-z][a-z0-9+.-]*://[^/\s:@]+:([^@/\s]+)@", re.IGNORECASE)
_CONFIG_SUFFIXES = frozenset(
    {
        ".yaml",
        ".yml",
        ".json",
        ".toml",
        ".ini",
        ".cfg",
        ".conf",
        ".properties",
        ".tf",
        ".sh",
        ".pem",
        ".key",
    }
)
_CONFIG_LINE = re.compile(
    r"""^\s*(?:export\s+|ENV\s+|-\s+)?["']?([\w.-]*(?:passw(?:or)?d|secret|token|api_?key|private_?key|access_?key)[\w.-]*)["']?\s*[:=]\s*["']?([^"'\s#]+)""",
    re.IGNORECASE,
)
_ENV_EXAMPLES = (
    ".env.example",
    ".env.sample",
    ".env.template",
    ".env.dist",
    "example.env",
    "env.example",
    "sample.env",
)


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def secret_name(name: str) -> bool:
    """Tell whether a variable, key or argument name says it holds a secret."""
    snake = _snake(name)
    return bool(_SECRET_NAME.search(snake)) and not _NOT_SECRET_NAME.search(snake)


def realistic_secret(value: str, name: str = "") -> bool:
    """Tell whether ``value`` looks like a real credential rather than a placeholder or a label."""
    text = value.strip()
    if len(text) < 8 or any(c.isspace() for c in text) or "://" in text:
        return False
    lowered = text.lower()
    if any(word in lowered for word in _PLACEHOLDERS):
        return False
    if name and lowered.replace("-", "_") in _snake(name):
        return False  # TOKEN = "token": a label, not a value
    if len(set(text)) <= 2:
        return False
    classes = sum(
        (
            any(c.islower() for c in text),
            any(c.isupper() for c in text),
            any(c.isdigit() for c in text),
            any(not c.isalnum() for c in text),
        )
    )
    return classes >= 2 or len(text) >= 16


def _literal(node: ast.expr | None) -> ast.Constant | None:
    """Return a string literal, also inside ``SecretStr("...")`` / ``Field(default="...")``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name | ast.Attribute):
        name = node.func.id if isinstance(node.func, ast.Name) else node.func.attr
        if name in {"SecretStr", "SecretBytes", "Field"}:
            inner = node.args[0] if node.args else keyword(node, "default")
            return _literal(inner)
    return None


def _target_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if (
        isinstance(node, ast.Subscript)
        and isinstance(node.slice, ast.Constant)
        and isinstance(node.slice.value, str)
    ):
        return node.slice.value
    return None


def python_secrets(module: Module) -> list[Evidence]:  # noqa: PLR0912 - one branch per place a literal can be bound
    """Return hard-coded credentials in one module, each with its line."""
    found: list[Evidence] = []

    def check(name: str | None, value: ast.expr | None, node: ast.AST) -> None:
        literal = _literal(value)
        if (
            name
            and literal is not None
            and secret_name(name)
            and realistic_secret(str(literal.value), name)
        ):
            found.append(where(module, node, f"hard-coded secret in {name!r}"))

    for node in module.nodes:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                check(_target_name(target), node.value, node)
        elif isinstance(node, ast.AnnAssign):
            check(_target_name(node.target), node.value, node)
        elif isinstance(node, ast.keyword):
            check(node.arg, node.value, node.value)
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    check(key.value, value, value)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for arg, default in parameters(node):
                check(arg.arg, default, arg)
        elif isinstance(node, ast.Compare) and len(node.comparators) == 1:
            check(_target_name(node.left), node.comparators[0], node)
    for node, text in module.strings():
        if _KEY_FORMATS.search(text) and not any(
            word in text.lower() for word in ("example", "xxxx")
        ):
            found.append(where(module, node, "a private key or access key is written in the code"))
            continue
        password = _URL_PASSWORD.match(text)
        if (
            password
            and realistic_secret(password.group(1))
            and not password.group(1).startswith(("{", "$", "%"))
        ):
            found.append(where(module, node, "a URL with an embedded password"))
    return found


def config_secrets(repo: Repository) -> list[Evidence]:
    """Return credentials in config files (env examples, YAML, TOML...), tests and .env left out."""
    found: list[Evidence] = []
    for name in repo.files:
        pure = PurePosixPath(name)
        if name.startswith("tests/") or "/tests/" in name:
            continue
        is_example = pure.name in _ENV_EXAMPLES
        if pure.name.startswith(".env") and not is_example:
            continue  # a local .env: git-ignored, checked below, never read for values
        if not (
            is_example or pure.suffix in _CONFIG_SUFFIXES or pure.name.startswith("Dockerfile")
        ):
            continue
        for number, line in enumerate(repo.lines(name), start=1):
            if line.lstrip().startswith(("#", "//")):
                continue
            if _KEY_FORMATS.search(line) and "example" not in line.lower():
                found.append(
                    Evidence("a private key or access key is written here", path=name, line=number)
                )
                continue
            match = _CONFIG_LINE.match(line)
            if (
                match
                and secret_name(match.group(1).split(".")[-1])
                and realistic_secret(match.group(2), match.group(1))
            ):
                found.append(
                    Evidence(f"hard-coded secret in {match.group(1)!r}", path=name, line=number)
                )
    return found


def _ignores_env(repo: Repository) -> Evidence | None:
    for number, line in enumerate(repo.lines(".gitignore"), start=1):
        pattern = line.strip().lstrip("/")
        if (
            pattern
            and not pattern.startswith(("#", "!"))
            and fnmatch.fnmatch(".env", pattern.rstrip("/"))
        ):
            return Evidence(f".env is git-ignored ({line.strip()})", path=".gitignore", line=number)
    return None


def _refuses_production_defaults(index: CodeIndex) -> Evidence | None:
    for module in index.app_modules:
        for function in module.functions:
            words = [
                *(n.id for n in ast.walk(function) if isinstance(n, ast.Name)),
                *(n.attr for n in ast.walk(function) if isinstance(n, ast.Attribute)),
                *(
                    n.value
                    for n in ast.walk(function)
                    if isinstance(n, ast.Constant) and isinstance(n.value, str)
                ),
                function.name,
            ]
            joined = " ".join(words).lower()
            raises = any(isinstance(n, ast.Raise) for n in ast.walk(function))
            if raises and "prod" in joined and re.search(r"secret|passw|key|token", joined):
                return where(
                    module,
                    function,
                    f"{function.name} refuses default or missing secrets in production",
                )
    return None


@rule("SEC-5")
def environment_secrets(repo: Repository) -> Verdict:
    """Scans the code and config outside tests for hard-coded secrets (realistic values assigned
    to password/secret/token/api_key names, URLs with passwords, AWS/GitHub/Slack/Stripe
    keys, private keys; placeholders left out), and checks that .env is git-ignored, an
    .env.example is committed and the code refuses to start in production with a default or
    missing secret.
    """
    if repo.is_empty:
        missing = no_python("SEC-5", repo, "secret handling")
        if missing:
            return missing
    index = code_index(repo)
    failures: list[Evidence] = []
    for module in index.modules.values():
        failures += python_secrets(module)
    failures += config_secrets(repo)
    if not repo.exists(".gitignore"):
        failures.append(Evidence("no .gitignore: a local .env would be committed", path="."))
    elif _ignores_env(repo) is None:
        failures.append(Evidence(".env is not git-ignored", path=".gitignore"))
    if not any(repo.exists(name) for name in _ENV_EXAMPLES):
        failures.append(Evidence("no .env.example documents the variables to set", path="."))
    refusal = _refuses_production_defaults(index) if index.modules else None
    if index.modules and refusal is None and not index.broken_in_app:
        place = index.settings_classes()[0][0].path if index.settings_classes() else "."
        failures.append(
            Evidence(
                "nothing refuses to start in production with a default or missing secret",
                path=place,
            )
        )
    if not index.modules and not repo.python_files():
        failures.append(Evidence("no Python code reads secrets from the environment", path="."))
    return judged(
        "SEC-5",
        failures,
        broken=index.broken,
        passed="No secret is written in the code or config; .env is git-ignored, .env.example "
        "committed, production refuses default secrets.",
        failed="Secrets are not kept to the environment ({count} finding{s}).",
        remediation=(
            "Read secrets from environment variables (a SecretStr setting), refuse defaults in "
            "production, git-ignore .env and commit an .env.example with placeholders."
        ),
        evidence=[item for item in (refusal, _ignores_env(repo)) if item is not None],
    )


# -- SEC-6 --------------------------------------------------------------------------------

_EXECUTORS = frozenset(
    {
        "execute",
        "executemany",
        "exec_driver_sql",
        "executescript",
        "fetch",
        "fetchrow",
        "fetchval",
        "raw",
        "text",
        "literal_column",
    }
)


def _safe_part(module: Module, node: ast.expr, assigned: dict[str, list[ast.expr]]) -> bool:
    """Return an interpolated value that cannot carry input: a constant, or a quoted identifier."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Name) and node.id.isupper():
        return True  # a module constant
    if isinstance(node, ast.Call):
        name = (
            node.func.attr
            if isinstance(node.func, ast.Attribute)
            else node.func.id
            if isinstance(node.func, ast.Name)
            else ""
        )
        return bool(re.search(r"quote|identifier|escape", name, re.IGNORECASE))
    if isinstance(node, ast.Name) and assigned.get(node.id):
        return all(_safe_part(module, value, {}) for value in assigned[node.id])
    return False


def _unsafe_sql(  # noqa: PLR0912 - one branch per way of building a string
    module: Module, node: ast.expr, assigned: dict[str, list[ast.expr]], depth: int = 0
) -> str | None:
    """Return how ``node`` builds SQL from values (f-string, +, %, .format), or ``None``."""
    if isinstance(node, ast.JoinedStr):
        text = "".join(
            v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else "x"
            for v in node.values
        )
        holes = [v.value for v in node.values if isinstance(v, ast.FormattedValue)]
        if looks_like_sql(text) and not all(_safe_part(module, hole, assigned) for hole in holes):
            return "an f-string"
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        parts: list[ast.expr] = []
        stack: list[ast.expr] = [node]
        while stack:
            item = stack.pop()
            if isinstance(item, ast.BinOp) and isinstance(item.op, ast.Add):
                stack += [item.right, item.left]
            else:
                parts.append(item)
        text = "".join(
            p.value if isinstance(p, ast.Constant) and isinstance(p.value, str) else "x"
            for p in parts
        )
        if looks_like_sql(text) and not all(_safe_part(module, p, assigned) for p in parts):
            return "string concatenation"
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        if (
            isinstance(node.left, ast.Constant)
            and isinstance(node.left.value, str)
            and looks_like_sql(node.left.value)
        ):
            return "%-formatting"
    elif (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
        and isinstance(node.func.value, ast.Constant)
        and isinstance(node.func.value.value, str)
        and looks_like_sql(node.func.value.value)
    ):
        return "str.format"
    elif isinstance(node, ast.Name) and depth == 0:
        for value in assigned.get(node.id, []):
            how = _unsafe_sql(module, value, assigned, depth + 1)
            if how:
                return how
    return None


_STATIC_SCAN = re.compile(
    r"ruff\s+check|ruff-check|id:\s*ruff\s*$|\bbandit\b|\bsemgrep\b|codeql-action|\bpysa\b"
)
_DEPENDENCY_SCAN = re.compile(
    r"pip-audit|pip_audit|\bsafety\s+(check|scan)|osv-scanner|\btrivy\b|\bsnyk\b|\bgrype\b|\buv\s+audit"
    r"|Dependency-Scanning|dependency-review-action|dependency-check",
    re.IGNORECASE,
)


def _ruff_security_rules(repo: Repository) -> Evidence | None:
    """Tell whether ruff's configuration selects the flake8-bandit (S) rules."""
    for name, keys in (("pyproject.toml", ("tool", "ruff")), ("ruff.toml", ()), (".ruff.toml", ())):
        loaded: Any = repo.toml(name) if repo.exists(name) else None
        for key in keys:
            loaded = loaded.get(key) if isinstance(loaded, dict) else None
        if not isinstance(loaded, dict):
            continue
        config: dict[str, Any] = loaded
        lint: dict[str, Any] = config["lint"] if isinstance(config.get("lint"), dict) else {}
        selected = [
            *(lint.get("select") or config.get("select") or []),
            *(lint.get("extend-select") or config.get("extend-select") or []),
        ]
        ignored = [*(lint.get("ignore") or config.get("ignore") or [])]
        if (
            any(
                str(rule_id) in {"ALL", "S"} or re.fullmatch(r"S\d+", str(rule_id))
                for rule_id in selected
            )
            and "S" not in ignored
        ):
            return Evidence(
                "ruff selects the flake8-bandit security rules (S)",
                path=name,
                key="tool.ruff.lint.select" if keys else "lint.select",
            )
    return None


@rule("SEC-6")
def parameterised_queries(repo: Repository) -> Verdict:  # noqa: PLR0912 - one branch per finding the standard names
    """Parses every non-test Python file: no SQL built with f-strings, `+`, `%` or `.format()`
    (quoted identifiers and constants excepted) reaches `text()`, `execute()` or a driver
    call; a static security scan (ruff's S rules, bandit, semgrep, CodeQL) and, where CI
    exists, a dependency audit (pip-audit, safety, osv-scanner, Dependabot...) are run by CI
    or git hooks.
    """
    missing = no_python("SEC-6", repo, "query safety")
    if missing:
        return missing
    index = code_index(repo)
    failures: list[Evidence] = []
    for module in index.modules.values():
        assigned: dict[str, list[ast.expr]] = {}
        for node in module.nodes:
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        assigned.setdefault(target.id, []).append(node.value)
        for call in module.calls:
            name = (
                call.func.attr
                if isinstance(call.func, ast.Attribute)
                else call.func.id
                if isinstance(call.func, ast.Name)
                else ""
            )
            if name not in _EXECUTORS or not call.args:
                continue
            how = _unsafe_sql(module, call.args[0], assigned)
            if how:
                failures.append(
                    where(
                        module,
                        call,
                        f"SQL built with {how} is passed to {name}(): {source_of(call)}",
                    )
                )
    evidence: list[Evidence] = []
    ruff = _ruff_security_rules(repo)
    runs = automation_runs(repo, _STATIC_SCAN)
    ruff_runs = [e for e in runs if "ruff" in e.note]
    others = [e for e in runs if "ruff" not in e.note]
    unreadable = repo.exists("pyproject.toml") and repo.pyproject is None
    if others or (ruff and ruff_runs):
        evidence += (others or [ruff, *ruff_runs[:1]]) if ruff else others
    elif unreadable:
        pass  # ruff's settings may be there: judged below as unknown, not as missing
    else:
        failures.append(
            Evidence(
                "no static security scan: ruff's S rules not selected and run, no "
                "bandit/semgrep/CodeQL in CI or git hooks",
                path="pyproject.toml" if repo.exists("pyproject.toml") else ".",
                key="tool.ruff.lint.select",
            )
        )
    audits = automation_runs(repo, _DEPENDENCY_SCAN)
    dependabot = [
        name for name in (".github/dependabot.yml", ".github/dependabot.yaml") if repo.exists(name)
    ]
    if audits or dependabot:
        evidence += audits[:1] + [
            Evidence("Dependabot security updates", path=name) for name in dependabot
        ]
    elif ci_files(repo):
        failures.append(
            Evidence(
                "CI runs no dependency audit (pip-audit, safety, osv-scanner...)",
                path=ci_files(repo)[0],
            )
        )
    else:
        evidence.append(
            Evidence(
                "no CI configuration: the dependency audit is judged with CI (DEL-3)", path="."
            )
        )
    return judged(
        "SEC-6",
        [item for item in failures if item is not None],
        broken=[*index.broken, *(["pyproject.toml"] if unreadable else [])],
        passed="Queries bind their parameters, and security and dependency scans run in CI or "
        "git hooks.",
        failed="Queries or security scans fall short ({count} finding{s}): SQL built from "
        "values, or scans not run.",
        remediation=(
            'Bind values as parameters (`text("... WHERE id = :id")`, the ORM), select ruff\'s '
            "S rules (or run bandit) and run pip-audit in CI."
        ),
        evidence=[item for item in evidence if item is not None],
    )
