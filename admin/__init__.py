"""Admin pages for SaaS customers and support (Russian UI): programs, stores, users, tariffs,
customer questionnaire uploads and sync logs. Flask blueprints with Jinja templates."""
