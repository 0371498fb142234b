"""Helpers for the policy, watch and alert tests: small keys made through the service."""

import pytest


@pytest.fixture
def make(vault):
    def create(name, scope="agents", env="sandbox", perms=("read",), days=30, **kw):
        return vault.create(name, scope, list(perms), env, expires_in_days=days, **kw)

    return create
