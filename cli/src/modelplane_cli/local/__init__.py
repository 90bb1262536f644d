"""The local platform: a real control plane and real services on one machine, no Docker."""
