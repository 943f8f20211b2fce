"""`python -m local.aws [--port 0] [--state-file F] [--notifications-url URL] [--snapshot F]`:
run the embedded AWS, the local API gateway and (unless --notifications-url) the frontend
receiver until SIGTERM/SIGINT. With --snapshot, start from that file if it exists (same ports,
no deploy) and write it again on the way out."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from local.aws.server import AwsServer, write_state
from local.processes import wait_for_stop_signal, write_stacks_on_signal


def main() -> None:
    write_stacks_on_signal()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--state-file", type=Path, default=Path(".local/aws.json"))
    parser.add_argument(
        "--set-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a Lambda environment variable (e.g. XRPL_URLS=URL,URL: the ledger servers)",
    )
    parser.add_argument("--api-port", type=int, default=0, help="the API gateway's port")
    parser.add_argument(
        "--notifications-url",
        default=None,
        metavar="URL",
        help="deliver API destinations here instead of starting a frontend receiver",
    )
    parser.add_argument(
        "--notifications-port", type=int, default=0, help="the frontend receiver's port"
    )
    parser.add_argument(
        "--notifications-log", type=Path, default=None, help="JSONL of what the receiver got"
    )
    parser.add_argument(
        "--provider-port", type=int, default=0, help="the payment provider stand-in's port"
    )
    parser.add_argument(
        "--provider-log", type=Path, default=None, help="JSONL of what the provider got and did"
    )
    parser.add_argument(
        "--snapshot", type=Path, default=None, help="load the platform from here, save it on exit"
    )
    parser.add_argument(
        "--settle-seconds",
        type=float,
        default=60.0,
        help="on exit, how long running executions may take before they are stopped",
    )
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request is noise
    overrides = dict(item.split("=", 1) for item in args.set_env)
    restoring = args.snapshot is not None and args.snapshot.exists()
    server = AwsServer.restore(args.snapshot) if restoring else AwsServer(args.port)
    platform = server.start(
        overrides,
        notifications_url=args.notifications_url,
        api_port=args.api_port,
        notifications_port=args.notifications_port,
        notifications_log=args.notifications_log,
        provider_port=args.provider_port,
        provider_log=args.provider_log,
    )
    write_state(args.state_file, platform)
    print(
        f"local aws ready endpoint={platform.endpoint_url} api={platform.api_url} "
        f"notifications={platform.notifications_url} "
        f"provider={platform.provider.base_url if platform.provider else None} "
        f"state={args.state_file} "
        f"restored={'yes' if restoring else 'no'}",
        flush=True,
    )
    wait_for_stop_signal()
    try:
        if args.snapshot is not None:
            stopped = server.save(args.snapshot, args.settle_seconds)
            print(f"saved {args.snapshot}; executions stopped: {len(stopped)}", flush=True)
            for arn in stopped:
                print(f"stopped {arn} (redrive it after the next start)", flush=True)
    finally:  # a failed save must still end the process, not leave its server threads running
        server.stop()


if __name__ == "__main__":
    main()
