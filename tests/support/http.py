"""What the API tests share: the reference policy's name and URL, and editing a copy of the policy
folder."""
import re
from pathlib import Path

POLICY = "zhishandai.application"
URL = f"/v1/decisions/{POLICY}"
POLICY_FILE = Path("policies") / "zhishandai" / "application.yaml"


def set_version(root, version):
    """Rewrite the version line of the reference policy file."""
    path = Path(root) / POLICY_FILE
    text = re.sub(r'(?m)^version: .*$', f'version: "{version}"', path.read_text(encoding="utf-8"))
    path.write_text(text, encoding="utf-8")


def set_parameter(root, name, value):
    path = Path(root) / POLICY_FILE
    text, count = re.subn(rf'(?m)^(\s+{name}:)\s*[^#\n]+', rf'\g<1> {value}   ', path.read_text(encoding="utf-8"))
    assert count == 1, name
    path.write_text(text, encoding="utf-8")


def set_engine(root, engine):
    path = Path(root) / POLICY_FILE
    path.write_text(re.sub(r"(?m)^engine: .*$", f"engine: {engine}", path.read_text(encoding="utf-8")),
                    encoding="utf-8")
