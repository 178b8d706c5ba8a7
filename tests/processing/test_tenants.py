from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from processing.errors import ConnectorError
from processing.tenants.models import Store, TariffPreset
from processing.tenants.service import (
    add_legal_entity,
    add_pos,
    add_store,
    add_store_group,
    change_tariff,
    ensure_cashier,
    link_warehouse,
    mirror_warehouses,
    set_addon,
    set_features,
)
from tests import factories


def _refused(error: pytest.ExceptionInfo[ConnectorError], code: str) -> None:
    assert error.value.code == code


def test_new_tenant_takes_the_tariff_limits(session: Session) -> None:
    # As discont.info sells them: Стартовый has gifts, certificates and the discount server for
    # up to 5 stores, no bonus server; Сетевой adds the bonus server, up to 20 stores.
    start = factories.tenant(session, "small", "start")
    assert start.max_stores == 5
    assert {"gifts", "certificates", "discount_server"} <= set(start.features)
    assert "bonus" not in start.features
    network = factories.tenant(session, "big", "network")
    assert network.max_stores == 20
    assert {"bonus", "gifts", "certificates", "discount_server"} <= set(network.features)


def test_presets_are_data_and_a_tenant_copy_is_its_own(session: Session) -> None:
    preset = session.get_one(TariffPreset, "start")
    preset.max_stores = 7  # the platform edits the preset: new tenants get the new value
    session.flush()
    small = factories.tenant(session, "small", "start")
    assert small.max_stores == 7
    small.max_stores = 9  # an edit for this tenant alone
    session.flush()
    assert session.get_one(TariffPreset, "start").max_stores == 7


def test_informer_is_an_add_on_with_its_quota(session: Session) -> None:
    with pytest.raises(ConnectorError) as error:
        factories.tenant(session, "x", "informer")
    _refused(error, "TARIFF_NOT_FOUND")
    small = factories.tenant(session, "small", "start")
    set_addon(session, small, "informer", enabled=True)
    assert small.addons == ["informer"] and small.quotas == {"sms_per_month": 500}
    assert {"sms", "email", "message_templates", "message_schedule", "delivery_control",
            "discount_server"} <= set(small.features)  # fmt: skip
    change_tariff(session, small, "network")
    assert "bonus" in small.features and "sms" in small.features
    set_addon(session, small, "informer", enabled=False)
    assert "sms" not in small.features and small.quotas == {} and "bonus" in small.features


def test_unknown_tariff_is_refused(session: Session) -> None:
    with pytest.raises(ConnectorError) as error:
        factories.tenant(session, "x", "platinum")
    _refused(error, "TARIFF_NOT_FOUND")


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


def test_warehouses_mirror_as_stores_linked_by_id_inactive_past_the_limit(
    session: Session,
) -> None:
    tenant = factories.tenant(session)
    tenant.max_stores = 2
    factories.store(session, tenant, "wh-A1")  # a hand-made store holding the natural code
    first = mirror_warehouses(session, tenant, [("A1", "Склад 1"), ("B2", "Склад 2")])
    assert (first.created, first.inactive) == (2, ("B2",))
    rows = session.scalars(select(Store).where(Store.tenant_id == tenant.id))
    stores = {store.warehouse_id: store for store in rows}
    assert stores["A1"].code == "wh-A1-2" and stores["A1"].active
    assert stores["B2"].code == "wh-B2" and not stores["B2"].active
    again = mirror_warehouses(session, tenant, [("A1", "Склад на Ленина"), ("B2", "Склад 2")])
    assert (again.created, again.updated, again.unchanged) == (0, 1, 1)
    assert stores["A1"].name == "Склад на Ленина"
    # A hand-made store may take a warehouse's link; one warehouse links one store.
    hand = session.scalars(select(Store).where(Store.code == "wh-A1")).one()
    link_warehouse(session, tenant, hand, "C3")
    third = mirror_warehouses(session, tenant, [("C3", "Склад 3")])
    assert (third.created, third.updated) == (0, 1) and hand.name == "Склад 3"
    with pytest.raises(ConnectorError) as error:
        link_warehouse(session, tenant, stores["B2"], "A1")
    _refused(error, "STORE_EXISTS")
