"""One process of test_concurrency: verifications and creates against a shared home, as fast as it can.

Usage: python hammer.py HOME WORKER ROUNDS < tokens  (prints how many verifications it made)
"""

from __future__ import annotations

import sys

from keytui.domain import VerifyCode
from keytui.service import Vault


def main() -> int:
    home, worker, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    tokens = sys.stdin.read().split()
    vault = Vault.open(home, operator=f"worker-{worker}")
    verified = 0
    for i in range(rounds):
        if i % 10 == 9:
            vault.create(f"worker {worker} key {i}", "workflows", ["read"], "sandbox", expires_in_days=30)
        else:
            code = vault.verify(tokens[i % len(tokens)], "sandbox", "read", module=f"worker-{worker}").code
            if code is not VerifyCode.VALID:
                print(f"verification {i} gave {code}", file=sys.stderr)
                return 1
            verified += 1
    print(verified)
    return 0


if __name__ == "__main__":
    sys.exit(main())
