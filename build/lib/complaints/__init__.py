"""The complaint-handling domain: models, policies, rules and data access, shared by every Lambda."""
