"""Guest accounts: registration (proven by a link mailed to the address), login, passwords (reset,
first password, change), the profile and its email change, the accounts the booking form opens,
and disabling by staff.

An account logs in with the email of its guest record: `guest_account.email_bidx` is kept equal to
the guest's `email_bidx`, and only confirming an email change changes either of them. Links mailed
to a guest carry single-use tokens stored as SHA-256 only; the mail itself is a queued
`communication` row.

Whether an address has an account never shows in an answer, nor in the work behind it:
registering and asking for a reset answer alike, run the same statements and queue one mail
either way. Rate limits and login sessions live in Redis and belong to the request: the
resolvers (`resolvers/accounts.py`) apply and start them around these functions."""
