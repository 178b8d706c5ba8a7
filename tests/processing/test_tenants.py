from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from processing.errors import ConnectorError
from processing.tenants.service import (
    add_legal_entity,
    add_pos,
    add_store,
    add_store_group,
    ensure_cashier,
    set_features,
)
from tests import factories


def _refused(error: pytest.ExceptionInfo[ConnectorError], code: str) -> None:
    assert error.value.code == code


def test_new_tenant_takes_the_tariff_limits(session: Session) -> None:
    start = factories.tenant(session, "small", "start")
    assert (start.max_stores, start.max_pos, start.max_customers) == (3, 6, 5000)
    assert "discount_server" in start.features
    network = factories.tenant(session, "big", "network")
    assert network.max_stores is None


def test_unknown_tariff_is_refused(session: Session) -> None:
    with pytest.raises(ConnectorError) as error:
        factories.tenant(session, "x", "platinum")
    _refused(error, "VALIDATION_ERROR")


def test_store_limit_refuses_the_next_store(session: Session) -> None:
    tenant = factories.tenant(session)
    tenant.max_stores = 2
    factories.store(session, tenant, "s1")
    factories.store(session, tenant, "s2")
    with pytest.raises(ConnectorError) as error:
        factories.store(session, tenant, "s3")
    _refused(error, "STORE_LIMIT_REACHED")
    assert error.value.details == {"limit": 2}


def test_pos_limit_counts_the_whole_tenant(session: Session) -> None:
    tenant = factories.tenant(session)
    tenant.max_pos = 2
    first, second = factories.store(session, tenant, "s1"), factories.store(session, tenant, "s2")
    add_pos(session, first, "p1")
    add_pos(session, second, "p1")
    with pytest.raises(ConnectorError) as error:
        add_pos(session, second, "p2")
    _refused(error, "POS_LIMIT_REACHED")


def test_customer_limit_refuses_the_next_customer(session: Session) -> None:
    tenant = factories.tenant(session)
    tenant.max_customers = 1
    factories.customer(session, tenant, "+79160000001")
    with pytest.raises(ConnectorError) as error:
        factories.customer(session, tenant, "+79160000002")
    _refused(error, "CUSTOMER_LIMIT_REACHED")


def test_store_guid_is_unique_per_tenant_and_normalised(session: Session) -> None:
    tenant = factories.tenant(session)
    guid = "5F2A0B1C-1111-2222-3333-444455556666"
    store = add_store(session, tenant, "s1", "Один", onec_guid=guid, city="Казань")
    assert store.onec_guid == guid.lower()
    with pytest.raises(ConnectorError) as error:
        add_store(session, tenant, "s2", "Два", onec_guid=guid.lower())
    _refused(error, "STORE_EXISTS")
    with pytest.raises(ConnectorError) as error:
        add_store(session, tenant, "s3", "Три", onec_guid="not-a-guid")
    _refused(error, "VALIDATION_ERROR")
    other = factories.tenant(session, "other")
    assert add_store(session, other, "s1", "Чужой", onec_guid=guid).onec_guid == guid.lower()


def test_legal_entity_store_group_and_cashier(session: Session) -> None:
    tenant = factories.tenant(session)
    entity = add_legal_entity(session, tenant, "romashka", "ООО Ромашка", inn="7701234567")
    store = add_store(session, tenant, "s1", "Один", legal_entity=entity)
    group = add_store_group(session, tenant, "msk", "Москва", [store])
    assert store.legal_entity_id == entity.id
    assert [s.code for s in group.stores] == ["s1"]
    with pytest.raises(ConnectorError) as error:
        add_legal_entity(session, tenant, "bad", "Ошибка", inn="123")
    _refused(error, "VALIDATION_ERROR")
    cashier = ensure_cashier(session, tenant.id, "c-7", "Иванова")
    assert ensure_cashier(session, tenant.id, "c-7").id == cashier.id
    assert ensure_cashier(session, tenant.id, "c-7", "Иванова А.").name == "Иванова А."


def test_features_are_checked(session: Session) -> None:
    tenant = factories.tenant(session)
    set_features(session, tenant, ["bonus", "coupons", "bonus"])
    assert tenant.features == ["bonus", "coupons"]
    with pytest.raises(ConnectorError):
        set_features(session, tenant, ["teleport"])
