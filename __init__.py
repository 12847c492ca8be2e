"""Hospes: a multi-tenant guest-management GraphQL API for property managers."""
