"""What each role may do. Routes ask for a permission, never for a role, so this table is the policy."""

from enum import StrEnum

from schemas import Role


class Permission(StrEnum):
    read = "read"  # see records, lineage, history
    record = "record"  # receive lots, log steps, correct and void items and steps
    manage_types = "manage_types"  # add item types
    manage_users = "manage_users"  # add users
    audit = "audit"  # read, verify and export the audit trail
    sign = "sign"  # e-sign records (which meanings, service.signatures decides)
    author_templates = "author_templates"  # publish and retire protocol templates
    release = "release"  # release quarantined items after quality review
    bulk_import = "bulk_import"  # load many lots and steps at once (POST /import)


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.admin: frozenset(Permission),
    Role.scientist: frozenset({Permission.read, Permission.record, Permission.sign}),
    Role.reviewer: frozenset(
        {Permission.read, Permission.audit, Permission.sign, Permission.author_templates, Permission.release}
    ),
    Role.auditor: frozenset({Permission.read, Permission.audit}),
}


def may(role: Role, permission: Permission) -> bool:
    return permission in GRANTS[role]
