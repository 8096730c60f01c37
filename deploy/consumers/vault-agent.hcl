# Vault Agent (a sidecar or an init+sidecar pair) for an app that reads its LangSmith key from a file.
# The agent re-reads a KV v2 secret every static_secret_render_interval: keep it well below the rotator's
# grace_period (24h by default), so the app has the new key long before the old one is deleted.
vault {
  address = "https://vault.example.internal:8200"
}

auto_auth {
  method "kubernetes" {
    mount_path = "auth/kubernetes"
    config = {
      role = "chatbot"
    }
  }
}

template_config {
  static_secret_render_interval = "5m"
}

template {
  source      = "/etc/vault-agent/langsmith.ctmpl"
  destination = "/vault/secrets/langsmith.env"
  perms       = "0400"
  # The app re-reads the file, or is told to: e.g. command = "pkill -HUP chatbot"
}
