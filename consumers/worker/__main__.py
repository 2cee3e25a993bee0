"""`python -m consumers.worker --index 0 --of 2 [--servers H:P] [--namespace NS] [--datadir DIR]`"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .main import WorkerError, main_worker


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m consumers.worker", description=__doc__)
    parser.add_argument("--index", type=int, default=0, help="this worker's number, 0..of-1")
    parser.add_argument("--of", type=int, default=1, dest="count", help="how many workers share the keys")
    parser.add_argument("--servers", help="bootstrap servers (default $HOTLINE_KAFKA_BOOTSTRAP)")
    parser.add_argument("--namespace", help="topic prefix (default $HOTLINE_NAMESPACE or hotline)")
    parser.add_argument("--datadir", type=Path, help="RocksDB and status.json (default ./NS-worker-I-data)")
    parser.add_argument("--policy", type=Path, help="policy pack (default: version 3.0)")
    parser.add_argument("--loglevel", default="warning")
    args = parser.parse_args(argv)
    try:
        main_worker(
            args.index,
            args.count,
            args.servers,
            args.namespace,
            args.datadir,
            policy_path=args.policy,
            loglevel=args.loglevel,
        )
    except WorkerError as e:
        print(f"hotline worker: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
