"""Settings: a missing or invalid one stops start-up with a message that names it."""

import pytest

from kizuna import create_app
from kizuna.config import ConfigError, load


@pytest.mark.parametrize(("env", "setting"), [
    ({"DATABASE_URL": "postgresql://db.example/kizuna"}, "SECRET_KEY"),  # production without a key
    ({"SECRET_KEY": "short"}, "SECRET_KEY"),
    ({"DATABASE_URL": "mysql://db.example/kizuna", "SECRET_KEY": "x" * 32}, "DATABASE_URL"),
    ({"DATABASE_URL": "not a url", "SECRET_KEY": "x" * 32}, "DATABASE_URL"),
    ({"REDIS_URL": "http://127.0.0.1:6379"}, "REDIS_URL"),
    ({"SMTP_URL": "smtp://"}, "SMTP_URL"),
    ({"SMTP_URL": "smtp://mail.example.org:port"}, "SMTP_URL"),
    ({"MAIL_FROM": "nobody"}, "MAIL_FROM"),
    ({"NEWSLETTER_UNSUBSCRIBE_ADDRESS": "unsubscribe at city"}, "NEWSLETTER_UNSUBSCRIBE_ADDRESS"),
    ({"BASE_URL": "kizuna.example.org"}, "BASE_URL"),
    ({"HOME_CITY": "Tokyo, XX"}, "HOME_CITY"),
])
def test_invalid_setting_names_itself(tmp_path, env, setting):
    with pytest.raises(ConfigError) as info:
        load(environ={"INSTANCE_PATH": str(tmp_path), **env})
    assert info.value.setting == setting
    assert str(info.value).startswith(f"{setting}: ")


def test_demo_secret_is_generated_once_and_kept_in_the_instance_folder(tmp_path):
    first = load(environ={"INSTANCE_PATH": str(tmp_path)})
    second = load(environ={"INSTANCE_PATH": str(tmp_path)})
    assert first["SECRET_KEY"] == second["SECRET_KEY"]
    assert len(first["SECRET_KEY"]) >= 48
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert first["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'kizuna.sqlite'}"


def test_settings_come_from_the_environment(tmp_path):
    cfg = load(environ={"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "k" * 32,
                        "DATABASE_URL": "postgresql://u:p@db.example:5433/kizuna",
                        "SMTP_URL": "smtps://u:p@mail.example.org", "BASE_URL": "https://kizuna.example.org/",
                        "HOME_CITY": "1850147", "MAIL_FROM": "Kizuna <kizuna@example.org>"})
    assert cfg["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db.example:5433/kizuna"
    assert cfg["BASE_URL"] == "https://kizuna.example.org"
    assert cfg["SESSION_COOKIE_SECURE"] is True
    assert cfg["HOME_CITY"] == "1850147"


def test_dotenv_file_is_read(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("BASE_URL=https://from-dotenv.example.org\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BASE_URL", raising=False)
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    try:
        app = create_app({"TESTING": True})
        assert app.config["BASE_URL"] == "https://from-dotenv.example.org"
    finally:
        import os
        os.environ.pop("BASE_URL", None)  # load_dotenv wrote it into this process


def test_cli_reports_a_bad_setting_by_name(tmp_path):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "kizuna.cli", "routes"], capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin", "INSTANCE_PATH": str(tmp_path), "SMTP_URL": "http://x"},
                            cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    assert "Configuration error: SMTP_URL" in result.stderr


def test_tuning_knobs_are_numbers_or_stop_start_up(tmp_path):
    cfg = load(environ={"INSTANCE_PATH": str(tmp_path), "OUTBOX_LEASE_SECONDS": "1", "SMTP_TIMEOUT": "2.5",
                        "CELERY_TASK_DEFAULT_QUEUE": "mail",
                        "CELERY_BROKER_TRANSPORT_OPTIONS": '{"unacked_restore_interval": 1}'})
    assert (cfg["OUTBOX_LEASE_SECONDS"], cfg["SMTP_TIMEOUT"]) == (1, 2.5)
    app = create_app({"INSTANCE_PATH": str(tmp_path), "REDIS_URL": "redis://127.0.0.1:6379/9", **{
        k: cfg[k] for k in ("OUTBOX_LEASE_SECONDS", "CELERY_TASK_DEFAULT_QUEUE", "CELERY_BROKER_TRANSPORT_OPTIONS")}})
    conf = app.extensions["celery"].conf
    assert conf.task_default_queue == "mail"
    assert conf.broker_transport_options == {"visibility_timeout": 7200, "unacked_restore_interval": 1}
    for name, value in [("OUTBOX_BATCH_SIZE", "many"), ("SMTP_TIMEOUT", "true"),
                        ("CELERY_BROKER_TRANSPORT_OPTIONS", "[1, 2")]:
        with pytest.raises(ConfigError, match=name):
            load(environ={"INSTANCE_PATH": str(tmp_path), name: value})
