# Add this policy beside rotator-policy.hcl when the rotator rotates its own admin key (a managed entry with
# `self: true`): the admin keys' paths are then written like managed secrets, with check-and-set, read back,
# and their custom metadata set. Without it those paths stay read only, and a self-rotation stops before it
# creates a key, naming the capability it lacks.
#
#   vault policy write langsmith-rotator-self deploy/vault/rotator-self-rotation-policy.hcl

path "secret/data/langsmith-rotator/admin/*" {
  capabilities = ["create", "read", "update"]
}
path "secret/metadata/langsmith-rotator/admin/*" {
  capabilities = ["read", "update"]
}
