"""The service: rules, lifecycle, verification, policies and analytics over the store.

Faces use `Vault` (the contract) and the plain values it returns; every module here takes a
`Context` as its first argument.
"""

from keytui.service.context import Context
from keytui.service.registry import KeyFilter
from keytui.service.vault import Vault
from keytui.service.verification import Event, VerifyResult
from keytui.service.views import IssuedKey, KeyView, NewKey, SecretView

__all__ = ["Context", "Event", "IssuedKey", "KeyFilter", "KeyView", "NewKey", "SecretView", "Vault", "VerifyResult"]
