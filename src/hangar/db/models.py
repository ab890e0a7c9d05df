"""Imports every ORM module so ``Base.metadata`` is complete (Alembic and tests use this)."""

from hangar.audit import orm as audit_orm
from hangar.db.base import Base
from hangar.resources import orm as resources_orm
from hangar.tenancy import orm as tenancy_orm
from hangar.workloads import orm as workloads_orm

__all__ = ["Base", "audit_orm", "resources_orm", "tenancy_orm", "workloads_orm"]
