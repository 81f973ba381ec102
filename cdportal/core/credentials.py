"""Credential references in the Argo CD Image Updater's forms, parsed once for all of cdportal.

`[<registry>=]<type>:<value>` as registry-scanner's ParseCredentialSource reads it
(docs/image-updater.md, "Credential references"):

- `pullsecret:<namespace>/<name>`: a kubernetes.io/dockerconfigjson Secret (field .dockerconfigjson);
- `secret:<namespace>/<name>#<field>`: the Secret's field holds `user:password`;
- `env:<VAR>`: the variable holds `user:password`;
- `ext:<absolute path>`: a script printing `user:password`.

The value may not hold another `:`; the type is case-insensitive. Messages are the Image
Updater's own (`invalid credential spec: …`) and so repeat what was given: callers that may be
handed a pasted secret show `shape(value)` instead. Which types a caller can use is its own
business (the registry client reads `env:` only, the credentials check Secrets only); whether a
string *is* a reference is decided here alone. Plain Python, no Django.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["pullsecret", "secret", "env", "ext"]
DOCKERCONFIGJSON_FIELD = ".dockerconfigjson"


class CredentialReferenceError(ValueError):
    """Not a credential reference; the message is the Image Updater's."""


@dataclass(frozen=True)
class CredentialReference:
    kind: Kind
    namespace: str = ""  # pullsecret, secret
    name: str = ""  # pullsecret, secret
    field: str = ""  # secret; DOCKERCONFIGJSON_FIELD for pullsecret
    variable: str = ""  # env
    script: str = ""  # ext
    registry: str = ""  # the optional `<registry>=` prefix

    @property
    def is_secret(self) -> bool:
        """Read from a Kubernetes Secret (`pullsecret:` or `secret:`)."""
        return self.kind in ("pullsecret", "secret")

    def __str__(self) -> str:
        prefix = f"{self.registry}=" if self.registry else ""
        if self.kind == "pullsecret":
            return f"{prefix}pullsecret:{self.namespace}/{self.name}"
        if self.kind == "secret":
            return f"{prefix}secret:{self.namespace}/{self.name}#{self.field}"
        if self.kind == "env":
            return f"{prefix}env:{self.variable}"
        return f"{prefix}ext:{self.script}"


def parse_credential_reference(
    value: str, *, require_registry: bool = False
) -> CredentialReference:
    """The reference `value` names; CredentialReferenceError when it is none.

    `require_registry`: the `<registry>=` prefix must be there (a registry's `credentials`
    setting); otherwise it is optional (an image's pull secret)."""
    registry = ""
    tokens = value.split("=", 1)
    if len(tokens) != 2 or not tokens[0] or not tokens[1]:
        if require_registry:
            raise CredentialReferenceError(f"invalid credential spec: {value}")
        definition = value
    else:
        registry, definition = tokens
    tokens = definition.split(":")
    if len(tokens) != 2 or not tokens[0] or not tokens[1]:
        raise CredentialReferenceError(f"invalid credential spec: {value}")
    kind, spec = tokens[0].lower(), tokens[1]
    if kind in ("secret", "pullsecret"):
        field = DOCKERCONFIGJSON_FIELD
        if kind == "secret":
            ref = spec.split("#")
            if len(ref) != 2 or not ref[0] or not ref[1]:
                raise CredentialReferenceError(f"invalid secret definition: {spec}")
            spec, field = ref
        ns_name = spec.split("/")
        if len(ns_name) != 2 or not ns_name[0] or not ns_name[1]:
            raise CredentialReferenceError(f"invalid secret definition: {tokens[1]}")
        return CredentialReference(
            kind, namespace=ns_name[0], name=ns_name[1], field=field, registry=registry
        )
    if kind == "env":
        return CredentialReference("env", variable=spec, registry=registry)
    if kind == "ext":
        return CredentialReference("ext", script=spec, registry=registry)
    raise CredentialReferenceError(f"unknown credential source: {tokens[0]}")


def shape(value: str) -> str:
    """What a malformed reference looks like, without echoing what may be a pasted secret."""
    prefix = value.strip().split(":", 1)[0]
    return f"{prefix}:…" if ":" in value else "…"


__all__ = [
    "DOCKERCONFIGJSON_FIELD",
    "CredentialReference",
    "CredentialReferenceError",
    "parse_credential_reference",
    "shape",
]
