"""keytui: API key management for a platform's agents, workflows, sandboxes and integrations."""

__version__ = "0.1.0"
