"""A plain `pip install .` (a wheel, not a checkout) finds templates, static files, migrations and catalogs."""

import os
import subprocess
import sys


def test_installed_wheel_serves_pages_and_knows_its_migrations(tmp_path):
    wheels, target = tmp_path / "wheels", tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(wheels), "."], check=True, capture_output=True, cwd=os.path.dirname(__file__) + "/../..")
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
                    *map(str, wheels.glob("kizuna-*.whl"))], check=True, capture_output=True)
    probe = """
import kizuna, sys
from kizuna import create_app
from kizuna.paths import resource_dir
assert kizuna.__file__.startswith(sys.argv[1]), kizuna.__file__
from flask_migrate import upgrade
app = create_app({"TESTING": True})
with app.app_context():
    upgrade()  # the migrations are found inside the installed package
page = app.test_client().get("/login")
assert page.status_code == 200 and b"/static/css/kizuna.css" in page.data, page.status_code
assert app.test_client().get("/static/css/kizuna.css").status_code == 200
assert str(resource_dir("migrations")).startswith(sys.argv[1])
print("ok")
"""
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(target), "INSTANCE_PATH": str(tmp_path / "instance")}
    result = subprocess.run([sys.executable, "-c", probe, str(target)], capture_output=True, text=True, env=env,
                            cwd=tmp_path, timeout=120)
    assert result.stdout.strip() == "ok", result.stderr
