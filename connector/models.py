"""Every model module, imported so that ``metadata`` knows all tables (alembic, tests)."""

from processing.db import Base
from processing.tenants import models as tenant_models
from sync import models as sync_models

metadata = Base.metadata

__all__ = ["metadata", "sync_models", "tenant_models"]
