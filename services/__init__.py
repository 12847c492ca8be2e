"""The domain: one module (or package) per domain, of keyword-only functions taking a session.
They hold the rules and all their SQL, never commit, and know nothing of GraphQL or the request."""
