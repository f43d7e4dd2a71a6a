"""The domain: contacts, filters, store and sync engine. Never imports textual."""
