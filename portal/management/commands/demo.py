import os
import signal
import socket
import subprocess
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from portal.demo import DEMO_PASSWORD, EMULATOR, STAFF_EMAIL, DemoProcess, demo_processes

STOP_TIMEOUT_SECONDS = 15


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Migrate, seed the demo data, start a worker and serve Portico on 127.0.0.1."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--no-worker", action="store_true", help="Do not start the Celery worker and beat."
        )
        parser.add_argument("--password", default=DEMO_PASSWORD)
        parser.add_argument(
            "--emulator-port",
            type=int,
            default=5055,
            help="Port of the local AWS API Gateway emulator on 127.0.0.1 (default 5055).",
        )
        parser.add_argument(
            "--no-emulator",
            action="store_true",
            help="Do not start the AWS emulator nor sync Acme's gateway connections.",
        )

    def handle(self, *args, port: int, no_worker: bool, password: str, **options):
        if settings.PRODUCTION:
            raise CommandError("The demo seeds accounts with a known password; not in production.")
        verbosity = options["verbosity"]
        emulator_port = None if options["no_emulator"] else options["emulator_port"]
        if emulator_port is not None:
            _check_free(emulator_port)
            # The emulator takes any credentials; boto3's chain in this process and the
            # worker needs some. Real ones, where the environment has them, are kept.
            os.environ.setdefault("AWS_ACCESS_KEY_ID", "demo")
            os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "demo")
        call_command("migrate", interactive=False, verbosity=max(verbosity - 1, 0))
        call_command("seed_demo", password=password, stdout=self.stdout)
        plan = demo_processes(port=port, worker=not no_worker, emulator_port=emulator_port)
        # Ctrl-C and SIGTERM (from a supervisor) both stop the children; SIGINT is
        # set explicitly because a shell may start us with it ignored.
        signal.signal(signal.SIGINT, _raise_keyboard_interrupt)
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        children: list[tuple[DemoProcess, subprocess.Popen]] = []
        try:
            for process in plan:
                popen = _start(process)
                children.append((process, popen))
                if process.name == EMULATOR:
                    self._fill_emulator(f"http://127.0.0.1:{emulator_port}", popen)
            if not no_worker:
                from portal.tasks import heartbeat

                # A first beat now, so /readyz shows the worker without waiting a minute.
                heartbeat.delay()
            self.stdout.write(
                self.style.SUCCESS(f"\nPortico is at http://127.0.0.1:{port}/")
                + f"  (sign in as owner@acme.example, admin site /admin/ as {STAFF_EMAIL};"
                f" password {password}). Ctrl-C stops it."
            )
            self._watch(children)
        except KeyboardInterrupt:
            self.stdout.write("Stopping...")
        finally:
            _stop(children)

    def _fill_emulator(self, url: str, popen: subprocess.Popen) -> None:
        """Fill the emulator with Acme's gateway and sync it, before the worker and the web
        server start, so the catalogue shows the synced APIs from the first page."""
        from apis.demo_gateways import emulator_wait, seed_gateways

        try:
            emulator_wait(url, process=popen)
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        try:
            seed_gateways(endpoint_url=url, out=self.stdout)
        except Exception as exc:  # the demo still serves without its gateway
            self.stderr.write(f"Acme's gateway could not be synced from {url}: {exc!r}")
            return
        from analytics.demo import seed_usage_logs

        try:
            # A week of access logs and Lambda REPORT lines in the emulator's CloudWatch
            # Logs, imported now so the usage dashboards have data from the first page.
            seed_usage_logs(endpoint_url=url, out=self.stdout)
        except Exception as exc:  # the demo still serves without usage data
            self.stderr.write(f"Acme's usage logs could not be imported from {url}: {exc!r}")

    def _watch(self, children) -> None:
        while True:
            for process, popen in children:
                code = popen.poll()
                if code is not None:
                    raise CommandError(f"The {process.name} process stopped (exit code {code}).")
            time.sleep(0.5)


def _check_free(port: int) -> None:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            raise CommandError(
                f"Port {port} of 127.0.0.1 is taken; choose another with --emulator-port, "
                "or run without the AWS emulator (--no-emulator)."
            ) from exc


def _start(process: DemoProcess) -> subprocess.Popen:
    output = subprocess.DEVNULL if process.quiet else None
    return subprocess.Popen(  # noqa: S603 - argv built from our own plan
        process.argv,
        cwd=settings.BASE_DIR,
        env={**os.environ, **process.env},
        stdout=output,
        stderr=output,
    )


def _stop(children) -> None:
    for _, popen in reversed(children):
        if popen.poll() is None:
            popen.terminate()
    for _, popen in reversed(children):
        try:
            popen.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait()
