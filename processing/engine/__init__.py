"""The pure calculation engine: receipt + rules + balances + customer facts in, result out.
No I/O, no clock, no database: that makes it fast and property-testable. The promotion engine
extends ``calculate`` later without touching the API."""
