# Sourced by the build benchmarks: writes three small projects, their wheels and a release of them under $work
# (release.yaml beside ./wheels), with "${tool[@]}" as osva-build.
write_three_service_release() {
  for name in alpha beta gamma; do
    dir="$work/src/osva-bench-$name"; mkdir -p "$dir/osva_bench_$name"
    printf 'def main():\n    print("%s")\n' "$name" > "$dir/osva_bench_$name/__init__.py"
    cat > "$dir/setup.py" <<PY
from setuptools import setup
setup(name='osva-bench-$name', version='1.0.0', packages=['osva_bench_$name'],
      entry_points={'console_scripts': ['osva-bench-$name = osva_bench_$name:main']})
PY
  done
  "${tool[@]}" wheels "$work"/src/* --out "$work/wheels" >/dev/null
  cat > "$work/release.yaml" <<YAML
defaults:
  wheelhouse: ./wheels
  sourceDateEpoch: 1700000000
services:
  - { name: alpha, tag: 1.0.0, requirements: [osva-bench-alpha], consoleScripts: [osva-bench-alpha] }
  - { name: beta, tag: 1.0.0, requirements: [osva-bench-beta], consoleScripts: [osva-bench-beta] }
  - { name: gamma, tag: 1.0.0, requirements: [osva-bench-gamma], consoleScripts: [osva-bench-gamma] }
YAML
}
