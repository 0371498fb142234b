"""`keytui scan`: tokens in files and in git history, live keys told from dead ones by digest,
--revoke, exit codes 0/1/2, and never a token in the output."""

from __future__ import annotations

import os
import subprocess

import pytest

from keytui import tokens
from keytui.cli import sources
from keytui.domain import Environment


def create(kt, name, env="sandbox", *extra):
    made = kt("keys", "create", "--name", name, "--scope", "agents", "--permission", "read", "--environment", env,
              "--expires-in", "30", "--json", *extra).json()
    return made["key"]["key_id"], made["token"]


def git(repo, *args):
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                   check=True, capture_output=True)


def no_token_in(result, *secrets):
    return not any(t in result.out or t in result.err for t in secrets)


def test_finds_live_keys_in_files_and_tells_them_from_dead_and_unknown(kt, tmp_path):
    live_id, live = create(kt, "Live Key")
    dead_id, dead = create(kt, "Dead Key")
    kt("keys", "revoke", dead_id)
    stranger = tokens.generate(Environment.SANDBOX)
    typo = live[:-1] + ("A" if live[-1] != "A" else "B")
    src = tmp_path / "src"
    (src / "deep").mkdir(parents=True)
    (src / "app.py").write_text(f"import os\n\nTOKEN = '{live}'\n")
    (src / "deep" / "notes.md").write_text(f"old: {dead}\nother: {stranger}\ntypo: {typo}\nagain {live}\n")
    result = kt("scan", str(src))
    assert result.code == 1 and no_token_in(result, live, dead, stranger, typo)
    lines = result.out.splitlines()
    assert any(ln.startswith("LIVE") and live_id in ln and f"{src}/app.py:3" in ln for ln in lines)
    assert any(ln.startswith("LIVE") and f"{src}/deep/notes.md:4" in ln for ln in lines)
    assert any(ln.startswith("DEAD (revoked)") and dead_id in ln and "notes.md:1" in ln for ln in lines)
    assert any(ln.startswith("UNKNOWN") and "notes.md:2" in ln for ln in lines)
    assert "notes.md:3" not in result.out  # a bad checksum is not a token
    assert tokens.hint(live) in result.out
    data = kt("scan", str(src), "--json")
    assert data.code == 1 and no_token_in(data, live, dead, stranger, typo)
    found = {f["key_id"]: f for f in data.json()["findings"]}
    assert found[live_id]["state"] == "live" and len(found[live_id]["locations"]) == 2
    assert found[dead_id]["state"] == "dead" and data.json()["live"] == 1


def test_clean_and_bad_input(kt, tmp_path):
    (tmp_path / "clean.txt").write_text("nothing to see\n")
    assert kt("scan", str(tmp_path)).code == 0
    missing = kt("scan", str(tmp_path / "nope"))
    assert missing.code == 2 and missing.err.startswith("keytui: path:") and len(missing.err.splitlines()) == 1
    not_repo = kt("scan", str(tmp_path), "--git")
    assert not_repo.code == 2 and "not a git repository" in not_repo.err
    assert kt("scan", str(tmp_path), "--offline", "--revoke").code == 2


def test_finds_a_token_in_an_old_commit_of_a_repository(kt, tmp_path):
    key_id, live = create(kt, "Live Key")
    repo = tmp_path / "repo"
    git(tmp_path, "init", "-q", str(repo))
    (repo / "config.env").write_text(f"A=1\nB=2\nAPI_TOKEN={live}\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "add config")
    first = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"], capture_output=True,
                           text=True).stdout.strip()
    (repo / "config.env").write_text("A=1\nB=2\nAPI_TOKEN=from-the-vault\n")
    git(repo, "commit", "-qam", "remove the token")
    assert kt("scan", str(repo)).code == 0  # the working tree is clean
    result = kt("scan", str(repo), "--git")
    assert result.code == 1 and no_token_in(result, live)
    assert f"commit {first} config.env:3" in result.out and key_id in result.out


