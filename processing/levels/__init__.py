"""Customer levels: computed from cumulative net purchases or purchase counts in a window, with
manual overrides (e.g. VIP) that recalculation never lowers."""
