"""HTTP/JSON endpoints that 1C extension modules and POS software call (identify, calculate,
commit, return, rollback, offline batches, customers), and the CommerceML exchange endpoint."""
