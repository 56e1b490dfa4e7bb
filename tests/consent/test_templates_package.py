"""Templates are package data (importlib.resources), a clinic's own templates in the consent home
override them, and doctor checks them."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from consentclip.cli import app
from consentclip.cli.doctor import template_checks
from consentclip.consent import templates
from consentclip.home import Home

PACKAGE = Path(templates.__file__).resolve().parent


def test_shipped_templates_are_package_data() -> None:
    shipped = templates.shipped_dir()
    assert Path(str(shipped)) == PACKAGE / "form_templates"
    names = sorted(p.name for p in shipped.iterdir() if p.name.endswith(".toml"))
    assert names == [f"derm-video-photo.{lang}.toml" for lang in ("en", "es", "ru")]
    for lang in ("en", "es", "ru"):
        loaded = templates.load("derm-video-photo", lang, None)
        assert Path(str(loaded.path)).parent == PACKAGE / "form_templates"
    # Nothing outside the package is searched any more (the old source-checkout fallback).
    assert all("consent_templates" not in str(d) for d in templates.search_dirs(None))


def test_pyproject_ships_the_templates_and_fonts() -> None:
    text = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert '"consent/form_templates/*.toml"' in text and '"consent/fonts/*.ttf"' in text


def test_a_clinics_own_template_overrides_the_shipped_one(ready_home: Home) -> None:
    own = ready_home.root / "templates"
    own.mkdir()
    source = templates.load("derm-video-photo", "en", None).path.read_text(encoding="utf-8")
    (own / "derm-video-photo.en.toml").write_text(
        source.replace('version = "1.0"', 'version = "1.0-clinic"'), encoding="utf-8"
    )
    assert templates.load("derm-video-photo", "en", ready_home).version == "1.0-clinic"
    assert templates.load("derm-video-photo", "es", ready_home).version == "1.0"
    ok, detail = templates.check(ready_home)
    assert ok and "clinic's own: derm-video-photo.en" in detail


def test_doctor_checks_the_templates(ready_home: Home, runner: CliRunner) -> None:
    [check] = template_checks(ready_home)
    assert check.ok and "3 template(s)" in check.detail
    own = ready_home.root / "templates"
    own.mkdir()
    (own / "derm-video-photo.ru.toml").write_text('id = "derm-video-photo"\n', encoding="utf-8")
    [check] = template_checks(ready_home)
    assert not check.ok and "derm-video-photo.ru" in check.detail and "lacks" in check.detail
    result = runner.invoke(app, ["doctor"])
    assert "FAIL  consent templates" in result.output and result.exit_code == 1
