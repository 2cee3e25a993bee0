#!/usr/bin/env bash
# Refresh the dashboard's charting library (consumers/api/static/vendor/): vega, vega-lite and
# vega-embed from the npm registry, the minified UMD builds and their licences. The page loads them
# from the API itself, never from a CDN. Pinned versions; the sha256 of each file is checked against
# the table below, so a changed package is noticed. To move a version: change it, run with
# UPDATE=1, review the new hashes printed, commit them with the files (docs/dashboard.md).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=consumers/api/static/vendor
declare -A VERSIONS=([vega]=6.2.0 [vega-lite]=6.4.0 [vega-embed]=7.0.2)
SUMS=$(cat <<'TABLE'
c7111a41190080938b14c1de00074d9bda16ef2199e2919dd038cddf97d87354  ./vega-embed.min.js
05031cf18acd70a5e05e1bf86b61f1a71f715bd660d408297e3973fdf677e0e9  ./vega-lite.min.js
ea6a5936381d06f912466354e2b6a20eb66c4d41f1ca9dff1e0236dfee6ee392  ./vega.min.js
32df67148f0fc3db0eb9e263a7b75d07f1eb14c61955005a4a39c6918d10d137  ./vega-embed.LICENSE
f618900fd0d64046963b29f40590cdd1e341a2f41449f99110d82fd81fea808c  ./vega-lite.LICENSE
63727832aaf62004a2b249c933e327f3c90caf49e41a72f4bf436edf632cbda8  ./vega.LICENSE
TABLE
)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
for name in vega vega-lite vega-embed; do
    (cd "$work" && npm pack --silent "$name@${VERSIONS[$name]}" >/dev/null && mkdir "$name" && tar xzf "$name-${VERSIONS[$name]}.tgz" -C "$name")
    cp "$work/$name/package/build/$name.min.js" "$OUT/$name.min.js"
    cp "$work/$name/package/LICENSE" "$OUT/$name.LICENSE"
done
if [[ "${UPDATE:-}" == 1 ]]; then
    (cd "$OUT" && sha256sum ./*.min.js ./*.LICENSE)
else
    (cd "$OUT" && sha256sum -c --quiet <<<"$SUMS") && echo "vendor files match the pinned hashes"
fi
