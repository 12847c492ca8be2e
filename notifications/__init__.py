"""Channel routing, consent rules, templates and providers for guest messages (the messaging issue)."""
