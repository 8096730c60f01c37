# What an application that uses a managed key may do: read its one secret, nothing else. Not the rotator's
# journal or lease, not other teams' keys, no writes. One policy per application.
#
#   vault policy write chatbot-langsmith deploy/vault/consumer-policy.hcl

path "secret/data/langsmith/chatbot-prod" {
  capabilities = ["read"]
}
