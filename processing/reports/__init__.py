"""Figures across the domain's packages for dashboards and the licensor: a tenant's usage of its
tariff. It reads tenants, stores and customers, so it sits above them."""
