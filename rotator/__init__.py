"""LangSmith key rotator: watch LangSmith API keys for expiry, alert, and rotate service keys into Vault."""

__version__ = "0.1.0"
