"""People who work in the admin pages: user accounts (of a tenant, or of the platform), their
roles and what each role may do."""
