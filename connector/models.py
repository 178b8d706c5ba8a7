"""Every model module, imported so that ``metadata`` knows all tables (alembic, tests)."""

from mappings import models as mapping_models
from processing.accounts import models as account_models
from processing.accruals import models as accrual_models
from processing.cards import models as card_models
from processing.catalog import models as catalog_models
from processing.certificates import models as certificate_models
from processing.coupons import models as coupon_models
from processing.customers import models as customer_models
from processing.db import Base
from processing.discount_server import models as discount_server_models
from processing.gifts import models as gift_models
from processing.ledger import models as ledger_models
from processing.levels import models as level_models
from processing.programs import models as program_models
from processing.promotions import models as promotion_models
from processing.promotions import stamps as stamp_models
from processing.receipts import models as receipt_models
from processing.tenants import models as tenant_models
from processing.uploads import models as upload_models
from sync import models as sync_models

metadata = Base.metadata

__all__ = [
    "account_models",
    "accrual_models",
    "card_models",
    "catalog_models",
    "certificate_models",
    "coupon_models",
    "customer_models",
    "discount_server_models",
    "gift_models",
    "ledger_models",
    "level_models",
    "mapping_models",
    "metadata",
    "program_models",
    "promotion_models",
    "receipt_models",
    "stamp_models",
    "sync_models",
    "tenant_models",
    "upload_models",
]
