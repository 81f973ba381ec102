"""argocd-image-updater log lines: parse, filter, and tell the errors apart.

Pure Python. Both releases log with logrus' text formatter (logfmt):

    v1: time="…" level=error msg="Could not get tags …" application=argocd/controller
        image_alias=controller image_name=ghcr.io/5dlabs/controller image_registry=ghcr.io …
    v0: time="…" level=error msg="Could not get tags …" alias=controller application=controller
        image_name=5dlabs/controller image_tag=v1.4.2 registry=ghcr.io

Lines that are not logfmt (a JSON formatter, a Go panic, a klog line from client-go) still come
through as plain text, with the level guessed from their start. Credentials in URLs and
auth headers are masked before anything leaves this module (`LogLine.text`, `.message`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime

ERROR_LEVELS = frozenset({"error", "fatal", "panic"})
_LEVEL_ALIASES = {
    "error": "error",
    "err": "error",
    "eror": "error",
    "erro": "error",
    "e": "error",
    "warn": "warning",
    "warning": "warning",
    "w": "warning",
    "info": "info",
    "inf": "info",
    "i": "info",
    "debug": "debug",
    "debu": "debug",
    "dbg": "debug",
    "trac": "trace",
    "trace": "trace",
    "fatal": "fatal",
    "fata": "fatal",
    "f": "fatal",
    "panic": "panic",
    "pani": "panic",
}
# key=value, key="quoted \"value\"", or key= (empty)
_PAIR = re.compile(r'([A-Za-z_][\w.\-/]*)=("(?:[^"\\]|\\.)*"|[^\s"]*)')
# The registry refused us: bad or missing credentials, no such image/tag.
_REGISTRY_ERROR = re.compile(
    r"\b40[13]\b|unauthori[sz]ed|\bdenied\b|forbidden|manifest unknown|name unknown", re.IGNORECASE
)
_USERINFO = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s\"']+@")
_AUTH_HEADER = re.compile(r"\b(Basic|Bearer)\s+[A-Za-z0-9+/=._~-]{8,}", re.IGNORECASE)
_SECRET_PAIR = re.compile(
    r"\b(password|passwd|token|secret|auth)=(\"(?:[^\"\\]|\\.)*\"|[^\s\"]+)", re.IGNORECASE
)
_PLAIN_LEVEL = re.compile(r"^\s*(?:\[)?(?P<level>[A-Za-z]{4,5})\b[\]:]?|^(?P<klog>[IWEF])\d{4}\s")


@dataclass(frozen=True)
class LogLine:
    time: str
    level: str  # lower case: trace, debug, info, warning, error, fatal, panic; "" when unknown
    message: str
    fields: dict = field(default_factory=dict)  # every other key=value, values unquoted
    application: str = ""  # as logged: "argocd/controller" (v1) or "controller" (v0)
    image: str = ""  # registry/repository, e.g. ghcr.io/5dlabs/controller
    error: bool = False
    text: str = ""  # the whole line, credentials masked


def redact(text: str) -> str:
    """Mask URL userinfo (https://user:token@host), Basic/Bearer tokens and password=… pairs."""
    text = _USERINFO.sub(r"\1***@", text)
    text = _AUTH_HEADER.sub(r"\1 ***", text)
    return _SECRET_PAIR.sub(r"\1=***", text)


def parse_line(line: str) -> LogLine:
    text = redact(line.rstrip("\r\n"))
    pairs = _logfmt(text) or _json(text)
    if pairs is None:
        level = _plain_level(text)
        return LogLine(
            time="",
            level=level,
            message=text.strip(),
            text=text,
            error=level in ERROR_LEVELS or bool(_REGISTRY_ERROR.search(text)),
        )
    time = pairs.pop("time", "") or pairs.pop("ts", "")
    level = _LEVEL_ALIASES.get(pairs.pop("level", "").lower(), "")
    message = pairs.pop("msg", "") or pairs.pop("message", "")
    registry = pairs.get("image_registry") or pairs.get("registry") or ""
    image = pairs.get("image_name", "")
    if image and registry and not image.startswith(registry + "/"):
        image = f"{registry}/{image}"
    return LogLine(
        time=time,
        level=level,
        message=message,
        fields=pairs,
        application=pairs.get("application", ""),
        image=image,
        error=level in ERROR_LEVELS or bool(_REGISTRY_ERROR.search(message)),
        text=text,
    )


def is_error(line: LogLine | str) -> bool:
    """Level error/fatal/panic, or the registry answered 401/403/unauthorized/denied/unknown."""
    return (parse_line(line) if isinstance(line, str) else line).error


def matches(
    line: LogLine | str,
    *,
    application: str | None = None,
    image: str | None = None,
    errors_only: bool = False,
) -> bool:
    """Whether a line passes the log view's filters; empty filters let everything through.

    `application` matches "argocd/controller" and "controller" alike (v0 logs the bare name).
    `image` matches a part of the image ("5dlabs/controller", "ghcr.io/5dlabs/controller:v1")
    or its alias; lines without image fields match when their message names the image.
    """
    if isinstance(line, str):
        line = parse_line(line)
    if errors_only and not line.error:
        return False
    if application := (application or "").strip():
        logged = line.application
        if not logged:
            return False
        if application != logged and application.rpartition("/")[2] != logged.rpartition("/")[2]:
            return False
        if "/" in application and "/" in logged and application != logged:
            return False
    if image := (image or "").strip():
        repository = image.split("@")[0]
        if ":" in repository.rpartition("/")[2]:
            repository = repository.rsplit(":", 1)[0]  # a tag: compare the repository
        alias = line.fields.get("image_alias") or line.fields.get("alias") or ""
        if line.image:
            if not (repository in line.image or image == alias):
                return False
        elif not (alias and image == alias) and repository not in line.message:
            return False
    return True


def _logfmt(text: str) -> dict | None:
    pairs = {key: _unquote(value) for key, value in _PAIR.findall(text)}
    return pairs if "msg" in pairs or ("level" in pairs and "time" in pairs) else None


def _json(text: str) -> dict | None:
    if not text.lstrip().startswith("{"):
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        try:
            return json.loads(value)
        except ValueError:
            return value[1:-1].replace('\\"', '"')
    return value


def _plain_level(text: str) -> str:
    m = _PLAIN_LEVEL.match(text)
    if not m:
        return ""
    if m.group("klog"):
        return _LEVEL_ALIASES[m.group("klog").lower()]
    return _LEVEL_ALIASES.get(m.group("level").lower(), "")


# --- what a log says about the updater's checks ---------------------------------------------

CYCLE_START = "Starting image update cycle"
CYCLE_END = "Processing results"
_GO_DURATION = re.compile(r"(?P<n>\d+(?:\.\d+)?)(?P<unit>h|ms|m|s)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


@dataclass(frozen=True)
class Cycles:
    """From a log tail: the check interval (the `starting` line's `interval=`), when the last
    complete cycle ended (its `Processing results` line) and the errors logged in that cycle."""

    interval_seconds: int | None = None
    last_cycle_at: datetime | None = None
    errors: tuple[LogLine, ...] = ()


def go_duration_seconds(value: str) -> int | None:
    """Go's time.Duration text ('2m0s', '15s', '1h30m') in whole seconds; None when it is not one."""
    value = (value or "").strip()
    if not value or _GO_DURATION.sub("", value):
        return None
    total = sum(float(m["n"]) * _UNIT_SECONDS[m["unit"]] for m in _GO_DURATION.finditer(value))
    return int(total)


def log_time(line: LogLine) -> datetime | None:
    try:
        when = datetime.fromisoformat(line.time.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


def cycles(lines) -> Cycles:
    """What `lines` (oldest first, raw or parsed) say about the updater's checks."""
    interval, last_end, errors, current = None, None, (), []
    for raw in lines:
        line = parse_line(raw) if isinstance(raw, str) else raw
        if "interval" in line.fields and line.message.lower() == "starting":
            interval = go_duration_seconds(line.fields["interval"]) or interval
        if line.message.startswith(CYCLE_START):
            current = []
        elif line.message.startswith(CYCLE_END):
            when = log_time(line)
            if when is not None:
                last_end, errors = when, tuple(current)
            current = []
        elif line.error:
            current.append(line)
    return Cycles(interval, last_end, errors)
