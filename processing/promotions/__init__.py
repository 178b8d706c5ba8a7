"""Promotions: a program kind whose versions hold conditions × a reward × combination settings
(``rules``), the facts about a customer and a receipt they are evaluated on, and the pure
evaluation the calculation engine runs (``processing.engine.promotions``)."""
