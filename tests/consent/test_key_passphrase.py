"""Issue 17: the clinic key stored encrypted with a passphrase (init --encrypt-key, key encrypt),
the passphrase from $CONSENTCLIP_KEY_PASSPHRASE or a prompt, one-line failures that write
nothing, and doctor saying whether the key is encrypted."""

from __future__ import annotations

import json
import stat

import pytest
from typer.testing import CliRunner

from consentclip.cli import app, options
from consentclip.cli.key import NEW_PASSPHRASE_ENV
from consentclip.consent import people, signing
from consentclip.consent.home_health import home_checks
from consentclip.consent.registry import Registry
from consentclip.consent.signing import ClinicKey
from consentclip.errors import KeyPassphraseError
from consentclip.home import Home

from .dbtools import db_dump

PASS = "correct horse battery"
ENV = signing.PASSPHRASE_ENV
# CliRunner's stdin is not a terminal, so getpass says it cannot hide the input.
pytestmark = pytest.mark.filterwarnings("ignore::getpass.GetPassWarning")

NEW = ("consent", "new", "--patient", "P-1", "--patient-name", "Ann Example",
       "--grant", "teaching", "--expires", "2099-01-01")  # fmt: skip


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (ENV, NEW_PASSPHRASE_ENV, people.USER_ENV):
        monkeypatch.delenv(name, raising=False)


def invoke(runner: CliRunner, *argv: str, input: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(argv), input=input)
    return result.exit_code, result.output


def at_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """CliRunner's stdin is not a terminal; pretend it is, so the prompt path runs for real."""
    monkeypatch.setattr(options, "interactive", lambda: True)


def snapshot(home: Home) -> tuple[bytes, str]:
    return home.private_key_path.read_bytes(), db_dump(home)


# --- init --encrypt-key ---------------------------------------------------------------------


def test_init_encrypts_with_the_environment_passphrase(
    home: Home, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, PASS)
    code, out = invoke(runner, "init", "--encrypt-key", "--json")
    assert code == 0, out
    assert json.loads(out)["key_encrypted"] is True
    pem = home.private_key_path.read_bytes()
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert stat.S_IMODE(home.private_key_path.stat().st_mode) == 0o600
    assert invoke(runner, *NEW)[0] == 0
    assert invoke(runner, "audit", "verify")[0] == 0
    monkeypatch.delenv(ENV)
    # Without it, and nobody to ask: one line, exit 1, nothing written.
    before = snapshot(home)
    code, out = invoke(runner, *NEW)
    assert code == 1 and out.count("\n") == 1
    assert "is encrypted and no passphrase was given" in out and ENV in out
    code, out = invoke(runner, *NEW, "--json")
    assert code == 1 and json.loads(out)["error"]["kind"] == "passphrase"
    assert snapshot(home) == before


