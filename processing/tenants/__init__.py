"""Tenants (retail companies, SaaS customers), their stores and POS terminals."""
