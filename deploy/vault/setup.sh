#!/usr/bin/env bash
# Set up Vault (or OpenBao) for the rotator: a KV v2 mount, its policies, and the two ways it logs in.
#
#   VAULT_ADDR=https://vault.example:8200 VAULT_TOKEN=... deploy/vault/setup.sh
#
# Idempotent: run it again after editing a policy. Settings, from the environment:
#   KV_MOUNT            the KV v2 mount (secret)
#   K8S_HOST            the Kubernetes API Vault checks service-account tokens against (unset: no Kubernetes auth)
#   K8S_CA_CERT         a file with that API's CA certificate (PEM), needed with K8S_HOST
#   K8S_NAMESPACE       the rotator's namespace (langsmith-key-rotator)
#   SELF_ROTATION       1 to also let the rotator write its own admin key (deploy/vault/rotator-self-rotation-policy.hcl)
#   VAULT               the CLI: vault, or bao for OpenBao (default: whichever is on PATH)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
kv_mount="${KV_MOUNT:-secret}"
namespace="${K8S_NAMESPACE:-langsmith-key-rotator}"
cli="${VAULT:-$(command -v vault || command -v bao || true)}"
if [ -z "$cli" ]; then
  echo "setup.sh: neither vault nor bao is on PATH (set VAULT=/path/to/cli)" >&2
  exit 1
fi

# Read whole listings first: `grep -q` closing a pipe early would fail the pipeline under pipefail.
mounts="$("$cli" secrets list -format=json)"
case "$mounts" in *"\"${kv_mount}/\""*) ;; *) "$cli" secrets enable -path="$kv_mount" kv-v2 >/dev/null ;; esac
auths="$("$cli" auth list -format=json)"

policies="langsmith-rotator"
"$cli" policy write langsmith-rotator "$here/rotator-policy.hcl" >/dev/null
if [ "${SELF_ROTATION:-0}" = 1 ]; then
  "$cli" policy write langsmith-rotator-self "$here/rotator-self-rotation-policy.hcl" >/dev/null
  policies="$policies,langsmith-rotator-self"
fi

# AppRole: for a rotator outside Kubernetes (a VM, a CI runner). Its role_id and a secret_id go to the host.
case "$auths" in *'"approle/"'*) ;; *) "$cli" auth enable approle >/dev/null ;; esac
"$cli" write auth/approle/role/langsmith-rotator token_policies="$policies" token_ttl=1h token_max_ttl=4h \
  secret_id_ttl=0 >/dev/null

# Kubernetes: the Deployment's or CronJob's service account logs in with a token whose audience is vault.
if [ -n "${K8S_HOST:-}" ]; then
  if [ ! -r "${K8S_CA_CERT:-}" ]; then
    echo "setup.sh: K8S_CA_CERT must name a readable PEM file with the CA of ${K8S_HOST}" >&2
    exit 1
  fi
  case "$auths" in *'"kubernetes/"'*) ;; *) "$cli" auth enable kubernetes >/dev/null ;; esac
  "$cli" write auth/kubernetes/config kubernetes_host="$K8S_HOST" kubernetes_ca_cert=@"$K8S_CA_CERT" >/dev/null
  "$cli" write auth/kubernetes/role/langsmith-rotator bound_service_account_names=langsmith-key-rotator \
    bound_service_account_namespaces="$namespace" audience=vault token_policies="$policies" token_ttl=1h >/dev/null
fi

echo "setup.sh: policies ${policies}; auth: approle${K8S_HOST:+, kubernetes}"
