"""The domain: keyword-only functions taking a session; they hold the rules and their SQL and never commit."""
