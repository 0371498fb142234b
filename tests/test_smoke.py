from keytui.domain import VerifyCode


def test_created_key_verifies_and_wrong_environment_is_refused(vault):
    issued = vault.create("Agents Execution Key", "agents", ["read"], "sandbox", expires_in_days=30)
    assert vault.verify(issued.token, "sandbox", permission="read").code is VerifyCode.VALID
    assert vault.verify(issued.token, "production").code is VerifyCode.WRONG_ENVIRONMENT


def test_cli_creates_and_lists_a_key(cli):
    made = cli("keys", "create", "--name", "Demo Build Key", "--scope", "demo-builds", "--permission", "read",
               "--environment", "dev", "--expires-in", "30", "--json")
    assert made.code == 0, made
    listed = cli("keys", "list", "--json").json()
    assert [k["name"] for k in listed] == ["Demo Build Key"]
