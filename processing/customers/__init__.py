"""Customers: questionnaire (standard and tenant-defined fields), consents under 152-FZ, the
per-field change history, what an unfilled questionnaire allows, the log of access to personal
data and erasure on request."""
