"""GitOps tools on our objects: Argo CD health checks (Lua) and kstatus (Flux)."""
