# Sourced by the other scripts: a virtualenv in .venv with the dependencies pyproject.toml lists,
# reinstalled only when pyproject.toml changes, and compiled translations.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
EXTRAS="${1:-}"
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=".venv/.installed-$(sha1sum pyproject.toml | cut -c1-12)${EXTRAS:+-$EXTRAS}"
if [ ! -f "$stamp" ]; then
  echo "Installing Python packages into .venv …"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python - "$EXTRAS" >.venv/requirements.txt <<'PY'
import sys, tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
wanted = list(project["dependencies"])
for extra in filter(None, sys.argv[1].split(",")):
    wanted += project["optional-dependencies"][extra]
print("\n".join(wanted))
PY
  .venv/bin/python -m pip install -q -r .venv/requirements.txt
  touch "$stamp"
fi
# Translations: compile .po to .mo when a catalogue changed.
for po in trace/translations/*/LC_MESSAGES/messages.po; do
  [ -e "$po" ] || continue
  mo="${po%.po}.mo"
  if [ ! -f "$mo" ] || [ "$po" -nt "$mo" ]; then
    .venv/bin/pybabel compile -d trace/translations
    break
  fi
done