def test_revoke_kills_the_live_keys_found_with_the_place(kt, tmp_path):
    key_id, live = create(kt, "Live Key")
    (tmp_path / "leak.log").write_text(f"Authorization: Bearer {live}\n")
    result = kt("scan", str(tmp_path), "--revoke")
    assert result.code == 1 and "LIVE, revoked" in result.out and no_token_in(result, live)
    shown = kt("keys", "show", key_id, "--json").json()
    assert shown["status"] == "revoked" and shown["revoke_reason"] == f"leaked: {tmp_path}/leak.log:1"
    assert [h["action"] for h in shown["history"]][:2] == ["alert.raise", "key.revoke"]
    assert kt("alerts", "--json").json()[0]["kind"] == "key-leaked"
    after = kt("scan", str(tmp_path))
    assert after.code == 0 and "DEAD (revoked)" in after.out


def test_revoking_a_production_key_needs_a_totp_code(kt, totp, tmp_path):
    key_id, live = create(kt, "Prod Key", "production")
    (tmp_path / "a.txt").write_text(live + "\n")
    refused = kt("scan", str(tmp_path), "--revoke")
    assert refused.code == 2 and "totp" in refused.err and no_token_in(refused, live)
    assert kt("keys", "show", key_id, "--json").json()["status"] == "active"
    done = kt("scan", str(tmp_path), "--revoke", "--totp", totp())
    assert done.code == 1 and kt("keys", "show", key_id, "--json").json()["status"] == "revoked"


def test_alert_only_policy(kt, tmp_path):
    kt("policy", "set", "leak_response", "alert")
    key_id, live = create(kt, "Live Key")
    (tmp_path / "a.txt").write_text(live)
    assert "LIVE, alerted" in kt("scan", str(tmp_path), "--revoke").out
    assert kt("keys", "show", key_id, "--json").json()["status"] == "active"
    assert [a["kind"] for a in kt("alerts", "--json").json()] == ["key-leaked"]


def test_offline_needs_no_store_and_counts_every_well_formed_token(cli, tmp_path):
    token = tokens.generate(Environment.PRODUCTION)
    (tmp_path / "a.txt").write_text(f"x {token} y\n")
    empty_home = tmp_path / "no-home"
    result = cli("scan", str(tmp_path / "a.txt"), "--offline", env={"KEYTUI_HOME": str(empty_home)})
    assert result.code == 1 and "WELL-FORMED" in result.out and no_token_in(result, token)
    assert not empty_home.exists()


def test_binary_huge_and_odd_files(kt, tmp_path):
    key_id, live = create(kt, "Live Key")
    src = tmp_path / "src"
    src.mkdir()
    (src / "blob.bin").write_bytes(b"\0\1\2" + live.encode() + os.urandom(1000))
    with open(src / "huge.log", "wb") as fh:  # 12 MB, the token after 200,000 lines and on one long line
        fh.write(b"log line\n" * 200_000)
        fh.write(b"x" * 10_000_000 + b" " + live.encode() + b"\n")
    os.mkfifo(src / "pipe")  # never opened: reading it would hang
    result = kt("scan", str(src), "--json")
    assert result.code == 1 and no_token_in(result, live)
    data = result.json()
    assert data["findings"][0]["locations"] == [f"{src}/huge.log:200001"]
    assert data["scanned"]["skipped_binary"] == 1


@pytest.mark.parametrize("chunk", [1, 7, 50, 64, 1000])
def test_search_finds_tokens_across_chunk_boundaries(chunk):
    token = tokens.generate(Environment.STAGING)
    text = f"a\nb {token}\n\n{token}_x x{token} {token}".encode()  # 2nd and 3rd touch other token characters
    pieces = [text[i:i + chunk] for i in range(0, len(text), chunk)]
    assert list(sources.search(pieces)) == [(token, 2), (token, 4)]
