"""Customers from an accountant's questionnaire file (CSV, XLSX): the mapping of its columns,
the check of every row by the questionnaire's and the cards' rules, and the load. It binds cards
to customers, so it sits above both ``processing.customers`` and ``processing.cards``."""
