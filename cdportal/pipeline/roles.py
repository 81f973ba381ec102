"""cdportal's three roles, as Django groups.

Reading needs only a login (a user in no group reads like a viewer). Operators act on
applications and the Image Updater (restart, registry credentials check); releasers create tags and dispatch workflows. The groups
are kept in step with this table after every migrate, so a deployment never lacks them.
"""

from __future__ import annotations

VIEWER, OPERATOR, RELEASER = "viewer", "operator", "releaser"
SOURCE = "source"  # service accounts that post events to the API (the simulator, scripts)

ROLE_PERMISSIONS: dict[str, list[str]] = {
    VIEWER: [],
    OPERATOR: [
        "force_sync",
        "refresh_application",
        "restart_updater",
        "check_registry_credentials",
    ],
    RELEASER: ["create_tag"],
    SOURCE: ["ingest_event"],
}


def ensure_roles(**_kwargs) -> None:
    from django.contrib.auth.models import Group, Permission

    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        perms = Permission.objects.filter(
            content_type__app_label="pipeline", codename__in=codenames
        )
        group.permissions.set(perms)


def roles_of(user) -> list[str]:
    if not user.is_authenticated:
        return []
    names = set(user.groups.values_list("name", flat=True))
    return [role for role in (VIEWER, OPERATOR, RELEASER) if role in names] or [VIEWER]
