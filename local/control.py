"""`make up` / `make down` / `make status`: the local platform as a long-running service.

    python -m local.control up      # start (or resume) the platform in the background
    python -m local.control status  # what runs where
    python -m local.control down    # stop it; everything it holds is kept for the next `up`

`up` starts the local ledger (closing a ledger every 2 s, validated ledgers persisted in SQLite)
and the embedded AWS with the stack, the HTTP API and a frontend stand-in, on fixed ports so the
URLs stay the same between runs. The first `up` bootstraps the platform accounts and the
catalogue; later ones resume from what `down` saved (the moto snapshot, the ledger's data, the
frontend's notifications). `down` lets running executions finish, for up to a minute, before it
saves; any it has to stop are listed, to be redrived after the next `up`.

The operator tool (`drexfy-ops`) finds the platform through `.local/aws.json`, as it does for
`python -m local.aws`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from local.ledger_server import GENESIS_SEED
from local.processes import PROJECT_ROOT, is_running, start_detached, stop_pid

HOME = PROJECT_ROOT / ".local" / "platform"
STATE_FILE = PROJECT_ROOT / ".local" / "aws.json"  # where drexfy-ops looks by default
SETTLE_SECONDS = 60
SAVE_SECONDS = 60  # after settling: stop what still runs, then write the snapshot
CLOSE_INTERVAL_MS = 2000


@dataclass(frozen=True)
class Ports:
    ledger_rpc: int = 5005
    ledger_ws: int = 6006
    aws: int = 4566
    api: int = 4567
    frontend: int = 4568
    ledger_second_rpc: int = 5006  # the same chain: money decisions need two servers to agree
    provider: int = 4569  # the payment provider stand-in


@dataclass
class Running:
    """What `up` started; `.local/platform/running.json` while the platform is up."""

    ledger_pid: int
    aws_pid: int
    ledger_url: str
    ready_lines: list[str]

    def alive(self) -> dict[str, bool]:
        return {"ledger": is_running(self.ledger_pid), "aws": is_running(self.aws_pid)}


class LocalPlatform:
    def __init__(
        self,
        home: Path = HOME,
        state_file: Path = STATE_FILE,
        ports: Ports = Ports(),
        settle_seconds: float = SETTLE_SECONDS,
    ):
        self.home = home
        self.state_file = state_file
        self.ports = ports
        self.settle_seconds = settle_seconds
        self.snapshot = home / "aws.snapshot"
        self.ledger_data = home / "ledger"
        self.notifications_log = home / "notifications.jsonl"
        self.provider_log = home / "provider.jsonl"  # what it was asked and did: dedupe survives
        self.running_file = home / "running.json"

    def running(self) -> Running | None:
        if not self.running_file.exists():
            return None
        return Running(**json.loads(self.running_file.read_text()))

    def up(self) -> Running:
        current = self.running()
        if current is not None and all(current.alive().values()):
            print("the local platform is already up")
            return current
        if current is not None:  # a half-dead platform: stop what is left, then start clean
            self.down()
        resuming = self.snapshot.exists()
        print(
            "resuming the local platform from" if resuming else "a new local platform in", self.home
        )
        ledger_pid, ledger_line = start_detached(
            "local.ledger_server",
            ["--port", str(self.ports.ledger_rpc), "--ws-port", str(self.ports.ledger_ws),
             "--second-port", str(self.ports.ledger_second_rpc),
             "--close-interval-ms", str(CLOSE_INTERVAL_MS), "--data-dir", str(self.ledger_data)],
            "local ledger ready",
            self.home / "ledger.log",
        )  # fmt: skip
        ledger_url = f"http://127.0.0.1:{self.ports.ledger_rpc}"
        ledger_urls = f"{ledger_url},http://127.0.0.1:{self.ports.ledger_second_rpc}"
        try:
            aws_pid, aws_line = start_detached(
                "local.aws",
                ["--port", str(self.ports.aws), "--api-port", str(self.ports.api),
                 "--notifications-port", str(self.ports.frontend),
                 "--notifications-log", str(self.notifications_log),
                 "--provider-port", str(self.ports.provider),
                 "--provider-log", str(self.provider_log),
                 "--state-file", str(self.state_file), "--snapshot", str(self.snapshot),
                 "--settle-seconds", str(self.settle_seconds),
                 "--set-env", f"XRPL_URLS={ledger_urls}",
                 "--set-env", f"LEDGER_CLOSE_SECONDS={CLOSE_INTERVAL_MS // 1000}"],
                "local aws ready",
                self.home / "aws.log",
            )  # fmt: skip
        except BaseException:
            stop_pid(ledger_pid, 15)
            raise
        running = Running(ledger_pid, aws_pid, ledger_url, [ledger_line, aws_line])
        self.running_file.write_text(json.dumps(asdict(running), indent=2))
        if not resuming:
            self._bootstrap(ledger_url)
        return running

    def _bootstrap(self, ledger_url: str) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "ops.bootstrap", "--state-file", str(self.state_file),
             "--ledger-url", ledger_url, "--fund-from-seed", GENESIS_SEED],
            cwd=PROJECT_ROOT, capture_output=True, text=True,
        )  # fmt: skip
        print(result.stdout + result.stderr, end="")
        if result.returncode != 0:
            raise SystemExit(f"bootstrap failed (exit {result.returncode}); the platform is up")

    def down(self) -> list[str] | None:
        """Stop the platform and return what the AWS side said as it saved (None if it was not
        running). AWS first, so executions that are finishing still reach the ledger."""
        running = self.running()
        if running is None:
            return None
        deadline = self.settle_seconds + SAVE_SECONDS
        aws = stop_pid(running.aws_pid, deadline)
        stop_pid(running.ledger_pid, 30)
        self.running_file.unlink()
        log = self.home / "aws.log"
        said = _saved_lines(log)
        print("\n".join(said))
        if not any(line.startswith("saved ") for line in said):
            raise SystemExit(
                f"the AWS side was not saved: it {aws.value} ({deadline:.0f} s). "
                f"The end of {log}:\n" + "\n".join(_last_lines(log))
            )
        return said

    def reset(self) -> None:
        """Forget everything: the next `up` starts a new platform."""
        try:
            self.down()
        except SystemExit as unsaved:  # nothing is being kept anyway
            print(unsaved)
        shutil.rmtree(self.home, ignore_errors=True)
        self.state_file.unlink(missing_ok=True)


def _last_lines(log: Path, count: int = 25) -> list[str]:
    return log.read_text().splitlines()[-count:] if log.exists() else ["(no log)"]


def _saved_lines(log: Path) -> list[str]:
    """What the AWS server said while saving, from its last run."""
    lines = log.read_text().splitlines() if log.exists() else []
    last_start = max((i for i, line in enumerate(lines) if line.startswith("local aws ready")),
                     default=0)  # fmt: skip
    return [line for line in lines[last_start:] if line.startswith(("saved ", "stopped "))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local.control",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=["up", "down", "status", "reset"])
    args = parser.parse_args(argv)
    platform = LocalPlatform()
    if args.command == "up":
        running = platform.up()
        print("\n".join(running.ready_lines))
        print("try: drexfy-ops accounts   (and `make down` to stop; state is kept)")
    elif args.command == "down":
        print("stopped" if platform.down() is not None else "the local platform is not running")
    elif args.command == "reset":
        platform.reset()
        print(f"removed {platform.home}")
    else:
        current = platform.running()
        if current is None:
            print("the local platform is not running")
            return 1
        print(json.dumps({"alive": current.alive(), "ready": current.ready_lines}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
