"""Translation between external identities and payloads (1C GUIDs, CommerceML Ид, POS codes,
1C's zone-less dates) and the domain objects of ``processing``."""
