import os
import signal
import subprocess
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from portal.demo import DEMO_PASSWORD, STAFF_EMAIL, DemoProcess, demo_processes

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

    def handle(self, *args, port: int, no_worker: bool, password: str, **options):
        if settings.PRODUCTION:
            raise CommandError("The demo seeds accounts with a known password; not in production.")
        verbosity = options["verbosity"]
        call_command("migrate", interactive=False, verbosity=max(verbosity - 1, 0))
        call_command("seed_demo", password=password, stdout=self.stdout)
        plan = demo_processes(port=port, worker=not no_worker)
        # Ctrl-C and SIGTERM (from a supervisor) both stop the children; SIGINT is
        # set explicitly because a shell may start us with it ignored.
        signal.signal(signal.SIGINT, _raise_keyboard_interrupt)
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        children: list[tuple[DemoProcess, subprocess.Popen]] = []
        try:
            for process in plan:
                children.append((process, _start(process)))
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

    def _watch(self, children) -> None:
        while True:
            for process, popen in children:
                code = popen.poll()
                if code is not None:
                    raise CommandError(f"The {process.name} process stopped (exit code {code}).")
            time.sleep(0.5)


def _start(process: DemoProcess) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603 - argv built from our own plan
        process.argv, cwd=settings.BASE_DIR, env={**os.environ, **process.env}
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
