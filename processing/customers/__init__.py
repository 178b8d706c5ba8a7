"""Customers: questionnaire (standard and tenant-defined fields), consents under 152-FZ, the
per-field change history, and what an unfilled questionnaire allows."""