def test_init_asks_twice_at_a_terminal_and_every_command_asks_once(
    home: Home, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    at_a_terminal(monkeypatch)
    code, out = invoke(runner, "init", "--encrypt-key", input=f"{PASS}\n{PASS}\n")
    assert code == 0, out
    assert "the key is encrypted" in out
    assert signing.is_encrypted(home.private_key_path)
    # A command that opens the registry several times still asks once.
    code, out = invoke(runner, *NEW, input=f"{PASS}\n")
    assert code == 0, out
    assert out.count("passphrase for the clinic signing key") == 1
    code, out = invoke(runner, *NEW, input="not the passphrase\n")
    assert code == 1 and "the passphrase does not open the clinic signing key" in out
    # The prompt's answer does not outlive the command.
    import os

    assert ENV not in os.environ


def test_init_refuses_a_short_passphrase_and_leaves_no_home(
    home: Home, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, "short")
    code, out = invoke(runner, "init", "--encrypt-key")
    assert code == 2 and "at least 12 characters" in out
    assert not home.root.exists()


def test_init_encrypt_on_an_existing_home_points_to_key_encrypt(
    home: Home, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert invoke(runner, "init")[0] == 0
    before = snapshot(home)
    monkeypatch.setenv(ENV, PASS)
    code, out = invoke(runner, "init", "--encrypt-key")
    assert code == 2 and "consentclip key encrypt" in out
    assert snapshot(home) == before


# --- key encrypt ----------------------------------------------------------------------------


def test_key_encrypt_keeps_the_same_key_and_records_who(
    home: Home, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert invoke(runner, "init")[0] == 0
    assert invoke(runner, *NEW)[0] == 0
    plain_fingerprint = ClinicKey.load(home).fingerprint()
    monkeypatch.setenv(ENV, PASS)
    code, out = invoke(runner, "key", "encrypt", "--user", "Dr Ada Lee", "--json")
    assert code == 0, out
    done = json.loads(out)
    assert done["fingerprint"] == plain_fingerprint and done["passphrase_changed"] is False
    assert signing.is_encrypted(home.private_key_path)
    assert stat.S_IMODE(home.private_key_path.stat().st_mode) == 0o600
    with Registry.open(home) as reg:
        assert reg.key.fingerprint() == plain_fingerprint
        assert reg.verify().ok and reg.verify_audit().ok
        last = reg.audit_entries()[-1]
    assert (last.event, last.person) == ("key.encrypted", "Dr Ada Lee")


def test_key_encrypt_at_a_terminal_then_change_the_passphrase(
    home: Home, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert invoke(runner, "init")[0] == 0
    at_a_terminal(monkeypatch)
    code, out = invoke(runner, "key", "encrypt", input=f"{PASS}\n{PASS}\n")
    assert code == 0, out
    assert "encrypted with a passphrase" in out
    # Changing it: the present passphrase first, then the new one twice.
    answers = f"{PASS}\nnew passphrase 2\nnew passphrase 2\n"
    code, out = invoke(runner, "key", "encrypt", input=answers)
    assert code == 0, out
    assert "passphrase changed" in out
    monkeypatch.setenv(ENV, PASS)
    with pytest.raises(KeyPassphraseError):
        ClinicKey.load(home)
    monkeypatch.setenv(ENV, "new passphrase 2")
    ClinicKey.load(home)


def test_key_encrypt_with_a_wrong_present_passphrase_writes_nothing(
    home: Home, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, PASS)
    assert invoke(runner, "init", "--encrypt-key")[0] == 0
    before = snapshot(home)
    monkeypatch.setenv(ENV, "wrong passphrase")
    monkeypatch.setenv(NEW_PASSPHRASE_ENV, "another passphrase")
    code, out = invoke(runner, "key", "encrypt")
    assert code == 1 and out.count("\n") == 1
    assert "the passphrase does not open the clinic signing key" in out
    assert snapshot(home) == before


def test_key_encrypt_without_a_new_passphrase_writes_nothing(
    home: Home, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert invoke(runner, "init")[0] == 0
    before = snapshot(home)
    code, out = invoke(runner, "key", "encrypt")  # no variable, no terminal
    assert code == 1 and "no new passphrase was given; nothing was written" in out
    monkeypatch.setenv(NEW_PASSPHRASE_ENV, "eleven char")
    code, out = invoke(runner, "key", "encrypt")
    assert code == 2 and "at least 12 characters" in out
    assert snapshot(home) == before


def test_key_encrypt_needs_a_person_where_the_clinic_requires_one(
    home: Home, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert invoke(runner, "init")[0] == 0
    with home.settings_path.open("a", encoding="utf-8") as fh:
        fh.write("\n[audit]\nrequire_person = true\n")
    before = snapshot(home)
    monkeypatch.setenv(ENV, PASS)
    code, out = invoke(runner, "key", "encrypt")
    assert code == 2 and "no person was named" in out
    assert snapshot(home) == before


# --- doctor ---------------------------------------------------------------------------------


def test_doctor_says_whether_the_key_is_encrypted_and_never_asks(
    home: Home, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert invoke(runner, "init")[0] == 0
    key = {c.name: c for c in home_checks(home)}["signing key"]
    assert key.ok and "not encrypted" in key.detail
    monkeypatch.setenv(ENV, PASS)
    assert invoke(runner, "key", "encrypt")[0] == 0
    key = {c.name: c for c in home_checks(home)}["signing key"]
    assert key.ok and "encrypted, opens" in key.detail
    monkeypatch.setenv(ENV, "wrong passphrase")
    key = {c.name: c for c in home_checks(home)}["signing key"]
    assert not key.ok and "does not open" in key.detail
    monkeypatch.delenv(ENV)
    at_a_terminal(monkeypatch)
    _, out = invoke(runner, "doctor", "--json", input="")
    report = json.loads(out)
    key_check = next(c for c in report["checks"] if c["name"] == "signing key")
    assert key_check["ok"] and "encrypted with a passphrase" in key_check["detail"]
    fingerprint = ClinicKey(signing.Ed25519PrivateKey.generate()).fingerprint()  # another key
    assert fingerprint not in key_check["detail"]
    monkeypatch.setenv(ENV, PASS)
    assert ClinicKey.load(home).fingerprint() in key_check["detail"]
    assert "passphrase for" not in out
