"""Imports every ORM module so ``Base.metadata`` is complete (Alembic and tests use this)."""

from hangar.assets import dataset_orm
from hangar.assets import orm as assets_orm
from hangar.audit import orm as audit_orm
from hangar.billing import orm as billing_orm
from hangar.db.base import Base
from hangar.devenvs import orm as devenvs_orm
from hangar.images import orm as images_orm
from hangar.resources import orm as resources_orm
from hangar.tenancy import orm as tenancy_orm
from hangar.workloads import orm as workloads_orm

__all__ = [
    "Base",
    "assets_orm",
    "audit_orm",
    "billing_orm",
    "dataset_orm",
    "devenvs_orm",
    "images_orm",
    "resources_orm",
    "tenancy_orm",
    "workloads_orm",
]
