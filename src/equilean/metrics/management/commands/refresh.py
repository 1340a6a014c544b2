"""`refresh`: recompute the aggregates and signals from the measure store (safe to run nightly)."""

from django.core.management.base import BaseCommand, CommandError

from equilean.engine.errors import InputError
from equilean.metrics.detect import Settings
from equilean.metrics.refresh import refresh


class Command(BaseCommand):
    help = "Compute every active measure from the store into observations, then raise signals."

    def add_arguments(self, parser):
        parser.add_argument("--store", help="measure store URL (default: EQUILEAN_STORE)")
        parser.add_argument(
            "--window-months",
            type=int,
            default=3,
            help="trailing window for equity gaps (default 3)",
        )
        parser.add_argument(
            "--reference",
            default="largest",
            help="reference group: largest, best, rest, or a group name",
        )

    def handle(self, *args, **options):
        from tqdm import tqdm

        from equilean.engine import store

        settings = Settings(window_months=options["window_months"], reference=options["reference"])
        steps = tqdm(total=5, desc="refresh", unit="step", disable=options["verbosity"] < 1)

        def progress(label):
            steps.set_postfix_str(label)
            steps.update(0 if steps.n == 0 and label.startswith("Syncing") else 1)

        try:
            con = store.connect(options["store"]) if options["store"] else None
            report = refresh(con, settings=settings, progress=progress)
        except InputError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        finally:
            steps.close()
        if options["verbosity"] >= 1:
            for line in report.lines():
                self.stdout.write(line)
