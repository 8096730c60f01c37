"""The Vault adapter (hvac): authentication (``auth``), a self-renewing session (``session``), a KV version 2 store
with check-and-set (``kv``), and the secret target and state store over it (``target``, ``state_store``).

Everything hvac raises reaches callers as a typed error of ``errors`` (``translate`` maps them); no message, repr
or log event holds a token or a secret value. Import from the modules: this package imports nothing, so code that
only names a Vault error does not load hvac.
"""
