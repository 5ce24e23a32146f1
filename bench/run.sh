#!/usr/bin/env bash
# Runs the f1fetch benchmark: builds the f1fetch binary and the bench
# program, installs the contenders' tools when missing (Debian), runs the
# plugin/payload Go benchmarks, then every contender on one loopback mirror.
# Writes bench/RESULTS.md, bench/wall_*.png and bench/out/{bench.txt,results.json}.
# Extra arguments go to the bench program, e.g. bench/run.sh -modes 0,50 -only f1fetch-input,h2load
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
out=${BENCH_OUT:-$repo/bench/out}
testdata=${BENCH_TESTDATA:-$repo/../shared/testdata}
mkdir -p "$out"

need=()
command -v h2load >/dev/null || need+=(nghttp2-client)
[ -x /usr/bin/time ] || need+=(time)
/usr/bin/python3 -c 'import httpx, h2' 2>/dev/null || need+=(python3-httpx python3-h2)
if [ ${#need[@]} -gt 0 ]; then
	echo "installing ${need[*]}" >&2
	sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" python3-orjson 2>/dev/null ||
		DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}"
fi

echo "building f1fetch and bench" >&2
go build -o "$out/f1fetch" ./cmd/f1fetch
go build -o "$out/bench" ./bench
mkdir -p "$out/python" && cp bench/python/fetch_multiple.py "$out/python/"

echo "go benchmarks of plugin/payload (parse + validate per MB)" >&2
go test -run '^$' -bench 'Decode|Normalize|Parse|WellFormed' -benchmem -count 1 ./plugin/payload > "$out/payload.txt"

echo "contenders (about 6 minutes)" >&2
"$out/bench" -testdata "$testdata" -bin "$out/f1fetch" -out "$out" -results bench/RESULTS.md \
	-payload "$out/payload.txt" "$@" | tee "$out/bench.txt"
cat "$out/payload.txt" >> "$out/bench.txt"
echo "wrote bench/RESULTS.md, bench/wall_*.png, $out/bench.txt" >&2
