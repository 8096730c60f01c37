# Vault policy for the LangSmith key rotator, for a KV v2 mount at secret/ with managed secrets under
# secret/langsmith/ and the rotator's journal under secret/langsmith-rotator/ (its state_prefix).
# Adjust the paths to your config: one block pair per managed-secret prefix.
#
#   vault policy write langsmith-rotator deploy/vault/rotator-policy.hcl
#
# Token lookup, renewal, the mount check (sys/internal/ui/mounts) and sys/capabilities-self (asked before a
# rotation creates a key, so a policy too narrow to store it stops the rotation before it starts) are covered
# by Vault's default policy.

# The managed secrets apps read: written with check-and-set, read back, and their custom metadata set
# (rotated_at, previous_key_id, ...). No delete: the rotator never destroys a secret.
path "secret/data/langsmith/*" {
  capabilities = ["create", "read", "update"]
}
path "secret/metadata/langsmith/*" {
  capabilities = ["read", "update"]
}

# The journal and per-secret state (intent, created key id, backoff), and the lease that lets one process
# at a time rotate: both written with check-and-set.
path "secret/data/langsmith-rotator/secrets/*" {
  capabilities = ["create", "read", "update"]
}
path "secret/data/langsmith-rotator/leases/*" {
  capabilities = ["create", "read", "update"]
}

# What each alert sink has acknowledged, so a restart or the next CronJob run neither repeats nor loses an
# alert: one document, written with check-and-set.
path "secret/data/langsmith-rotator/alerts" {
  capabilities = ["create", "read", "update"]
}

# The orgs' admin keys, when the config reads them from Vault (orgs[].api_key.vault): read only, unless the
# rotator rotates its own key (self: true): then add rotator-self-rotation-policy.hcl.
path "secret/data/langsmith-rotator/admin/*" {
  capabilities = ["read"]
}
